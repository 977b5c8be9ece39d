use taulu::prelude::*;
use taulu_app::schema::{Members, members, orgs};

fn main() {
    let _ = select_from::<Members>().columns((members::org_id,)).group_by((orgs::slug,));
}
