use taulu::prelude::*;
use taulu::schema::users;

fn main() {
    let _ = select_from::<Userz>().columns((users::id,));
}
