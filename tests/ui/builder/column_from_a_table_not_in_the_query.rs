use taulu::prelude::*;
use taulu_app::schema::{Users, orgs, users};

fn main() {
    let _ = select_from::<Users>().columns((users::id,)).where_(orgs::slug.eq("acme"));
}
