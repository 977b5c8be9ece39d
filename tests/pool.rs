//! The pool and the retry layer on real PostgreSQL, with faults injected by terminating backends
//! and by a TCP fault proxy (`taulu::testing::FaultProxy`). No mocks, no sleeps to wait for races:
//! faults are triggered on observed progress.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use taulu::{
    DatabaseUrl, Db, DbConfig, Error,
    prelude::*,
    query::sql,
    testing::{FaultProxy, TestDb},
};
use taulu_app::schema::{LoginAttempts, Users, login_attempts, users};
use tokio_postgres::Client;

/// The settings a user gets by default, for `url`.
fn config(url: &DatabaseUrl) -> DbConfig {
    DbConfig::new(url.clone())
}

async fn terminate_backends(admin: &Client, db: &str) -> i64 {
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .unwrap()
        .len() as i64
}

/// A guard against hanging forever when a condition never comes true: panics past `secs`. (Not a
/// timing assertion: every wait in these tests is on an observed condition.)
fn give_up_after(secs: u64) -> impl Fn(&str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    move |what: &str| assert!(Instant::now() < deadline, "gave up waiting for {what}")
}

fn new_user(name: &str) -> users::Insert {
    users::Insert::new(name, format!("{name}@example.com"), "h")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_runs_builder_queries_and_caches_prepared_statements_per_connection() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    let db = Db::connect(cfg).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
    for _ in 0..3 {
        let rows = select_from::<Users>()
            .columns((users::username,))
            .where_(users::username.eq("ann"))
            .fetch_all(&db)
            .await
            .unwrap();
        assert_eq!(rows, vec![("ann".to_owned(),)]);
    }
    // One connection, the same SELECT run three times: prepared once on it.
    let (sql_text, _) = select_from::<Users>().columns((users::username,)).where_(users::username.eq("ann")).to_sql();
    let conn = db.get().await.unwrap();
    let prepared: i64 = conn
        .client()
        .query_one("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", &[&sql_text])
        .await
        .unwrap()
        .get(0);
    assert_eq!(prepared, 1);
    drop(conn);
    let (open, _) = db.state();
    assert!(open <= 1, "max_size is respected: {open}");
}

/// `Db` is a handle (its docs: cloning it is one reference count, as axum's `State<Db>` does for
/// every request): one pointer, and a clone is the same pool, down to its one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_db_is_a_handle_whose_clones_are_the_same_pool() {
    assert_eq!(std::mem::size_of::<Db>(), std::mem::size_of::<usize>());
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    let db = Db::connect(cfg).await.unwrap();
    let clone = db.clone();
    let held = clone.get().await.unwrap();
    assert_eq!(db.state(), (1, 0), "the clone's checkout is the original's only connection");
    drop(held);
    assert_eq!(db.state(), (1, 1));
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_one_and_fetch_optional_through_the_pool_take_the_first_row_and_leave_the_connection_clean() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    for cache in [256, 0] {
        let mut cfg = config(test.url());
        cfg.max_size = 1; // every statement below runs on the same connection
        cfg.statement_cache_size = cache;
        let db = Db::connect(cfg).await.unwrap();
        delete_from::<Users>().execute(&db).await.unwrap();
        // RETURNING from a multi-row insert: the first row, the others read and dropped.
        let (first,) = insert_into::<Users>()
            .values_many([new_user("cat"), new_user("ann"), new_user("bob")])
            .returning((users::username,))
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(first, "cat", "cache {cache}");
        let ordered = || select_from::<Users>().columns((users::username,)).order_by(users::username.asc());
        assert_eq!(ordered().fetch_one(&db).await.unwrap(), ("ann".to_owned(),), "cache {cache}");
        assert_eq!(ordered().fetch_optional(&db).await.unwrap(), Some(("ann".to_owned(),)));
        let none = ordered().where_(users::username.eq("nobody"));
        assert_eq!(none.fetch_optional(&db).await.unwrap(), None);
        assert!(matches!(none.fetch_one(&db).await, Err(Error::NoRows)));
        // The connection is in a clean state: the next statements see every row.
        assert_eq!(ordered().fetch_all(&db).await.unwrap().len(), 3, "cache {cache}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_every_pool_connection_mid_load_loses_no_read() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(DbConfig::new(test.url().clone())).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
    let admin = test.connect().await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let (tasks, per_task) = (20, 60);
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (db, done, errors) = (db.clone(), done.clone(), errors.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                match select_from::<Users>().columns((users::id,)).fetch_all(&db).await {
                    Ok(rows) => assert_eq!(rows.len(), 1),
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Kill every backend of the pool each time the load has made another 200 queries of progress.
    let mut killed = 0;
    let guard = give_up_after(120);
    for round in 1..=4 {
        while done.load(Ordering::SeqCst) < round * 200 {
            guard("progress between terminations");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        killed += terminate_backends(&admin, test.name()).await;
    }
    for h in handles {
        h.await.unwrap();
    }
    assert!(killed >= 4, "backends were terminated ({killed})");
    assert_eq!(done.load(Ordering::SeqCst), tasks * per_task);
    assert_eq!(errors.lock().unwrap().clone(), Vec::<String>::new(), "no read error reached a caller");
}

/// What `callers` tasks looping a primary-key read through `db` until `until` met: reads done,
/// the errors, and the longest a read took.
async fn load(db: &Db, callers: usize, until: Instant) -> (usize, Vec<String>, Duration) {
    let (id,): (uuid::Uuid,) = select_from::<Users>().columns((users::id,)).limit(1).fetch_one(db).await.unwrap();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let (mut reads, mut errors, mut worst) = (0, Vec::new(), Duration::ZERO);
                while Instant::now() < until {
                    let started = Instant::now();
                    let read = select_from::<Users>().columns((users::username,)).where_(users::id.eq(id));
                    match read.fetch_one(&db).await {
                        Ok((name,)) => assert_eq!(name, "ann"),
                        Err(e) => errors.push(e.to_string()),
                    }
                    worst = worst.max(started.elapsed());
                    reads += 1;
                }
                (reads, errors, worst)
            })
        })
        .collect();
    let (mut reads, mut errors, mut worst) = (0, Vec::new(), Duration::ZERO);
    for t in tasks {
        let (r, e, w) = t.await.unwrap();
        (reads, worst) = (reads + r, worst.max(w));
        errors.extend(e);
    }
    (reads, errors, worst)
}

