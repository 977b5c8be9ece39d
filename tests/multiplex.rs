//! Multiplexed execution (`DbConfig::multiplex`) on real PostgreSQL: single statements share
//! connections, many in flight on each; a shared connection that fails fails what was in flight on
//! it (reads retried, writes reported, nothing sent twice); a dropped statement leaves the shared
//! connection to the others; transactions keep a connection of their own.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use taulu::{Db, DbConfig, ErrorKind, prelude::*, query::sql, testing::TestDb};
use taulu_app::schema::{LoginAttempts, Users, login_attempts, users};

fn multiplexed(test: &TestDb, shared: u32, cache: usize) -> DbConfig {
    let mut config = DbConfig::new(test.url().clone());
    config.max_size = shared + 1;
    config.multiplex = shared;
    config.statement_cache_size = cache;
    config
}

fn guard(secs: u64) -> impl Fn(&str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    move |what: &str| assert!(Instant::now() < deadline, "gave up waiting for {what}")
}

/// A test database with one user, ann.
async fn with_ann() -> TestDb {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    insert_into::<Users>()
        .values(users::Insert::new("ann", "ann@example.com", "h"))
        .execute(&test.pool())
        .await
        .unwrap();
    test
}

/// The backend that answered, and the users it sees.
async fn backend(db: &impl taulu::query::Executor) -> taulu::Result<(i32, i64)> {
    select_from::<Users>().columns((sql::<i32>("pg_backend_pid()").as_("pid"), count_all())).fetch_one(db).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_statements_share_two_connections_and_transactions_keep_their_own() {
    let test = with_ann().await;
    for cache in [256, 0] {
        let db = Db::connect(multiplexed(&test, 2, cache)).await.unwrap();
        let pids = Arc::new(Mutex::new(HashSet::new()));
        let mut tasks = Vec::new();
        // 16 callers: room for them on the two shared connections from the start (a connection
        // takes 8 until it has measured how fast it serves; more callers would overflow to the
        // exclusive connection meanwhile).
        for _ in 0..16 {
            let (db, pids) = (db.clone(), pids.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    let (pid, n) = backend(&db).await.unwrap();
                    assert_eq!(n, 1);
                    pids.lock().unwrap().insert(pid);
                }
            }));
        }
        // A transaction meanwhile, once both shared connections serve: on the one left for
        // exclusive use.
        let give_up = guard(60);
        while pids.lock().unwrap().len() < 2 {
            give_up("both shared connections in use");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let in_tx = db
            .transaction(async |tx| {
                let (pid, _) = backend(tx).await?;
                Ok(pid)
            })
            .await
            .unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let pids = pids.lock().unwrap().clone();
        assert!(pids.len() <= 2, "320 statements of 16 tasks ran on {} backends (cache {cache})", pids.len());
        assert!(!pids.contains(&in_tx), "the transaction had a connection of its own");
        let (open, _) = db.state();
        assert!(open <= 3, "{open} connections");
    }
}

