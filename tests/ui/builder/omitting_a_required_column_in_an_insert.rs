use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    // `password_hash` is NOT NULL without a default: `new` requires it.
    let _ = insert_into::<Users>().values(users::Insert::new("ann", "ann@example.com"));
}
