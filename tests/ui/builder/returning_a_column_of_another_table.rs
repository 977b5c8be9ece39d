use taulu::prelude::*;
use taulu_app::schema::{Sessions, sessions, users};

fn main() {
    let _ = delete_from::<Sessions>().where_(sessions::revoked_at.is_not_null()).returning((sessions::id, users::email));
}
