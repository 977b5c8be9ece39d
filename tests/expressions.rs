//! The typed expression core: every construct rendered exactly, then run on real PostgreSQL with
//! its result checked.

use chrono::{DateTime, Utc};
use taulu::{
    prelude::*,
    query::{Param, Select, func},
    testing::TestDb,
};
use taulu_app::schema::{
    LoginAttempts, Members, Orgs, Role, Sessions, Users, login_attempts, members, orgs, sessions, users,
};
use tokio_postgres::Client;
use uuid::Uuid;

fn check<S, C, L>(q: Select<S, C, L>, sql: &str, params: &str) {
    let (text, values): (String, Vec<Param>) = q.to_sql();
    assert_eq!((text.as_str(), format!("{values:?}").as_str()), (sql, params));
}

#[test]
fn operators_functions_case_and_casts_render() {
    check(
        select_from::<LoginAttempts>()
            .columns((login_attempts::id.add(1).mul(2).as_("x"), length(login_attempts::identifier)))
            .where_(login_attempts::id.rem(2).eq(0)),
        r#"SELECT ("login_attempts"."id" + $1) * $2 AS "x", length("login_attempts"."identifier") FROM "login_attempts" WHERE "login_attempts"."id" % $3 = $4"#,
        "[1, 2, 2, 0]",
    );
    check(
        select_from::<Users>()
            .columns((
                coalesce(users::display_name, users::username),
                upper(users::username).concat("!"),
                nullif(users::username, "ann"),
                users::system_role.cast::<String>(),
            ))
            .where_(lower(users::email).eq("ann@example.com")),
        r#"SELECT coalesce("users"."display_name", "users"."username"), upper("users"."username") || $1, nullif("users"."username", $2::text), CAST("users"."system_role" AS text) FROM "users" WHERE lower("users"."email") = $3"#,
        r#"["!", "ann", "ann@example.com"]"#,
    );
    check(
        select_from::<Users>().columns((case_when(users::username.eq("ann"), val(1i32))
            .when(users::username.eq("bob"), 2)
            .else_(3)
            .as_("rank"),)),
        r#"SELECT CASE WHEN "users"."username" = $1 THEN $2::integer WHEN "users"."username" = $3 THEN $4::int4 ELSE $5::int4 END AS "rank" FROM "users""#,
        r#"["ann", 1, "bob", 2, 3]"#,
    );
    check(
        select_from::<Sessions>().columns((sessions::id,)).where_(
            sessions::expires_at.gt(now()).and(sessions::created_at.cast::<chrono::NaiveDate>().le(current_date())),
        ),
        r#"SELECT "sessions"."id" FROM "sessions" WHERE ("sessions"."expires_at" > now() AND CAST("sessions"."created_at" AS date) <= CURRENT_DATE)"#,
        "[]",
    );
    check(
        select_from::<Users>()
            .columns((func::<String, _>("initcap", (users::username,)), greatest(users::created_at, users::updated_at)))
            .where_(substring(users::username, 1, 2).eq("an").and(trim(users::email).ne(""))),
        r#"SELECT initcap("users"."username"), greatest("users"."created_at", "users"."updated_at") FROM "users" WHERE (substring("users"."username", $1::int4, $2::int4) = $3 AND trim("users"."email") <> $4)"#,
        r#"[1, 2, "an", ""]"#,
    );
}

#[test]
fn raw_fragments_are_typed_take_expressions_and_are_parenthesised_when_composed() {
    check(
        select_from::<Users>()
            .columns((sql::<String>("upper({})").arg(users::username).as_("u"),))
            .where_(sql("{} = 'a' OR {} = {}").arg(users::username).arg(users::username).bind("b"))
            .where_(users::email.is_not_null()),
        r#"SELECT upper("users"."username") AS "u" FROM "users" WHERE ("users"."username" = 'a' OR "users"."username" = $1) AND "users"."email" IS NOT NULL"#,
        r#"["b"]"#,
    );
    check(
        select_from::<LoginAttempts>()
            .columns((login_attempts::id,))
            .where_(sql::<i64>("{} + 1").arg(login_attempts::id).mul(2).gt(10)),
        r#"SELECT "login_attempts"."id" FROM "login_attempts" WHERE ("login_attempts"."id" + 1) * $1 > $2"#,
        "[2, 10]",
    );
}

