//! Subqueries in FROM, LATERAL joins and CTEs as typed tables, on PostgreSQL.

use chrono::{DateTime, Utc};
use taulu::{
    prelude::*,
    query::{derived, lateral, select_from_derived, with},
    testing::TestDb,
};
use taulu_app::schema::{LoginAttempts, Users, login_attempts, users};
use tokio_postgres::Client;

taulu::alias!(Failures, Latest, Counts, Recent, Failed);

async fn seed(c: &Client) {
    c.batch_execute(
        "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h'), ('bob', 'bob@x', 'h'), ('cid', 'cid@x', 'h');
         INSERT INTO login_attempts (identifier, success, attempted_at) VALUES
            ('ann', false, '2026-01-01 10:00Z'), ('ann', false, '2026-01-01 10:01Z'), ('ann', true, '2026-01-01 10:02Z'),
            ('bob', false, '2026-01-01 09:00Z'), ('zed', false, '2026-01-01 08:00Z');",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_subquery_in_from_is_a_typed_table() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let failures = derived(
        Failures,
        select_from::<LoginAttempts>()
            .columns((login_attempts::identifier, count_all(), max(login_attempts::attempted_at)))
            .where_(login_attempts::success.eq(false))
            .group_by((login_attempts::identifier,)),
    );
    let (who, n, last) = (failures.col::<0>(), failures.col::<1>(), failures.col::<2>());
    let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = select_from_derived(failures)
        .columns((who, n, last))
        .where_(n.ge(1))
        .order_by(n.desc())
        .order_by(who)
        .fetch_all(c)
        .await
        .unwrap();
    let names: Vec<(&str, i64)> = rows.iter().map(|(w, n, _)| (w.as_str(), *n)).collect();
    assert_eq!(names, [("ann", 2), ("bob", 1), ("zed", 1)]);

    // Joined to a table: users with their failure counts; a LEFT JOIN reads its columns as Option.
    let failures = derived(
        Failures,
        select_from::<LoginAttempts>()
            .columns((login_attempts::identifier, count_all()))
            .where_(login_attempts::success.eq(false))
            .group_by((login_attempts::identifier,)),
    );
    let (who, n) = (failures.col::<0>(), failures.col::<1>());
    let rows: Vec<(String, Option<i64>)> = select_from::<Users>()
        .left_join_derived(failures, who.eq(users::username))
        .columns((users::username, n))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("ann".into(), Some(2)), ("bob".into(), Some(1)), ("cid".into(), None)]);
}

#[tokio::test]
async fn a_lateral_join_reads_the_latest_row_per_user() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let base = select_from::<Users>();
    let latest = lateral(&base, Latest, LoginAttempts, |a| {
        a.columns((login_attempts::success, login_attempts::attempted_at))
            .where_(login_attempts::identifier.eq(users::username))
            .order_by(login_attempts::attempted_at.desc())
            .limit(1)
    });
    let (ok, at) = (latest.col::<0>(), latest.col::<1>());
    let rows: Vec<(String, Option<bool>, Option<DateTime<Utc>>)> = base
        .left_join_derived(latest, on_true())
        .columns((users::username, ok, at))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    let seen: Vec<(&str, Option<bool>)> = rows.iter().map(|(u, ok, _)| (u.as_str(), *ok)).collect();
    assert_eq!(seen, [("ann", Some(true)), ("bob", Some(false)), ("cid", None)]);
}

