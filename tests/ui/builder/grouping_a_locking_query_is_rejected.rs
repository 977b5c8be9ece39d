use taulu::prelude::*;
use taulu_app::schema::{Members, members};

fn main() {
    let _ = select_from::<Members>().columns((members::org_id,)).for_update().distinct();
}
