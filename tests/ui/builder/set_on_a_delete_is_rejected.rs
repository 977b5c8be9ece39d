use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = delete_from::<Users>().set(users::display_name, "Ann").where_(users::username.eq("ann"));
}
