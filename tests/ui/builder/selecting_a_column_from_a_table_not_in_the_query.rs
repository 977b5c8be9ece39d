use taulu::prelude::*;
use taulu_app::schema::{Members, orgs, members, users};

fn main() {
    let _ = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .columns((orgs::name, users::email, members::member_role));
}
