//! [`Db::status`]: what the pool holds and how long callers wait, as a snapshot a service logs,
//! serves or hands to the `metrics` facade ([`PoolStatus::record`], cargo feature `metrics`).

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

use super::Db;

/// A snapshot of a [`Db`]'s connections and of the waits its callers had, from
/// [`Db::status`]. Counters (`checkouts`, `waits`, `wait_time`, `timeouts`, `connections_*`) run
/// from the pool's creation; the rest is the moment of the call.
///
/// ```
/// # async fn f(db: &taulu::Db) {
/// let s = db.status();
/// assert!(s.in_use <= s.open && s.open <= s.max_size);
/// tracing::info!(open = s.open, in_use = s.in_use, waiting = s.waiting, waits = s.waits, "pool");
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PoolStatus {
    /// The most connections the pool opens ([`DbConfig::max_size`](crate::DbConfig::max_size)).
    pub max_size: u32,
    /// Connections open now.
    pub open: u32,
    /// Open and idle.
    pub idle: u32,
    /// Open and in use: checked out, or shared by multiplexed statements.
    pub in_use: u32,
    /// Of those in use, the connections shared by multiplexed statements
    /// ([`DbConfig::multiplex`](crate::DbConfig::multiplex)).
    pub shared: u32,
    /// Statements in flight on the shared connections.
    pub shared_in_flight: u32,
    /// Callers waiting for a connection (or, multiplexed, for room on one) now.
    pub waiting: u32,
    /// Connections checked out for a caller's exclusive use ([`Db::get`], transactions, statements
    /// that are not multiplexed).
    pub checkouts: u64,
    /// Times a caller had to wait: for a connection, or for its turn behind earlier callers.
    pub waits: u64,
    /// How long those waits took, in all.
    #[cfg_attr(feature = "serde", serde(serialize_with = "micros"))]
    pub wait_time: Duration,
    /// Callers that got no connection within the connect timeout
    /// ([`Error::PoolExhausted`](crate::Error::PoolExhausted) or
    /// [`Error::Unavailable`](crate::Error::Unavailable)).
    pub timeouts: u64,
    /// Connections opened.
    pub connections_opened: u64,
    /// Connections closed: broken, past their lifetime or idle timeout.
    pub connections_closed: u64,
}

/// `wait_time` as whole microseconds (`wait_time_us` would be the clearer name in JSON, but the
/// field keeps one name everywhere).
#[cfg(feature = "serde")]
fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

/// The pool's own counters (bb8 counts its connections; the waits happen at taulu's gates).
#[derive(Debug, Default)]
pub(super) struct Counters {
    checkouts: AtomicU64,
    waits: AtomicU64,
    wait_ns: AtomicU64,
    timeouts: AtomicU64,
}

impl Counters {
    /// A connection handed out for exclusive use.
    pub(super) fn checkout(&self) {
        self.checkouts.fetch_add(1, Relaxed);
    }

    /// A caller that waited since `started` and was served.
    pub(super) fn waited(&self, started: Instant) {
        self.waits.fetch_add(1, Relaxed);
        self.wait_ns.fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
    }

    /// A caller that waited since `started` and gave up.
    pub(super) fn timed_out(&self, started: Instant) {
        self.timeouts.fetch_add(1, Relaxed);
        self.waited(started);
    }
}

impl Db {
    /// The pool's connections and its callers' waits now: for a dashboard, a log line, a
    /// readiness probe, or the `metrics` facade (`PoolStatus::record`, feature `metrics`). Costs a few atomic
    /// reads and, when multiplexing, a look at each shared connection.
    pub fn status(&self) -> PoolStatus {
        let state = self.0.pool.state();
        let (shared, shared_in_flight, mux_waiting) = self.0.mux.as_ref().map_or((0, 0, 0), |m| m.load());
        let stats = &state.statistics;
        let c = &self.0.counters;
        PoolStatus {
            max_size: self.0.max_size,
            open: state.connections,
            idle: state.idle_connections,
            in_use: state.connections - state.idle_connections,
            shared: shared as u32,
            shared_in_flight: shared_in_flight as u32,
            waiting: (self.0.turn.waiting() + mux_waiting) as u32,
            checkouts: c.checkouts.load(Relaxed),
            waits: c.waits.load(Relaxed),
            wait_time: Duration::from_nanos(c.wait_ns.load(Relaxed)),
            timeouts: c.timeouts.load(Relaxed),
            connections_opened: stats.connections_created,
            connections_closed: stats.connections_closed_broken
                + stats.connections_closed_invalid
                + stats.connections_closed_max_lifetime
                + stats.connections_closed_idle_timeout,
        }
    }
}

#[cfg(feature = "metrics")]
impl PoolStatus {
    /// Hands the snapshot to the [`metrics`](https://docs.rs/metrics) facade, labelled
    /// `pool = name`, under OpenTelemetry's database client names where there is one: gauges
    /// `db.client.connection.count` (label `state` = `idle` | `used`), `db.client.connection.max`,
    /// `db.client.connection.pending_requests`, `taulu.pool.shared` and
    /// `taulu.pool.shared_in_flight`; counters `db.client.connection.timeouts`,
    /// `taulu.pool.checkouts`, `taulu.pool.waits`, `taulu.pool.wait_time_us`,
    /// `taulu.pool.connections_opened` and `taulu.pool.connections_closed`. Whatever recorder the
    /// service installs (Prometheus, OpenTelemetry, StatsD exporters) exports them; call it where
    /// the exporter reads (a scrape handler) or on an interval.
    ///
    /// ```no_run
    /// # async fn f(db: taulu::Db) {
    /// let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    /// loop {
    ///     every.tick().await;
    ///     db.status().record("main");
    /// }
    /// # }
    /// ```
    pub fn record(&self, name: &str) {
        let pool = [("pool", name.to_owned())];
        let state = |s: &str| [pool[0].clone(), ("state", s.to_owned())];
        metrics::gauge!("db.client.connection.count", &state("idle")).set(self.idle as f64);
        metrics::gauge!("db.client.connection.count", &state("used")).set(self.in_use as f64);
        let gauges = [
            ("db.client.connection.max", self.max_size),
            ("db.client.connection.pending_requests", self.waiting),
            ("taulu.pool.shared", self.shared),
            ("taulu.pool.shared_in_flight", self.shared_in_flight),
        ];
        for (key, value) in gauges {
            metrics::gauge!(key, &pool).set(value as f64);
        }
        let counters = [
            ("db.client.connection.timeouts", self.timeouts),
            ("taulu.pool.checkouts", self.checkouts),
            ("taulu.pool.waits", self.waits),
            ("taulu.pool.wait_time_us", self.wait_time.as_micros() as u64),
            ("taulu.pool.connections_opened", self.connections_opened),
            ("taulu.pool.connections_closed", self.connections_closed),
        ];
        for (key, value) in counters {
            metrics::counter!(key, &pool).absolute(value);
        }
    }
}
