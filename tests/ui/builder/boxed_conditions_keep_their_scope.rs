use taulu::prelude::*;
use taulu::query::all_of;
use taulu_app::schema::{Users, orgs, users};

fn main() {
    let filters = vec![users::username.eq("ann").boxed(), orgs::slug.eq("acme").boxed()];
    let _ = select_from::<Users>().columns((users::id,)).where_(all_of(filters));
}
