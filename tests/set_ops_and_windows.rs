//! Set operations and window functions: rendered exactly, then run on real PostgreSQL.

use taulu::{
    prelude::*,
    query::{FrameBound, Param, dense_rank, first_value, lag, lead, rank, window},
    testing::TestDb,
};
use taulu_app::schema::{LoginAttempts, Members, Orgs, Users, login_attempts, members, orgs, users};
use tokio_postgres::Client;

#[test]
fn set_operations_render() {
    let q = select_from::<Users>()
        .columns((users::username,))
        .where_(users::username.like("a%"))
        .union_all(select_from::<Orgs>().columns((orgs::slug,)).where_(orgs::slug.ne("x")))
        .except(select_from::<Users>().columns((users::email,)))
        .order_by_nth_desc(1)
        .limit(5)
        .offset(1);
    let (sql, params): (String, Vec<Param>) = q.to_sql();
    assert_eq!(
        sql,
        r#"(SELECT "users"."username" FROM "users" WHERE "users"."username" LIKE $1) UNION ALL (SELECT "orgs"."slug" FROM "orgs" WHERE "orgs"."slug" <> $2) EXCEPT (SELECT "users"."email" FROM "users") ORDER BY 1 DESC LIMIT $3 OFFSET $4"#
    );
    assert_eq!(format!("{params:?}"), r#"["a%", "x", 5, 1]"#);
    let (sql, _) = select_from::<Users>()
        .columns((users::id,))
        .intersect(select_from::<Members>().columns((members::user_id,)))
        .to_sql();
    assert_eq!(sql, r#"(SELECT "users"."id" FROM "users") INTERSECT (SELECT "members"."user_id" FROM "members")"#);
    // Grouped as the chain reads (SQL binds INTERSECT tighter), and any grouping by nesting.
    let users = || select_from::<Users>().columns((users::username,));
    let slugs = || select_from::<Orgs>().columns((orgs::slug,));
    let (sql, _) = users().union(slugs()).intersect(users()).except(slugs()).intersect(users()).to_sql();
    let (u, o) = (r#"(SELECT "users"."username" FROM "users")"#, r#"(SELECT "orgs"."slug" FROM "orgs")"#);
    assert_eq!(sql, format!("(({u} UNION {o}) INTERSECT {u} EXCEPT {o}) INTERSECT {u}"));
    let (sql, _) = users().union(slugs().intersect(users())).to_sql();
    assert_eq!(sql, format!("{u} UNION ({o} INTERSECT {u})"));
}

#[test]
fn window_functions_render() {
    let (sql, _) = select_from::<Members>()
        .columns((
            members::user_id,
            row_number().over(partition_by((members::org_id,)).order_by(members::created_at.desc())).as_("n"),
            count_all().over(window()),
            sum(length(members::member_role.cast::<String>())).over(
                window().order_by(members::created_at).rows_between(FrameBound::Preceding(2), FrameBound::CurrentRow),
            ),
        ))
        .to_sql();
    assert_eq!(
        sql,
        r#"SELECT "members"."user_id", row_number() OVER (PARTITION BY "members"."org_id" ORDER BY "members"."created_at" DESC) AS "n", count(*) OVER (), sum(length(CAST("members"."member_role" AS text))) OVER (ORDER BY "members"."created_at" ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM "members""#
    );
}

async fn seed(c: &Client) {
    c.batch_execute(
        "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h'), ('bob', 'bob@x', 'h');
         INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme'), ('Bobs', 'bob');
         INSERT INTO login_attempts (identifier, success, attempted_at) VALUES
            ('ann', false, '2026-01-01 10:00Z'), ('ann', true, '2026-01-01 10:01Z'),
            ('bob', false, '2026-01-01 09:00Z'), ('ann', false, '2026-01-01 10:02Z');",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn set_operations_combine_rows_on_postgres() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let names = |rows: Vec<(String,)>| rows.into_iter().map(|(n,)| n).collect::<Vec<_>>();
    let users = || select_from::<Users>().columns((users::username,));
    let slugs = || select_from::<Orgs>().columns((orgs::slug,));
    assert_eq!(names(users().union(slugs()).order_by_nth(1).fetch_all(c).await.unwrap()), ["acme", "ann", "bob"]);
    assert_eq!(
        names(users().union_all(slugs()).order_by_nth(1).fetch_all(c).await.unwrap()),
        ["acme", "ann", "bob", "bob"]
    );
    assert_eq!(names(users().intersect(slugs()).fetch_all(c).await.unwrap()), ["bob"]);
    assert_eq!(names(users().except(slugs()).fetch_all(c).await.unwrap()), ["ann"]);
    assert_eq!(
        names(users().union(slugs()).order_by_nth_desc(1).limit(1).offset(1).fetch_all(c).await.unwrap()),
        ["ann"]
    );
    // ((slugs ∪ users) − users) ∩ slugs, as the chain reads: {acme}; written flat, SQL would read
    // (slugs ∪ users) − (users ∩ slugs): {acme, ann}.
    let grouped = slugs().union(users()).except(users()).intersect(slugs()).order_by_nth(1);
    assert_eq!(names(grouped.fetch_all(c).await.unwrap()), ["acme"]);
    let nested = slugs().union(users().except(users().intersect(slugs()))).order_by_nth(1);
    assert_eq!(names(nested.fetch_all(c).await.unwrap()), ["acme", "ann", "bob"]);

    // Read into a struct, as a SELECT is; every fetch form a SELECT has.
    #[derive(taulu::FromRow, Debug, PartialEq)]
    struct Name {
        name: String,
    }
    let both = || users().union(slugs()).order_by_nth(1);
    let all: Vec<Name> = both().fetch_all_as::<Name>(c).await.unwrap();
    assert_eq!(all.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["acme", "ann", "bob"]);
    assert_eq!(both().fetch_one_as::<Name>(c).await.unwrap(), Name { name: "acme".into() });
    let none = users().intersect(users().where_(users::username.eq("nobody")));
    assert!(matches!(none.fetch_one_as::<Name>(c).await, Err(taulu::Error::NoRows)));
    assert_eq!(both().into_sql().0, both().to_sql().0);
}

#[tokio::test]
async fn window_functions_compute_per_partition_on_postgres() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let by_time = || partition_by((login_attempts::identifier,)).order_by(login_attempts::attempted_at);
    type Ranked = (String, i64, i64, i64, Option<bool>, Option<bool>, bool, i64);
    let rows: Vec<Ranked> = select_from::<LoginAttempts>()
        .columns((
            login_attempts::identifier,
            row_number().over(by_time()),
            rank().over(partition_by((login_attempts::identifier,)).order_by(login_attempts::success)),
            dense_rank().over(partition_by((login_attempts::identifier,)).order_by(login_attempts::success)),
            lag(login_attempts::success).over(by_time()),
            lead(login_attempts::success).over(by_time()),
            first_value(login_attempts::success).over(by_time()),
            count_all().over(partition_by((login_attempts::identifier,))),
        ))
        .order_by(login_attempts::identifier)
        .order_by(login_attempts::attempted_at)
        .fetch_all(c)
        .await
        .unwrap();
    let s = |v: &str| v.to_owned();
    assert_eq!(
        rows,
        vec![
            (s("ann"), 1, 1, 1, None, Some(true), false, 3),
            (s("ann"), 2, 3, 2, Some(false), Some(false), false, 3),
            (s("ann"), 3, 1, 1, Some(true), None, false, 3),
            (s("bob"), 1, 1, 1, None, None, false, 1),
        ]
    );
    // A running count over a frame, and the window in ORDER BY.
    let running: Vec<(i64,)> = select_from::<LoginAttempts>()
        .columns((count_all().over(
            window()
                .order_by(login_attempts::attempted_at)
                .rows_between(FrameBound::Preceding(1), FrameBound::CurrentRow),
        ),))
        .order_by(row_number().over(window().order_by(login_attempts::attempted_at)))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(running, vec![(1,), (2,), (2,), (2,)]);
}

/// An aggregate's `FILTER (WHERE ..)`: per group, and under OVER.
#[tokio::test]
async fn aggregates_with_a_filter_count_only_their_rows_on_postgres() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let failed = || count_all().filter(login_attempts::success.eq(false));
    let q = select_from::<LoginAttempts>()
        .group_by((login_attempts::identifier,))
        .columns((
            login_attempts::identifier,
            failed(),
            max(login_attempts::attempted_at).filter(login_attempts::success),
        ))
        .order_by(login_attempts::identifier);
    assert_eq!(
        q.to_sql().0,
        r#"SELECT "login_attempts"."identifier", count(*) FILTER (WHERE "login_attempts"."success" = $1), max("login_attempts"."attempted_at") FILTER (WHERE "login_attempts"."success") FROM "login_attempts" GROUP BY "login_attempts"."identifier" ORDER BY "login_attempts"."identifier""#
    );
    let rows = q.fetch_all(c).await.unwrap();
    let rows: Vec<(&str, i64, bool)> = rows.iter().map(|(who, n, last)| (who.as_str(), *n, last.is_some())).collect();
    assert_eq!(rows, [("ann", 2, true), ("bob", 1, false)]);
    // Under a window: failures so far, per identifier.
    let running = select_from::<LoginAttempts>()
        .columns((
            login_attempts::identifier,
            failed().over(partition_by((login_attempts::identifier,)).order_by(login_attempts::attempted_at)),
        ))
        .order_by(login_attempts::attempted_at);
    let counts: Vec<i64> = running.fetch_all(c).await.unwrap().into_iter().map(|(_, n)| n).collect();
    assert_eq!(counts, [1, 1, 1, 2]);
}

/// A combined query has the fetch methods of a SELECT; every statement has `explain` (its plan,
/// nothing run) and `explain_analyze` (run, with timings).
#[tokio::test]
async fn combined_queries_fetch_like_a_select_and_statements_explain_their_plans() {
    use futures_util::TryStreamExt as _;
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h'), ('bob', 'bob@x', 'h');
         INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme');",
    )
    .await
    .unwrap();
    let names = || {
        select_from::<Users>()
            .columns((users::username,))
            .union(select_from::<Orgs>().columns((orgs::slug,)))
            .order_by_nth(1)
    };
    assert_eq!(names().fetch_one(c).await.unwrap(), ("acme".to_owned(),));
    let none = select_from::<Users>()
        .columns((users::username,))
        .where_(users::username.eq("zed"))
        .intersect(select_from::<Orgs>().columns((orgs::slug,)));
    assert_eq!(none.fetch_optional(c).await.unwrap(), None);
    assert!(matches!(none.fetch_one(c).await, Err(taulu::Error::NoRows)));
    let streamed: Vec<(String,)> = names().fetch_stream(c).await.unwrap().try_collect().await.unwrap();
    assert_eq!(streamed, names().fetch_all(c).await.unwrap());

    let plan = select_from::<Users>().columns((users::id,)).where_(users::username.eq("ann")).explain(c).await.unwrap();
    assert!(plan.iter().any(|l| l.contains("users")), "{plan:?}");
    assert!(plan.iter().all(|l| !l.contains("actual time")), "EXPLAIN runs nothing: {plan:?}");
    let analyzed = names().explain_analyze(c).await.unwrap();
    assert!(analyzed[0].contains("actual time"), "{analyzed:?}");
    // EXPLAIN of a write plans it and changes nothing.
    let plan =
        update::<Users>().set(users::display_name, "X").where_(users::username.eq("ann")).explain(c).await.unwrap();
    assert!(plan[0].starts_with("Update on users"), "{plan:?}");
    let (display,) = select_from::<Users>()
        .columns((users::display_name,))
        .where_(users::username.eq("ann"))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(display, None);
}
