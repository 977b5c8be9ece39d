//! Checkouts: a connection of the pool for one caller, callers served in arrival order, a
//! restarting server waited out within the connect timeout, and the error that says why a caller
//! got none. Decides when to wait, retry or give up; never runs SQL.
//!
//! bb8 alone is not fair: a connection given back goes to whichever task asks next, and a task
//! that just returned one asks again before the waiter bb8 woke has run. With 25 callers on 5
//! connections a waiter was overtaken for seconds and failed with `PoolExhausted` on a healthy
//! server. So every checkout first takes its turn at a first-come, first-served gate with one
//! permit per connection for exclusive use (all of the pool's, or those its shared connections
//! leave): a caller that holds a turn always finds a connection in bb8 (idle, or opened for it),
//! and the turn passes to the oldest waiter only once the connection is back.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use tokio::sync::{broadcast, watch};

use super::{Db, gate::Permit};
use crate::{
    client::conn::{Manager, PgConn},
    error::{Error, Result},
    retry::{self, Backoff, Class, Link},
};

/// A connection checked out of a [`Db`]; back to the pool when dropped, and then the caller that
/// has waited longest gets a connection.
pub struct PooledConn<'a> {
    // Declared (so dropped) first: the connection is back in bb8 before the turn passes on.
    conn: bb8::PooledConnection<'a, Manager>,
    _turn: Permit<'a>,
}

impl std::ops::Deref for PooledConn<'_> {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        &self.conn
    }
}

impl std::fmt::Debug for PooledConn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PooledConn")
    }
}

/// What the pool's connect attempts met lately, shared by the pool and its connection manager.
/// Failures go to the callers waiting for a connection (bb8 never hands a connect error to a
/// waiting `get`, which would otherwise sit out its whole timeout); a connection opened wakes the
/// callers pausing between attempts (the server is back); the latest outcome says what a caller
/// that ran out of time was waiting for.
pub(crate) struct ConnectOutcomes {
    failed: broadcast::Sender<Arc<Error>>,
    opened: watch::Sender<u64>,
    /// When the latest attempt ended, and its failure (`None`: it opened a connection).
    latest: Mutex<Option<(Instant, Option<Arc<Error>>)>>,
}

impl ConnectOutcomes {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ConnectOutcomes {
            failed: broadcast::channel(16).0,
            opened: watch::channel(0).0,
            latest: Mutex::new(None),
        })
    }

    /// A connection was opened.
    pub(crate) fn opened(&self) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), None));
        self.opened.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn failed(&self, e: Error) {
        tracing::debug!(target: "taulu::pool", error = %e, "connect failed");
        let e = Arc::new(e);
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), Some(e.clone())));
        let _ = self.failed.send(e);
    }

    /// The latest outcome if it came after `since`: `Some(None)` a connection opened, `Some(Some(e))`
    /// a failure.
    fn latest_since(&self, since: Instant) -> Option<Option<Arc<Error>>> {
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.as_ref().filter(|(at, _)| *at >= since).map(|(_, failure)| failure.clone())
    }
}

/// Receives the connect errors bb8 meets.
#[derive(Clone)]
pub(super) struct ErrorSink(pub(super) Arc<ConnectOutcomes>);

impl std::fmt::Debug for ErrorSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorSink")
    }
}

impl bb8::ErrorSink<Error> for ErrorSink {
    fn sink(&self, e: Error) {
        self.0.failed(e);
    }
    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<Error>> {
        Box::new(self.clone())
    }
}

/// A checkout attempt that failed: worth another try, final, or out of time.
pub(super) enum Failed {
    Retry(Error),
    Final(Error),
    TimedOut,
}

