// The layout of a user's crate: the schema module is in the same crate as the query.
mod db {
    taulu::schema!("../../../migrations");
}

use db::{Users, orgs, users};
use taulu::prelude::*;

fn main() {
    let _ = select_from::<Users>().columns((users::id,)).where_(orgs::slug.eq("acme"));
}
