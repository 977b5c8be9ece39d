use taulu::prelude::*;
use taulu_app::schema::{Orgs, Users, orgs, users};

fn main() {
    let _ = insert_into::<Orgs>().select((orgs::name, orgs::slug), select_from::<Users>().columns((users::username, users::id)));
}
