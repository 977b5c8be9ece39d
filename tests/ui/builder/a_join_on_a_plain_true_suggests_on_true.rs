use taulu::prelude::*;
use taulu::query::derived;
use taulu_app::schema::{Orgs, Users, orgs, users};

taulu::alias!(Slugs);

fn main() {
    let slugs = derived(Slugs, select_from::<Orgs>().columns((orgs::slug,)));
    let _ = select_from::<Users>().inner_join_derived(slugs, true).columns((users::id,));
}
