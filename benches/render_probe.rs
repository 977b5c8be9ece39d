//! Bench binary for instruction counts: builds and renders one query 20,000 times, for running
//! under callgrind, which counts instructions exactly where wall-clock timings on a shared machine
//! wander by 20%:
//! `cargo bench --bench render_probe --no-run` then
//! `valgrind --tool=callgrind target/release/deps/render_probe-* pk` (or `join`); compare the
//! `I refs` of two checkouts.

use std::hint::black_box;
use taulu::prelude::*;
use taulu_app::schema::{Members, Role, Users, members, orgs, users};
fn main() {
    let id = uuid::Uuid::from_u128(7);
    let which = std::env::args().nth(1).unwrap_or_default();
    for _ in 0..20_000 {
        if which == "join" {
            let q = select_from::<Members>()
                .inner_join(orgs::id, members::org_id)
                .left_join(users::id, members::user_id)
                .where_(members::member_role.eq(black_box(Role::Admin)).and(users::email.is_not_null()))
                .columns((orgs::name, users::email, members::member_role))
                .order_by(orgs::slug)
                .limit(50);
            black_box(q.to_sql());
        } else {
            let q = select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(black_box(id)));
            black_box(q.to_sql());
        }
    }
}
