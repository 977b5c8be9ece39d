//! Read replicas on a real streaming standby (a second local cluster made with
//! `pg_basebackup -R` by the test support): routing, lag, a replica going down under load,
//! read-your-writes, and a failover to a promoted standby. Waits are on observed conditions
//! (bounded by a deadline), never on sleeps.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use taulu::{
    Db, DbConfig, ErrorKind, LocalCluster, ReplicaHealth,
    prelude::*,
    query::{Executor, sql},
    testing::TestDb,
};
use taulu_app::schema::{LoginAttempts, Users, login_attempts, users};
use tokio_postgres::Client;

/// A primary and its standby in `target/taulu-pg-<name>` and `..-standby`, made fresh.
async fn fresh_pair(name: &str) -> (LocalCluster, LocalCluster) {
    let base = LocalCluster::default_dir();
    let primary_dir = base.with_file_name(format!("taulu-pg-{name}"));
    let standby_dir = base.with_file_name(format!("taulu-pg-{name}-standby"));
    tokio::task::spawn_blocking(move || {
        for dir in [&standby_dir, &primary_dir] {
            LocalCluster::stop_in(dir).unwrap();
            let _ = std::fs::remove_dir_all(dir);
        }
        let primary = LocalCluster::ensure_in(&primary_dir).unwrap();
        let standby = primary.ensure_standby(&standby_dir).unwrap();
        (primary, standby)
    })
    .await
    .unwrap()
}

/// The pair the routing, lag, read-your-writes and replica-down tests share (made once per run of
/// this test binary), and a lock: each of those tests changes the standby (pauses its replay,
/// restarts it), so they take turns.
async fn shared_pair() -> (tokio::sync::MutexGuard<'static, ()>, LocalCluster, LocalCluster) {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    static PAIR: std::sync::OnceLock<(LocalCluster, LocalCluster)> = std::sync::OnceLock::new();
    let turn = TURN.lock().await;
    if PAIR.get().is_none() {
        let pair = fresh_pair("replica").await;
        let _ = PAIR.set(pair);
    }
    let (p, s) = PAIR.get().unwrap().clone();
    (turn, p, s)
}

fn guard(secs: u64) -> impl Fn(&str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    move |what: &str| assert!(Instant::now() < deadline, "gave up waiting for {what}")
}

