use taulu::prelude::*;
use taulu_app::schema::{Members, Orgs, members, orgs};

fn main() {
    let _ = update::<Members>().from(Orgs).set(orgs::name, "x").where_(orgs::id.eq(members::org_id)).to_sql();
}
