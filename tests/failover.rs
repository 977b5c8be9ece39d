//! Automatic failover under a real HA manager: a pg_auto_failover formation (a monitor, two data
//! nodes, synchronous replication; `taulu::local::LocalFormation`) behind a `Db` with the default
//! settings, a multi-host `DATABASE_URL` and both nodes as its replicas, loaded by 20 readers and 5
//! writers. Each write inserts a row under a key of the client's own; a ledger records every
//! write's outcome, and after the load the new primary's rows are checked against it. Waits are on
//! observed conditions (bounded by deadlines), never on sleeps.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use taulu::{Db, DbConfig, ErrorKind, ReplicaHealth, local::LocalFormation, prelude::*};
use taulu_app::schema::{LoginAttempts, login_attempts};

const READERS: usize = 20;
const WRITERS: usize = 5;

/// What became of every write.
#[derive(Default)]
struct Ledger {
    /// Acknowledged: key and when.
    acked: Vec<(String, Instant)>,
    /// `Ambiguous`: sent, the outcome unknown.
    ambiguous: Vec<String>,
    /// Failed otherwise (not sent, or refused): key, and the error's kind and text.
    failed: Vec<(String, String)>,
}

/// The load: readers and writers on `db` until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
    read_errors: Arc<Mutex<Vec<String>>>,
    ledger: Arc<Mutex<Ledger>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(db: &Db, phase: &'static str) -> Load {
        let (stop, reads) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let read_errors = Arc::new(Mutex::new(Vec::new()));
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let mut tasks = Vec::new();
        for _ in 0..READERS {
            let (db, stop, reads, errors) = (db.clone(), stop.clone(), reads.clone(), read_errors.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match select_from::<LoginAttempts>().columns((count_all(),)).fetch_one(&db).await {
                        Ok(_) => {
                            reads.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => errors.lock().unwrap().push(e.to_string()),
                    }
                }
            }));
        }
        for w in 0..WRITERS {
            let (db, stop, ledger) = (db.clone(), stop.clone(), ledger.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let key = format!("{phase}-w{w}-{n}");
                    n += 1;
                    let written = insert_into::<LoginAttempts>()
                        .values(login_attempts::Insert::new(key.clone(), true))
                        .execute(&db)
                        .await;
                    let mut ledger = ledger.lock().unwrap();
                    match written {
                        Ok(_) => ledger.acked.push((key, Instant::now())),
                        Err(e) if e.kind() == ErrorKind::Ambiguous => ledger.ambiguous.push(key),
                        Err(e) => ledger.failed.push((key, format!("{:?}: {e}", e.kind()))),
                    }
                }
            }));
        }
        Load { stop, reads, read_errors, ledger, tasks }
    }

    fn acked(&self) -> usize {
        self.ledger.lock().unwrap().acked.len()
    }

    async fn wait_for_acks(&self, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.acked() < n {
            assert!(Instant::now() < deadline, "gave up waiting for {what} ({} acknowledged)", self.acked());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the load, audits the phase (see [`audit`]) and checks what callers saw: no read
    /// failed, `Ambiguous` only for writes in flight, every other failure `Unavailable`. Returns
    /// the ledger and the unavailability window.
    async fn finish(self, db: &Db, phase: &str, event: Instant) -> (Ledger, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        let ledger = std::mem::take(&mut *self.ledger.lock().unwrap());
        let read_errors = self.read_errors.lock().unwrap().clone();
        let window = audit(db, phase, &ledger, event).await;
        eprintln!(
            "{phase}: {} writes acknowledged, {} ambiguous, {} failed; {} reads, {} failed; writes unavailable for {} ms",
            ledger.acked.len(),
            ledger.ambiguous.len(),
            ledger.failed.len(),
            self.reads.load(Ordering::SeqCst),
            read_errors.len(),
            window.as_millis()
        );
        assert_eq!(read_errors, Vec::<String>::new(), "{phase}: no read failed");
        assert!(
            ledger.ambiguous.len() <= WRITERS,
            "{phase}: Ambiguous only for writes in flight: {:?}",
            ledger.ambiguous
        );
        for (key, error) in &ledger.failed {
            assert!(error.starts_with("Unavailable"), "{phase}: {key}: {error}");
        }
        (ledger, window)
    }
}

/// Checks the ledger against the rows on the primary: every acknowledged write there once,
/// nothing twice, nothing of a write that failed before it was sent; returns the longest time
/// without an acknowledged write (the unavailability window).
async fn audit(db: &Db, phase: &str, ledger: &Ledger, from: Instant) -> Duration {
    let rows = select_from::<LoginAttempts>()
        .columns((login_attempts::identifier, count_all()))
        .where_(login_attempts::identifier.like(format!("{phase}-%")))
        .group_by((login_attempts::identifier,))
        .fetch_all(db)
        .await
        .unwrap();
    let stored: HashMap<String, i64> = rows.into_iter().collect();
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{phase}: written twice: {twice:?}");
    let lost: Vec<_> = ledger.acked.iter().filter(|(k, _)| !stored.contains_key(k)).map(|(k, _)| k).collect();
    assert!(lost.is_empty(), "{phase}: acknowledged writes lost: {lost:?}");
    for (key, error) in &ledger.failed {
        assert!(!stored.contains_key(key), "{phase}: {key} failed ({error}) but was written");
    }
    let known = ledger.acked.len() + ledger.ambiguous.len() + ledger.failed.len();
    let extra = stored.len() - ledger.acked.len() - ledger.ambiguous.iter().filter(|k| stored.contains_key(*k)).count();
    assert_eq!(extra, 0, "{phase}: rows no write of the ledger accounts for ({known} writes)");
    let mut times: Vec<Instant> = ledger.acked.iter().map(|(_, t)| *t).collect();
    times.sort();
    assert!(times.last().is_some_and(|t| *t > from), "{phase}: writes acknowledged after the event");
    times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
}

async fn wait_for_formation(formation: &Arc<LocalFormation>, what: &'static str, done: fn(&LocalFormation) -> bool) {
    let f = formation.clone();
    tokio::task::spawn_blocking(move || f.wait_for(what, Duration::from_secs(120), |f| Ok(done(f))))
        .await
        .unwrap()
        .unwrap();
}

/// Waits until `node` is a standby that takes reads again: the `Db` sees it healthy, and its
/// table statistics show the readers' scans arriving there.
async fn wait_for_reads_on(formation: &LocalFormation, db: &Db, node: usize) {
    let url = formation.node_url(node, "app");
    let deadline = Instant::now() + Duration::from_secs(60);
    let shown = url.to_string();
    while !db.replica_status().iter().any(|r| r.url.to_string() == shown && r.health == ReplicaHealth::Healthy) {
        assert!(Instant::now() < deadline, "node {node} never took reads again: {:?}", db.replica_status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = taulu::connect(&url).await.unwrap();
    let scans = async || -> i64 {
        let row = client
            .query_one(
                "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'login_attempts'",
                &[],
            )
            .await
            .unwrap();
        row.get(0)
    };
    let first = scans().await;
    while scans().await == first {
        assert!(Instant::now() < deadline, "no read reached node {node}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_and_a_planned_switchover_lose_no_acknowledged_write() {
    let formation = Arc::new(tokio::task::spawn_blocking(LocalFormation::start).await.unwrap().unwrap());
    let admin = taulu::connect(&formation.url("postgres")).await.unwrap();
    admin.batch_execute("CREATE DATABASE app").await.unwrap();
    let client = taulu::connect(&formation.url("app")).await.unwrap();
    taulu::migrate::Migrator::new(&taulu_app::MIGRATIONS).up(&client, None).await.unwrap();
    drop((admin, client));
    // The default settings; every node is listed as a replica: a node that is primary at the
    // moment takes no replica reads, so the list follows promotions.
    let mut config = DbConfig::new(formation.url("app"));
    config.replicas = vec![formation.node_url(0, "app"), formation.node_url(1, "app")];
    let db = Db::connect(config).await.unwrap();

    // The primary crashes (kill -9 of its postmaster); the monitor promotes the standby.
    let load = Load::start(&db, "kill");
    load.wait_for_acks(50, "writes before the crash").await;
    let f = formation.clone();
    let killed = tokio::task::spawn_blocking(move || f.kill_primary()).await.unwrap().unwrap();
    let crashed = Instant::now();
    let acked = load.acked();
    load.wait_for_acks(acked + 50, "writes on the promoted standby").await;
    assert_ne!(formation.primary().unwrap(), Some(killed), "the monitor promoted the other node");
    // The dead node's machine comes back: it rejoins as a standby and takes reads again.
    formation.revive(killed).unwrap();
    wait_for_formation(&formation, "the old primary back as a secondary", |f| f.settled().unwrap_or(false)).await;
    wait_for_reads_on(&formation, &db, killed).await;
    load.finish(&db, "kill", crashed).await;

    // A planned switchover: the primary is demoted and the standby promoted.
    let load = Load::start(&db, "switch");
    load.wait_for_acks(50, "writes before the switchover").await;
    let before = formation.primary().unwrap();
    let f = formation.clone();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || f.switchover()).await.unwrap().unwrap();
    wait_for_formation(&formation, "the switchover to settle", |f| f.settled().unwrap_or(false)).await;
    assert_ne!(formation.primary().unwrap(), before, "the switchover changed the primary");
    let acked = load.acked();
    load.wait_for_acks(acked + 50, "writes after the switchover").await;
    wait_for_reads_on(&formation, &db, before.unwrap()).await;
    let (ledger, window) = load.finish(&db, "switch", started).await;
    // Writes wait for a server that takes them up to the connect timeout (the default 5 s): a
    // switchover within it costs none; one that takes longer, `Unavailable` only.
    if window < DbConfig::new(formation.url("app")).connect_timeout {
        assert_eq!(ledger.failed, Vec::<(String, String)>::new(), "the pool waited the switchover out");
    }
    drop(db);
    tokio::task::spawn_blocking(move || drop(formation)).await.unwrap();
}
