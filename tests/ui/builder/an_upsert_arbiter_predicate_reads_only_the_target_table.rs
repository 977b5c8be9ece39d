use taulu::prelude::*;
use taulu_app::schema::{Users, orgs, users};

fn main() {
    // ON CONFLICT (..) WHERE ..: a partial unique index's predicate is over the table itself.
    let _ = insert_into::<Users>()
        .values(users::Insert::new("ann", "ann@example.com", "h"))
        .on_conflict((users::email,))
        .where_(orgs::slug.eq("acme"))
        .do_nothing();
}
