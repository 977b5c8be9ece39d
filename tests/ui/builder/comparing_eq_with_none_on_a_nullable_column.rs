use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = select_from::<Users>().columns((users::id,)).where_(users::display_name.eq(None));
}
