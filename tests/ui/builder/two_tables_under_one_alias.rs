use taulu::prelude::*;
use taulu::query::Aliased;
use taulu_app::schema::{Orgs, Users, orgs, users};

taulu::alias!(P);

fn main() {
    // "P" would name two FROM items: PostgreSQL says "table name specified more than once".
    let _ = select_from::<Aliased<Users, P>>()
        .inner_join_on(Aliased::<Orgs, P>::default(), orgs::id.of::<P>().eq(users::id.of::<P>()))
        .columns((users::username.of::<P>(),));
}
