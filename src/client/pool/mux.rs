//! Multiplexing: single statements share a few of the pool's connections, many in flight on each
//! (tokio-postgres pipelines concurrent requests on one connection), instead of each taking a
//! connection for itself. bb8 still opens, validates and discards the connections: a shared
//! connection is an ordinary checkout that is held and lent out, returned when it fails, gets
//! old, or the pool closes. Transactions, `get()`, streams and time-limited statements keep
//! exclusive checkouts.
//!
//! Each shared connection is one server process: a few statements pipelined on one cost less
//! than spreading them over several, many run faster spread. So a statement goes to the first
//! shared connection (in slot order) with fewer than [`GROW_AT`] in flight; when every open one
//! has that many, to the next one with room in turn (round robin), and one more connection opens
//! in the background (one at a time; no statement waits for it) while a slot is empty. Opened
//! only when all were full (32 each), 50 callers ran on 2 connections of 4 and the pool served a
//! third less than raw tokio-postgres sharing its 5 clients. In turn, not to the least loaded: by
//! its count of statements in flight, the least loaded left one statement in 200 waiting 16-127
//! ms on a connection while others flowed (p99 3-5x raw tokio-postgres's round robin on the
//! 20-row web tests); in turn, none waited past 31 ms.
//!
//! A statement pipelined behind others waits for them all: behind 31 statements of 1.2 s, 37 s.
//! So each shared connection measures how long it takes to serve a statement (from its sending,
//! or from the previous answer if it was queued, to its answer; averaged over the last few), and
//! a statement joins it only while the ones already in flight there, and this one, are expected
//! to be served within the connect timeout. Short statements pipeline [`DEPTH`] deep; slow ones
//! a few deep; the callers beyond wait for their turn at admission or for an exclusive
//! checkout, both bounded by the connect timeout (`PoolExhausted` after it). A connection not yet
//! measured takes [`GROW_AT`].

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use super::{Db, PooledConn, gate};
use crate::{
    client::conn::{Manager, PgConn},
    retry::Link,
};

/// Statements in flight on one shared connection at most; past it, callers use the next
/// connection, or an exclusive checkout when every shared one is full. Measured end to end
/// (`cargo bench -p taulu-web-bench`, 32 HTTP connections each asking for 20 rows at once, 7
/// shared connections): 32 deep served 0.65-0.79x raw tokio-postgres pipelining on 8 clients
/// without a limit, 128 deep 0.95x (the callers beyond waited at admission); a fast
/// statement's wait behind 127 others is about 13 ms.
pub(super) const DEPTH: usize = 128;

/// Statements in flight on a shared connection before the next one is used (and, when every open
/// one has this many, opened). Measured with `BENCH_PROFILE=mux5` (5 callers, 4 shared
/// connections) against raw tokio-postgres with a client each: all 5 pipelined on one connection
/// 1.2x, spread over four 0.95x; with 50 callers the spread is what counts (on 2 connections
/// instead of 4: a third less throughput), and 1, 4, 8 or 16 here made no difference to it.
pub(super) const GROW_AT: usize = 8;

/// The shared connections of a [`Db`].
pub(super) struct Mux {
    slots: Box<[Mutex<Option<Arc<Shared>>>]>,
    /// The connect timeout (see [`Shared::depth`]).
    bound: Duration,
    /// Where the next search for a connection past [`GROW_AT`] starts (round robin).
    turn: AtomicUsize,
    max_lifetime: Option<Duration>,
    /// Held while a slot is being filled: callers that find no room wait for the new connection
    /// instead of each opening one.
    filling: tokio::sync::Mutex<()>,
    /// A connection is being opened in the background (at most one at a time).
    growing: AtomicBool,
    /// The pool closed: nothing goes into a slot any more.
    closed: AtomicBool,
    /// One permit per statement the multiplexed path can run at once (room on every shared
    /// connection, plus the connections left for exclusive use), handed out first come, first
    /// served: a caller that finds everything full waits its turn instead of racing the callers
    /// whose statements just finished (who would otherwise take the freed room every time).
    admission: gate::Gate,
}

/// One shared connection and how many statements are in flight on it.
pub(super) struct Shared {
    conn: bb8::PooledConnection<'static, Manager>,
    /// At most `depth`; a plain counter, not a semaphore: nobody waits for room here (a full
    /// connection sends the caller to the next one, or to an exclusive checkout).
    in_flight: AtomicUsize,
    /// How long it takes to serve a statement, in nanoseconds (0: not measured yet), averaged.
    service: AtomicU64,
    /// When it last answered, in nanoseconds since `epoch`.
    answered: AtomicU64,
    epoch: Instant,
    /// The connect timeout: how long the statements in flight may be expected to take.
    bound: Duration,
    /// When it has passed `max_lifetime` (`None`: never).
    expires: Option<Instant>,
}