/// More callers than connections on a healthy server: each is served in its turn, so nobody
/// waits longer than the statements queued ahead of it take, and `PoolExhausted` never comes.
/// 25 callers on the default pool (5 connections, 5 s connect timeout) and, side by side, 50 on a
/// pool whose connect timeout is 1 s, for 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_beyond_the_pool_size_are_served_in_turn_without_errors() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let by_default = Db::connect(config(test.url())).await.unwrap();
    let short = Db::connect(DbConfig { connect_timeout: Duration::from_secs(1), ..config(test.url()) }).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&by_default).await.unwrap();
    // Every connection of both pools open first (opening one is a wait of its own, seconds on a
    // machine busy building: not what is measured).
    for db in [&by_default, &short] {
        let give_up = give_up_after(120);
        while db.state().0 < 5 {
            give_up("every connection open");
            let held: Vec<_> = futures_util::future::join_all((0..5).map(|_| db.get())).await;
            drop(held);
        }
    }
    let until = Instant::now() + Duration::from_secs(60);
    let (a, b) = tokio::join!(load(&by_default, 25, until), load(&short, 50, until));
    for (what, (reads, errors, worst)) in [("25 callers, default pool", a), ("50 callers, 1 s connect timeout", b)] {
        println!("{what}, 60 s: {reads} reads, {} errors, the longest {worst:?}", errors.len());
        assert_eq!(errors, Vec::<String>::new(), "{what}: no caller gets an error from a healthy server");
        assert!(worst < Duration::from_millis(250), "{what}: a read waited {worst:?}");
        assert!(reads > 10_000, "{what}: {reads} reads");
    }
}

/// Waits until a statement whose text matches `pattern` (LIKE) is running in the test database.
/// How many statements whose text is `LIKE pattern` are running on database `db` (other than
/// `admin`'s own).
async fn active(admin: &Client, db: &str, pattern: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE $2 \
             AND pid <> pg_backend_pid()",
            &[&db, &pattern],
        )
        .await
        .unwrap()
        .get(0)
}

async fn wait_until_running(admin: &Client, db: &str, pattern: &str) {
    let guard = give_up_after(60);
    while active(admin, db, pattern).await == 0 {
        guard("the statement to start");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cut_off_after_sending_is_ambiguous_and_never_resent() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (proxy, url) = behind_proxy(&test).await;
    let db = Db::connect(DbConfig::new(url)).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
    let admin = test.connect().await.unwrap();
    let write = {
        let db = db.clone();
        tokio::spawn(async move {
            update::<Users>()
                .set(users::display_name, "changed")
                .where_(sql("pg_sleep(30) IS NOT NULL"))
                .execute(&db)
                .await
        })
    };
    // Once the UPDATE runs on the server, the network drops the connection: no answer from
    // the server, which may still commit it.
    wait_until_running(&admin, test.name(), "UPDATE%pg_sleep%").await;
    proxy.reset_all();
    let err = write.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::Ambiguous);
    assert!(err.to_string().starts_with("outcome unknown"), "{err}");
    // It was not re-sent: exactly the one UPDATE, the original, is still on the server.
    let running: i64 = admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'UPDATE%pg_sleep%' AND state = 'active'", &[&test.name()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(running, 1);
    terminate_backends(&admin, test.name()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_backend_is_terminated_mid_statement_is_retried_and_applied_once() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let admin = test.connect().await.unwrap();
    // Inserting the identifier 'slow' takes a second, so it can be caught running.
    admin
        .batch_execute(
            "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
             CREATE TRIGGER slow_insert BEFORE INSERT ON login_attempts FOR EACH ROW
             WHEN (NEW.identifier = 'slow') EXECUTE FUNCTION slow_insert();",
        )
        .await
        .unwrap();
    let db = Db::connect(DbConfig::new(test.url().clone())).await.unwrap();
    let write = {
        let db = db.clone();
        tokio::spawn(async move {
            insert_into::<LoginAttempts>().values(login_attempts::Insert::new("slow", true)).execute(&db).await
        })
    };
    // pg_terminate_backend while the INSERT runs: PostgreSQL aborts it and answers 57P01, which
    // it never does for a statement that committed, so it is sent again, once.
    wait_until_running(&admin, test.name(), "INSERT%login_attempts%").await;
    let terminated = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND state = 'active' AND query LIKE 'INSERT%login_attempts%'",
            &[&test.name()],
        )
        .await
        .unwrap();
    assert_eq!(terminated.len(), 1);
    assert_eq!(write.await.unwrap().unwrap(), 1);
    let n: i64 =
        admin.query_one("SELECT count(*) FROM login_attempts WHERE identifier = 'slow'", &[]).await.unwrap().get(0);
    assert_eq!(n, 1, "applied exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_connections_the_server_closed_while_idle_are_retried_not_ambiguous() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let admin = test.connect().await.unwrap();
    let db = Db::connect(DbConfig::new(test.url().clone())).await.unwrap();
    let mut terminated = 0;
    for i in 0..40 {
        // The pool's connections are idle; the server ends them. The next write finds its
        // connection closed before (or as) it is sent: nothing reached the server, so it is
        // retried on a new connection rather than reported as ambiguous.
        // Terminate and wait until each backend has exited (the 5 s is a bound, not a sleep).
        terminated += admin
            .query(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&test.name()],
            )
            .await
            .unwrap()
            .len() as i64;
        let key = format!("idle-{i}");
        let result =
            insert_into::<LoginAttempts>().values(login_attempts::Insert::new(key.clone(), true)).execute(&db).await;
        assert_eq!(result.map_err(|e| e.to_string()), Ok(1), "write {i}");
        let n: i64 =
            admin.query_one("SELECT count(*) FROM login_attempts WHERE identifier = $1", &[&key]).await.unwrap().get(0);
        assert_eq!(n, 1, "write {i} applied once");
    }
    assert!(terminated >= 40, "every round closed at least one idle connection: {terminated}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_violation_is_attempted_exactly_once() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(config(test.url())).await.unwrap();
    insert_into::<LoginAttempts>().values(login_attempts::Insert::new("x", true)).execute(&db).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
    let logs = capture(async || {
        let err = insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap_err();
        assert!(err.is_unique_violation(), "{err}");
        assert!(!err.is_transient());
    })
    .await;
    assert_eq!(logs.matches("statement attempt").count(), 1, "attempted exactly once: {logs}");
    assert!(!logs.contains("retrying"), "a business error is never retried: {logs}");
}

/// `fetch_all` decodes rows as they arrive: a row that does not decode fails the call (once, not
/// retried: the statement ran), and the rest of the result is still read, so the connection (the
/// pool's only one here) answers the next statement, with the statement cache on and off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_does_not_decode_fails_fetch_all_once_and_leaves_the_connection_clean() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    for cache in [100, 0] {
        let mut cfg = config(test.url());
        cfg.max_size = 1;
        cfg.statement_cache_size = cache;
        let db = Db::connect(cfg).await.unwrap();
        if cache > 0 {
            let users: Vec<_> = (0..40).map(|i| new_user(&format!("u{i:02}"))).collect();
            insert_into::<Users>().values_many(users).execute(&db).await.unwrap();
        }
        // The 20th of 40 rows has a NULL where the query says `String`.
        let names = select_from::<Users>()
            .columns((users::username, sql::<String>("CASE WHEN username = 'u19' THEN NULL ELSE 'x' END")))
            .order_by(users::username);
        let logs = capture(async || {
            let err = names.fetch_all(&db).await.unwrap_err();
            assert!(err.to_string().contains("column 1"), "cache {cache}: {err}");
            assert!(!err.is_transient());
        })
        .await;
        assert_eq!(logs.matches("statement attempt").count(), 1, "cache {cache}: attempted once: {logs}");
        let rows = select_from::<Users>().columns((users::username,)).order_by(users::username).fetch_all(&db).await;
        let rows = rows.unwrap();
        assert_eq!((rows.len(), rows[39].0.as_str()), (40, "u39"), "cache {cache}");
    }
}

