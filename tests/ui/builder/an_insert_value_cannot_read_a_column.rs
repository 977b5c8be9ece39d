use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    // An INSERT has no row to read yet: a column is not a value for another.
    let _ = insert_into::<Users>()
        .values(users::Insert::new("ann", "ann@example.com", "h"))
        .value(users::display_name, users::username);
}
