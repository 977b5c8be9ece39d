use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = delete_from::<Users>().on_conflict((users::username,));
}