/// `.all()` over a left-joined derived table tells a matched row whose columns are all NULL
/// from no match (a presence marker, `"Latest" IS DISTINCT FROM NULL`): it read both as `None`.
#[tokio::test]
async fn all_over_a_left_joined_subquery_keeps_a_matched_row_of_nulls() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let base = select_from::<Users>();
    // ann's and bob's attempts have no user_id (NULL); cid has no attempt.
    let latest = lateral(&base, Latest, LoginAttempts, |a| {
        a.columns((login_attempts::user_id,))
            .where_(login_attempts::identifier.eq(users::username))
            .order_by(login_attempts::attempted_at.desc())
            .limit(1)
    });
    let q = base.left_join_derived(latest, on_true()).all().order_by(users::username);
    assert!(q.to_sql().0.starts_with(r#"SELECT "users"."id", "#), "{}", q.to_sql().0);
    assert!(q.to_sql().0.contains(r#", "Latest" IS DISTINCT FROM NULL, "Latest"."user_id" FROM"#), "{}", q.to_sql().0);
    let rows = q.fetch_all(c).await.unwrap();
    let seen: Vec<(&str, Option<(Option<uuid::Uuid>,)>)> =
        rows.iter().map(|(u, l)| (u.username.as_str(), *l)).collect();
    assert_eq!(seen, [("ann", Some((None,))), ("bob", Some((None,))), ("cid", None)]);
}

/// CROSS JOIN LATERAL keeps only the rows its subquery answers for (`cid` has no attempt); a
/// plain CROSS JOIN pairs every row with every row.
#[tokio::test]
async fn cross_joins_of_tables_and_lateral_subqueries() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let base = select_from::<Users>();
    let latest = lateral(&base, Latest, LoginAttempts, |a| {
        a.columns((login_attempts::success,))
            .where_(login_attempts::identifier.eq(users::username))
            .order_by(login_attempts::attempted_at.desc())
            .limit(1)
    });
    let ok = latest.col::<0>();
    let q = base.cross_join_derived(latest).columns((users::username, ok)).order_by(users::username);
    assert!(
        q.to_sql().0.contains(r#"FROM "users" CROSS JOIN LATERAL (SELECT "login_attempts"."success""#),
        "{}",
        q.to_sql().0
    );
    let rows: Vec<(String, bool)> = q.fetch_all(c).await.unwrap();
    assert_eq!(rows, [("ann".to_owned(), true), ("bob".to_owned(), false)]);

    taulu::alias!(Other);
    let pairs = select_from::<Users>()
        .cross_join(taulu::query::Aliased::<Users, Other>::default())
        .columns((users::username, users::username.of::<Other>()))
        .where_(users::username.lt(users::username.of::<Other>()))
        .order_by(users::username)
        .order_by(users::username.of::<Other>());
    assert_eq!(
        pairs.to_sql().0,
        r#"SELECT "users"."username", "Other"."username" FROM "users" CROSS JOIN "users" AS "Other" WHERE "users"."username" < "Other"."username" ORDER BY "users"."username", "Other"."username""#
    );
    let rows: Vec<(String, String)> = pairs.fetch_all(c).await.unwrap();
    let rows: Vec<(&str, &str)> = rows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(rows, [("ann", "bob"), ("ann", "cid"), ("bob", "cid")]);
}

#[tokio::test]
async fn ctes_are_tables_of_the_statement() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let counts = derived(
        Counts,
        select_from::<LoginAttempts>()
            .columns((login_attempts::identifier, count_all()))
            .group_by((login_attempts::identifier,)),
    );
    let recent = derived(
        Recent,
        select_from::<LoginAttempts>().columns((login_attempts::identifier,)).where_(
            login_attempts::attempted_at.ge(DateTime::parse_from_rfc3339("2026-01-01T09:30:00Z").unwrap().to_utc()),
        ),
    );
    let (who, n) = (counts.col::<0>(), counts.col::<1>());
    let recent_who = recent.col::<0>();
    // Two CTEs in one WITH; the statement joins the first.
    let q = with(&counts)
        .and(&recent)
        .select_from::<Users>()
        .inner_join_cte(&counts, who.eq(users::username))
        .columns((users::username, n))
        .order_by(users::username);
    let rows = q.fetch_all(c).await.unwrap();
    assert_eq!(rows, vec![("ann".into(), 3), ("bob".into(), 1)]);
    // Reading from a CTE directly.
    let rows: Vec<(String,)> =
        with(&recent).select_from_cte(&recent).columns((recent_who,)).distinct().fetch_all(c).await.unwrap();
    assert_eq!(rows, vec![("ann".into(),)]);
}

mod tree {
    taulu::schema!("tests/fixtures/tree");
}

taulu::alias!(Walk);

#[tokio::test]
async fn a_recursive_cte_walks_a_tree() {
    use taulu::query::recursive;
    use tree::{Categories, categories};
    let set =
        taulu::migrate::Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tree")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO categories (parent_id, name) VALUES (NULL, 'root');
         INSERT INTO categories (parent_id, name) SELECT id, 'books' FROM categories WHERE name = 'root';
         INSERT INTO categories (parent_id, name) SELECT id, 'games' FROM categories WHERE name = 'root';
         INSERT INTO categories (parent_id, name) SELECT id, 'novels' FROM categories WHERE name = 'books';
         INSERT INTO categories (parent_id, name) SELECT id, 'poetry' FROM categories WHERE name = 'books';
         INSERT INTO categories (parent_id, name) SELECT id, 'sonnets' FROM categories WHERE name = 'poetry';",
    )
    .await
    .unwrap();
    // Everything under 'books', with its depth: the base row, then children of rows found so far.
    let walk = recursive(
        Walk,
        select_from::<Categories>()
            .columns((categories::id, categories::name, val(0i32)))
            .where_(categories::name.eq("books")),
        |walk| {
            select_from::<Categories>().inner_join_cte(walk, categories::parent_id.eq(walk.col::<0>())).columns((
                categories::id,
                categories::name,
                walk.col::<2>().add(1),
            ))
        },
    );
    let (name, depth) = (walk.col::<1>(), walk.col::<2>());
    let rows: Vec<(String, i32)> = with(&walk)
        .select_from_cte(&walk)
        .columns((name, depth))
        .order_by(depth)
        .order_by(name)
        .fetch_all(c)
        .await
        .unwrap();
    let rows: Vec<(&str, i32)> = rows.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    assert_eq!(rows, [("books", 0), ("novels", 1), ("poetry", 1), ("sonnets", 2)]);
}

/// `recursive_distinct` (UNION): a walk over a cycle ends, each row once (with UNION ALL this
/// statement would never finish).
#[tokio::test]
async fn a_recursive_union_walk_over_a_cycle_ends() {
    use taulu::query::recursive_distinct;
    use tree::{Categories, categories};
    let set =
        taulu::migrate::Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tree")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO categories (parent_id, name) VALUES (NULL, 'a'), (NULL, 'b'), (NULL, 'c');
         UPDATE categories SET parent_id = (SELECT id FROM categories WHERE name = 'b') WHERE name = 'a';
         UPDATE categories SET parent_id = (SELECT id FROM categories WHERE name = 'a') WHERE name = 'b';",
    )
    .await
    .unwrap();
    // Up the parent chain from 'a': a, b, a, b, .. as rows; UNION keeps {a, b}.
    let up = recursive_distinct(
        Walk,
        select_from::<Categories>().columns((categories::id, categories::parent_id)).where_(categories::name.eq("a")),
        |up| {
            select_from::<Categories>()
                .inner_join_cte(up, categories::id.nullable().eq(up.col::<1>()))
                .columns((categories::id, categories::parent_id))
        },
    );
    let q = with(&up).select_from_cte(&up).columns((up.col::<0>(),));
    assert!(q.to_sql().0.contains(" UNION SELECT "), "{}", q.to_sql().0);
    let ids: Vec<(i64,)> = q.fetch_all(c).await.unwrap();
    assert_eq!(ids.len(), 2, "{ids:?}");
}