impl Shared {
    /// Open, not marked broken, not past its lifetime at `now` (read once per lease, not per
    /// connection: the clock is the dearest of these checks).
    fn usable(&self, now: &mut Option<Instant>) -> bool {
        self.conn.link() == Link::Open
            && !self.conn.broken.load(Ordering::Relaxed)
            && !self.conn.client.is_closed()
            && self.expires.is_none_or(|at| *now.get_or_insert_with(Instant::now) < at)
    }

    /// How many statements it takes at once: as many as it is expected to serve within the connect
    /// timeout (1 to [`DEPTH`]), [`GROW_AT`] until measured.
    fn depth(&self) -> usize {
        match self.service.load(Ordering::Relaxed) {
            0 => GROW_AT,
            ns => (self.bound.as_nanos() as u64 / ns).clamp(1, DEPTH as u64) as usize,
        }
    }

    /// Statements in flight, and room for how many more.
    fn load(&self) -> (usize, usize) {
        let busy = self.in_flight.load(Ordering::Relaxed);
        (busy, self.depth().saturating_sub(busy))
    }

    /// A share of `this` for one statement, if it has room.
    fn enter(this: Arc<Shared>) -> Option<Share> {
        let depth = this.depth();
        this.in_flight.fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| (n < depth).then_some(n + 1)).ok()?;
        Some(Share { shared: this, since: Instant::now() })
    }
}

/// One statement's share of a shared connection; gives its room back when dropped, and tells the
/// connection how long serving it took.
pub(super) struct Share {
    shared: Arc<Shared>,
    since: Instant,
}

impl Drop for Share {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.in_flight.fetch_sub(1, Ordering::Release);
        let now = shared.epoch.elapsed().as_nanos() as u64;
        let sent = self.since.saturating_duration_since(shared.epoch).as_nanos() as u64;
        // Served from its sending, or from the answer before it if it was queued behind that one.
        let started = sent.max(shared.answered.fetch_max(now, Ordering::Relaxed));
        let took = now.saturating_sub(started).max(1);
        let average = match shared.service.load(Ordering::Relaxed) {
            0 => took,
            before => (before * 3 + took) / 4,
        };
        shared.service.store(average.max(1), Ordering::Relaxed);
    }
}

/// The connection a statement runs on: a checkout of its own, or a share of a multiplexed one.
pub(super) enum Lease<'a> {
    Own(PooledConn<'a>),
    Shared(Share),
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
            Lease::Shared(share) => &share.shared.conn,
        }
    }
}

impl Mux {
    pub(super) fn new(
        connections: usize,
        spare: usize,
        max_lifetime: Option<Duration>,
        connect_timeout: Duration,
    ) -> Self {
        Mux {
            bound: connect_timeout,
            turn: AtomicUsize::new(0),
            admission: gate::Gate::new(connections * DEPTH + spare),
            slots: (0..connections).map(|_| Mutex::new(None)).collect(),
            max_lifetime,
            filling: tokio::sync::Mutex::new(()),
            growing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// Shared connections open, statements in flight on them, and callers waiting for their turn.
    pub(super) fn load(&self) -> (usize, usize, usize) {
        let (mut open, mut in_flight) = (0, 0);
        for slot in self.slots.iter() {
            if let Some(shared) = &*slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
                open += 1;
                in_flight += shared.in_flight.load(Ordering::Relaxed);
            }
        }
        (open, in_flight, self.admission.waiting())
    }

    /// The caller's turn now, if nobody waits and there is room.
    pub(super) fn admit_now(&self) -> Option<gate::Permit<'_>> {
        self.admission.try_acquire()
    }

