use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = update::<Users>().set(users::display_name, 42);
}
