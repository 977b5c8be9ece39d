//! Read replicas: a pool per replica, a monitor that measures each one's health and lag, and the
//! routing of reads to a healthy replica, with the primary as the fallback. Decides where a read
//! runs; the statement itself runs through the same `Fetch` as on the primary.
//!
//! Lag is measured against the primary's WAL position: every check samples the primary's
//! `pg_current_wal_lsn()`, and a replica is as far behind as the oldest sample it has not replayed
//! yet (0 when it has replayed them all). An idle primary writes no WAL, so an idle replica is
//! never "behind"; a replica whose WAL stream is cut off falls behind as soon as the primary
//! writes. When the primary cannot be sampled (it is down), a replica reports its own view: 0
//! when it has replayed all it received, else the age of the last transaction it replayed.

use std::{
    collections::VecDeque,
    sync::{
        Mutex, Weak,
        atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio_postgres::error::SqlState;

use super::{Db, Fetch, FirstRow, InFlight, PooledConn, statement_error};
use crate::{
    client::{DatabaseUrl, DbConfig},
    error::Result,
    query::Compiled,
    retry::{self, Class},
};

/// How a replica is doing, as [`Db::replica_status`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaHealth {
    /// Reachable and within the lag bound: it takes reads.
    Healthy,
    /// Reachable but further behind than `replica_max_lag`: no reads until it catches up.
    Lagging,
    /// Not reachable (refused, shutting down, a connection failed): no reads until a check
    /// reaches it again.
    Down,
    /// It takes writes: it is the primary now (a promoted standby, or the primary itself listed
    /// among the replicas). It gets no replica reads until it is a standby again, so a list of
    /// every node of an HA formation follows promotions without a restart. (A promoted server
    /// that does not take writes yet, as pg_auto_failover's until the old primary is fenced,
    /// still takes reads.)
    Primary,
}

/// One replica's state, for readiness probes and dashboards.
#[derive(Debug, Clone)]
pub struct ReplicaStatus {
    /// The replica (without its password).
    pub url: DatabaseUrl,
    /// Whether it takes reads.
    pub health: ReplicaHealth,
    /// How far behind the primary it was at the last check (`None` when it was not reachable).
    pub lag: Option<Duration>,
}

const HEALTHY: u8 = 0;
const LAGGING: u8 = 1;
const DOWN: u8 = 2;
const PRIMARY: u8 = 3;

/// A read that finds no replica able to take it (none healthy, none caught up with a session's
/// writes) goes to the primary.
pub(super) struct ToPrimary;

pub(super) struct Replicas {
    members: Vec<Replica>,
    next: AtomicUsize,
    max_lag: Duration,
    wait: Duration,
    /// The primary's WAL position at each check, oldest first.
    history: Mutex<VecDeque<(Instant, u64)>>,
}

struct Replica {
    db: Db,
    health: AtomicU8,
    /// The highest replay position seen (bytes of WAL), for read-your-writes.
    replayed: AtomicU64,
    /// Lag at the last check, in microseconds (`u64::MAX`: unknown).
    lag_us: AtomicU64,
}

impl Replica {
    fn health(&self) -> u8 {
        self.health.load(Ordering::Relaxed)
    }

    fn set_health(&self, health: u8, why: &dyn std::fmt::Display) {
        let was = self.health.swap(health, Ordering::Relaxed);
        if was != health {
            let url = &self.db.0.url;
            match health {
                HEALTHY => tracing::info!(target: "taulu::replica", %url, "replica takes reads again"),
                LAGGING => {
                    tracing::warn!(target: "taulu::replica", %url, lag = %why, "replica lags: reads go elsewhere")
                }
                PRIMARY => {
                    tracing::info!(target: "taulu::replica", %url, "replica is a primary now: reads go elsewhere")
                }
                _ => {
                    tracing::warn!(target: "taulu::replica", %url, error = %why, "replica is down: reads go elsewhere")
                }
            }
        }
    }
}

/// What a replica says of itself: whether it still takes only reads (in recovery, or promoted
/// but not taking writes yet: an HA manager fencing the old primary), how far it has replayed, and
/// its own idea of its lag: 0 when it has replayed all it received (a restarted WAL receiver
/// reports a receive position behind the replay position, or none, until it streams again: the
/// primary it would stream from is what is down), else the age of its last replayed transaction.
const PROBE: &str = "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool, \
    (coalesce(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, '0/0') \
      - '0/0'::pg_lsn)::int8, \
    CASE WHEN NOT pg_is_in_recovery() OR coalesce(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), true) THEN 0 \
      ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1e6, 1e15) END::float8";

/// Where the primary's WAL ends (bytes), every committed transaction included (with
/// `synchronous_commit = off` a commit may not be written out yet: a replica is behind it). Asked
/// at each check, and after each write of a read-your-writes session (its reads wait for this).
pub(super) const PRIMARY_LSN: &str = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8";

/// How far a replica has replayed (`NULL` once it is promoted: it then has everything).
const REPLAYED_LSN: &str = "SELECT (coalesce(pg_last_wal_replay_lsn(), 'FFFFFFFF/FFFFFFFF') - '0/0'::pg_lsn)::int8";

fn statement(sql: &str) -> Compiled {
    Compiled { sql: sql.into(), params: Vec::new(), read_only: true }
}

impl Replicas {
    /// The replicas of `config`, each with a pool of its own (the same settings), and the
    /// monitor that checks them every `replica_check_interval` for as long as the `Db` lives.
    pub(super) fn start(config: &DbConfig, primary: &Db) -> Option<std::sync::Arc<Self>> {
        if config.replicas.is_empty() {
            return None;
        }
        let members = config
            .replicas
            .iter()
            .map(|url| Replica {
                db: Db::new(DbConfig { url: url.clone(), replicas: Vec::new(), ..config.clone() }),
                health: AtomicU8::new(HEALTHY),
                replayed: AtomicU64::new(0),
                lag_us: AtomicU64::new(u64::MAX),
            })
            .collect();
        let replicas = std::sync::Arc::new(Replicas {
            members,
            next: AtomicUsize::new(0),
            max_lag: config.replica_max_lag,
            wait: config.replica_wait,
            history: Mutex::new(VecDeque::new()),
        });
        tokio::spawn(monitor(primary.clone(), std::sync::Arc::downgrade(&replicas), config.replica_check_interval));
        Some(replicas)
    }

    pub(super) fn status(&self) -> Vec<ReplicaStatus> {
        self.members
            .iter()
            .map(|m| {
                let health = match m.health() {
                    HEALTHY => ReplicaHealth::Healthy,
                    LAGGING => ReplicaHealth::Lagging,
                    PRIMARY => ReplicaHealth::Primary,
                    _ => ReplicaHealth::Down,
                };
                let lag = match (health, m.lag_us.load(Ordering::Relaxed)) {
                    (ReplicaHealth::Down, _) | (_, u64::MAX) => None,
                    (_, us) => Some(Duration::from_micros(us)),
                };
                ReplicaStatus { url: m.db.0.url.clone(), health, lag }
            })
            .collect()
    }

    pub(super) async fn close(&self, wait: Duration) -> u32 {
        let mut busy = 0;
        for m in &self.members {
            busy += Box::pin(m.db.close(wait)).await;
        }
        busy
    }

    /// Runs a read on a healthy replica (round-robin), one that has replayed up to `after` when
    /// it is not 0 (waiting up to `replica_wait` for one to get there). A replica that fails is
    /// marked down and the read goes on to the next; a statement error is the caller's. With
    /// `anywhere`, every replica is tried whatever its last check said: the last resort for a read
    /// the primary could not take.
    pub(super) async fn read<F: Fetch>(
        &self,
        q: &Compiled,
        limit: Option<Duration>,
        after: u64,
        anywhere: bool,
    ) -> std::result::Result<Result<F::Out>, ToPrimary> {
        let n = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + self.wait;
        loop {
            let mut behind = false;
            for i in 0..n {
                let m = &self.members[(start + i) % n];
                if m.health() != HEALTHY && !anywhere {
                    continue;
                }
                let conn = match m.db.get_once().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        m.set_health(DOWN, &e);
                        continue;
                    }
                };
                if after > 0 && m.replayed.load(Ordering::Relaxed) < after {
                    match lsn(&conn, REPLAYED_LSN).await {
                        Ok(at) => {
                            m.replayed.fetch_max(at, Ordering::Relaxed);
                            if at < after {
                                behind = true;
                                continue;
                            }
                        }
                        Err(e) => {
                            self.failed(m, &conn, &e);
                            continue;
                        }
                    }
                }
                let in_flight = InFlight::new(&conn, &m.db.0.url, true);
                let fetched = match limit {
                    None => F::fetch(&conn, q).await,
                    Some(limit) => match Box::pin(m.db.fetch_within::<F>(&conn, q, limit)).await {
                        Ok(fetched) => fetched,
                        Err(e) => {
                            in_flight.landed();
                            m.set_health(DOWN, &e);
                            continue;
                        }
                    },
                };
                in_flight.landed();
                let e = match fetched {
                    Ok(v) => return Ok(Ok(v)),
                    Err(e) => e,
                };
                match e.code() {
                    // A statement that writes after all (a function with side effects): the
                    // replica refused it, nothing happened; the primary runs it.
                    Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => return Err(ToPrimary),
                    // Canceled by a conflict with recovery (WAL replay needed what it read).
                    Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => continue,
                    _ => {}
                }
                if retry::classify_statement(&e, conn.link(), true) == Class::Retry {
                    self.failed(m, &conn, &e);
                    continue;
                }
                return Ok(Err(statement_error(e, limit.or(m.db.0.statement_timeout))));
            }
            if !behind || Instant::now() >= deadline {
                return Err(ToPrimary);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// A connection to a replica, for a stream: a healthy replica's, or `None` (then the primary).
    pub(super) async fn stream_conn(&self) -> Option<PooledConn<'_>> {
        let n = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let m = &self.members[(start + i) % n];
            if m.health() == HEALTHY {
                match m.db.get_once().await {
                    Ok(conn) => return Some(conn),
                    Err(e) => m.set_health(DOWN, &e),
                }
            }
        }
        None
    }

    fn failed(&self, m: &Replica, conn: &PooledConn<'_>, e: &tokio_postgres::Error) {
        if retry::is_connection_fault(e, conn.link()) {
            conn.mark_broken();
        }
        m.set_health(DOWN, &crate::error::describe_pg(e));
    }

    /// One check: the primary's position, then each replica's.
    async fn check(&self, primary: &Db) {
        let now = Instant::now();
        let sampled = match primary.get_once().await {
            Ok(conn) => lsn(&conn, PRIMARY_LSN).await.ok(),
            Err(_) => None,
        };
        let keep = self.max_lag * 2 + Duration::from_secs(1);
        let history: Vec<(Instant, u64)> = {
            let mut history = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(at) = sampled {
                history.push_back((now, at));
            }
            while history.front().is_some_and(|(t, _)| now.duration_since(*t) > keep) || history.len() > 1024 {
                history.pop_front();
            }
            history.iter().copied().collect()
        };
        for m in &self.members {
            let conn = match m.db.get_once().await {
                Ok(conn) => conn,
                Err(e) => {
                    m.set_health(DOWN, &e);
                    continue;
                }
            };
            let row = match crate::client::conn::PgConn::query_first(&conn, &statement(PROBE)).await {
                Ok(Some(row)) => row,
                Ok(None) => {
                    m.set_health(DOWN, &"the health check returned no row");
                    continue;
                }
                Err(e) => {
                    self.failed(m, &conn, &e);
                    continue;
                }
            };
            let (standby, replayed, own_lag_us): (bool, i64, f64) = (row.get(0), row.get(1), row.get(2));
            let replayed = replayed as u64;
            m.replayed.fetch_max(replayed, Ordering::Relaxed);
            if !standby {
                // Promoted (or a primary listed as a replica): reads for replicas go elsewhere.
                m.lag_us.store(0, Ordering::Relaxed);
                m.set_health(PRIMARY, &"");
                continue;
            }
            let lag = match sampled {
                Some(_) => history
                    .iter()
                    .find(|(_, at)| *at > replayed)
                    .map_or(Duration::ZERO, |(t, _)| now.duration_since(*t)),
                None => Duration::from_micros(own_lag_us.max(0.0) as u64),
            };
            m.lag_us.store(lag.as_micros().min(u64::MAX as u128 - 1) as u64, Ordering::Relaxed);
            if lag > self.max_lag {
                m.set_health(LAGGING, &format_args!("{} ms", lag.as_millis()));
            } else {
                m.set_health(HEALTHY, &"");
            }
        }
    }
}

/// Checks the replicas every `interval` until the `Db` is dropped or closed.
async fn monitor(primary: Db, replicas: Weak<Replicas>, interval: Duration) {
    loop {
        let Some(replicas) = replicas.upgrade() else { return };
        if primary.0.closing.load(Ordering::Relaxed) {
            return;
        }
        replicas.check(&primary).await;
        drop(replicas);
        tokio::time::sleep(interval).await;
    }
}

async fn lsn(conn: &PooledConn<'_>, sql: &str) -> std::result::Result<u64, tokio_postgres::Error> {
    let row = <FirstRow as Fetch>::fetch(conn, &statement(sql)).await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
}
