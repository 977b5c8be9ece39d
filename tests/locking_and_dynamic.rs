//! Row locking (the job-queue pattern with concurrent workers on real PostgreSQL) and queries whose
//! filters and order are chosen at run time.

use std::collections::BTreeSet;

use taulu::{
    Db, DbConfig,
    prelude::*,
    query::{BoxedSelect, Only, Param, Select, all_of, any_of},
    testing::TestDb,
};
use taulu_app::schema::{LoginAttempts, Members, Users, login_attempts, members, orgs, users};

fn sql<S, C, L>(q: &Select<S, C, L>) -> String {
    let (text, _): (String, Vec<Param>) = q.to_sql();
    text
}

#[test]
fn locking_clauses_render() {
    let q = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .columns((members::user_id,))
        .where_(orgs::slug.eq("acme"))
        .limit(10)
        .for_update()
        .of(Members)
        .skip_locked();
    assert_eq!(
        sql(&q),
        r#"SELECT "members"."user_id" FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" WHERE "orgs"."slug" = $1 LIMIT $2 FOR UPDATE OF "members" SKIP LOCKED"#
    );
    let q = select_from::<Users>().columns((users::id,)).for_share().nowait().for_key_share();
    assert_eq!(sql(&q), r#"SELECT "users"."id" FROM "users" FOR SHARE NOWAIT FOR KEY SHARE"#);
    assert!(sql(&select_from::<Users>().all().for_no_key_update()).ends_with(r#"FROM "users" FOR NO KEY UPDATE"#));
}

/// Several workers, each on its own connection and in its own transaction, claim batches of
/// unprocessed rows with `FOR UPDATE SKIP LOCKED` and mark them done: every row is claimed exactly
/// once, and the workers really ran side by side (more than one claimed rows).
#[tokio::test]
async fn concurrent_workers_claim_disjoint_rows_and_none_twice() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    const JOBS: usize = 200;
    const WORKERS: usize = 4;
    test.client()
        .execute(
            "INSERT INTO login_attempts (identifier, success) SELECT 'job-' || g, false FROM generate_series(1, $1::int) g",
            &[&(JOBS as i32)],
        )
        .await
        .unwrap();
    let mut config = DbConfig::new(test.url().clone());
    config.max_size = WORKERS as u32;
    let db = Db::connect(config).await.unwrap();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(WORKERS));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (db, start) = (db.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                loop {
                    let batch = db
                        .transaction(async |tx| {
                            let ids: Vec<(i64,)> = select_from::<LoginAttempts>()
                                .columns((login_attempts::id,))
                                .where_(login_attempts::success.eq(false))
                                .order_by(login_attempts::id)
                                .limit(5)
                                .for_update()
                                .skip_locked()
                                .fetch_all(tx)
                                .await?;
                            let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
                            // Hold the lock a moment, as real work would, so other workers meet it.
                            tx.client().batch_execute("SELECT pg_sleep(0.002)").await?;
                            update::<LoginAttempts>()
                                .set(login_attempts::success, true)
                                .where_(login_attempts::id.in_(ids.clone()))
                                .execute(tx)
                                .await?;
                            Ok(ids)
                        })
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        break mine;
                    }
                    mine.extend(batch);
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    let mut per_worker = Vec::new();
    for w in workers {
        let mine = w.await.unwrap();
        per_worker.push(mine.len());
        claimed.extend(mine);
    }
    let distinct: BTreeSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), JOBS, "every job claimed once: {per_worker:?}");
    assert_eq!(distinct.len(), JOBS, "no job claimed twice");
    assert!(per_worker.iter().filter(|n| **n > 0).count() > 1, "the workers ran side by side: {per_worker:?}");
    let left: Vec<(i64,)> = select_from::<LoginAttempts>()
        .columns((count_all(),))
        .where_(login_attempts::success.eq(false))
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(left, vec![(0,)]);
}

#[test]
fn dynamic_filters_and_sort_keys_render() {
    enum Sort {
        Newest,
        Name,
    }
    let filtered = |name: Option<&str>, email: Option<&str>, sort: Sort| {
        let mut filters = Vec::new();
        if let Some(n) = name {
            filters.push(users::username.eq(n).boxed());
        }
        if let Some(e) = email {
            filters.push(lower(users::email).eq(e).boxed());
        }
        let key = match sort {
            Sort::Newest => users::created_at.desc().boxed(),
            Sort::Name => users::username.asc().boxed(),
        };
        sql(&select_from::<Users>().columns((users::id,)).where_(all_of(filters)).order_by(key))
    };
    assert_eq!(
        filtered(Some("ann"), Some("a@x"), Sort::Name),
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."username" = $1 AND lower("users"."email") = $2) ORDER BY "users"."username""#
    );
    assert_eq!(
        filtered(None, None, Sort::Newest),
        r#"SELECT "users"."id" FROM "users" WHERE true ORDER BY "users"."created_at" DESC"#
    );
    let any = select_from::<Users>()
        .columns((users::id,))
        .where_(any_of([users::username.eq("a").boxed(), users::username.eq("b").boxed()]))
        .where_opt(None::<taulu::query::Boxed<_, bool>>)
        .where_opt(Some(users::email.is_not_null()));
    assert_eq!(
        sql(&any),
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."username" = $1 OR "users"."username" = $2) AND "users"."email" IS NOT NULL"#
    );
}

/// A query built in a helper, named by its row type, extended across branches.
fn users_named_like(prefix: Option<&str>) -> BoxedSelect<Only<Users>, (String,)> {
    let q = select_from::<Users>().columns((users::username,)).order_by(users::username).boxed();
    match prefix {
        Some(p) => q.where_(users::username.like(format!("{p}%"))),
        None => q,
    }
}

#[tokio::test]
async fn dynamic_queries_return_what_their_filters_select() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = test.client();
    c.batch_execute(
        "INSERT INTO users (username, email, password_hash) VALUES
            ('ann', 'ann@x', 'h'), ('anna', 'anna@x', 'h'), ('bob', 'bob@x', 'h')",
    )
    .await
    .unwrap();
    let names = |rows: Vec<(String,)>| rows.into_iter().map(|(n,)| n).collect::<Vec<_>>();
    assert_eq!(names(users_named_like(Some("an")).fetch_all(c).await.unwrap()), ["ann", "anna"]);
    assert_eq!(names(users_named_like(None).fetch_all(c).await.unwrap()), ["ann", "anna", "bob"]);

    let mut filters = Vec::new();
    for wanted in ["bob", "anna"] {
        filters.push(users::username.eq(wanted).boxed());
    }
    let rows = select_from::<Users>()
        .columns((users::username,))
        .where_(any_of(filters))
        .order_by(users::username.desc().boxed())
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(names(rows), ["bob", "anna"]);
}
