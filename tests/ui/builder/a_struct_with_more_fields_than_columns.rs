use taulu::prelude::*;
use taulu_app::schema::{Users, users};

#[derive(taulu::FromRow)]
struct Account {
    id: uuid::Uuid,
    username: String,
    email: String,
}

fn main() {
    // Two columns for three fields.
    let _ = select_from::<Users>().columns((users::id, users::username)).select_as::<Account>();
}
