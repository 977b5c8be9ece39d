use taulu::prelude::*;
use taulu_app::schema::{Members, Role, members};

fn main() {
    let _ = select_from::<Members>().columns((members::user_id,)).where_(members::member_role.eq(Role::Superuser));
}