/// A recursive CTE whose base query has its own ORDER BY and LIMIT: the base is parenthesised (it
/// rendered `.. LIMIT $1 UNION ALL ..`, a syntax error).
#[tokio::test]
async fn a_recursive_cte_whose_base_is_limited_is_parenthesised() {
    use taulu::query::recursive;
    use tree::{Categories, categories};
    let set =
        taulu::migrate::Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tree")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO categories (parent_id, name) VALUES (NULL, 'b-root'), (NULL, 'a-root');
         INSERT INTO categories (parent_id, name) SELECT id, 'child' FROM categories WHERE name = 'a-root';",
    )
    .await
    .unwrap();
    // The first root by name, and what is under it.
    let walk = recursive(
        Walk,
        select_from::<Categories>()
            .columns((categories::id, categories::name))
            .where_(categories::parent_id.is_null())
            .order_by(categories::name)
            .limit(1),
        |walk| {
            select_from::<Categories>()
                .inner_join_cte(walk, categories::parent_id.eq(walk.col::<0>()))
                .columns((categories::id, categories::name))
        },
    );
    let q = with(&walk).select_from_cte(&walk).columns((walk.col::<1>(),)).order_by(walk.col::<1>());
    let (sql, _) = q.to_sql();
    assert!(
        sql.starts_with(r#"WITH RECURSIVE "Walk"("id", "name") AS ((SELECT "categories"."id", "categories"."name" FROM "categories" WHERE "categories"."parent_id" IS NULL ORDER BY "categories"."name" LIMIT $1) UNION ALL SELECT "#),
        "{sql}"
    );
    let names: Vec<(String,)> = q.fetch_all(c).await.unwrap();
    assert_eq!(names, [("a-root".to_owned(),), ("child".to_owned(),)]);
}

