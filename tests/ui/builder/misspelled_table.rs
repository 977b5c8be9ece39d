use taulu::prelude::*;
use taulu_app::schema::users;

fn main() {
    let _ = select_from::<Userz>().columns((users::id,));
}
