use taulu::prelude::*;
use taulu_app::schema::{Users, users};

#[derive(taulu::FromRow)]
struct Account {
    username: String,
    display_name: String, // the column is nullable: Option<String>
}

fn main() {
    let _ = select_from::<Users>().columns((users::username, users::display_name)).select_as::<Account>();
}