taulu::alias!(Added);

/// An INSERT of no rows inside a WITH inserts nothing (it rendered DEFAULT VALUES: one row of
/// defaults, or a NOT NULL error).
#[tokio::test]
async fn an_insert_of_no_rows_in_a_cte_inserts_nothing() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let added = derived(Added, insert_into::<LoginAttempts>().values_many([]).returning((login_attempts::identifier,)));
    let q = with(&added).select_from_cte(&added).columns((added.col::<0>(),));
    let (sql, _) = q.to_sql();
    assert!(sql.contains(r#"INSERT INTO "login_attempts" SELECT WHERE false RETURNING"#), "{sql}");
    let rows: Vec<(String,)> = q.fetch_all(c).await.unwrap();
    assert!(rows.is_empty());
    let n: i64 = c.query_one("SELECT count(*) FROM login_attempts", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
}

taulu::alias!(Moved);

#[tokio::test]
async fn a_data_modifying_cte_moves_rows_in_one_statement() {
    use taulu::query::select_from_cte;
    use taulu_app::schema::{Sessions, sessions};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    c.batch_execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at, revoked_at)
            SELECT id, decode(md5(username), 'hex'), now() + interval '1 day', CASE WHEN username = 'cid' THEN NULL ELSE now() END FROM users;",
    )
    .await
    .unwrap();
    // WITH moved AS (DELETE .. RETURNING ..) INSERT INTO login_attempts .. SELECT .. FROM moved
    let moved = derived(
        Moved,
        delete_from::<Sessions>().where_(sessions::revoked_at.is_not_null()).returning((sessions::user_id,)),
    );
    let user = moved.col::<0>();
    let q = with(&moved).insert_into::<LoginAttempts>().select(
        (login_attempts::identifier, login_attempts::success, login_attempts::user_id),
        select_from_cte(&moved).columns((val("session revoked"), val(false), user)),
    );
    assert_eq!(
        q.to_sql().0,
        r#"WITH "Moved"("user_id") AS (DELETE FROM "sessions" WHERE "sessions"."revoked_at" IS NOT NULL RETURNING "sessions"."user_id") INSERT INTO "login_attempts" ("identifier", "success", "user_id") SELECT $1::text, $2::boolean, "Moved"."user_id" FROM "Moved""#
    );
    assert_eq!(q.execute(c).await.unwrap(), 2);
    let left: Vec<(i64,)> = select_from::<Sessions>().columns((count_all(),)).fetch_all(c).await.unwrap();
    let logged: Vec<(i64,)> = select_from::<LoginAttempts>()
        .columns((count_all(),))
        .where_(login_attempts::identifier.eq("session revoked"))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!((left, logged), (vec![(1,)], vec![(2,)]));
}

