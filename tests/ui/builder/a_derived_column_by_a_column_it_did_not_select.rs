use taulu::prelude::*;
use taulu::query::derived;
use taulu_app::schema::{Users, users};

taulu::alias!(Named);

fn main() {
    let named = derived(Named, select_from::<Users>().columns((users::id, users::username)));
    let _email = named.column(users::email);
}
