use taulu::prelude::*;
use taulu::schema::{Users, users};

fn main() {
    let _ = insert_into::<Users>().values(users::Insert::new("ann".into(), "ann@example.com".into(), 42));
}
