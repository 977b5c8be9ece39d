use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = insert_into::<Users>()
        .values(users::Insert::new("ann", "ann@example.com", "hash"))
        .on_conflict((users::username,))
        .do_nothing()
        .where_(users::username.eq("ann"));
}
