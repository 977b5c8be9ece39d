//! Criterion: building and rendering three queries with taulu, sea-query, diesel and by hand, in
//! one run, to the same SQL text where the libraries allow.
//!
//! ```sh
//! cargo bench -p taulu-peer-benches --bench build
//! ```
//!
//! - `pk`: `SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."id" = $1`
//! - `join2`: 3 columns of `members` inner-joined to `orgs`, 2 predicates, ORDER BY, LIMIT
//! - `join3`: the same plus a LEFT JOIN of `users`, with the predicates as one `AND`
//!
//! What each contender produces: taulu and sea-query return the SQL text and the owned parameter
//! values; diesel's `to_sql` writes the text only (its binds are collected in a second pass, not
//! measured here); "by hand" pushes the final text's pieces into a `String` and the owned values,
//! bound as taulu binds them (`Bind`: a `Uuid` or an `i64` inline, text shared), into a
//! `Vec<Param>`: the lower bound for a builder that renders at run time. "taulu" is
//! `into_sql()`, which moves the values it collected into the result, as "by hand" does;
//! "taulu, to_sql" is `to_sql()` on a query that stays usable, so it copies them (what
//! `fetch_all(&self)` does too). Both get the text from taulu's per-thread cache of query shapes
//! (docs/decisions.md, Speed).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use taulu::{
    prelude::*,
    query::{Bind, BoxedSelect, Cons, Entry, NotNull, Nullable, Only, Param},
};
use taulu_app::schema::{Members, Orgs, Role, Users, members, orgs, users};
use uuid::Uuid;

const ID: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);