/// Runs `f` capturing every log event (see `taulu::testing::capture_logs`) and returns the log.
async fn capture(f: impl AsyncFnOnce()) -> String {
    taulu::testing::capture_logs(f).await.1
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_that_stays_down_is_unavailable_after_the_connect_timeout_and_the_pool_recovers() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (proxy, url) = behind_proxy(&test).await;
    // The defaults a user gets: 3 attempts, 100 ms -> 2 s, a 5 s connect timeout.
    let c = DbConfig::new(url);
    let timeout = c.connect_timeout;
    let db = Db::connect(c).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();

    // The server "goes away": existing connections are reset, new ones refused.
    proxy.set_refusing(true);
    proxy.reset_all();
    let started = Instant::now();
    let logs_and_err = {
        let db = db.clone();
        let out = Arc::new(Mutex::new(None));
        let slot = out.clone();
        let logs = capture(async move || {
            *slot.lock().unwrap() = Some(select_from::<Users>().columns((users::id,)).fetch_all(&db).await);
        })
        .await;
        let result = out.lock().unwrap().take().unwrap();
        (logs, result)
    };
    let elapsed = started.elapsed();
    let (logs, result) = logs_and_err;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::Unavailable);
    assert!(err.is_transient());
    // It waited for the server to come back for the connect timeout, not for 3 quick attempts,
    // and not much longer (a statement retry's backoff of at most 100 ms, refusals are immediate).
    assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(1), "gave up after {elapsed:?}");
    assert!(logs.contains("retrying") && logs.contains("giving up"), "{logs}");
    assert!(!logs.contains(&test.url().to_url_with_password()), "no connection string in logs");

    // The server is back: the same pool serves again, no restart of the application.
    proxy.set_refusing(false);
    let rows = select_from::<Users>().columns((users::username,)).fetch_all(&db).await.unwrap();
    assert_eq!(rows, vec![("ann".to_owned(),)]);
}

/// A connection lost while it is being set up (after the server accepted it, before the pool's
/// own setup statements finished: a bouncer or server stopping just then) is a connect failure,
/// waited out like a refused connection, for a read and for a write alike: nothing of the
/// caller's statement was sent. Checked with each setting that adds a setup step: the statement
/// cache off (the types are learned) and a statement timeout (`SET statement_timeout`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_during_its_setup_is_retried_as_a_connect_failure() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (proxy, url) = behind_proxy(&test).await;
    let mut no_cache = DbConfig::new(url.clone());
    no_cache.statement_cache_size = 0;
    let mut timeout = DbConfig::new(url);
    timeout.statement_timeout = Some(Duration::from_secs(30));
    for (setting, config) in [("statement cache off", no_cache), ("statement timeout", timeout)] {
        // A new pool's first two connections are lost as soon as they are in.
        proxy.cut_when_ready(2);
        let db = Db::new(config.clone());
        let read = select_from::<Users>().columns((count_all(),)).fetch_one(&db).await;
        assert!(read.is_ok(), "{setting}: the read waited the lost connections out: {read:?}");
        assert_eq!(proxy.cuts_left(), 0, "{setting}: two connections were cut during their setup");
        db.close(Duration::from_secs(5)).await;
        proxy.cut_when_ready(2);
        let db = Db::new(config);
        let write = insert_into::<Users>().values(new_user(setting)).execute(&db).await;
        assert!(write.is_ok(), "{setting}: the write was never sent, so it is retried: {write:?}");
        assert_eq!(proxy.cuts_left(), 0, "{setting}: two connections were cut during their setup");
        db.close(Duration::from_secs(5)).await;
    }
    let db = Db::connect(DbConfig::new(test.url().clone())).await.unwrap();
    let (n,) = select_from::<Users>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(n, 2, "each write applied once");
}

/// The test database's URL with another password (`None`: none at all), and what connecting a
/// pool to it gives, with the logs of the attempt and how long it took.
async fn connect_with_password(test: &TestDb, password: Option<&str>) -> (Error, String, Duration) {
    let raw = test.url().to_url_with_password();
    let (head, rest) = raw.split_once('@').unwrap();
    let user = head.rsplit_once(':').unwrap().0;
    let url: DatabaseUrl = match password {
        Some(p) => format!("{user}:{p}@{rest}"),
        None => format!("{user}@{rest}"),
    }
    .parse()
    .unwrap();
    let started = Instant::now();
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    let logs = capture(async move || {
        *slot.lock().unwrap() = Some(Db::connect(config(&url)).await.unwrap_err());
    })
    .await;
    let err = out.lock().unwrap().take().unwrap();
    (err, logs, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_through_the_pool_fails_at_once_without_leaking_it() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let password = "P00l-Wr0ng-Secret";
    let (err, logs, took) = connect_with_password(&test, Some(password)).await;
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert_eq!(err.sqlstate(), Some("28P01"));
    assert_eq!(err.kind(), taulu::ErrorKind::Authentication);
    assert!(!err.is_transient(), "a wrong password is not retried");
    assert!(took < Duration::from_secs(2), "no waiting for the pool timeout");
    assert!(!format!("{err} {err:?} {logs}").contains(password), "{err:?} {logs}");
    assert!(!logs.contains("retrying"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_password_is_a_configuration_error_not_retried() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    // The local cluster asks for a password over TCP (SCRAM); the URL has none.
    let (err, logs, took) = connect_with_password(&test, None).await;
    assert_eq!(err.kind(), taulu::ErrorKind::Config, "{err}");
    assert!(!err.is_transient());
    assert!(!logs.contains("retrying"), "a configuration error is not retried: {logs}");
    assert!(took < Duration::from_secs(2), "no waiting for the connect timeout");
}

#[tokio::test(flavor = "current_thread")]
async fn conflicting_serializable_transactions_both_commit_with_retry() {
    use taulu::IsolationLevel;
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(config(test.url())).await.unwrap();
    let barrier = tokio::sync::Barrier::new(2);
    // Each transaction counts the 'ser' rows, waits until the other has counted too (first attempt
    // only), then inserts a row saying what it saw: a classic write skew that SERIALIZABLE refuses.
    let run = |name: &'static str| {
        let (db, barrier) = (&db, &barrier);
        async move {
            let mut first = true;
            db.transaction_with_retry(IsolationLevel::Serializable, async |tx| {
                let (seen,) = select_from::<LoginAttempts>()
                    .columns((count_all(),))
                    .where_(login_attempts::identifier.eq("ser"))
                    .fetch_one(tx)
                    .await?;
                if first {
                    first = false;
                    barrier.wait().await;
                }
                insert_into::<LoginAttempts>()
                    .values(login_attempts::Insert::new("ser", true).with_user_agent(format!("{name} saw {seen}")))
                    .execute(tx)
                    .await?;
                Ok(seen)
            })
            .await
        }
    };
    let logs_slot = Arc::new(Mutex::new(None));
    let slot = logs_slot.clone();
    let logs = capture(async move || {
        let (a, b) = tokio::join!(run("a"), run("b"));
        *slot.lock().unwrap() = Some((a, b));
    })
    .await;
    let (a, b) = logs_slot.lock().unwrap().take().unwrap();
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut seen = [a, b];
    seen.sort();
    assert_eq!(seen, [0, 1], "one ran after the other: the result is serial");
    assert!(logs.contains("class=\"transaction\"") || logs.contains("class=transaction"), "a retry happened: {logs}");
    let rows: Vec<(Option<String>,)> = select_from::<LoginAttempts>()
        .columns((login_attempts::user_agent,))
        .order_by(login_attempts::id)
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_under_connection_resets_are_applied_once_or_reported() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (proxy, url) = behind_proxy(&test).await;
    let db = Db::connect(config(&url)).await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let (tasks, per_task) = (5, 40);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (db, done) = (db.clone(), done.clone());
        handles.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..per_task {
                let key = format!("w-{t}-{i}");
                let r = insert_into::<LoginAttempts>()
                    .values(login_attempts::Insert::new(key.clone(), true))
                    .execute(&db)
                    .await;
                outcomes.push((key, r));
                done.fetch_add(1, Ordering::SeqCst);
            }
            outcomes
        }));
    }
    // Reset every proxied connection each time 25 more writes have completed.
    let total = tasks * per_task;
    let mut resets = 0;
    while done.load(Ordering::SeqCst) < total {
        let next = (done.load(Ordering::SeqCst) / 25 + 1) * 25;
        while done.load(Ordering::SeqCst) < next.min(total) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if next < total {
            proxy.reset_all();
            resets += 1;
        }
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.extend(h.await.unwrap());
    }
    let direct = test.client();
    let (mut ok, mut ambiguous, mut unavailable) = (0, 0, 0);
    for (key, r) in &outcomes {
        let n: i64 =
            direct.query_one("SELECT count(*) FROM login_attempts WHERE identifier = $1", &[key]).await.unwrap().get(0);
        assert!(n <= 1, "{key} was written {n} times");
        match r {
            Ok(1) => {
                assert_eq!(n, 1, "{key} returned Ok but is missing");
                ok += 1;
            }
            Ok(other) => panic!("{key}: {other} rows"),
            Err(Error::Ambiguous { .. }) => ambiguous += 1, // may or may not exist: both are allowed
            Err(Error::Unavailable { .. }) => {
                unavailable += 1;
            }
            Err(e) => panic!("{key}: unexpected error {e}"),
        }
    }
    assert!(resets >= 3, "faults were injected ({resets} resets)");
    assert_eq!(ok + ambiguous + unavailable, total);
    assert!(ok > total / 2, "most writes succeed: ok {ok}, ambiguous {ambiguous}, unavailable {unavailable}");
    println!("writes under resets: {ok} ok, {ambiguous} ambiguous, {unavailable} unavailable, {resets} resets");
}