/// Waits until the standby has replayed everything the primary has written so far.
async fn caught_up(primary: &Client, standby: &Client) {
    let target: String = primary.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).await.unwrap().get(0);
    let give_up = guard(60);
    loop {
        let done: bool =
            standby.query_one("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", &[&target]).await.unwrap().get(0);
        if done {
            return;
        }
        give_up("the standby to replay");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A migrated database on the primary, present on the standby too, with admin connections to
/// both.
async fn database(primary: &LocalCluster, standby: &LocalCluster) -> (TestDb, Client, Client) {
    let test = TestDb::on(&primary.url("postgres"), &taulu_app::MIGRATIONS).await.unwrap();
    let on_primary = taulu::connect(&primary.url(test.name())).await.unwrap();
    let admin = taulu::connect(&standby.url("postgres")).await.unwrap();
    caught_up(&on_primary, &admin).await;
    let on_standby = taulu::connect(&standby.url(test.name())).await.unwrap();
    (test, on_primary, on_standby)
}

fn replicated(primary: &LocalCluster, replicas: &[&LocalCluster], db: &str) -> DbConfig {
    let mut config = DbConfig::new(primary.url(db));
    config.replicas = replicas.iter().map(|r| r.url(db)).collect();
    config
}

/// Which server answered: `true` for a standby.
async fn answered_by_standby<E: Executor>(db: &E) -> taulu::Result<bool> {
    let (standby,) = select_from::<Users>()
        .columns((sql::<bool>("pg_is_in_recovery()").as_("standby"),))
        .limit(1)
        .fetch_one(db)
        .await?;
    Ok(standby)
}

async fn wait_for_health(db: &Db, health: ReplicaHealth) {
    let give_up = guard(60);
    while db.replica_status()[0].health != health {
        give_up(&format!("the replica to be {health:?}"));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn add_user(db: &impl Executor, name: &str) {
    insert_into::<Users>()
        .values(users::Insert::new(name, format!("{name}@example.com"), "h"))
        .execute(db)
        .await
        .unwrap();
}

async fn user_exists(db: &impl Executor, name: &str) -> bool {
    select_from::<Users>()
        .columns((users::id,))
        .where_(users::username.eq(name))
        .fetch_optional(db)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_replicas_in_turn_and_everything_else_to_the_primary() {
    let (_turn, primary, standby) = shared_pair().await;
    let (test, on_primary, on_standby) = database(&primary, &standby).await;
    add_user(&on_primary, "ann").await;
    caught_up(&on_primary, &on_standby).await;

    // One replica: every single read goes there.
    let db = Db::connect(replicated(&primary, &[&standby], test.name())).await.unwrap();
    for _ in 0..5 {
        assert!(answered_by_standby(&db).await.unwrap(), "a read on the pool goes to the replica");
    }
    let streamed = select_from::<Users>()
        .columns((sql::<bool>("pg_is_in_recovery()").as_("standby"),))
        .fetch_stream(&db)
        .await
        .unwrap();
    use futures_util::TryStreamExt as _;
    assert_eq!(streamed.try_collect::<Vec<_>>().await.unwrap(), vec![(true,)], "a stream too");
    assert!(!answered_by_standby(&db.on_primary()).await.unwrap(), "on_primary() reads the primary");
    assert!(!answered_by_standby(&db.get().await.unwrap()).await.unwrap(), "get() is a primary connection");
    let in_tx = db.transaction(async |tx| answered_by_standby(tx).await).await.unwrap();
    assert!(!in_tx, "a transaction runs on the primary, reads included");
    // A write goes to the primary (a standby would refuse it).
    add_user(&db, "bob").await;
    // A "read" that writes (nextval) is refused by the standby and runs on the primary.
    let (next,) = select_from::<Users>()
        .columns((sql::<i64>("nextval('login_attempts_id_seq')").as_("next"),))
        .limit(1)
        .fetch_one(&db)
        .await
        .unwrap();
    let last: i64 = on_primary.query_one("SELECT last_value FROM login_attempts_id_seq", &[]).await.unwrap().get(0);
    assert_eq!(next, last, "the primary ran it");

    // Two replicas (the standby over TCP and over its Unix socket): reads take turns.
    let mut config = replicated(&primary, &[&standby], test.name());
    config.replicas.push(standby.socket_url(test.name()).expect("the standby has a socket"));
    let db = Db::connect(config).await.unwrap();
    let mut over_socket = 0;
    for _ in 0..10 {
        let (socket,) = select_from::<Users>()
            .columns((sql::<bool>("inet_server_addr() IS NULL").as_("socket"),))
            .limit(1)
            .fetch_one(&db)
            .await
            .unwrap();
        over_socket += usize::from(socket);
    }
    assert_eq!(over_socket, 5, "round-robin over two replicas");

    // The primary listed among the replicas (as every node of an HA formation is): once checked,
    // it takes no replica reads.
    let db = Db::connect(replicated(&primary, &[&standby, &primary], test.name())).await.unwrap();
    let give_up = guard(10);
    while db.replica_status()[1].health != ReplicaHealth::Primary {
        give_up("the primary to be seen as the primary");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..10 {
        assert!(answered_by_standby(&db).await.unwrap(), "replica reads skip the primary");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_replica_gets_no_reads_until_it_catches_up() {
    let (_turn, primary, standby) = shared_pair().await;
    let (test, on_primary, on_standby) = database(&primary, &standby).await;
    add_user(&on_primary, "ann").await;
    caught_up(&on_primary, &on_standby).await;
    let mut config = replicated(&primary, &[&standby], test.name());
    config.replica_max_lag = Duration::from_millis(300);
    let db = Db::connect(config).await.unwrap();
    wait_for_health(&db, ReplicaHealth::Healthy).await;
    assert!(answered_by_standby(&db).await.unwrap());

    // The standby stops replaying (it still receives WAL): it falls behind as the primary writes.
    on_standby.batch_execute("SELECT pg_wal_replay_pause()").await.unwrap();
    add_user(&db, "bob").await;
    wait_for_health(&db, ReplicaHealth::Lagging).await;
    let lag = db.replica_status()[0].lag.unwrap();
    assert!(lag > Duration::from_millis(300), "{lag:?}");
    assert!(!user_exists(&on_standby, "bob").await, "the standby is behind");
    assert!(user_exists(&db, "bob").await, "so the pool reads the primary");
    assert!(!answered_by_standby(&db).await.unwrap());

    on_standby.batch_execute("SELECT pg_wal_replay_resume()").await.unwrap();
    wait_for_health(&db, ReplicaHealth::Healthy).await;
    assert!(answered_by_standby(&db).await.unwrap(), "caught up: it takes reads again");
    assert!(user_exists(&db, "bob").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_your_writes_session_sees_its_writes_other_reads_may_not() {
    let (_turn, primary, standby) = shared_pair().await;
    let (test, on_primary, on_standby) = database(&primary, &standby).await;
    add_user(&on_primary, "ann").await;
    caught_up(&on_primary, &on_standby).await;
    let mut config = replicated(&primary, &[&standby], test.name());
    // Lag alone must not send reads to the primary here: only the session's rule may.
    config.replica_max_lag = Duration::from_secs(600);
    let db = Db::connect(config).await.unwrap();
    let session = db.read_your_writes();
    assert!(answered_by_standby(&session).await.unwrap(), "before any write, a session reads replicas");

    on_standby.batch_execute("SELECT pg_wal_replay_pause()").await.unwrap();
    add_user(&session, "bob").await;
    assert!(user_exists(&session, "bob").await, "the session sees its write (from the primary)");
    assert!(!user_exists(&db, "bob").await, "a plain read goes to the replica, which has not replayed it");
    session
        .transaction(async |tx| {
            add_user(tx, "cat").await;
            Ok(())
        })
        .await
        .unwrap();
    assert!(user_exists(&session, "cat").await, "and what its transactions committed");

    on_standby.batch_execute("SELECT pg_wal_replay_resume()").await.unwrap();
    caught_up(&on_primary, &on_standby).await;
    assert!(answered_by_standby(&session).await.unwrap(), "once the replica has replayed them, it reads there");
    assert!(user_exists(&session, "cat").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_the_standby_cancels_for_a_conflict_with_recovery_runs_again_on_the_primary() {
    let (_turn, primary, standby) = shared_pair().await;
    let (test, on_primary, on_standby) = database(&primary, &standby).await;
    add_user(&on_primary, "ann").await;
    caught_up(&on_primary, &on_standby).await;
    // The standby waits at most 100 ms for a read that holds up replay, then cancels it (40001).
    let admin = taulu::connect(&standby.url("postgres")).await.unwrap();
    admin.batch_execute("ALTER SYSTEM SET max_standby_streaming_delay = '100ms'").await.unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    let conflicts = || async {
        let n: i64 = on_standby
            .query_one("SELECT confl_lock FROM pg_stat_database_conflicts WHERE datname = current_database()", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    let before = conflicts().await;
    let db = Db::connect(replicated(&primary, &[&standby], test.name())).await.unwrap();
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            select_from::<Users>()
                .columns((users::username, sql::<bool>("pg_is_in_recovery()").as_("standby")))
                .where_(sql("pg_sleep(2) IS NOT NULL"))
                .fetch_all(&db)
                .await
        })
    };
    // Once the read runs on the standby, an exclusive lock on its table is replayed there.
    let give_up = guard(60);
    loop {
        let running: i64 = on_standby
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(2)%' AND state = 'active' AND pid <> pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        if running > 0 {
            break;
        }
        give_up("the read to start on the standby");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    on_primary.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; COMMIT").await.unwrap();
    let rows = slow.await.unwrap();
    admin.batch_execute("ALTER SYSTEM RESET max_standby_streaming_delay").await.unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    assert_eq!(rows.unwrap(), vec![("ann".to_owned(), false)], "answered by the primary");
    // (The counter reaches the statistics within a second or so.)
    let give_up = guard(60);
    while conflicts().await == before {
        give_up("the standby to count the read it canceled for a lock conflict");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_going_down_under_load_costs_no_read_and_takes_reads_again_when_back() {
    let (_turn, primary, standby) = shared_pair().await;
    let (test, on_primary, on_standby) = database(&primary, &standby).await;
    add_user(&on_primary, "ann").await;
    caught_up(&on_primary, &on_standby).await;
    drop(on_standby);
    // The defaults a user gets.
    let db = Db::connect(replicated(&primary, &[&standby], test.name())).await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let on_replica = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for _ in 0..20 {
        let (db, done, on_replica, stop, errors) =
            (db.clone(), done.clone(), on_replica.clone(), stop.clone(), errors.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match answered_by_standby(&db).await {
                    Ok(standby) => {
                        done.fetch_add(1, Ordering::SeqCst);
                        on_replica.fetch_add(usize::from(standby), Ordering::SeqCst);
                    }
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    let give_up = guard(120);
    while on_replica.load(Ordering::SeqCst) < 300 {
        give_up("300 reads on the replica");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Down for 2 s (fast shutdown: its sessions are terminated mid-read), then back.
    let s = standby.clone();
    let restarted = tokio::task::spawn_blocking(move || s.restart_after(Duration::from_secs(2)));
    let give_up = guard(120);
    while db.replica_status()[0].health != ReplicaHealth::Down {
        give_up("the replica to be seen down");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = done.load(Ordering::SeqCst);
    restarted.await.unwrap().unwrap();
    let served_while_down = done.load(Ordering::SeqCst) - before;
    let replica_before = on_replica.load(Ordering::SeqCst);
    while on_replica.load(Ordering::SeqCst) < replica_before + 300 {
        give_up("300 reads on the replica after it came back");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    assert_eq!(errors.lock().unwrap().clone(), Vec::<String>::new(), "no read failed");
    assert!(served_while_down > 0, "reads went on (on the primary) while the replica was down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failover_reads_keep_working_and_writes_are_unavailable_until_the_standby_is_promoted() {
    let (primary, standby) = fresh_pair("failover").await;
    let (test, on_primary, on_standby) = database(&primary, &standby).await;
    add_user(&on_primary, "ann").await;
    caught_up(&on_primary, &on_standby).await;
    drop((on_primary, on_standby));
    // The primary URL lists both servers; the client takes the one that accepts writes.
    let both: taulu::DatabaseUrl = format!(
        "postgres://postgres:{}@127.0.0.1:{},127.0.0.1:{}/{}?target_session_attrs=read-write",
        primary.password(),
        primary.port(),
        standby.port(),
        test.name()
    )
    .parse()
    .unwrap();
    let mut config = DbConfig::new(both);
    config.replicas = vec![standby.url(test.name())];
    let db = Db::connect(config).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for _ in 0..5 {
        let (db, done, stop, errors) = (db.clone(), done.clone(), stop.clone(), errors.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match user_exists_checked(&db, "ann").await {
                    Ok(true) => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(false) => errors.lock().unwrap().push("ann is missing".into()),
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    let write = |n: usize| {
        let db = db.clone();
        async move {
            insert_into::<LoginAttempts>()
                .values(login_attempts::Insert::new(format!("attempt {n}"), true))
                .execute(&db)
                .await
        }
    };
    write(0).await.unwrap();

    let dir = primary.dir().to_path_buf();
    tokio::task::spawn_blocking(move || LocalCluster::stop_in(&dir).unwrap()).await.unwrap();
    let err = write(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let reads_before = done.load(Ordering::SeqCst);

    let s = standby.clone();
    tokio::task::spawn_blocking(move || s.promote().unwrap()).await.unwrap();
    let give_up = guard(60);
    let mut n = 2;
    loop {
        match write(n).await {
            Ok(_) => break,
            Err(e) => assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}"),
        }
        give_up("a write on the promoted standby");
        n += 1;
    }
    let reads_after = done.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    assert_eq!(errors.lock().unwrap().clone(), Vec::<String>::new(), "no read failed");
    assert!(reads_after > reads_before, "reads went on while there was no primary");
    drop(db);
    drop(test);
    tokio::task::spawn_blocking(move || {
        let _ = standby.destroy();
        let _ = primary.destroy();
    })
    .await
    .unwrap();
}

async fn user_exists_checked(db: &Db, name: &str) -> taulu::Result<bool> {
    Ok(select_from::<Users>()
        .columns((users::id,))
        .where_(users::username.eq(name))
        .fetch_optional(db)
        .await?
        .is_some())
}
