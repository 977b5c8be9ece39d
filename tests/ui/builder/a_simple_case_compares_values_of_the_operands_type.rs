use taulu::prelude::*;
use taulu::query::case;
use taulu_app::schema::{Users, users};

fn main() {
    // `CASE users.username WHEN 1 ..`: the operand is text, so each WHEN value is text.
    let _ = select_from::<Users>().columns((case(users::username).when(1, val("one")).else_("other"),));
}