#[test]
fn expressions_in_order_by_group_by_joins_and_dml_render() {
    check(
        select_from::<Members>()
            .inner_join_on(Orgs, orgs::id.eq(members::org_id).and(orgs::slug.ne("x")))
            .columns((lower(orgs::name), count_all()))
            .group_by((lower(orgs::name),))
            .order_by(count_all().desc())
            .order_by(lower(orgs::name)),
        r#"SELECT lower("orgs"."name"), count(*) FROM "members" INNER JOIN "orgs" ON ("orgs"."id" = "members"."org_id" AND "orgs"."slug" <> $1) GROUP BY lower("orgs"."name") ORDER BY count(*) DESC, lower("orgs"."name")"#,
        r#"["x"]"#,
    );
    let (sql, _) = update::<Users>()
        .set(users::display_name, upper(users::username).concat("!"))
        .set(users::updated_at, now())
        .set(users::email, lower(users::email))
        .where_(users::display_name.is_null())
        .to_sql();
    assert_eq!(
        sql,
        r#"UPDATE "users" SET "display_name" = upper("users"."username") || $1, "updated_at" = now(), "email" = lower("users"."email") WHERE "users"."display_name" IS NULL"#
    );
    let (sql, _) = insert_into::<Users>()
        .values(users::Insert::new("ann", "Ann@Example.com", "h"))
        .on_conflict((lower(users::email),))
        .do_update_set(users::display_name, coalesce(excluded(users::display_name), users::username))
        .where_(users::username.eq(excluded(users::username)))
        .to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "users" ("username", "email", "password_hash") VALUES ($1, $2, $3) ON CONFLICT ((lower("users"."email"))) DO UPDATE SET "display_name" = coalesce(EXCLUDED."display_name", "users"."username") WHERE "users"."username" = EXCLUDED."username""#
    );
}

async fn seed(c: &Client) -> (Uuid, Uuid) {
    let ids: Vec<Uuid> = c
        .query(
            "INSERT INTO users (username, email, password_hash, display_name) VALUES
                ('ann', 'Ann@Example.com', 'h', 'Ann A.'), ('bob', 'bob@example.com', 'h', NULL)
             RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.batch_execute(&format!(
        "INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme'), ('Globex', 'globex');
         INSERT INTO members (org_id, user_id, member_role) SELECT id, '{0}', 'owner' FROM orgs;
         INSERT INTO members (org_id, user_id) SELECT id, '{1}' FROM orgs WHERE slug = 'acme';
         INSERT INTO login_attempts (identifier, success) VALUES ('ann', true), ('ann', false), ('bob', false);",
        ids[0], ids[1]
    ))
    .await
    .unwrap();
    (ids[0], ids[1])
}

#[tokio::test]
async fn expressions_compute_what_postgres_computes() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let (ann, _) = seed(c).await;

    // Arithmetic keeps the operands' type; integer division truncates.
    let rows: Vec<(i64, i64, i64)> = select_from::<LoginAttempts>()
        .columns((login_attempts::id.add(10), login_attempts::id.div(2), login_attempts::id.rem(2)))
        .order_by(login_attempts::id)
        .fetch_all(c)
        .await
        .unwrap();
    let first = rows[0].0 - 10;
    assert_eq!(rows[0], (first + 10, first / 2, first % 2));
    assert_eq!(rows.len(), 3);

    // coalesce is never NULL when its last argument is not; nullif is Option; CASE with ELSE.
    let rows: Vec<(String, Option<String>, String, i32, String)> = select_from::<Users>()
        .columns((
            coalesce(users::display_name, users::username),
            nullif(users::username, "bob"),
            upper(users::username).concat("!"),
            case_when(users::username.eq("ann"), val(1i32)).else_(2),
            users::id.cast::<String>(),
        ))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("Ann A.".into(), Some("ann".into()), "ANN!".into(), 1, ann.to_string()),
            ("bob".into(), None, "BOB!".into(), 2, rows[1].4.clone()),
        ]
    );

    // A CASE without ELSE is NULL where no arm matches; length and substring.
    let rows: Vec<(Option<String>, i32, String)> = select_from::<Users>()
        .columns((
            case_when(users::display_name.is_null(), users::username),
            length(users::email),
            substring(users::username, 2, 2),
        ))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![(None, 15, "nn".into()), (Some("bob".into()), 15, "ob".into())]);

    // The simple CASE: each WHEN value compared with the operand; without ELSE, NULL where none
    // matches.
    let rows: Vec<(String, i32, Option<String>)> = select_from::<Users>()
        .columns((
            users::username,
            case(users::username).when("ann", val(1i32)).when("bob", 2).else_(0),
            case(users::username).when("bob", val("B".to_owned())),
        ))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("ann".into(), 1, None), ("bob".into(), 2, Some("B".into()))]);

    // Functions in WHERE; raw typed fragments with arguments; a bound value standing alone.
    let (id, shout, one): (Uuid, String, i32) = select_from::<Users>()
        .columns((users::id, sql::<String>("upper({})").arg(users::username), val(1i32)))
        .where_(lower(users::email).eq("ann@example.com"))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!((id, shout.as_str(), one), (ann, "ANN", 1));

    // now(), CURRENT_DATE, casts, greatest.
    let (n, today, later): (DateTime<Utc>, chrono::NaiveDate, DateTime<Utc>) = select_from::<Users>()
        .columns((now(), current_date(), greatest(users::created_at, users::updated_at)))
        .where_(users::created_at.cast::<chrono::NaiveDate>().le(current_date()))
        .limit(1)
        .fetch_one(c)
        .await
        .unwrap();
    assert!(later <= n && today >= n.date_naive().pred_opt().unwrap());

    // A generic typed function call.
    let names: Vec<(String,)> = select_from::<Orgs>()
        .columns((func::<String, _>("initcap", (orgs::slug,)),))
        .order_by(orgs::slug)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(names, vec![("Acme".into(),), ("Globex".into(),)]);
}

