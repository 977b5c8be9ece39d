use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

fn main() {
    let _ = select_from::<LoginAttempts>().columns((login_attempts::id,)).where_(login_attempts::id.like("1%"));
}
