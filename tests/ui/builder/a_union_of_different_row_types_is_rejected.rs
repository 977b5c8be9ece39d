use taulu::prelude::*;
use taulu_app::schema::{Orgs, Users, orgs, users};

fn main() {
    let _ = select_from::<Users>().columns((users::username,)).union(select_from::<Orgs>().columns((orgs::id,)));
}