impl Db {
    /// A connection from the pool, callers served in the order they asked.
    ///
    /// Waits at most the connect timeout: for a busy pool to free a connection
    /// ([`Error::PoolExhausted`] after that), or for a server that refuses connections, is
    /// starting up or shutting down to come back (retrying with the policy's backoff, and at once
    /// when another caller's connection opens; [`Error::Unavailable`] with the latest failure after
    /// that). A wrong password or a missing database fails at once.
    pub async fn get(&self) -> Result<PooledConn<'_>> {
        if self.0.closing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        let Some(turn) = self.0.turn.try_acquire() else {
            return Box::pin(self.get_waiting(None, Instant::now())).await;
        };
        // Fast path: nobody waits, and an idle, open connection is there at once (no channel
        // subscription, no clock).
        if let Some(conn) = self.idle_now().await {
            tracing::trace!(target: "taulu::pool", "checkout");
            self.0.counters.checkout();
            return Ok(PooledConn { conn, _turn: turn });
        }
        Box::pin(self.get_waiting(Some(turn), Instant::now())).await
    }

    /// An idle, open connection if bb8 has one at once (one poll of its checkout), else `None`.
    async fn idle_now(&self) -> Option<bb8::PooledConnection<'_, Manager>> {
        let mut get = std::pin::pin!(self.0.pool.get());
        let std::task::Poll::Ready(Ok(conn)) =
            std::future::poll_fn(|cx| std::task::Poll::Ready(get.as_mut().poll(cx))).await
        else {
            // The checkout is dropped here, before the caller waits with its own: a waiter left
            // registered would take the wake-up meant for the one being polled.
            return None;
        };
        if usable(&conn) {
            return Some(conn);
        }
        conn.mark_broken();
        None
    }

    /// [`get`](Self::get) for a caller that has waited since `started` already (for its turn on
    /// the multiplexed path): the connect timeout runs from then.
    pub(super) async fn get_since(&self, started: Instant) -> Result<PooledConn<'_>> {
        if self.0.closing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        self.get_waiting(self.0.turn.try_acquire(), started).await
    }

    /// The slow path of [`get`](Self::get): a turn (unless the caller has one), then a connection,
    /// reconnecting and classifying failures, within the connect timeout from `started`.
    async fn get_waiting<'a>(&'a self, turn: Option<Permit<'a>>, started: Instant) -> Result<PooledConn<'a>> {
        let deadline = started + self.0.connect_timeout;
        let (turn, handed) = match turn {
            Some(turn) => (turn, false),
            None => match tokio::time::timeout_at(deadline.into(), self.0.turn.acquire()).await {
                Ok(turn) => (turn, true),
                Err(_) => return Err(self.gave_up(started, 1)),
            },
        };
        // A turn waited for comes with a connection given back (idle in bb8 by now) or with room
        // to open one: the first needs no second timer, no subscription.
        let given_back = if handed { self.idle_now().await } else { None };
        let conn = match given_back {
            Some(conn) => Ok(conn),
            None => self.checkout_retrying(started, deadline).await,
        };
        tracing::debug!(target: "taulu::pool", waited_us = started.elapsed().as_micros() as u64, ok = conn.is_ok(), "checkout waited");
        if conn.is_ok() {
            self.0.counters.checkout();
            self.0.counters.waited(started);
        }
        conn.map(|conn| PooledConn { conn, _turn: turn })
    }

    /// Checkout attempts within the caller's turn until `deadline`, reconnecting and classifying
    /// failures, paced by the retry policy.
    async fn checkout_retrying(
        &self,
        started: Instant,
        deadline: Instant,
    ) -> Result<bb8::PooledConnection<'_, Manager>> {
        let mut opened = self.0.outcomes.opened.subscribe();
        let mut backoff = Backoff::until(self.0.retry, deadline);
        loop {
            let e = match self.checkout_until(deadline).await {
                Ok(conn) => return Ok(conn),
                Err(Failed::Retry(e)) => e,
                Err(Failed::Final(e)) => return Err(e),
                Err(Failed::TimedOut) => return Err(self.gave_up(started, backoff.attempt())),
            };
            // Until the next attempt, or until a connection opens anywhere in the pool: then the
            // server is back, and waiting out the rest of the delay would only keep callers queued.
            let server_back = async {
                if opened.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            if !backoff.pause_or("connect", &e, server_back).await {
                self.0.counters.timed_out(started);
                return Err(Error::Unavailable { attempts: backoff.attempt(), last: Arc::new(e) });
            }
        }
    }

    /// One checkout attempt within the caller's turn: a connection, a connect failure to
    /// classify, or the deadline.
    pub(super) async fn checkout_until(
        &self,
        deadline: Instant,
    ) -> std::result::Result<bb8::PooledConnection<'_, Manager>, Failed> {
        let mut failures = self.0.outcomes.failed.subscribe();
        loop {
            let outcome = tokio::select! {
                got = tokio::time::timeout_at(deadline.into(), self.0.pool.get()) => match got {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(bb8::RunError::User(e))) => Err(e),
                    Ok(Err(bb8::RunError::TimedOut)) | Err(_) => return Err(Failed::TimedOut),
                },
                // A connect attempt made for us (or for anyone) failed: the server is not
                // reachable right now; do not wait out the whole timeout.
                Ok(e) = failures.recv() => Err(owned(e)),
            };
            match outcome {
                Ok(conn) if !usable(&conn) => {
                    // A connection that died while idle: nothing was sent; discard it, take another.
                    conn.mark_broken();
                }
                Ok(conn) => return Ok(conn),
                Err(e) if retry::classify_connect(&e) == Class::Retry => return Err(Failed::Retry(e)),
                // Not transient (a wrong password, a missing database): report it as it is.
                Err(e) => return Err(Failed::Final(e)),
            }
        }
    }

    /// One checkout attempt after the caller's turn: an idle or new connection, or the first
    /// failure (no waiting out a server that is down: the caller has somewhere else to go).
    pub(super) async fn get_once(&self) -> Result<PooledConn<'_>> {
        if self.0.closing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        let started = Instant::now();
        let deadline = started + self.0.connect_timeout;
        let turn = match self.0.turn.try_acquire() {
            Some(turn) => turn,
            None => tokio::time::timeout_at(deadline.into(), self.0.turn.acquire())
                .await
                .map_err(|_| self.gave_up(started, 1))?,
        };
        match self.checkout_until(deadline).await {
            Ok(conn) => {
                self.0.counters.checkout();
                Ok(PooledConn { conn, _turn: turn })
            }
            Err(Failed::Retry(e) | Failed::Final(e)) => Err(e),
            Err(Failed::TimedOut) => Err(self.gave_up(started, 1)),
        }
    }

    /// What running out of the connect timeout means, from the pool's latest connect attempt:
    /// one that failed since the caller started makes the database unavailable (the error is that
    /// failure, not an older one); one that opened a connection, or none at all while connections
    /// are open, means every connection stayed busy: the pool is exhausted. No connection open and
    /// no attempt ended: the server does not answer.
    pub(super) fn gave_up(&self, started: Instant, attempts: u32) -> Error {
        self.0.counters.timed_out(started);
        let e = match self.0.outcomes.latest_since(started) {
            Some(Some(failure)) => Error::Unavailable { attempts, last: failure },
            None if self.0.pool.state().connections == 0 => Error::Unavailable {
                attempts,
                last: Arc::new(Error::ConnectTimeout { target: self.0.url.to_string(), after: self.0.connect_timeout }),
            },
            Some(None) | None => Error::PoolExhausted { max: self.0.max_size, waited: started.elapsed() },
        };
        tracing::warn!(target: "taulu::retry", attempt = attempts, error = %e, class = "connect", "giving up");
        e
    }
}

/// Open and not marked broken (a connection that died while idle in the pool is not).
fn usable(conn: &PgConn) -> bool {
    conn.link() == Link::Open && !conn.client.is_closed()
}

/// Turns a shared connect error back into an owned one (the pool broadcasts one failure to every
/// waiter).
fn owned(e: Arc<Error>) -> Error {
    match Arc::try_unwrap(e) {
        Ok(e) => e,
        Err(shared) => match &*shared {
            Error::Connect { target, source } => Error::Connect { target: target.clone(), source: source.clone() },
            Error::ConnectTimeout { target, after } => Error::ConnectTimeout { target: target.clone(), after: *after },
            _ => Error::Unavailable { attempts: 1, last: shared },
        },
    }
}
