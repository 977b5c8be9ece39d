use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

fn main() {
    // FILTER (WHERE ..) sees one row at a time: PostgreSQL refuses an aggregate in it.
    let _ = select_from::<LoginAttempts>()
        .group_by((login_attempts::identifier,))
        .columns((login_attempts::identifier, count_all().filter(count_all().gt(1))));
}