    /// The caller's turn, in arrival order, by `deadline` (`None` after it).
    pub(super) async fn admit_by(&self, deadline: Instant) -> Option<gate::Permit<'_>> {
        tokio::time::timeout_at(deadline.into(), self.admission.acquire()).await.ok()
    }

    /// A share of a shared connection with room for one more statement, opening one into an
    /// empty slot when none has room (by `deadline`; never waiting out a server that is down:
    /// that is the exclusive checkout's job). `None` when every slot is full and none can be opened
    /// now.
    pub(super) async fn lease(&self, db: &Db, deadline: Instant) -> Option<Lease<'static>> {
        let _filling = tokio::time::timeout_at(deadline.into(), self.filling.lock()).await.ok()?;
        // Filled by the caller we waited for?
        let (best, ..) = self.scan();
        if let Some(share) = best.and_then(Shared::enter) {
            return Some(Lease::Shared(share));
        }
        self.open(&db.0.pool, deadline).await.and_then(Shared::enter).map(Lease::Shared)
    }

    /// A share of the first usable connection below [`GROW_AT`], else of the next one with room in
    /// turn, and then one more opening in the background if a slot is empty (no waiting, no
    /// allocation: the hot path). `None` when no open connection has room: [`Mux::lease`] opens
    /// one.
    pub(super) fn try_lease(self: &Arc<Self>, db: &Db) -> Option<Lease<'static>> {
        let (best, busy, empty) = self.scan();
        if empty && best.is_some() && busy >= GROW_AT {
            self.grow(db);
        }
        best.and_then(Shared::enter).map(Lease::Shared)
    }

    /// The first usable connection below [`GROW_AT`] with room, else the next one with room in
    /// turn (round robin from a rotating start); how many statements it has in flight; and
    /// whether a slot is empty (known for sure when none is below [`GROW_AT`]: then every slot was
    /// seen). Failed or old connections are dropped from their slots on the way.
    fn scan(&self) -> (Option<Arc<Shared>>, usize, bool) {
        let n = self.slots.len();
        let start = self.turn.fetch_add(1, Ordering::Relaxed) % n;
        // The connection with room nearest after `start` (its distance from it, the connection,
        // its load).
        let mut next: Option<(usize, Arc<Shared>, usize)> = None;
        let (mut empty, mut now) = (false, None);
        for (i, slot) in self.slots.iter().enumerate() {
            let mut held = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*held {
                Some(shared) if shared.usable(&mut now) => {
                    let (busy, room) = shared.load();
                    if room == 0 {
                        continue;
                    }
                    if busy < GROW_AT {
                        return (Some(shared.clone()), busy, empty); // the first below GROW_AT takes it
                    }
                    let distance = (i + n - start) % n;
                    if next.as_ref().is_none_or(|(d, ..)| distance < *d) {
                        next = Some((distance, shared.clone(), busy));
                    }
                }
                Some(_) => {
                    // Failed or old: back to bb8 once its last statement is done.
                    *held = None;
                    empty = true;
                }
                None => empty = true,
            }
        }
        match next {
            Some((_, shared, busy)) => (Some(shared), busy, empty),
            None => (None, usize::MAX, empty),
        }
    }

    /// Opens one more shared connection on a task of its own, unless one is already opening. One
    /// that could not be opened is not tried again within the connect timeout: a server that
    /// refuses connections at once (at `max_connections`) would otherwise get an attempt after
    /// every statement.
    fn grow(self: &Arc<Self>, db: &Db) {
        if self.growing.swap(true, Ordering::Acquire) {
            return;
        }
        let (mux, pool, wait) = (self.clone(), db.0.pool.clone(), db.0.connect_timeout);
        tokio::spawn(async move {
            let opened = {
                let _filling = mux.filling.lock().await;
                let empty = mux
                    .slots
                    .iter()
                    .any(|slot| slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_none());
                !empty || mux.open(&pool, Instant::now() + wait).await.is_some()
            };
            if !opened {
                tokio::time::sleep(wait).await;
            }
            mux.growing.store(false, Ordering::Release);
        });
    }

    /// Opens a shared connection into the first empty slot (under `filling`, so the slot stays
    /// empty meanwhile): an idle connection of the pool, or a new one, by `deadline` (bb8 has one
    /// for each slot: exclusive checkouts take turns for the pool's other connections only).
    /// `None` when none comes (a statement then takes the exclusive path, which waits out and
    /// classifies the failure), no slot is empty, or the pool closed.
    async fn open(&self, pool: &bb8::Pool<Manager>, deadline: Instant) -> Option<Arc<Shared>> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        let conn = match tokio::time::timeout_at(deadline.into(), pool.get_owned()).await {
            Ok(Ok(conn)) if conn.link() == Link::Open && !conn.client.is_closed() => conn,
            Ok(Ok(conn)) => {
                conn.mark_broken();
                return None;
            }
            _ => return None,
        };
        let expires = self.max_lifetime.and_then(|l| Instant::now().checked_add(l));
        let shared = Arc::new(Shared {
            conn,
            in_flight: AtomicUsize::new(0),
            service: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            epoch: Instant::now(),
            bound: self.bound,
            expires,
        });
        for slot in self.slots.iter() {
            let mut held = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if held.is_none() && !self.closed.load(Ordering::Acquire) {
                *held = Some(shared.clone());
                return Some(shared);
            }
        }
        None
    }

    /// Gives every shared connection back (each returns to bb8 when its last statement is done).
    pub(super) fn release_all(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in self.slots.iter() {
            *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        }
    }
}
