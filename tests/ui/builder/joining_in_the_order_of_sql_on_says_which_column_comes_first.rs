use taulu::prelude::*;
use taulu_app::schema::{Members, members, orgs};

fn main() {
    // SQL writes `JOIN orgs ON members.org_id = orgs.id`; taulu wants the joined table's column first.
    let _ = select_from::<Members>().inner_join(members::org_id, orgs::id).columns((orgs::name,));
}
