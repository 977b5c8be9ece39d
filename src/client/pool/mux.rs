//! Multiplexing: single statements share a few of the pool's connections, many in flight on each
//! (tokio-postgres pipelines concurrent requests on one connection), instead of each taking a
//! connection for itself. bb8 still opens, validates and discards the connections: a shared
//! connection is an ordinary checkout that is held and lent out, returned when it fails, gets
//! old, or the pool closes. Transactions, `get()`, streams and time-limited statements keep
//! exclusive checkouts.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Db, PooledConn};
use crate::{
    client::conn::{Manager, PgConn},
    retry::Link,
};

/// Statements in flight on one shared connection at most; past it, callers use the next
/// connection, or an exclusive checkout when every shared one is full.
pub(super) const DEPTH: usize = 32;

/// The shared connections of a [`Db`].
pub(super) struct Mux {
    slots: Box<[Mutex<Option<Arc<Shared>>>]>,
    /// Where the search for the least loaded connection starts (spreads ties).
    next: AtomicUsize,
    max_lifetime: Option<Duration>,
    /// Held while a slot is being filled: callers that find no room wait for the new connection
    /// instead of each opening one.
    filling: tokio::sync::Mutex<()>,
}

/// One shared connection and its gate (a permit per statement in flight).
pub(super) struct Shared {
    conn: bb8::PooledConnection<'static, Manager>,
    gate: Arc<Semaphore>,
    since: Instant,
}

impl Shared {
    fn usable(&self, max_lifetime: Option<Duration>) -> bool {
        self.conn.link() == Link::Open
            && !self.conn.client.is_closed()
            && !self.conn.broken.load(Ordering::Relaxed)
            && max_lifetime.is_none_or(|l| self.since.elapsed() < l)
    }
}

/// The connection a statement runs on: a checkout of its own, or a share of a multiplexed one
/// (with its permit).
pub(super) enum Lease<'a> {
    Own(PooledConn<'a>),
    Shared(Arc<Shared>, #[allow(dead_code)] OwnedSemaphorePermit),
}

impl Lease<'_> {
    /// Whether the statement has the connection to itself (then dropping it mid-flight may cancel
    /// on the server; a shared one's other statements must not be canceled).
    pub(super) fn exclusive(&self) -> bool {
        matches!(self, Lease::Own(_))
    }
}

impl std::ops::Deref for Lease<'_> {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        match self {
            Lease::Own(conn) => conn,
            Lease::Shared(shared, _) => &shared.conn,
        }
    }
}

impl Mux {
    pub(super) fn new(connections: usize, max_lifetime: Option<Duration>) -> Self {
        Mux {
            slots: (0..connections).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            max_lifetime,
            filling: tokio::sync::Mutex::new(()),
        }
    }

    /// A share of the least loaded shared connection with room for one more statement, opening
    /// one into an empty slot when none has room (never waiting for a server: that is the
    /// exclusive checkout's job). `None` when every slot is full and none can be opened now.
    pub(super) async fn lease(&self, db: &Db) -> Option<Lease<'static>> {
        let slot = match self.try_lease() {
            Ok(lease) => return Some(lease),
            Err(empty) => empty?,
        };
        let _filling = self.filling.lock().await;
        // Filled by the caller we waited for?
        let slot = match self.try_lease() {
            Ok(lease) => return Some(lease),
            Err(empty) => empty.unwrap_or(slot),
        };
        self.fill(db, slot).await
    }

    /// A share of the least loaded usable connection with room, or the first empty slot (no
    /// waiting, no allocation: the hot path).
    pub(super) fn try_lease(&self) -> Result<Lease<'static>, Option<usize>> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<Arc<Shared>> = None;
        let mut empty = None;
        for i in 0..n {
            let slot = &self.slots[(start + i) % n];
            let mut held = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*held {
                Some(shared) if shared.usable(self.max_lifetime) => {
                    let room = shared.gate.available_permits();
                    if room > 0 && best.as_ref().is_none_or(|b| b.gate.available_permits() < room) {
                        best = Some(shared.clone());
                    }
                }
                Some(_) => {
                    // Failed or old: back to bb8 once its last statement is done.
                    *held = None;
                    empty.get_or_insert((start + i) % n);
                }
                None => {
                    empty.get_or_insert((start + i) % n);
                }
            }
        }
        if let Some(shared) = best
            && let Ok(permit) = shared.gate.clone().try_acquire_owned()
        {
            return Ok(Lease::Shared(shared, permit));
        }
        Err(empty)
    }

    /// Opens a shared connection into `slot` (an empty one, under `filling`).
    async fn fill(&self, db: &Db, slot: usize) -> Option<Lease<'static>> {
        // An idle connection, or a new one within the connect timeout; a failure sends the
        // statement down the exclusive path, which waits out and classifies it.
        let conn = match tokio::time::timeout(db.connect_timeout, db.pool.get_owned()).await {
            Ok(Ok(conn)) if conn.link() == Link::Open && !conn.client.is_closed() => conn,
            Ok(Ok(conn)) => {
                conn.mark_broken();
                return None;
            }
            _ => return None,
        };
        let shared = Arc::new(Shared { conn, gate: Arc::new(Semaphore::new(DEPTH)), since: Instant::now() });
        let permit = shared.gate.clone().try_acquire_owned().ok()?;
        *self.slots[slot].lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(shared.clone());
        Some(Lease::Shared(shared, permit))
    }

    /// Gives every shared connection back (each returns to bb8 when its last statement is done).
    pub(super) fn release_all(&self) {
        for slot in self.slots.iter() {
            *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        }
    }
}
