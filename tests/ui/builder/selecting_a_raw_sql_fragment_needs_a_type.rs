use taulu::prelude::*;
use taulu::query::sql;
use taulu_app::schema::{Users, users};

fn main() {
    let _ = select_from::<Users>().columns((users::id, sql("now()")));
}