/// The backends that answered 5 callers running 40 statements each at once.
async fn backends_of_five_callers(db: &Db) -> HashSet<i32> {
    let pids = Arc::new(Mutex::new(HashSet::new()));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (db, pids) = (db.clone(), pids.clone());
            tokio::spawn(async move {
                for _ in 0..40 {
                    let (pid, _) = backend(&db).await.unwrap();
                    pids.lock().unwrap().insert(pid);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(pids).unwrap().into_inner().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_pipeline_on_one_shared_connection_then_spread_over_every_one() {
    let test = with_ann().await;
    let db = Db::connect(multiplexed(&test, 4, 256)).await.unwrap();
    // 5 callers: never 8 statements in flight, so they all pipeline on the first connection.
    let few = backends_of_five_callers(&db).await;
    assert_eq!(few.len(), 1, "5 callers ran on {} backends", few.len());
    // 50 callers: every shared connection gets statements (opened only when all were full,
    // 50 callers ran on 2 of 4, each with room for 32).
    let pids = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (db, pids, stop) = (db.clone(), pids.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let (pid, n) = backend(&db).await.unwrap();
                    assert_eq!(n, 1);
                    pids.lock().unwrap().insert(pid);
                }
            })
        })
        .collect();
    let give_up = guard(60);
    while pids.lock().unwrap().len() < 4 {
        give_up("statements on all 4 shared connections");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(pids.lock().unwrap().len(), 4, "never more backends than shared connections");
    // 5 callers again: back on one connection (the first below 8 in flight takes each statement).
    let again = backends_of_five_callers(&db).await;
    assert_eq!(again.len(), 1, "5 callers after the load ran on {} backends", again.len());
    let (open, _) = db.state();
    assert!(open <= 5, "{open} connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_do_not_wait_for_a_shared_connection_that_cannot_open() {
    let test = with_ann().await;
    let port = test.url().config().get_ports()[0];
    let proxy = taulu::testing::FaultProxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let url = test.url().to_url_with_password().replace(&format!(":{port}/"), &format!(":{}/", proxy.port()));
    // Two shared connections and one for exclusive use; no idle connection kept, so that none
    // opens in the background (bb8 refilling `min_idle`) before the server starts refusing: the
    // one that serves the first statement is the only one there is.
    let mut config = multiplexed(&test, 2, 256);
    config.url = url.parse().unwrap();
    config.min_idle = 0;
    let db = Db::connect(config).await.unwrap();
    let (first, _) = backend(&db).await.unwrap();
    // The server refuses new connections: the second shared one cannot open.
    proxy.set_refusing(true);
    // 20 statements at once, each 50 ms on the server: they overlap, so the open shared
    // connection soon has 8 in flight and the second is asked for. They all finish on the first
    // while the second cannot open (they would wait for it, and fail, if they needed it).
    let slow = |db: &Db| -> Vec<_> {
        (0..20)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let (pid,) = select_from::<Users>()
                        .columns((sql::<i32>("pg_backend_pid()").as_("pid"),))
                        .where_(sql("pg_sleep(0.05) IS NOT NULL"))
                        .fetch_one(&db)
                        .await
                        .unwrap();
                    pid
                })
            })
            .collect()
    };
    for t in slow(&db) {
        assert_eq!(t.await.unwrap(), first, "on the open shared connection");
    }
    // Once the server takes connections again, the second shared connection opens and takes
    // statements.
    proxy.set_refusing(false);
    let mut pids = HashSet::new();
    let give_up = guard(60);
    while pids.len() < 2 {
        give_up("the second shared connection in use");
        for t in slow(&db) {
            pids.insert(t.await.unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_connection_lost_mid_load_costs_no_read_and_sends_no_write_twice() {
    let test = with_ann().await;
    let admin = test.connect().await.unwrap();
    // One shared connection: every single statement is in flight on it.
    let db = Db::connect(multiplexed(&test, 1, 256)).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let outcomes = Arc::new(Mutex::new(Vec::<(String, Result<u64, ErrorKind>)>::new()));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (db, stop, reads, errors) = (db.clone(), stop.clone(), reads.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match backend(&db).await {
                    Ok(_) => {
                        reads.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    for w in 0..5 {
        let (db, stop, outcomes) = (db.clone(), stop.clone(), outcomes.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let id = format!("w{w}-{n}");
                let out = insert_into::<LoginAttempts>()
                    .values(login_attempts::Insert::new(&id, true))
                    .execute(&db)
                    .await
                    .map_err(|e| e.kind());
                outcomes.lock().unwrap().push((id, out));
                n += 1;
            }
        }));
    }
    let give_up = guard(60);
    while reads.load(Ordering::SeqCst) < 300 {
        give_up("300 reads");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Terminate every backend of the database but ours: the shared connection, mid-pipeline.
    let killed: i64 = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .len() as i64;
    assert!(killed >= 1);
    let after = reads.load(Ordering::SeqCst);
    while reads.load(Ordering::SeqCst) < after + 300 {
        give_up("300 reads after the fault");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(errors.lock().unwrap().clone(), Vec::<String>::new(), "no read failed");
    let rows = admin.query("SELECT identifier, count(*) FROM login_attempts GROUP BY identifier", &[]).await.unwrap();
    let count = |id: &str| rows.iter().find(|r| r.get::<_, String>(0) == id).map_or(0, |r| r.get::<_, i64>(1));
    let outcomes = outcomes.lock().unwrap().clone();
    for (id, out) in &outcomes {
        match out {
            Ok(1) => assert_eq!(count(id), 1, "{id} applied once"),
            Err(ErrorKind::Ambiguous) => assert!(count(id) <= 1, "{id} not sent twice"),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert!(outcomes.iter().all(|(id, _)| count(id) <= 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_statement_leaves_the_shared_connection_to_the_others() {
    let test = with_ann().await;
    let admin = test.connect().await.unwrap();
    let db = Db::connect(multiplexed(&test, 1, 256)).await.unwrap();
    let (before, _) = backend(&db).await.unwrap();
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            select_from::<Users>().columns((users::email,)).where_(sql("pg_sleep(3) IS NOT NULL")).fetch_all(&db).await
        })
    };
    let sleeping = || async {
        let n: i64 = admin
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND state = 'active' AND pid <> pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    let give_up = guard(60);
    while sleeping().await == 0 {
        give_up("the slow statement to run");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Dropped mid-flight (the task's future is dropped).
    slow.abort();
    assert!(slow.await.unwrap_err().is_cancelled());
    // Not canceled (a cancel would hit whatever runs on the shared connection): it runs on.
    assert_eq!(sleeping().await, 1);
    // The next statements wait behind it on the same connection and get their own rows.
    let (after, n) = backend(&db).await.unwrap();
    assert_eq!((after, n), (before, 1), "the same connection, its own rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_shared_connection_sends_the_next_statements_to_an_exclusive_checkout() {
    let test = with_ann().await;
    let admin = test.connect().await.unwrap();
    // One shared connection (room for 32 statements in flight) and one for exclusive use.
    let db = Db::connect(multiplexed(&test, 1, 256)).await.unwrap();
    admin.execute("SELECT pg_advisory_lock(7)", &[]).await.unwrap();
    // 40 statements that wait for the lock: the first 32 queue on the shared connection (the
    // server runs them one after another, so all wait behind the first), the 33rd overflows to
    // the exclusive connection, and the others wait their turn in the admission queue.
    let blocked: Vec<_> = (0..40)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                select_from::<Users>()
                    .columns((users::email,))
                    .where_(sql("pg_advisory_xact_lock_shared(7) IS NOT NULL"))
                    .fetch_all(&db)
                    .await
            })
        })
        .collect();
    let waiting = || async {
        let n: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        n
    };
    // Without the bound, all 40 would queue on the shared connection and one backend would wait.
    let give_up = guard(60);
    while waiting().await < 2 {
        give_up("a statement past the shared connection's 32 to wait on a connection of its own");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    admin.execute("SELECT pg_advisory_unlock(7)", &[]).await.unwrap();
    for t in blocked {
        assert_eq!(t.await.unwrap().unwrap().len(), 1);
    }
    let (open, _) = db.state();
    assert!(open <= 2, "{open} connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_caller_starves_when_the_shared_connection_is_full() {
    let test = with_ann().await;
    // One shared connection (room for 32) and one for exclusive use; 50 callers, so some are past
    // the bound at every moment and queue for the exclusive one while the others share.
    let db = Db::connect(multiplexed(&test, 1, 256)).await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let (db, done) = (db.clone(), done.clone());
            tokio::spawn(async move {
                let mut mine = 0usize;
                while done.load(Ordering::Relaxed) < 5_000 {
                    let (_, n) = backend(&db).await.unwrap();
                    assert_eq!(n, 1);
                    done.fetch_add(1, Ordering::Relaxed);
                    mine += 1;
                }
                mine
            })
        })
        .collect();
    let mut counts = Vec::new();
    for c in callers {
        counts.push(c.await.unwrap());
    }
    let mean = counts.iter().sum::<usize>() / counts.len();
    let fewest = *counts.iter().min().unwrap();
    // Starvation would leave a caller with next to nothing while the mean is 100 (before the
    // admission queue: 1 for a third of the callers, ~150 for the rest; with it: 90 to 106).
    assert!(fewest * 2 >= mean, "a caller got {fewest} statements through where the mean was {mean}: {counts:?}");
}

/// More slow statements than the pool can run: each caller's wait is bounded. Waves of 100
/// callers each run one 0.6 s statement on a pool of 5 (4 shared) whose connect timeout is 2 s.
/// A shared connection takes only as many as it serves within the connect timeout (3 here, once it
/// has measured them; 8 before), the callers beyond wait for a turn at most the connect timeout and
/// get `PoolExhausted` after it: no call lasts longer than twice the connect timeout and its own
/// statement. (Pipelined 32 deep, as before, the last of a connection's statements waited 19 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_statements_beyond_what_the_pool_runs_get_bounded_waits() {
    let test = with_ann().await;
    let mut config = multiplexed(&test, 4, 256);
    config.connect_timeout = Duration::from_secs(2);
    let db = Db::connect(config).await.unwrap();
    for wave in ["first", "second"] {
        let callers: Vec<_> = (0..100)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let slow = select_from::<Users>().columns((users::id,)).where_(sql("pg_sleep(0.6) IS NOT NULL"));
                    let done = slow.fetch_all(&db).await;
                    (started.elapsed(), done.map(|rows| rows.len()).map_err(|e| e.kind()))
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for c in callers {
            outcomes.push(c.await.unwrap());
        }
        let served = outcomes.iter().filter(|(_, r)| *r == Ok(1)).count();
        let exhausted = outcomes.iter().filter(|(_, r)| *r == Err(ErrorKind::PoolExhausted)).count();
        let worst = outcomes.iter().map(|(t, _)| *t).max().unwrap();
        println!("{wave} wave: {served} served, {exhausted} exhausted, the longest call {worst:?}");
        assert_eq!(served + exhausted, 100, "{wave} wave: {outcomes:?}");
        assert!(served >= 5, "{wave} wave: {served} served");
        // Unmeasured, a connection takes 8: 4.8 s for the last of them.
        let bound =
            if wave == "first" { Duration::from_millis(8 * 600) } else { Duration::from_millis(2 * 2000 + 600) };
        assert!(worst < bound + Duration::from_secs(2), "{wave} wave: a call took {worst:?}");
    }
}