mod dsl {
    diesel::table! { users (id) { id -> Uuid, email -> Text, username -> Text } }
    diesel::table! { orgs (id) { id -> Uuid, name -> Text, slug -> Text } }
    diesel::table! { members (org_id, user_id) { org_id -> Uuid, user_id -> Uuid, member_role -> Text } }
    diesel::joinable!(members -> orgs (org_id));
    diesel::joinable!(members -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(users, orgs, members);
}

fn taulu_pk(id: Uuid) -> BoxedSelect<Only<Users>, (Uuid, String)> {
    select_from::<Users>().columns((users::id, users::email)).where_(users::id.eq(id)).boxed()
}

fn taulu_join2(id: Uuid, slug: &str) -> BoxedSelect<Join2, (String, String, Role)> {
    select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .where_(members::user_id.eq(id))
        .where_(orgs::slug.ne(slug))
        .columns((orgs::name, orgs::slug, members::member_role))
        .order_by(orgs::name)
        .limit(10)
        .boxed()
}

fn taulu_join3(id: Uuid, slug: &str) -> BoxedSelect<Join3, (String, Option<String>, Role)> {
    select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .left_join(users::id, members::user_id)
        .where_(members::user_id.eq(id).and(orgs::slug.ne(slug)))
        .columns((orgs::name, users::email, members::member_role))
        .order_by(orgs::name)
        .limit(10)
        .boxed()
}

/// The scopes of the two joins (the tables, the last joined first).
type Join2 = Cons<Entry<Orgs, NotNull>, Only<Members>>;
type Join3 = Cons<Entry<Users, Nullable>, Join2>;

/// One of the three queries, built.
fn taulu(query: &str, id: Uuid, slug: &str) -> (String, Vec<Param>) {
    match query {
        "pk" => taulu_pk(id).into_sql(),
        "join2" => taulu_join2(id, slug).into_sql(),
        _ => taulu_join3(id, slug).into_sql(),
    }
}

/// The same, rendered by `to_sql(&self)`, which copies the values.
fn taulu_to_sql(query: &str, id: Uuid, slug: &str) -> (String, Vec<Param>) {
    match query {
        "pk" => taulu_pk(id).to_sql(),
        "join2" => taulu_join2(id, slug).to_sql(),
        _ => taulu_join3(id, slug).to_sql(),
    }
}

fn sea_pk(id: Uuid) -> (String, sea_query::Values) {
    use sea_query::{Expr, ExprTrait as _, PostgresQueryBuilder, Query};
    Query::select()
        .column(("users", "id"))
        .column(("users", "email"))
        .from("users")
        .and_where(Expr::col(("users", "id")).eq(id))
        .build(PostgresQueryBuilder)
}

fn sea_join2(id: Uuid, slug: &str) -> (String, sea_query::Values) {
    use sea_query::{Expr, ExprTrait as _, Order, PostgresQueryBuilder, Query};
    Query::select()
        .column(("orgs", "name"))
        .column(("orgs", "slug"))
        .column(("members", "member_role"))
        .from("members")
        .inner_join("orgs", Expr::col(("orgs", "id")).equals(("members", "org_id")))
        .and_where(Expr::col(("members", "user_id")).eq(id))
        .and_where(Expr::col(("orgs", "slug")).ne(slug))
        .order_by(("orgs", "name"), Order::Asc)
        .limit(10)
        .build(PostgresQueryBuilder)
}

fn sea_join3(id: Uuid, slug: &str) -> (String, sea_query::Values) {
    use sea_query::{Expr, ExprTrait as _, Order, PostgresQueryBuilder, Query};
    Query::select()
        .column(("orgs", "name"))
        .column(("users", "email"))
        .column(("members", "member_role"))
        .from("members")
        .inner_join("orgs", Expr::col(("orgs", "id")).equals(("members", "org_id")))
        .left_join("users", Expr::col(("users", "id")).equals(("members", "user_id")))
        .and_where(Expr::col(("members", "user_id")).eq(id).and(Expr::col(("orgs", "slug")).ne(slug)))
        .order_by(("orgs", "name"), Order::Asc)
        .limit(10)
        .build(PostgresQueryBuilder)
}

fn diesel_sql<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>(q: Q) -> String {
    use diesel::query_builder::QueryBuilder as _;
    let mut out = diesel::pg::PgQueryBuilder::default();
    q.to_sql(&mut out, &diesel::pg::Pg).expect("diesel renders");
    out.finish()
}

fn diesel_pk(id: Uuid) -> String {
    use diesel::prelude::*;
    use dsl::users;
    diesel_sql(users::table.select((users::id, users::email)).filter(users::id.eq(id)))
}

fn diesel_join2(id: Uuid, slug: &str) -> String {
    use diesel::prelude::*;
    use dsl::{members, orgs};
    diesel_sql(
        members::table
            .inner_join(orgs::table)
            .filter(members::user_id.eq(id))
            .filter(orgs::slug.ne(slug.to_owned()))
            .select((orgs::name, orgs::slug, members::member_role))
            .order(orgs::name)
            .limit(10),
    )
}

fn diesel_join3(id: Uuid, slug: &str) -> String {
    use diesel::prelude::*;
    use dsl::{members, orgs, users};
    diesel_sql(
        members::table
            .inner_join(orgs::table)
            .left_join(users::table)
            .filter(members::user_id.eq(id).and(orgs::slug.ne(slug.to_owned())))
            .select((orgs::name, users::email.nullable(), members::member_role))
            .order(orgs::name)
            .limit(10),
    )
}

/// The hand-written lower bound: the final text's pieces and the owned values.
fn by_hand(pieces: &[&str], id: Uuid, slug: Option<&str>, limit: Option<i64>) -> (String, Vec<Param>) {
    let mut sql = String::with_capacity(256);
    let mut params = Vec::with_capacity(3);
    sql.push_str(pieces[0]);
    params.push(Bind::<Uuid>::bind(id));
    sql.push_str(pieces[1]);
    if let Some(slug) = slug {
        params.push(Bind::<String>::bind(slug.to_owned()));
        sql.push_str(pieces[2]);
    }
    if let Some(limit) = limit {
        params.push(Bind::<i64>::bind(limit));
        sql.push_str(pieces[3]);
    }
    (sql, params)
}

/// The same with every value made by `Param::new`, which shares it behind an `Arc` (a `Uuid` and
/// an `i64` too): the hand-written yardstick as it was when issue 13 set the 1.5x goal.
fn by_hand_shared(pieces: &[&str], id: Uuid, slug: Option<&str>, limit: Option<i64>) -> (String, Vec<Param>) {
    let mut sql = String::with_capacity(256);
    let mut params = Vec::with_capacity(3);
    sql.push_str(pieces[0]);
    params.push(Param::new(id));
    sql.push_str(pieces[1]);
    if let Some(slug) = slug {
        params.push(Param::new(slug.to_owned()));
        sql.push_str(pieces[2]);
    }
    if let Some(limit) = limit {
        params.push(Param::new(limit));
        sql.push_str(pieces[3]);
    }
    (sql, params)
}

const HAND_PK: &[&str] = &[r#"SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."id" = $1"#, ""];
const HAND_JOIN2: &[&str] = &[
    r#"SELECT "orgs"."name", "orgs"."slug", "members"."member_role" FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" WHERE "members"."user_id" = $1"#,
    r#" AND "orgs"."slug" <> $2"#,
    r#" ORDER BY "orgs"."name" LIMIT $3"#,
    "",
];
const HAND_JOIN3: &[&str] = &[
    r#"SELECT "orgs"."name", "users"."email", "members"."member_role" FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" LEFT JOIN "users" ON "users"."id" = "members"."user_id" WHERE ("members"."user_id" = $1"#,
    r#" AND "orgs"."slug" <> $2)"#,
    r#" ORDER BY "orgs"."name" LIMIT $3"#,
    "",
];

fn same_sql_as_by_hand() {
    // The contenders render the same text (where their syntax allows), so the race is fair.
    // taulu also binds the same values, by both methods.
    for query in ["pk", "join2", "join3"] {
        let (hand, slug, limit) = match query {
            "pk" => (HAND_PK, None, None),
            "join2" => (HAND_JOIN2, Some("x"), Some(10)),
            _ => (HAND_JOIN3, Some("x"), Some(10)),
        };
        let b = by_hand(hand, ID, slug, limit);
        for a in [taulu(query, ID, "x"), taulu_to_sql(query, ID, "x")] {
            assert_eq!((&a.0, format!("{:?}", a.1)), (&b.0, format!("{:?}", b.1)), "{query}");
        }
    }
    for (name, sql) in [("sea-query", sea_join2(ID, "x").0), ("diesel", diesel_join2(ID, "x"))] {
        assert!(sql.contains("INNER JOIN") && sql.contains("LIMIT"), "{name}: {sql}");
    }
}

fn bench(c: &mut Criterion) {
    same_sql_as_by_hand();
    for (query, hand) in [("pk", HAND_PK), ("join2", HAND_JOIN2), ("join3", HAND_JOIN3)] {
        let mut g = c.benchmark_group(query);
        let slug = "acme";
        let (has_slug, limit) = if query == "pk" { (None, None) } else { (Some(slug), Some(10)) };
        g.bench_function("by hand", |b| b.iter(|| by_hand(hand, black_box(ID), black_box(has_slug), limit)));
        g.bench_function("by hand, Param::new", |b| {
            b.iter(|| by_hand_shared(hand, black_box(ID), black_box(has_slug), limit))
        });
        g.bench_function("taulu", |b| b.iter(|| taulu(query, black_box(ID), black_box(slug))));
        g.bench_function("taulu, to_sql", |b| b.iter(|| taulu_to_sql(query, black_box(ID), black_box(slug))));
        g.bench_function("sea-query", |b| {
            b.iter(|| match query {
                "pk" => sea_pk(black_box(ID)),
                "join2" => sea_join2(black_box(ID), black_box(slug)),
                _ => sea_join3(black_box(ID), black_box(slug)),
            })
        });
        g.bench_function("diesel", |b| {
            b.iter(|| match query {
                "pk" => diesel_pk(black_box(ID)),
                "join2" => diesel_join2(black_box(ID), black_box(slug)),
                _ => diesel_join3(black_box(ID), black_box(slug)),
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = taulu_peer_benches::criterion(std::time::Duration::from_secs(2), 40);
    targets = bench
}
criterion_main!(benches);
