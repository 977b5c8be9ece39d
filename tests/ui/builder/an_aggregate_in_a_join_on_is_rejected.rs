use taulu::prelude::*;
use taulu_app::schema::{Members, Orgs, members, orgs};

fn main() {
    let _ = select_from::<Members>()
        .inner_join_on(Orgs, orgs::id.eq(members::org_id).and(count_all().gt(1)))
        .columns((orgs::name,));
}