#[tokio::test]
async fn aggregates_order_group_and_join_on_expressions() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;

    // ORDER BY an aggregate, GROUP BY an expression, a join ON with two conditions.
    let rows: Vec<(String, i64)> = select_from::<Members>()
        .inner_join_on(Orgs, orgs::id.eq(members::org_id).and(orgs::slug.ne("none")))
        .columns((lower(orgs::name), count_all()))
        .group_by((lower(orgs::name),))
        .order_by(count_all().desc())
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("acme".into(), 2), ("globex".into(), 1)]);

    // HAVING on an aggregate compared with an expression; sum of a bigint is numeric.
    let rows: Vec<(String, i64, Option<rust_decimal::Decimal>)> = select_from::<LoginAttempts>()
        .columns((login_attempts::identifier, count_all(), sum(login_attempts::id.sub(login_attempts::id))))
        .group_by((login_attempts::identifier,))
        .having(count(login_attempts::id).ge(2))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("ann".into(), 2, Some(rust_decimal::Decimal::ZERO))]);

    // A left join ON with a condition on the joined table: the non-matching side is None.
    let rows: Vec<(String, Option<Role>)> = select_from::<Orgs>()
        .left_join_on(Members, members::org_id.eq(orgs::id).and(members::member_role.eq(Role::Member)))
        .columns((orgs::slug, members::member_role))
        .order_by(orgs::slug)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("acme".into(), Some(Role::Member)), ("globex".into(), None)]);

    // EXISTS as an expression, and a scalar subquery compared in WHERE.
    let rows: Vec<(String,)> = select_from::<Orgs>()
        .columns((orgs::slug,))
        .where_(exists(select_from::<Users>().where_(users::username.eq("bob"))))
        .where_(scalar(select_from::<Members>().columns((count_all(),))).ge(3))
        .order_by(orgs::slug)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("acme".into(),), ("globex".into(),)]);
}