/// Runs 20 readers through a pool with the default settings while `restart` restarts the
/// server once they have made progress; returns the errors that reached them.
async fn readers_through(cluster: &taulu::LocalCluster, restart: impl FnOnce() + Send + 'static) -> Vec<String> {
    let url = cluster.url("postgres");
    let admin = taulu::connect(&url).await.unwrap();
    admin
        .batch_execute(
            "DROP TABLE IF EXISTS restart_probe; CREATE TABLE restart_probe (id int PRIMARY KEY); INSERT INTO restart_probe VALUES (1);",
        )
        .await
        .unwrap();
    drop(admin);
    // The defaults a user gets: 3 attempts, 100 ms -> 2 s, a 5 s connect timeout.
    let db = Db::connect(DbConfig::new(url)).await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (db, done, stop, errors) = (db.clone(), done.clone(), stop.clone(), errors.clone());
        handles.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match probe(&db).await {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    let guard = give_up_after(120);
    while done.load(Ordering::SeqCst) < 300 {
        guard("300 reads before the restart");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::task::spawn_blocking(restart).await.unwrap();
    let after_restart = done.load(Ordering::SeqCst);
    while done.load(Ordering::SeqCst) < after_restart + 300 {
        guard("300 reads after the restart");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for h in handles {
        h.await.unwrap();
    }
    errors.lock().unwrap().clone()
}

/// A cluster of its own: restarting the shared one would disturb the other tests.
async fn restart_cluster() -> taulu::LocalCluster {
    let dir = taulu::LocalCluster::default_dir().with_file_name("taulu-pg-restart");
    tokio::task::spawn_blocking(move || taulu::LocalCluster::ensure_in(&dir)).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_with_the_default_settings_reach_no_caller() {
    let cluster = restart_cluster().await;
    // Three fast restarts (pg_ctl restart -m fast: every session terminated, ~0.2-1 s down).
    for round in 1..=3 {
        let c = cluster.clone();
        let errors = readers_through(&cluster, move || c.restart().unwrap()).await;
        assert_eq!(errors, Vec::<String>::new(), "fast restart {round}: no error reached a caller");
    }
    // A slow one: stopped, kept down for 2 s, started: about 3 s without a server (more when the
    // machine is busy), within the default 5 s connect timeout.
    let c = cluster.clone();
    let errors = readers_through(&cluster, move || c.restart_after(Duration::from_secs(2)).unwrap()).await;
    assert_eq!(errors, Vec::<String>::new(), "a slow restart: no error reached a caller");
}

/// A read through the pool's executor path (retried like any builder SELECT).
async fn probe(db: &Db) -> Result<(), Error> {
    use taulu::query::{Compiled, Executor};
    let q = Compiled {
        sql: "SELECT id FROM restart_probe WHERE id = $1".into(),
        params: vec![taulu::query::Param::new(1i32)],
        read_only: true,
    };
    let rows = db.query_rows(&q).await?;
    assert_eq!(rows.len(), 1);
    Ok(())
}

/// A fault proxy in front of the test database's server, and the test database's URL through it.
async fn behind_proxy(test: &TestDb) -> (FaultProxy, DatabaseUrl) {
    let port = test.url().config().get_ports()[0];
    let proxy = FaultProxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let url = test
        .url()
        .to_url_with_password()
        .replace(&format!(":{port}/"), &format!(":{}/", proxy.port()))
        .parse()
        .unwrap();
    (proxy, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_statement_cache_off_builder_queries_use_unnamed_statements() {
    use taulu_app::schema::Sysrole;
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    cfg.statement_cache_size = 0; // the PgBouncer (transaction pooling) setting
    let db = Db::connect(cfg).await.unwrap();
    insert_into::<Users>()
        .values(new_user("ann").with_system_role(Sysrole::Admin).with_display_name("Ann"))
        .execute(&db)
        .await
        .unwrap();
    insert_into::<Users>().values_many([new_user("bob"), new_user("cat")]).execute(&db).await.unwrap();
    let admins: Vec<(String, Option<String>)> = select_from::<Users>()
        .columns((users::username, users::display_name))
        .where_(users::system_role.eq(Sysrole::Admin))
        .where_(users::username.in_(["ann", "zed"]))
        .limit(10)
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(admins, vec![("ann".to_owned(), Some("Ann".to_owned()))]);
    let (n,) = select_from::<Users>().columns((count_all(),)).having(count_all().gt(1)).fetch_one(&db).await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        update::<Users>().set(users::display_name, "B").where_(users::username.eq("bob")).execute(&db).await.unwrap(),
        1
    );
    assert_eq!(delete_from::<Users>().where_(users::username.eq("cat")).execute(&db).await.unwrap(), 1);
    // Nothing was prepared by name on the (single) connection. (Asked with the simple query
    // protocol, which prepares nothing itself.)
    let conn = db.get().await.unwrap();
    let rows = conn.client().simple_query("SELECT count(*) FROM pg_prepared_statements").await.unwrap();
    let named = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    });
    assert_eq!(named.as_deref(), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_connects_over_the_unix_socket_too() {
    let cluster = tokio::task::spawn_blocking(taulu::LocalCluster::ensure).await.unwrap().unwrap();
    let url = cluster.socket_url("postgres").expect("the local cluster always has a private socket directory");
    let db = Db::connect(config(&url)).await.unwrap();
    let conn = db.get().await.unwrap();
    let addr: Option<String> = conn.client().query_one("SELECT inet_client_addr()::text", &[]).await.unwrap().get(0);
    assert_eq!(addr, None, "a Unix-socket session has no client address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_kind_comes_from_a_real_failure() {
    use taulu::ErrorKind;
    use taulu_app::schema::{Orgs, orgs};
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(config(test.url())).await.unwrap();
    let ann = insert_into::<Users>().values(new_user("ann")).returning((users::id,)).fetch_one(&db).await.unwrap().0;

    // Constraint violations, with the names a handler needs to answer them.
    let err = insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.constraint(), err.table()),
        (ErrorKind::UniqueViolation, Some("users_username_key"), Some("users"))
    );
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION));
    let err = insert_into::<Orgs>().values(orgs::Insert::new("Bad", "Not A Slug")).execute(&db).await.unwrap_err();
    assert_eq!((err.kind(), err.constraint()), (ErrorKind::CheckViolation, Some("orgs_slug_format")));
    let err = insert_into::<taulu_app::schema::Members>()
        .values(taulu_app::schema::members::Insert::new(uuid::Uuid::from_u128(rand_id()), ann))
        .execute(&db)
        .await
        .unwrap_err();
    assert_eq!((err.kind(), err.constraint()), (ErrorKind::ForeignKeyViolation, Some("members_org_id_fkey")));
    let raw = test.connect().await.unwrap();
    let err = Error::from(raw.execute("INSERT INTO orgs (name, slug) VALUES (NULL, 'x')", &[]).await.unwrap_err());
    assert_eq!((err.kind(), err.column()), (ErrorKind::NotNullViolation, Some("name")));
    raw.batch_execute("CREATE TABLE bookings (slot box, EXCLUDE USING gist (slot WITH &&))").await.unwrap();
    raw.execute("INSERT INTO bookings VALUES ('((0,0),(2,2))')", &[]).await.unwrap();
    let err = Error::from(raw.execute("INSERT INTO bookings VALUES ('((1,1),(3,3))')", &[]).await.unwrap_err());
    assert_eq!((err.kind(), err.constraint()), (ErrorKind::ExclusionViolation, Some("bookings_slot_excl")));
    let err = Error::from(raw.execute("SELECT nope FROM users", &[]).await.unwrap_err());
    assert_eq!(err.kind(), ErrorKind::InvalidStatement);
    let err = Error::from(raw.execute("SELECT 1 / 0", &[]).await.unwrap_err());
    assert_eq!(err.kind(), ErrorKind::DataException);

    // No row, and a NUL byte in a text parameter, named by its position.
    let err = select_from::<Users>()
        .columns((users::id,))
        .where_(users::username.eq("nobody"))
        .fetch_one(&db)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoRows);
    let err = select_from::<Users>()
        .columns((users::id,))
        .where_(users::email.eq("a@example.com"))
        .where_(users::username.eq("nul\0byte"))
        .fetch_all(&db)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{err}");
    assert!(err.to_string().starts_with("parameter $2 is text containing a NUL byte"), "{err}");

    // Lock contention: NOWAIT, a deadlock, a serialization failure.
    let (a, b) = (test.connect().await.unwrap(), test.connect().await.unwrap());
    a.batch_execute("BEGIN; SELECT * FROM users FOR UPDATE").await.unwrap();
    let err = Error::from(b.batch_execute("SELECT * FROM users FOR UPDATE NOWAIT").await.unwrap_err());
    assert_eq!(err.kind(), ErrorKind::LockNotAvailable);
    a.batch_execute("ROLLBACK").await.unwrap();
    let bob = insert_into::<Users>().values(new_user("bob")).returning((users::id,)).fetch_one(&db).await.unwrap().0;
    a.batch_execute("BEGIN").await.unwrap();
    b.batch_execute("BEGIN").await.unwrap();
    a.execute("UPDATE users SET email = email WHERE id = $1", &[&ann]).await.unwrap();
    b.execute("UPDATE users SET email = email WHERE id = $1", &[&bob]).await.unwrap();
    let (pa, pb): ([&(dyn tokio_postgres::types::ToSql + Sync); 1], [&(dyn tokio_postgres::types::ToSql + Sync); 1]) =
        ([&bob], [&ann]);
    let (ra, rb) = tokio::join!(
        a.execute("UPDATE users SET email = email WHERE id = $1", &pa),
        b.execute("UPDATE users SET email = email WHERE id = $1", &pb),
    );
    let deadlocked = [ra.err(), rb.err()].into_iter().flatten().map(|e| Error::from(e).kind()).collect::<Vec<_>>();
    assert_eq!(deadlocked, [ErrorKind::Deadlock]);
    a.batch_execute("ROLLBACK").await.unwrap();
    b.batch_execute("ROLLBACK").await.unwrap();
    for c in [&a, &b] {
        c.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT count(*) FROM login_attempts").await.unwrap();
    }
    a.batch_execute("INSERT INTO login_attempts (identifier, success) VALUES ('a', true)").await.unwrap();
    b.batch_execute("INSERT INTO login_attempts (identifier, success) VALUES ('b', true)").await.unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let err = Error::from(b.batch_execute("COMMIT").await.unwrap_err());
    assert_eq!(err.kind(), ErrorKind::SerializationFailure);

    // Canceled by a cancel request, or by the pool's statement timeout.
    let cancel = a.cancel_token();
    let (slept, _) = tokio::join!(a.batch_execute("SELECT pg_sleep(30)"), async {
        wait_until_running(&raw, test.name(), "SELECT pg_sleep(30)").await;
        cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    assert_eq!(Error::from(slept.unwrap_err()).kind(), ErrorKind::QueryCanceled);
    let mut cfg = config(test.url());
    cfg.statement_timeout = Some(Duration::from_millis(50));
    let timed = Db::connect(cfg).await.unwrap();
    let err = update::<Users>()
        .set(users::display_name, "x")
        .where_(sql("pg_sleep(1) IS NOT NULL"))
        .execute(&timed)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StatementTimeout, "{err}");
    assert!(err.to_string().starts_with("statement timeout: canceled after 50 ms"), "{err}");

    // Every connection busy for the whole connect timeout: the pool is exhausted, the server fine.
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    cfg.connect_timeout = Duration::from_millis(300);
    let small = Db::connect(cfg).await.unwrap();
    let held = small.get().await.unwrap();
    let started = Instant::now();
    let err = select_from::<Users>().columns((users::id,)).fetch_all(&small).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolExhausted, "{err}");
    assert!(err.to_string().starts_with("pool exhausted: 1 of 1 connections busy for"), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(300) * 2,
        "waited the connect timeout once: {:?}",
        started.elapsed()
    );
    drop(held);

    // Wrong credentials, a database that does not exist, a malformed setting.
    let pw = String::from_utf8(test.url().config().get_password().unwrap().to_vec()).unwrap();
    let url: DatabaseUrl = test.url().to_url_with_password().replace(&format!(":{pw}@"), ":wrong@").parse().unwrap();
    assert_eq!(taulu::connect(&url).await.unwrap_err().kind(), ErrorKind::Authentication);
    assert_eq!(taulu::connect(&test.url().with_dbname("no_such_db")).await.unwrap_err().kind(), ErrorKind::Config);
    assert_eq!("postgres://u@h:notaport/db".parse::<DatabaseUrl>().unwrap_err().kind(), ErrorKind::Config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_during_commit_is_ambiguous_and_statements_in_transactions_use_the_cache() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let admin = test.connect().await.unwrap();
    admin
        .batch_execute(
            "CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.identifier = 'die' THEN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); END IF; RETURN NULL; END $$;
             CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON login_attempts DEFERRABLE INITIALLY DEFERRED
             FOR EACH ROW EXECUTE FUNCTION die_at_commit();",
        )
        .await
        .unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    let db = Db::connect(cfg).await.unwrap();
    let err = db
        .transaction(async |tx| {
            insert_into::<LoginAttempts>().values(login_attempts::Insert::new("die", true)).execute(tx).await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err}");
    let err = db
        .transaction_with_retry(taulu::IsolationLevel::ReadCommitted, async |tx| {
            insert_into::<LoginAttempts>().values(login_attempts::Insert::new("die", true)).execute(tx).await?;
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "never re-run after a lost COMMIT: {err}");

    // Inside a transaction, builder statements go through the connection's statement cache.
    let q = || select_from::<Users>().columns((users::id,)).where_(users::username.eq("x"));
    db.transaction(async |tx| {
        q().fetch_all(tx).await?;
        q().fetch_all(tx).await?;
        let (sql_text, _) = q().to_sql();
        let n: i64 = tx
            .client()
            .query_one("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", &[&sql_text])
            .await?
            .get(0);
        assert_eq!(n, 1, "prepared once on the connection");
        Ok(())
    })
    .await
    .unwrap();
}

/// A connection lost inside a transaction before its COMMIT was sent: `NotCommitted` (kind
/// `Unavailable`: nothing of it was applied), whether the backend was terminated or the network
/// path reset, and whether the failed statement was the builder's or one on `tx.client()`;
/// `transaction_with_retry` runs it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_before_commit_says_the_transaction_was_not_applied() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (proxy, url) = behind_proxy(&test).await;
    let db = Db::connect(config(&url)).await.unwrap();
    for (round, (fault, raw)) in
        [("terminate", false), ("reset", false), ("terminate", true), ("reset", true)].into_iter().enumerate()
    {
        let err = db
            .transaction(async |tx| {
                insert_into::<Users>().values(new_user(&format!("a{round}"))).execute(tx).await?;
                match fault {
                    "terminate" => assert!(terminate_backends(test.client(), test.name()).await > 0),
                    _ => proxy.reset_all(),
                }
                match raw {
                    false => insert_into::<Users>().values(new_user(&format!("b{round}"))).execute(tx).await.map(drop),
                    true => tx.client().batch_execute("SELECT 1").await.map_err(Error::from),
                }
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotCommitted { .. }), "{fault}, raw {raw}: {err}");
        assert_eq!(err.kind(), taulu::ErrorKind::Unavailable, "{err}");
    }
    let (n,) = select_from::<Users>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(n, 0, "nothing of them was applied");
    let mut first = true;
    db.transaction_with_retry(taulu::IsolationLevel::ReadCommitted, async |tx| {
        insert_into::<Users>().values(new_user("again")).execute(tx).await?;
        if std::mem::take(&mut first) {
            proxy.reset_all();
        }
        select_from::<Users>().columns((count_all(),)).fetch_one(tx).await?;
        Ok(())
    })
    .await
    .unwrap();
    let (n,) = select_from::<Users>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(n, 1, "run again, applied once");
}

/// A read the server ends the connection over on every attempt (here it terminates its own
/// backend; a message over PostgreSQL's size limit does the same, saying why in its log only):
/// after the retries, an error that says what is known, not a plain outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_the_server_ends_the_connection_over_every_time_is_reported_as_such() {
    use taulu::query::{Compiled, Executor};
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(config(test.url())).await.unwrap();
    let q = Compiled { sql: "SELECT pg_terminate_backend(pg_backend_pid())".into(), params: vec![], read_only: true };
    let err = db.query_rows(&q).await.unwrap_err();
    assert!(matches!(err, Error::EndedDuringStatement { attempts: 3, .. }), "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::Unavailable);
    assert!(err.to_string().contains("on each of 3 attempts, while accepting new connections"), "{err}");
    let (n,) = select_from::<Users>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(n, 0, "the pool goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_one_asks_the_server_for_one_row() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    let db = Db::connect(cfg).await.unwrap();
    for name in ["ann", "bob", "cat"] {
        insert_into::<Users>().values(new_user(name)).execute(&db).await.unwrap();
    }
    let q = || select_from::<Users>().columns((users::username,)).order_by(users::username.desc());
    assert_eq!(q().fetch_one(&db).await.unwrap(), ("cat".to_owned(),));
    assert_eq!(q().limit(2).fetch_optional(&db).await.unwrap(), Some(("cat".to_owned(),)));
    let statements = prepared_selects_of_users(&db).await;
    let (plain, _) = q().to_sql();
    let (limited, _) = q().limit(2).to_sql();
    assert_eq!(statements, [format!("{plain} LIMIT 1"), limited]);
}

/// An id no row has (a fresh one per call).
fn rand_id() -> u128 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(1);
    u128::from(h.finish()) << 64 | 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_statement_cache_evicts_the_least_recently_used_statement() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 1;
    cfg.statement_cache_size = 2;
    let db = Db::connect(cfg).await.unwrap();
    let by_name = || select_from::<Users>().columns((users::id,)).where_(users::username.eq("a"));
    let by_email = || select_from::<Users>().columns((users::id,)).where_(users::email.eq("a"));
    let by_role = || {
        select_from::<Users>().columns((users::id,)).where_(users::system_role.eq(taulu_app::schema::Sysrole::Admin))
    };
    by_name().fetch_all(&db).await.unwrap();
    by_email().fetch_all(&db).await.unwrap();
    by_name().fetch_all(&db).await.unwrap(); // by_name is now the more recent of the two
    by_role().fetch_all(&db).await.unwrap(); // full: by_email goes
    assert_eq!(prepared_selects_of_users(&db).await, [by_name().to_sql().0, by_role().to_sql().0]);
}

/// The SELECTs from `users` prepared on the connection of a one-connection pool, oldest first.
async fn prepared_selects_of_users(db: &Db) -> Vec<String> {
    let conn = db.get().await.unwrap();
    conn.client()
        .query(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT \"users\".%' ORDER BY prepare_time",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_its_time_limit_or_dropped_mid_flight_is_canceled_on_the_server() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    // One connection, so the next statement runs on the one whose statement was canceled.
    let db = Db::connect(DbConfig { max_size: 1, ..config(test.url()) }).await.unwrap();
    let pid = || async {
        let (pid,): (i32,) = select_from::<Users>()
            .columns((sql::<i32>("pg_backend_pid()"),))
            .limit(1)
            .fetch_optional(&db)
            .await
            .unwrap()
            .unwrap_or((0,));
        pid
    };
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
    let before = pid().await;

    let started = Instant::now();
    let slow = select_from::<Users>().columns((users::id,)).where_(sql("pg_sleep(30) IS NOT NULL"));
    let err = slow.fetch_all(&db.with_timeout(Duration::from_millis(300))).await.unwrap_err();
    assert_eq!(err.kind(), taulu::ErrorKind::StatementTimeout, "{err}");
    assert_eq!(err.sqlstate(), Some("57014"), "PostgreSQL canceled it: {err}");
    assert!(started.elapsed() < Duration::from_secs(10), "returned after {:?}", started.elapsed());
    let sleeping = || active(test.client(), test.name(), "%pg_sleep(30)%");
    assert_eq!(sleeping().await, 0, "nothing still sleeps on the server");
    // The same connection answers the next statement with that statement's rows.
    assert_eq!(pid().await, before);
    let names = select_from::<Users>()
        .columns((users::username,))
        .fetch_all(&db.with_timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(names, [("ann".to_owned(),)]);

    // A dropped future cancels its statement on the server and discards the connection: the next
    // statement does not wait behind it, and gets its own rows.
    let abandoned = select_from::<Users>().columns((users::email,)).where_(sql("pg_sleep(30) IS NOT NULL"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), abandoned.fetch_all(&db)).await.is_err(),
        "dropped mid-flight"
    );
    let started = Instant::now();
    let names = select_from::<Users>().columns((users::username,)).fetch_all(&db).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "waited {:?} behind the dropped statement", started.elapsed());
    assert_ne!(pid().await, before, "its connection was discarded");
    let give_up = give_up_after(20);
    while sleeping().await > 0 {
        give_up("the dropped statement to be canceled on the server");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(names, [("ann".to_owned(),)], "its own rows, not the abandoned statement's");
}

/// A server that stops answering while a time-limited statement runs: its cancel request cannot
/// get through either (with the default `sslmode=prefer` the cancel connection waits for the answer
/// to its TLS request), yet the call returns within the limit plus the connect timeout, as
/// `Unavailable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_limited_statement_on_a_server_that_stops_answering_returns_within_its_bound() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (proxy, url) = behind_proxy(&test).await;
    assert_eq!(url.config().get_ssl_mode(), tokio_postgres::config::SslMode::Prefer, "the default");
    let db = Db::connect(config(&url)).await.unwrap();
    insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
    let limit = Duration::from_millis(500);
    let started = Instant::now();
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            let q = select_from::<Users>().columns((users::id,)).where_(sql("pg_sleep(30) IS NOT NULL"));
            q.fetch_all(&db.with_timeout(limit)).await
        })
    };
    wait_until_running(test.client(), test.name(), "%pg_sleep(30)%").await;
    proxy.set_frozen(true);
    let err = tokio::time::timeout(Duration::from_secs(60), slow).await.expect("returned").unwrap().unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), taulu::ErrorKind::Unavailable, "{err}");
    let bound = limit + DbConfig::new(url.clone()).connect_timeout;
    assert!(took < bound + Duration::from_secs(3), "returned after {took:?}, bound {bound:?}");
    proxy.set_frozen(false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_before_its_end_is_canceled_and_its_connection_discarded() {
    use futures_util::TryStreamExt as _;
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    // One connection, so the next statement would run on the stream's.
    let db = Db::connect(DbConfig { max_size: 1, ..config(test.url()) }).await.unwrap();
    insert_into::<Users>().values_many((0..20).map(|i| new_user(&format!("u{i}")))).execute(&db).await.unwrap();
    let (before,): (i32,) =
        select_from::<Users>().columns((sql::<i32>("pg_backend_pid()"),)).limit(1).fetch_one(&db).await.unwrap();
    // Each row takes 0.5 s to produce (10 s for all of them), and is large enough (16 kB) for the
    // server to send it at once rather than buffer it.
    let slow = select_from::<Users>()
        .columns((sql::<String>("repeat({}, 8000)").arg(users::username).as_("big"),))
        .where_(sql("pg_sleep(0.5) IS NOT NULL"));
    {
        let mut rows = slow.fetch_stream(&db).await.unwrap();
        assert!(rows.try_next().await.unwrap().is_some(), "the first row");
    } // dropped with 19 rows to come
    let started = Instant::now();
    let (after,): (i32,) =
        select_from::<Users>().columns((sql::<i32>("pg_backend_pid()"),)).limit(1).fetch_one(&db).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?} behind the dropped stream", started.elapsed());
    assert_ne!(after, before, "its connection was discarded");
    // Dropped before its first row came (the server still runs it): the same.
    let first_row_late =
        select_from::<Users>().columns((users::username,)).where_(sql("pg_sleep(30) IS NOT NULL")).limit(1);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), first_row_late.fetch_stream(&db)).await.is_err(),
        "dropped before the first row"
    );
    let started = Instant::now();
    let (later,): (i32,) =
        select_from::<Users>().columns((sql::<i32>("pg_backend_pid()"),)).limit(1).fetch_one(&db).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?} behind the dropped stream", started.elapsed());
    assert_ne!(later, after, "its connection was discarded");
    let give_up = give_up_after(20);
    while active(test.client(), test.name(), "%pg_sleep(30)%").await > 0 {
        give_up("the statement of the stream dropped before its first row to be canceled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after = later;
    let give_up = give_up_after(20);
    while active(test.client(), test.name(), "%pg_sleep(0.5)%").await > 0 {
        give_up("the dropped stream's statement to be canceled on the server");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A stream read to its end keeps its connection.
    let all = select_from::<Users>().columns((users::username,)).fetch_stream(&db).await.unwrap();
    assert_eq!(all.try_collect::<Vec<_>>().await.unwrap().len(), 20);
    let (last,): (i32,) =
        select_from::<Users>().columns((sql::<i32>("pg_backend_pid()"),)).limit(1).fetch_one(&db).await.unwrap();
    assert_eq!(last, after, "a stream read to its end leaves its connection in the pool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_lets_statements_in_flight_finish_then_refuses_work_and_closes_every_connection() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(config(test.url())).await.unwrap();
    let sessions = || async {
        let n: i64 = test
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&test.name()],
            )
            .await
            .unwrap()
            .get(0);
        n - 1 // the TestDb's own connection
    };
    // Three statements in flight when close is called.
    let slow = taulu::query::Compiled { sql: "SELECT 1 FROM pg_sleep(1.5)".into(), params: vec![], read_only: true };
    let running: Vec<_> = (0..3)
        .map(|_| {
            let (db, slow) = (db.clone(), slow.clone());
            tokio::spawn(async move { taulu::query::Executor::query_rows(&db, &slow).await.map(|rows| rows.len()) })
        })
        .collect();
    let guard = give_up_after(60);
    while active(test.client(), test.name(), "%pg_sleep(1.5)%").await != 3 {
        guard("three statements running on the server");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let busy = db.close(Duration::from_secs(30)).await;
    assert_eq!(busy, 0, "every statement finished within the wait");
    for r in running {
        assert_eq!(r.await.unwrap().unwrap(), 1, "statements in flight complete normally");
    }
    // New work is refused, through every clone, before anything is sent.
    let err = select_from::<Users>().columns((count_all(),)).fetch_all(&db.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Closed), "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::Unavailable);
    // And the server sees the pool's sessions end.
    let guard = give_up_after(60);
    while sessions().await > 0 {
        guard("the pool's sessions to end");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `Db::status` under load: every connection in use and the callers beyond them waiting; after,
/// the counters hold every checkout and at least the time the waiters were seen waiting; and
/// `PoolStatus::record` hands the same figures to the `metrics` facade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_connections_waiters_and_waits_under_load() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut cfg = config(test.url());
    cfg.max_size = 3;
    let db = Db::connect(cfg).await.unwrap();
    let before = db.status();
    assert_eq!((before.max_size, before.in_use, before.waiting, before.timeouts), (3, 0, 0, 0));

    // Eight callers, each holding a connection in a statement that waits for a lock the test
    // holds: three run, five wait for a connection.
    test.client().execute("SELECT pg_advisory_lock(42)", &[]).await.unwrap();
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let conn = db.get().await.unwrap();
                conn.client().execute("SELECT pg_advisory_xact_lock_shared(42)", &[]).await.unwrap();
            })
        })
        .collect();
    let give_up = give_up_after(30);
    while active(test.client(), test.name(), "%pg_advisory_xact_lock_shared%").await != 3 || db.status().waiting != 5 {
        give_up("3 statements running and 5 callers waiting");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seen_waiting = Instant::now();
    let under_load = db.status();
    assert_eq!((under_load.open, under_load.in_use, under_load.idle), (3, 3, 0), "{under_load:?}");
    let waited_at_least = seen_waiting.elapsed();
    test.client().execute("SELECT pg_advisory_unlock(42)", &[]).await.unwrap();
    for c in callers {
        c.await.unwrap();
    }

    let after = db.status();
    assert_eq!(after.checkouts - before.checkouts, 8, "{after:?}");
    assert!(after.waits - before.waits >= 5, "{after:?}");
    assert!(
        after.wait_time - before.wait_time >= waited_at_least * 5,
        "{after:?}, each of 5 waited {waited_at_least:?}"
    );
    assert_eq!((after.in_use, after.waiting, after.timeouts, after.open, after.idle), (0, 0, 0, 3, 3));
    assert!(after.connections_opened >= 3);

    let recorded = metrics_of(|| after.record("main"));
    assert_eq!(recorded["taulu.pool.checkouts{pool=main}"], after.checkouts as f64);
    assert_eq!(recorded["taulu.pool.wait_time_us{pool=main}"], after.wait_time.as_micros() as f64);
    assert_eq!(recorded["db.client.connection.count{pool=main,state=idle}"], 3.0);
    assert_eq!(recorded["db.client.connection.count{pool=main,state=used}"], 0.0);
    assert_eq!(recorded["db.client.connection.max{pool=main}"], 3.0);
    assert_eq!(recorded["db.client.connection.pending_requests{pool=main}"], 0.0);
}

