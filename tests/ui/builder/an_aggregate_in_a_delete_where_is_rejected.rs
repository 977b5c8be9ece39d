use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

fn main() {
    let _ = delete_from::<LoginAttempts>().where_(login_attempts::success.eq(false).and(count_all().gt(3)));
}
