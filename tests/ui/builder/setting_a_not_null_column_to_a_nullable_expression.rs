use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    // display_name is nullable, username NOT NULL: coalesce(users::display_name, "..") would do.
    let _ = update::<Users>().set(users::username, users::display_name).to_sql();
}