/// What `f` records through the `metrics` facade: `name{label=value,..}` -> the last value.
fn metrics_of(f: impl FnOnce()) -> std::collections::BTreeMap<String, f64> {
    use metrics::{
        Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };
    type Values = Arc<Mutex<std::collections::BTreeMap<String, f64>>>;
    struct Cell(String, Values);
    impl Cell {
        fn put(&self, v: f64) {
            self.1.lock().unwrap().insert(self.0.clone(), v);
        }
    }
    impl CounterFn for Cell {
        fn increment(&self, _: u64) {
            unimplemented!("the pool's counters are absolute")
        }
        fn absolute(&self, v: u64) {
            self.put(v as f64)
        }
    }
    impl GaugeFn for Cell {
        fn increment(&self, _: f64) {
            unimplemented!("the pool's gauges are set")
        }
        fn decrement(&self, _: f64) {
            unimplemented!("the pool's gauges are set")
        }
        fn set(&self, v: f64) {
            self.put(v)
        }
    }
    struct Rec(Values);
    impl Rec {
        fn cell(&self, key: &Key) -> Arc<Cell> {
            let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            Arc::new(Cell(format!("{}{{{}}}", key.name(), labels.join(",")), self.0.clone()))
        }
    }
    impl Recorder for Rec {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(self.cell(key))
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(self.cell(key))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            unimplemented!("the pool records no histogram")
        }
    }
    let values = Values::default();
    metrics::with_local_recorder(&Rec(values.clone()), f);
    Arc::try_unwrap(values).unwrap().into_inner().unwrap()
}

