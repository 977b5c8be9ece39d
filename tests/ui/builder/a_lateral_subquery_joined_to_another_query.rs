use taulu::prelude::*;
use taulu::query::lateral;
use taulu_app::schema::{LoginAttempts, Orgs, Users, login_attempts, orgs, users};

taulu::alias!(Latest);

fn main() {
    let base = select_from::<Users>();
    let latest = lateral(&base, Latest, LoginAttempts, |a| {
        a.columns((login_attempts::success,)).where_(login_attempts::identifier.eq(users::username)).limit(1)
    });
    // Built over `users`, joined to a query over `orgs`: "users" would be a missing FROM entry.
    let _ = select_from::<Orgs>().left_join_derived(latest, on_true()).columns((orgs::slug,));
}
