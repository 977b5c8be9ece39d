use taulu::prelude::*;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = select_from::<Users>().cross_join(Users).columns((users::id,));
}