/// Statement spans carry OpenTelemetry's database client attributes: the shape of the SQL (never
/// a value), the operation, the database, the server; a failure its error type and SQLSTATE.
#[tokio::test(flavor = "current_thread")]
async fn statement_spans_carry_opentelemetry_database_attributes() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(config(test.url())).await.unwrap();
    let (dup, log) = taulu::testing::capture_logs(async || {
        let found = select_from::<Users>().columns((users::id,)).where_(users::email.eq("ann@example.com"));
        assert!(found.fetch_all(&db).await.unwrap().is_empty());
        insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap();
        insert_into::<Users>().values(new_user("ann")).execute(&db).await.unwrap_err()
    })
    .await;
    assert_eq!(dup.sqlstate(), Some("23505"));
    let spans: Vec<&str> = log.lines().filter(|l| l.contains("statement{") && l.contains("close")).collect();
    assert_eq!(spans.len(), 3, "{log}");
    for span in &spans {
        assert!(span.contains("db.system.name=\"postgresql\""), "{span}");
        assert!(span.contains(&format!("db.namespace=\"{}\"", test.name())), "{span}");
        assert!(span.contains("server.address=127.0.0.1") && span.contains("server.port="), "{span}");
        assert!(!span.contains("ann@example.com"), "a value in a span: {span}");
    }
    assert!(
        spans[0].contains("db.operation.name=\"SELECT\"") && spans[0].contains("db.query.text=SELECT"),
        "{}",
        spans[0]
    );
    assert!(spans[1].contains("db.operation.name=\"INSERT\"") && !spans[1].contains("error.type"), "{}", spans[1]);
    assert!(
        spans[2].contains("error.type=UniqueViolation") && spans[2].contains("db.response.status_code=\"23505\""),
        "{}",
        spans[2]
    );
}
