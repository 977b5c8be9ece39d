//! Bench binary for instruction counts: builds and renders one query 20,000 times, for running
//! under callgrind, which counts instructions exactly where wall-clock timings on a shared machine
//! wander by 20%:
//! `cargo bench --bench render_probe --no-run` then
//! `valgrind --tool=callgrind target/release/deps/render_probe-* pk` (or `join`); compare the
//! `I refs` of two checkouts.
//!
//! `pk-hand` / `join-hand` make the same text and parameters by hand (the lower bound for a
//! builder that renders at run time: the text's pieces pushed into a `String`, the owned values
//! into a `Vec`); `pk-sketch` / `join-sketch` do what a builder whose query lives in its type would
//! do per call (no node tree; the text looked up by the query's type, rendered once; the values
//! pushed in bind order). The sketch is not taulu's code: it is the yardstick for that
//! restructuring (docs/decisions.md, Speed).

use std::hint::black_box;

use taulu::{prelude::*, query::Param};
use taulu_app::schema::{Members, Role, Users, members, orgs, users};

#[path = "support/sketch.rs"]
mod sketch;
use sketch::typed_sketch;

fn pk(id: uuid::Uuid) -> (String, Vec<Param>) {
    select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(id)).to_sql()
}

fn join(role: Role) -> (String, Vec<Param>) {
    select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .left_join(users::id, members::user_id)
        .where_(members::member_role.eq(role).and(users::email.is_not_null()))
        .columns((orgs::name, users::email, members::member_role))
        .order_by(orgs::slug)
        .limit(50)
        .to_sql()
}

const PK_TEXT: &str = r#"SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."id" = $1"#;
const JOIN_PIECES: [&str; 3] = [
    r#"SELECT "orgs"."name", "users"."email", "members"."member_role" FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" LEFT JOIN "users" ON "users"."id" = "members"."user_id" WHERE ("members"."member_role" = $1"#,
    r#" AND "users"."email" IS NOT NULL) ORDER BY "orgs"."slug" LIMIT $2"#,
    "",
];

/// By hand: the pieces pushed into a `String`, the owned values into a `Vec`.
fn by_hand(pieces: &[&str], values: impl FnOnce(&mut Vec<Param>)) -> (String, Vec<Param>) {
    let mut sql = String::with_capacity(256);
    let mut params = Vec::with_capacity(2);
    for p in pieces {
        sql.push_str(p);
    }
    values(&mut params);
    (sql, params)
}

struct PkShape;
struct JoinShape;

fn main() {
    let id = uuid::Uuid::from_u128(7);
    let which = std::env::args().nth(1).unwrap_or_default();
    let pk_values = |p: &mut Vec<Param>| p.push(Param::new(black_box(id)));
    let join_values = |p: &mut Vec<Param>| {
        p.push(Param::new(black_box(Role::Admin)));
        p.push(Param::new(50_i64));
    };
    // The three make the same statement.
    let same =
        |a: (String, Vec<Param>), b: (String, Vec<Param>)| a.0 == b.0 && format!("{:?}", a.1) == format!("{:?}", b.1);
    assert!(same(pk(id), by_hand(&[PK_TEXT], pk_values)));
    assert!(same(pk(id), typed_sketch::<PkShape>(|| pk(uuid::Uuid::nil()).0, pk_values)));
    assert!(same(join(Role::Admin), by_hand(&JOIN_PIECES, join_values)));
    assert!(same(join(Role::Admin), typed_sketch::<JoinShape>(|| join(Role::Member).0, join_values)));
    for _ in 0..20_000 {
        black_box(match which.as_str() {
            "join" => join(black_box(Role::Admin)),
            "join-hand" => by_hand(&JOIN_PIECES, join_values),
            "join-sketch" => typed_sketch::<JoinShape>(|| join(Role::Member).0, join_values),
            "pk-hand" => by_hand(&[PK_TEXT], pk_values),
            "pk-sketch" => typed_sketch::<PkShape>(|| pk(uuid::Uuid::nil()).0, pk_values),
            _ => pk(black_box(id)),
        });
    }
}
