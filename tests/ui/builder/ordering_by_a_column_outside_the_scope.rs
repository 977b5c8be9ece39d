use taulu::prelude::*;
use taulu::schema::{Users, orgs, users};

fn main() {
    let _ = select_from::<Users>().columns((users::id,)).order_by(orgs::created_at.desc());
}
