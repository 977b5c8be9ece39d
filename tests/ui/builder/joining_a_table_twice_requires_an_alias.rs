use taulu::prelude::*;
use taulu_app::schema::{Members, members, orgs};

fn main() {
    let _ = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .inner_join(orgs::id, members::org_id);
}
