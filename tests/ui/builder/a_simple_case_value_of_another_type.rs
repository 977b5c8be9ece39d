use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    // The operand is text; a WHEN value must be text too.
    let label = case(users::username).when(1i32, val("one".to_owned()));
    let _ = select_from::<Users>().columns((label,));
}
