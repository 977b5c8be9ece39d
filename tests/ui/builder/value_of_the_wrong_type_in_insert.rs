use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = insert_into::<Users>().values(users::Insert::new("ann", "ann@example.com", 42));
}