taulu::alias!(Renamed, Gone, Shout);

/// WITH before UPDATE and DELETE: the CTE in the statement's FROM / USING, its columns in SET,
/// WHERE and RETURNING.
#[tokio::test]
async fn update_and_delete_read_the_ctes_of_their_with() {
    use taulu_app::schema::{Sessions, sessions};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    c.batch_execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at)
            SELECT id, decode(md5(username), 'hex'), now() + interval '1 day' FROM users;",
    )
    .await
    .unwrap();
    let renamed = derived(
        Renamed,
        select_from::<Users>()
            .columns((users::id, upper(users::username).as_(Shout)))
            .where_(users::username.like("b%")),
    );
    // Columns keep the names their items give them: a column's own, a typed alias's.
    let shout = renamed.column(Shout);
    let q = with(&renamed)
        .update::<Users>()
        .from_cte(&renamed)
        .set(users::display_name, shout)
        .where_(users::id.eq(renamed.column(users::id)))
        .returning((users::username, shout));
    let (sql, _) = q.to_sql();
    assert!(sql.starts_with(r#"WITH "Renamed"("id", "Shout") AS (SELECT "users"."id", upper("users"."username") AS "Shout" FROM "users" WHERE "users"."username" LIKE $1) UPDATE "users" SET "display_name" = "Renamed"."Shout" FROM "Renamed" WHERE "users"."id" = "Renamed"."id""#), "{sql}");
    let rows: Vec<(String, String)> = q.fetch_all(c).await.unwrap();
    assert_eq!(rows.iter().map(|(u, s)| (u.as_str(), s.as_str())).collect::<Vec<_>>(), [("bob", "BOB")]);

    let gone = derived(Gone, select_from::<Users>().columns((users::id,)).where_(users::username.eq("ann")));
    let deleted = with(&gone)
        .delete_from::<Sessions>()
        .using_cte(&gone)
        .where_(sessions::user_id.eq(gone.col::<0>()))
        .execute(c)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    let left: i64 = c.query_one("SELECT count(*) FROM sessions", &[]).await.unwrap().get(0);
    assert_eq!(left, 2, "bob's and cid's");
}

/// A derived table takes as many columns as a select list (16), each read by position.
#[tokio::test]
async fn a_derived_table_of_ten_columns() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let wide = derived(
        Recent,
        select_from::<Users>().columns((
            users::id,
            users::username,
            users::email,
            users::password_hash,
            users::system_role,
            users::created_at,
            users::updated_at,
            users::display_name,
            lower(users::username),
            upper(users::username),
        )),
    );
    let (name, shout) = (wide.col::<1>(), wide.col::<9>());
    let rows: Vec<(String, String)> =
        select_from_derived(wide).columns((name, shout)).order_by(name).fetch_all(c).await.unwrap();
    assert_eq!(rows[0], ("ann".to_owned(), "ANN".to_owned()));
}

