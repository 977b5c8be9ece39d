use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

fn main() {
    // FILTER (WHERE ..) belongs to an aggregate: a plain column has none.
    let _ = select_from::<LoginAttempts>()
        .columns((login_attempts::identifier.filter(login_attempts::success.eq(true)),));
}
