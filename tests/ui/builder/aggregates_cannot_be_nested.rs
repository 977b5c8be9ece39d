use taulu::prelude::*;
use taulu_app::schema::{Members, members};

fn main() {
    let _ = select_from::<Members>().columns((max(count(members::user_id)),));
}
