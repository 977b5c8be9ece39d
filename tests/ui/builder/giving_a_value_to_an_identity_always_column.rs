use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

fn main() {
    // `login_attempts.id` is GENERATED ALWAYS AS IDENTITY: the insert type has no way to set it.
    let _ = insert_into::<LoginAttempts>().values(login_attempts::Insert::new("ann", false).with_id(7));
}