#[tokio::test]
async fn all_over_joins_reads_every_tables_row() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let (ann, bob) = seed(c).await;
    c.execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, '\\x01', now() + interval '1 day')",
        &[&ann],
    )
    .await
    .unwrap();
    let rows: Vec<(users::Row, Option<taulu_app::schema::sessions::Row>)> = select_from::<Users>()
        .left_join(sessions::user_id, users::id)
        .all()
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].0.id, rows[0].1.as_ref().map(|s| s.user_id)), (ann, Some(ann)));
    assert_eq!(rows[0].1.as_ref().unwrap().token_hash, vec![1u8]);
    assert_eq!((rows[1].0.id, rows[1].1.is_none()), (bob, true));

    let three: (members::Row, orgs::Row, users::Row) = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .inner_join(users::id, members::user_id)
        .all()
        .where_(users::id.eq(bob))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!((three.0.user_id, three.1.slug.as_str(), three.2.username.as_str()), (bob, "acme", "bob"));
}

#[tokio::test]
async fn set_and_upserts_take_expressions() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;

    // SET from other columns and functions; now() in SET.
    let changed = update::<Users>()
        .set(users::display_name, upper(users::username).concat("!"))
        .set(users::email, lower(users::email))
        .set(users::updated_at, now())
        .where_(users::display_name.is_null())
        .returning((users::username, users::display_name, users::email))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(changed, vec![("bob".into(), Some("BOB!".into()), "bob@example.com".into())]);

    // An upsert on the expression index lower(email), setting from EXCLUDED and the existing row,
    // with DO UPDATE .. WHERE comparing them.
    let upsert = |name: &'static str, email: &'static str, display: &'static str| {
        insert_into::<Users>()
            .values(users::Insert::new(name, email, "h").with_display_name(display))
            .on_conflict((lower(users::email),))
            .do_update_set(users::display_name, coalesce(excluded(users::display_name), users::username))
            .where_(users::username.eq(excluded(users::username)))
            .returning((users::username, users::display_name))
    };
    let rows = upsert("ann", "ANN@example.com", "Annie").fetch_all(c).await.unwrap();
    assert_eq!(rows, vec![("ann".into(), Some("Annie".into()))]);
    // Same address, another name: the WHERE refuses, nothing is updated or returned.
    let rows = upsert("eve", "ann@EXAMPLE.com", "Eve").fetch_all(c).await.unwrap();
    assert!(rows.is_empty());
    let (name,): (Option<String>,) = select_from::<Users>()
        .columns((users::display_name,))
        .where_(users::username.eq("ann"))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("Annie"));

    // INSERT .. SELECT: one org per user, slug from an expression of the username.
    let n = insert_into::<Orgs>()
        .select(
            (orgs::name, orgs::slug),
            select_from::<Users>().columns((users::username, lower(users::username).concat("-team"))),
        )
        .execute(c)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let slugs: Vec<(String,)> = select_from::<Orgs>()
        .columns((orgs::slug,))
        .where_(orgs::slug.like("%-team"))
        .order_by(orgs::slug)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(slugs, vec![("ann-team".into(),), ("bob-team".into(),)]);
}

#[derive(Debug, PartialEq, taulu::FromRow)]
struct Account {
    username: String,
    shout: String,
    display_name: Option<String>,
}

#[tokio::test]
async fn rows_read_into_the_users_structs() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let q = || {
        select_from::<Users>()
            .columns((users::username, upper(users::username), users::display_name))
            .order_by(users::username)
    };
    let all: Vec<Account> = q().fetch_all_as(c).await.unwrap();
    let expected = vec![
        Account { username: "ann".into(), shout: "ANN".into(), display_name: Some("Ann A.".into()) },
        Account { username: "bob".into(), shout: "BOB".into(), display_name: None },
    ];
    assert_eq!(all, expected);
    assert_eq!(q().select_as::<Account>().fetch_all(c).await.unwrap(), expected);
    let first: Account = q().fetch_one_as(c).await.unwrap();
    assert_eq!(first, expected[0]);
}

/// `select_no_from()`: a SELECT of values and expressions over no table, run on PostgreSQL.
#[tokio::test]
async fn a_select_without_from_reads_values_and_subqueries() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    c.batch_execute("INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h')").await.unwrap();
    let (one, anyone, none, users) = select_no_from()
        .columns((
            val(1i32),
            exists(select_from::<Users>().where_(users::username.eq("ann"))),
            exists(select_from::<Users>().where_(users::username.eq("zed"))),
            scalar(select_from::<Users>().columns((count_all(),))),
        ))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!((one, anyone, none, users), (1, true, false, Some(1)));
}
