use taulu::prelude::*;
use taulu::query::derived;
use taulu_app::schema::{Members, Users, members, users};

taulu::alias!(Joined);

fn main() {
    // `.all()` of one table is a derived table; of a join, its columns would need names: list them.
    let _ = derived(Joined, select_from::<Users>().inner_join(members::user_id, users::id).all());
    let _ = Members;
}