#[tokio::test]
async fn a_select_of_all_columns_is_a_derived_table_and_a_cte() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let failed = || derived(Failed, select_from::<LoginAttempts>().all().where_(login_attempts::success.eq(false)));

    // In FROM: its columns are the table's, in table order, typed as the table types them, and
    // found by the column they selected as well as by position.
    let f = failed();
    let (identifier, attempted_at) = (f.column(login_attempts::identifier), f.col::<6>());
    let q = select_from_derived(f).columns((identifier, attempted_at)).order_by(attempted_at);
    assert!(
        q.to_sql()
            .0
            .contains(r#"AS "Failed"("id", "user_id", "identifier", "success", "ip", "user_agent", "attempted_at")"#),
        "{}",
        q.to_sql().0
    );
    let rows: Vec<(String, DateTime<Utc>)> = q.fetch_all(c).await.unwrap();
    let names: Vec<&str> = rows.iter().map(|(who, _)| who.as_str()).collect();
    assert_eq!(names, ["zed", "bob", "ann", "ann"]);

    // In WITH, read whole: the rows are the table's own row struct.
    let f = failed();
    let rows: Vec<login_attempts::Row> =
        with(&f).select_from_cte(&f).all().order_by(f.col::<6>()).fetch_all(c).await.unwrap();
    let got: Vec<(&str, bool)> = rows.iter().map(|r| (r.identifier.as_str(), r.success)).collect();
    assert_eq!(got, [("zed", false), ("bob", false), ("ann", false), ("ann", false)]);

    // Joined, its nullable columns stay nullable and its NOT NULL ones read as Option when left-joined.
    let f = failed();
    let (who, ip) = (f.col::<2>(), f.col::<4>());
    let rows: Vec<(String, Option<String>, Option<std::net::IpAddr>)> = select_from::<Users>()
        .left_join_derived(f, who.eq(users::username))
        .columns((users::username, who, ip))
        .order_by(users::username)
        .order_by(who)
        .fetch_all(c)
        .await
        .unwrap();
    let got: Vec<(&str, Option<&str>)> = rows.iter().map(|(u, w, _)| (u.as_str(), w.as_deref())).collect();
    assert_eq!(got, [("ann", Some("ann")), ("ann", Some("ann")), ("bob", Some("bob")), ("cid", None)]);
}

#[tokio::test]
async fn a_derived_tables_column_is_found_by_the_column_it_selected() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let counts = derived(
        Counts,
        select_from::<LoginAttempts>()
            .columns((count_all(), login_attempts::identifier, max(login_attempts::attempted_at)))
            .group_by((login_attempts::identifier,)),
    );
    let (n, who) = (counts.col::<0>(), counts.column(login_attempts::identifier));
    let rows: Vec<(String, i64)> = select_from::<Users>()
        .inner_join_derived(counts, who.eq(users::username))
        .columns((who, n))
        .order_by(who)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, [("ann".to_owned(), 3), ("bob".to_owned(), 1)]);
}

#[tokio::test]
async fn a_derived_tables_columns_keep_their_names_unless_two_share_one() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    taulu::alias!(Pairs, Mail);
    // Two items named `id`, one with a string alias, one with a typed alias, one column.
    let pairs = derived(
        Pairs,
        select_from::<LoginAttempts>().inner_join_on(Users, users::username.eq(login_attempts::identifier)).columns((
            users::id,
            login_attempts::id,
            lower(users::email).as_("lowered"),
            upper(users::email).as_(Mail),
            login_attempts::success,
        )),
    );
    let (attempt, lowered, mail, success) =
        (pairs.col::<1>(), pairs.col::<2>(), pairs.column(Mail), pairs.column(login_attempts::success));
    let q = select_from_derived(pairs).columns((lowered, mail, success)).where_(success.eq(true)).order_by(attempt);
    let (sql, _) = q.to_sql();
    assert!(
        sql.ends_with(
            r#"AS "Pairs"("c0", "c1", "c2", "Mail", "success") WHERE "Pairs"."success" = $1 ORDER BY "Pairs"."c1""#
        ),
        "{sql}"
    );
    assert!(sql.starts_with(r#"SELECT "Pairs"."c2", "Pairs"."Mail", "Pairs"."success" FROM"#), "{sql}");
    let rows: Vec<(String, String, bool)> = q.fetch_all(c).await.unwrap();
    assert_eq!(rows, [("ann@x".to_owned(), "ANN@X".to_owned(), true)]);
    // The outer query's result columns carry those names too.
    let row = c.query_one(&sql, &[&true]).await.unwrap();
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["c2", "Mail", "success"]);
}
