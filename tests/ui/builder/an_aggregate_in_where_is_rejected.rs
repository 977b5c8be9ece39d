use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

fn main() {
    let _ = select_from::<LoginAttempts>()
        .columns((login_attempts::identifier,))
        .where_(count(login_attempts::id).gt(1))
        .group_by((login_attempts::identifier,));
}
