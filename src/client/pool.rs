//! [`Db`]: the bb8 pool of [`PgConn`]s, checkouts that wait out a restarting server within the
//! connect timeout, and statements and transactions retried through the one retry step of
//! `retry.rs`. Decides when to retry with `retry.rs`'s classification; never builds SQL.

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use tokio_postgres::Row;

use super::{
    config::DbConfig,
    conn::{Manager, PgConn, PgResult},
    url::DatabaseUrl,
};
use crate::{
    error::{Error, Result},
    query::{Compiled, Executor, Query, RowStream},
    retry::{self, Backoff, Class, RetryPolicy},
};

pub use tokio_postgres::IsolationLevel;

mod checkout;
mod gate;
mod mux;
mod replicas;
mod status;

pub(crate) use checkout::ConnectOutcomes;
use checkout::ErrorSink;
pub use checkout::PooledConn;
use mux::Lease;

pub use replicas::{ReplicaHealth, ReplicaStatus};
pub use status::PoolStatus;

/// A pool of connections with retries: the executor applications use. A handle: cloning it is
/// one reference count (axum's `State<Db>` clones it for every request), and every clone is the
/// same pool.
///
/// ```no_run
/// # async fn f() -> taulu::Result<()> {
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let db = taulu::db()?;                      // from DATABASE_URL (and .env), built once
/// let emails = select_from::<Users>().columns((users::email,)).fetch_all(db).await?;
/// # Ok(()) }
/// ```
///
/// # Read replicas
///
/// With [`DbConfig::replicas`] (`DATABASE_REPLICA_URLS`), single read-only statements (a SELECT
/// without row locks, streams included) go to a healthy replica, round-robin; writes,
/// transactions, [`get`](Db::get), [`listen`](Db::listen) and everything on
/// [`on_primary`](Db::on_primary) go to the primary. A replica that fails a read, is down or lags
/// past [`DbConfig::replica_max_lag`] is skipped (the read runs on the next one, or on the
/// primary), so a replica outage reaches no caller. [`read_your_writes`](Db::read_your_writes)
/// gives a handle whose reads see its own writes; [`replica_status`](Db::replica_status) reports
/// each replica's health and lag.
#[derive(Clone)]
pub struct Db(Arc<DbInner>);

/// What a [`Db`] shares between its clones.
#[derive(Clone)]
struct DbInner {
    pool: bb8::Pool<Manager>,
    retry: RetryPolicy,
    url: DatabaseUrl,
    connect_timeout: Duration,
    statement_timeout: Option<Duration>,
    max_size: u32,
    /// One turn per connection for exclusive use (all of them, or those the shared connections
    /// leave), taken before every exclusive checkout: callers get connections in the order they
    /// asked.
    turn: Arc<gate::Gate>,
    counters: Arc<status::Counters>,
    outcomes: Arc<ConnectOutcomes>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    replicas: Option<Arc<replicas::Replicas>>,
    mux: Option<Arc<mux::Mux>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.0.pool.state();
        write!(f, "Db({}, {} connections, {} idle", self.0.url, state.connections, state.idle_connections)?;
        match &self.0.replicas {
            Some(r) => write!(f, ", {} replicas)", r.status().len()),
            None => f.write_str(")"),
        }
    }
}

static GLOBAL: OnceLock<Db> = OnceLock::new();

/// The process-wide [`Db`], built on first use from [`DbConfig::from_env`]. Must be first called
/// inside a tokio runtime (the pool keeps its minimum of idle connections in the background).
pub fn db() -> Result<&'static Db> {
    if let Some(db) = GLOBAL.get() {
        return Ok(db);
    }
    let built = Db::new(DbConfig::from_env()?);
    Ok(GLOBAL.get_or_init(|| built))
}

impl Db {
    /// Listens on `channels` on a connection of its own (not pooled: a LISTEN belongs to one
    /// session). Returns once the server listens, so a NOTIFY sent afterwards is received. After a
    /// fault the listener reconnects with the retry policy's backoff (for as long as it lives),
    /// listens again and yields [`ListenEvent::Reconnected`](crate::ListenEvent): notifications
    /// sent in between were missed.
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use taulu::ListenEvent;
    /// let mut jobs = db.listen(&["jobs"]).await?;
    /// db.notify("jobs", "42").await?;
    /// while let Some(event) = jobs.next().await {
    ///     match event {
    ///         ListenEvent::Notification(n) => println!("job {}", n.payload),
    ///         ListenEvent::Reconnected => println!("re-read the job table: notifications were missed"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn listen(&self, channels: &[&str]) -> Result<super::Listener> {
        super::listen::start(self.0.url.clone(), self.0.retry, self.0.connect_timeout, channels).await
    }

    /// `NOTIFY channel, payload` (as `pg_notify($1, $2)`: both are parameters). A write: never
    /// retried once sent.
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        let q = Compiled {
            sql: "SELECT pg_notify($1, $2)".into(),
            params: vec![
                crate::query::Param::typed(channel.to_owned(), tokio_postgres::types::Type::TEXT),
                crate::query::Param::typed(payload.to_owned(), tokio_postgres::types::Type::TEXT),
            ],
            read_only: false,
        };
        self.query_first(&q).await.map(drop)
    }

    /// Compares the compiled schema (`SCHEMA` from `schema!`) with this database and reports each
    /// difference by name: a binary started against a database it was not built for says so at
    /// startup, or in a readiness probe. See [`meta::check`](crate::meta::check).
    pub async fn check_schema(&self, schema: &crate::meta::Schema) -> Result<crate::meta::SchemaCheck> {
        let conn = self.get().await?;
        crate::meta::check(conn.client(), schema).await
    }

    /// A pool for `config`. Connections open lazily (the minimum idle ones in the background), so
    /// this never fails because the server is down; see [`Db::connect`] to check it is up.
    pub fn new(config: DbConfig) -> Self {
        let outcomes = ConnectOutcomes::new();
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let manager = Manager {
            url: config.url.clone(),
            connect_timeout: config.connect_timeout,
            statement_timeout: config.statement_timeout,
            cache_size: config.statement_cache_size,
            closing: closing.clone(),
            outcomes: outcomes.clone(),
        };
        let pool = bb8::Pool::builder()
            .max_size(config.max_size)
            .min_idle(Some(config.min_idle.min(config.max_size)))
            .connection_timeout(config.connect_timeout)
            .idle_timeout(config.idle_timeout)
            .max_lifetime(config.max_lifetime)
            // A validation round trip on every checkout costs ~40% of throughput; a closed
            // connection is caught by `has_broken`, a dead one by the retry layer.
            .test_on_check_out(false)
            // Surface connect errors (so they can be classified) instead of retrying them silently
            // until the timeout.
            .retry_connection(false)
            // The connection a task just returned is the one it gets next: its driver task stays
            // warm on the same worker, instead of every query hopping to another connection.
            .queue_strategy(bb8::QueueStrategy::Lifo)
            .error_sink(Box::new(ErrorSink(outcomes.clone())))
            .build_unchecked(manager);
        tracing::debug!(target: "taulu::pool", url = %config.url, max = config.max_size, min_idle = config.min_idle, replicas = config.replicas.len(), "pool created");
        // One connection always stays for exclusive checkouts (transactions, get()).
        let shared = config.multiplex.min(config.max_size.saturating_sub(1));
        let mut db = DbInner {
            pool,
            retry: config.retry,
            url: config.url.clone(),
            connect_timeout: config.connect_timeout,
            statement_timeout: config.statement_timeout,
            max_size: config.max_size,
            turn: Arc::new(gate::Gate::new((config.max_size - shared) as usize)),
            counters: Default::default(),
            outcomes,
            closing,
            replicas: None,
            mux: match shared {
                0 => None,
                n => Some(Arc::new(mux::Mux::new(
                    n as usize,
                    (config.max_size - n) as usize,
                    config.max_lifetime,
                    config.connect_timeout,
                ))),
            },
        };
        // The monitor gets the primary without the replicas (no cycle: it ends with the `Db`).
        db.replicas = replicas::Replicas::start(&config, &Db(Arc::new(db.clone())));
        Db(Arc::new(db))
    }

    /// The read replicas' health and lag at the last check, in the order configured (empty
    /// without replicas): for a readiness probe or a dashboard.
    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        self.0.replicas.as_ref().map(|r| r.status()).unwrap_or_default()
    }

    /// This pool as an executor whose reads all run on the primary: for a read that must see
    /// every write committed before it (through any connection), when the read replicas may lag.
    /// Without replicas it is the pool itself.
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// let fresh = select_from::<Users>().columns((users::id,)).fetch_all(&db.on_primary()).await?;
    /// # Ok(()) }
    /// ```
    pub fn on_primary(&self) -> OnPrimary<'_> {
        OnPrimary { db: self }
    }

    /// A handle whose reads see its own writes: after a write (or transaction) through it, its
    /// reads go to a replica only once the replica has replayed past that write (waiting up to
    /// `replica_wait` for one), else to the primary. Writes and reads of other handles are
    /// unaffected. Costs one extra round trip per write (`pg_current_wal_insert_lsn()`), and only
    /// with replicas configured. Cheap to make: one per request or per user session.
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// let me = db.read_your_writes();
    /// update::<Users>().set(users::display_name, "Ann").where_(users::username.eq("ann")).execute(&me).await?;
    /// let (name,) = select_from::<Users>()
    ///     .columns((users::display_name,))
    ///     .where_(users::username.eq("ann"))
    ///     .fetch_one(&me)
    ///     .await?;
    /// assert_eq!(name.as_deref(), Some("Ann"));
    /// # Ok(()) }
    /// ```
    pub fn read_your_writes(&self) -> Session {
        Session { db: self.clone(), written: Arc::new(std::sync::atomic::AtomicU64::new(0)) }
    }

    /// Shuts the pool down gracefully, for every clone of this `Db`: new work is refused at once
    /// ([`Error::Closed`], kind `Unavailable`: nothing of it was sent), statements and
    /// transactions in flight get up to `wait` to finish, and then every connection is closed
    /// (a connection still in use is closed when its user returns it). Returns how many
    /// connections were still in use when the wait ended: 0 is a clean shutdown.
    ///
    /// ```no_run
    /// # async fn f(db: taulu::Db) {
    /// // after the server stopped taking requests (axum's graceful shutdown):
    /// let busy = db.close(std::time::Duration::from_secs(10)).await;
    /// assert_eq!(busy, 0, "statements were still running");
    /// # }
    /// ```
    pub async fn close(&self, wait: Duration) -> u32 {
        self.0.closing.store(true, std::sync::atomic::Ordering::Release);
        if let Some(mux) = &self.0.mux {
            mux.release_all();
        }
        let replicas_busy = match &self.0.replicas {
            Some(r) => r.close(wait).await,
            None => 0,
        };
        tracing::info!(target: "taulu::pool", url = %self.0.url, "closing the pool");
        let in_use = || {
            let s = self.0.pool.state();
            s.connections - s.idle_connections
        };
        let deadline = Instant::now() + wait;
        // bb8 says nothing when a connection comes back: look every few milliseconds, bounded.
        while in_use() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let busy = in_use();
        // Idle connections are closed by taking them out once: `has_broken` drops each on return.
        for _ in 0..self.0.pool.state().idle_connections {
            match tokio::time::timeout(Duration::from_millis(100), self.0.pool.get()).await {
                Ok(Ok(conn)) => drop(conn),
                _ => break,
            }
        }
        tracing::info!(target: "taulu::pool", url = %self.0.url, busy, "pool closed");
        busy + replicas_busy
    }

    /// A pool for `config`, after checking that one connection can be opened.
    pub async fn connect(config: DbConfig) -> Result<Self> {
        let db = Db::new(config);
        drop(db.get().await?);
        Ok(db)
    }

    /// The server this pool connects to (without the password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.0.url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.0.retry
    }

    /// (open connections, idle connections).
    pub fn state(&self) -> (u32, u32) {
        let s = self.0.pool.state();
        (s.connections, s.idle_connections)
    }

    /// Runs a statement on a pooled connection, retrying what the classification allows.
    fn run<F: Fetch>(&self, q: &Compiled) -> impl Future<Output = Result<F::Out>> + Send {
        self.run_within::<F>(q, None, 0)
    }

    /// [`Db::run`], each attempt limited to `limit` when given (see [`Db::with_timeout`]). A
    /// read goes to a replica that has replayed up to `after` when there is one.
    ///
    /// Plain functions returning the future, `run` and this, not `async fn`s: each `async fn` layer
    /// holds the future it awaits (2 KB here) and copies it in once more per statement.
    fn run_within<F: Fetch>(
        &self,
        q: &Compiled,
        limit: Option<Duration>,
        after: u64,
    ) -> impl Future<Output = Result<F::Out>> + Send {
        traced(&self.0.url, q, self.route::<F>(q, limit, after))
    }

    /// [`Db::run_within`] without its span: to a replica, or to the primary. Without replicas (or
    /// for a write) the primary's future itself; with them, a boxed one (so that the common
    /// future stays small and is not copied through one more layer).
    fn route<F: Fetch>(
        &self,
        q: &Compiled,
        limit: Option<Duration>,
        after: u64,
    ) -> impl Future<Output = Result<F::Out>> + Send {
        use futures_util::future::Either;
        match &self.0.replicas {
            Some(replicas) if q.read_only => {
                Either::Left(Box::pin(self.read_from_replicas::<F>(replicas, q, limit, after)))
            }
            _ => Either::Right(self.run_on_primary::<F>(q, limit)),
        }
    }

    /// A read with replicas: on one that has replayed up to `after`, else on the primary, else (a
    /// failover) on any replica that answers.
    async fn read_from_replicas<F: Fetch>(
        &self,
        replicas: &replicas::Replicas,
        q: &Compiled,
        limit: Option<Duration>,
        after: u64,
    ) -> Result<F::Out> {
        let started = statement_log_start();
        if let Ok(done) = replicas.read::<F>(q, limit, after, false).await {
            if done.is_ok() {
                log_statement(started, q, 1);
            }
            return done;
        }
        let on_primary = self.run_on_primary::<F>(q, limit).await;
        // No server took writes within the connect timeout (a failover: the old primary
        // gone, the new one not promoted or not yet taking writes): a read may still be
        // served by any replica that answers now. Not for read-your-writes: a replica may
        // not have the session's writes, and only the primary could say.
        if let Err(e) = &on_primary
            && e.kind() == crate::ErrorKind::Unavailable
            && after == 0
            && let Ok(done) = replicas.read::<F>(q, limit, 0, true).await
        {
            return done;
        }
        on_primary
    }

    /// Runs a statement on the primary, retrying what the classification allows.
    async fn run_on_primary<F: Fetch>(&self, q: &Compiled, limit: Option<Duration>) -> Result<F::Out> {
        let mut backoff = Backoff::attempts(self.0.retry);
        let started = statement_log_start();
        loop {
            let (conn, _admitted) = match (&self.0.mux, limit) {
                // Multiplexed: a share of a connection; a time limit needs one of its own (its
                // cancel request would hit whatever runs on the connection). Admitted first, in
                // arrival order, so that a caller past the bound is not overtaken forever.
                // The connect timeout bounds the wait for all of it, from the first step that
                // waits (the fast path reads no clock).
                (Some(mux), None) => {
                    let mut started = None;
                    let admitted = match mux.admit_now() {
                        Some(admitted) => admitted,
                        None => {
                            let since = *started.insert(Instant::now());
                            match mux.admit_by(since + self.0.connect_timeout).await {
                                Some(admitted) => admitted,
                                None => return Err(self.gave_up(since, 1)),
                            }
                        }
                    };
                    let lease = match mux.try_lease(self) {
                        Some(lease) => lease,
                        // No room on an open one: fill a slot (boxed: the cold path), else check out.
                        None => {
                            let since = *started.get_or_insert_with(Instant::now);
                            match Box::pin(mux.lease(self, since + self.0.connect_timeout)).await {
                                Some(lease) => lease,
                                None => Lease::Own(Box::pin(self.get_since(since)).await?),
                            }
                        }
                    };
                    if let (Some(since), Lease::Shared(_)) = (started, &lease) {
                        self.0.counters.waited(since);
                    }
                    (lease, Some(admitted))
                }
                _ => (Lease::Own(self.get().await?), None),
            };
            tracing::trace!(target: "taulu::query", attempt = backoff.attempt(), read_only = q.read_only, "statement attempt");
            let in_flight = InFlight::new(&conn, &self.0.url, conn.exclusive());
            let fetched = match limit {
                None => F::fetch(&conn, q).await,
                // Boxed: the common, unlimited path keeps its small future.
                Some(limit) => match Box::pin(self.fetch_within::<F>(&conn, q, limit)).await {
                    Ok(fetched) => fetched,
                    Err(e) => {
                        in_flight.landed();
                        return Err(e);
                    }
                },
            };
            in_flight.landed();
            let err = match fetched {
                Ok(v) => {
                    log_statement(started, q, backoff.attempt());
                    return Ok(v);
                }
                Err(e) => e,
            };
            let link = conn.link();
            if retry::is_connection_fault(&err, link) {
                conn.mark_broken();
            }
            drop(conn);
            match retry::classify_statement(&err, link, q.read_only) {
                // Every attempt had a connection, and lost it during the statement.
                Class::Retry if backoff.attempt() >= self.0.retry.attempts => {
                    let attempts = backoff.attempt();
                    tracing::warn!(target: "taulu::retry", attempts, error = %crate::error::describe_pg(&err), "giving up");
                    return Err(Error::EndedDuringStatement { attempts, source: err });
                }
                Class::Retry => {
                    backoff.pause("statement", &Error::Db(err)).await;
                }
                Class::Ambiguous => {
                    tracing::warn!(target: "taulu::retry", error = %err, "write outcome unknown: not retried");
                    return Err(Error::Ambiguous { source: err });
                }
                Class::Fatal => return Err(statement_error(err, limit.or(self.0.statement_timeout))),
            }
        }
    }

    /// Runs one statement for at most `limit`; past it, asks the server to cancel it (a cancel
    /// request on a connection of its own, as libpq's `PQcancel`, sent in the background) and
    /// waits up to the connect timeout for the statement's own answer: PostgreSQL's `57014`, or its
    /// result if it finished first. The connection is left with nothing in flight. If no answer
    /// comes (a server that stopped answering), the connection is discarded and the database
    /// reported unavailable: the call returns within `limit` plus the connect timeout, whatever
    /// becomes of the cancel request.
    async fn fetch_within<F: Fetch>(&self, conn: &PgConn, q: &Compiled, limit: Duration) -> Result<PgResult<F::Out>> {
        let mut fetch = std::pin::pin!(F::fetch(conn, q));
        if let Ok(done) = tokio::time::timeout(limit, fetch.as_mut()).await {
            return Ok(done);
        }
        cancel_in_background(conn, &self.0.url);
        match tokio::time::timeout(self.0.connect_timeout, fetch).await {
            Ok(done) => Ok(done),
            Err(_) => {
                conn.mark_broken();
                let after = self.0.connect_timeout;
                let last = Arc::new(Error::ConnectTimeout { target: self.0.url.to_string(), after });
                Err(Error::Unavailable { attempts: 1, last })
            }
        }
    }

    /// This pool as an executor whose statements each run for at most `limit`: past it the
    /// statement is canceled on the server (not only abandoned) and the call fails with
    /// [`ErrorKind::StatementTimeout`](crate::ErrorKind::StatementTimeout). The connection goes
    /// back to the pool clean. A canceled statement is not retried.
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use std::time::Duration;
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// let slow = select_from::<Users>().columns((users::id,)).where_(sql("pg_sleep(10) IS NOT NULL"));
    /// let err = slow.fetch_all(&db.with_timeout(Duration::from_millis(100))).await.unwrap_err();
    /// assert_eq!(err.kind(), taulu::ErrorKind::StatementTimeout);
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, limit: Duration) -> Timed<'_> {
        Timed { db: self, limit }
    }
}

/// [`Db::with_timeout`]: the pool, each statement limited in time.
#[derive(Debug, Clone, Copy)]
pub struct Timed<'a> {
    db: &'a Db,
    limit: Duration,
}

impl Executor for Timed<'_> {
    fn query_rows(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Row>>> + Send {
        self.db.run_within::<AllRows>(q, Some(self.limit), 0)
    }

    fn query_first(&self, q: &Compiled) -> impl Future<Output = Result<Option<Row>>> + Send {
        self.db.run_within::<FirstRow>(q, Some(self.limit), 0)
    }

    fn execute(&self, q: &Compiled) -> impl Future<Output = Result<u64>> + Send {
        self.db.run_within::<Count>(q, Some(self.limit), 0)
    }

    fn query_decoded<Q: Query>(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Q::Output>>> + Send {
        decoded(self.db.run_within::<DecodeAll<Q>>(q, Some(self.limit), 0))
    }
}

/// [`Db::on_primary`]: the pool, every statement on the primary.
#[derive(Debug, Clone, Copy)]
pub struct OnPrimary<'a> {
    db: &'a Db,
}

impl Executor for OnPrimary<'_> {
    async fn query_stream(&self, q: Compiled) -> Result<RowStream<'_>> {
        self.db.stream_on(self.db.get().await?, q).await
    }

    fn query_rows(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Row>>> + Send {
        self.db.run_on_primary::<AllRows>(q, None)
    }

    fn query_first(&self, q: &Compiled) -> impl Future<Output = Result<Option<Row>>> + Send {
        self.db.run_on_primary::<FirstRow>(q, None)
    }

    fn execute(&self, q: &Compiled) -> impl Future<Output = Result<u64>> + Send {
        self.db.run_on_primary::<Count>(q, None)
    }

    fn query_decoded<Q: Query>(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Q::Output>>> + Send {
        decoded(self.db.run_on_primary::<DecodeAll<Q>>(q, None))
    }
}

/// [`Db::read_your_writes`]: a handle on the pool whose reads see its own writes.
#[derive(Debug, Clone)]
pub struct Session {
    db: Db,
    /// Where the primary's WAL ended after this handle's last write (0: no write yet).
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl Session {
    /// The pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// [`Db::transaction`]; its reads and writes run on the primary, and later reads through
    /// this handle see what it committed.
    pub async fn transaction<T>(&self, f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let out = self.db.transaction(f).await;
        self.wrote().await;
        out
    }

    /// [`Db::transaction_with_retry`], remembered like [`Session::transaction`].
    pub async fn transaction_with_retry<T>(
        &self,
        isolation: IsolationLevel,
        f: impl AsyncFnMut(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let out = self.db.transaction_with_retry(isolation, f).await;
        self.wrote().await;
        out
    }

    /// Remembers where the primary's WAL ends now, after a write (whatever its outcome: a write
    /// reported ambiguous may have committed). If that cannot be read, reads go to the primary.
    async fn wrote(&self) {
        if self.db.0.replicas.is_none() {
            return;
        }
        let q = Compiled { sql: replicas::PRIMARY_LSN.into(), params: Vec::new(), read_only: false };
        let at = match self.db.run_on_primary::<FirstRow>(&q, None).await {
            Ok(Some(row)) => row.get::<_, i64>(0) as u64,
            _ => u64::MAX,
        };
        self.written.fetch_max(at, std::sync::atomic::Ordering::Relaxed);
    }

    async fn write<T>(&self, done: impl Future<Output = Result<T>>) -> Result<T> {
        let out = done.await;
        self.wrote().await;
        out
    }

    fn after(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Executor for Session {
    async fn query_stream(&self, q: Compiled) -> Result<RowStream<'_>> {
        if self.after() == 0 { self.db.query_stream(q).await } else { self.db.stream_on(self.db.get().await?, q).await }
    }

    async fn query_rows(&self, q: &Compiled) -> Result<Vec<Row>> {
        if q.read_only {
            self.db.run_within::<AllRows>(q, None, self.after()).await
        } else {
            self.write(self.db.run_on_primary::<AllRows>(q, None)).await
        }
    }

    async fn query_first(&self, q: &Compiled) -> Result<Option<Row>> {
        if q.read_only {
            self.db.run_within::<FirstRow>(q, None, self.after()).await
        } else {
            self.write(self.db.run_on_primary::<FirstRow>(q, None)).await
        }
    }

    async fn execute(&self, q: &Compiled) -> Result<u64> {
        if q.read_only {
            self.db.run_within::<Count>(q, None, self.after()).await
        } else {
            self.write(self.db.run_on_primary::<Count>(q, None)).await
        }
    }

    async fn query_decoded<Q: Query>(&self, q: &Compiled) -> Result<Vec<Q::Output>> {
        if q.read_only {
            decoded(self.db.run_within::<DecodeAll<Q>>(q, None, self.after())).await
        } else {
            self.write(decoded(self.db.run_on_primary::<DecodeAll<Q>>(q, None))).await
        }
    }
}

/// The start of a statement, when its DEBUG event is wanted (no clock read otherwise).
fn statement_log_start() -> Option<Instant> {
    tracing::enabled!(target: "taulu::query", tracing::Level::DEBUG).then(Instant::now)
}

/// Runs a statement inside its span: `taulu::query`, DEBUG, named `statement`, with
/// OpenTelemetry's database client attributes (`db.system.name`, `db.namespace`,
/// `db.operation.name`, `db.query.text` (the shape, with `$n` placeholders: never a value),
/// `server.address`, `server.port`, `otel.kind`; on failure `error.type` and
/// `db.response.status_code`), which `tracing-opentelemetry` exports as they are. With no
/// subscriber interested, the span is not made and nothing is computed.
fn traced<T, F: Future<Output = Result<T>>>(url: &DatabaseUrl, q: &Compiled, run: F) -> Traced<F> {
    use tracing::field::Empty;
    // Asked first: with tracing's `log` feature on (sqlx, among others, turns it on) and no
    // subscriber, `debug_span!` computes every field for `log` (two `String`s per statement).
    if !tracing::span_enabled!(target: "taulu::query", tracing::Level::DEBUG) {
        return Traced { span: None, run };
    }
    let span = tracing::debug_span!(
        target: "taulu::query",
        "statement",
        otel.kind = "client",
        db.system.name = "postgresql",
        db.namespace = url.dbname().unwrap_or(""),
        db.operation.name = operation(&q.sql),
        db.query.text = %q.sql,
        server.address = %url.server().0,
        server.port = url.server().1,
        error.type = Empty,
        db.response.status_code = Empty,
    );
    Traced { span: (!span.is_disabled()).then_some(span), run }
}

/// [`traced`]'s future: `run`, polled inside its span when there is one, the error recorded on
/// it. A future of its own rather than an `async fn`: an `async fn` keeps its argument `run` beside
/// the future it awaits, which doubled the size of every statement's future (2 KB → 4.2 KB) and
/// the bytes copied each time one is moved (20 of them in a request's `try_join_all`).
struct Traced<F> {
    span: Option<tracing::Span>,
    run: F,
}

impl<T, F: Future<Output = Result<T>>> Future for Traced<F> {
    type Output = Result<T>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<T>> {
        // SAFETY: `run` is pinned structurally: it is never moved out of `self`, and `Traced` has
        // no `Drop` of its own; `span` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let run = unsafe { std::pin::Pin::new_unchecked(&mut this.run) };
        let Some(span) = &this.span else { return run.poll(cx) };
        let done = {
            let _entered = span.enter();
            std::task::ready!(run.poll(cx))
        };
        if let Err(e) = &done {
            span.record("error.type", tracing::field::debug(e.kind()));
            if let Some(code) = e.sqlstate() {
                span.record("db.response.status_code", code);
            }
        }
        std::task::Poll::Ready(done)
    }
}

/// A statement's first keyword, upper case (`SELECT`, `INSERT`, `WITH`): OpenTelemetry's
/// `db.operation.name`.
fn operation(sql: &str) -> &str {
    let word = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "VALUES", "CALL", "COPY"]
        .into_iter()
        .find(|op| op.eq_ignore_ascii_case(word))
        .unwrap_or("OTHER")
}

/// The development log of a statement that succeeded: its SQL text (the shape, with `$n`
/// placeholders: values are never logged) and how long it took, retries included.
fn log_statement(started: Option<Instant>, q: &Compiled, attempts: u32) {
    if let Some(started) = started {
        let elapsed_us = started.elapsed().as_micros() as u64;
        tracing::debug!(target: "taulu::query", sql = %q.sql, elapsed_us, attempts, "statement");
    }
}

/// The error a caller gets for a failed statement (see [`Error::statement`]). Shared by the pool,
/// its connections and `Tx`.
fn statement_error(e: tokio_postgres::Error, statement_timeout: Option<Duration>) -> Error {
    Error::statement(e, statement_timeout)
}

/// What one run of a statement on a connection returns: every row, the first row, or the count
/// of affected rows. [`Db::run`] is generic over it, so each kind gets its own retry loop with
/// no boxing and no runtime dispatch.
trait Fetch {
    type Out: Send;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Self::Out>> + Send;
}

struct AllRows;
struct FirstRow;
struct Count;

impl Fetch for AllRows {
    type Out = Vec<Row>;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Vec<Row>>> + Send {
        conn.query(q)
    }
}

impl Fetch for FirstRow {
    type Out = Option<Row>;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Option<Row>>> + Send {
        conn.query_first(q)
    }
}

/// Every row, decoded by query `Q` as it arrives; a row that does not decode is the inner error
/// (not retried: the statement ran).
struct DecodeAll<Q>(std::marker::PhantomData<fn() -> Q>);

impl<Q: Query> Fetch for DecodeAll<Q> {
    type Out = Result<Vec<Q::Output>>;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Self::Out>> + Send {
        conn.query_decoded::<Q>(q)
    }
}

/// The result of a [`DecodeAll`] run: a decoding failure as the error.
fn decoded<T>(run: impl Future<Output = Result<Result<T>>> + Send) -> impl Future<Output = Result<T>> + Send {
    use futures_util::FutureExt as _;
    run.map(|out| out.and_then(|decoded| decoded))
}

impl Fetch for Count {
    type Out = u64;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<u64>> + Send {
        conn.execute(q)
    }
}

impl Executor for Db {
    /// Streams on a connection checked out for the stream's life (back to the pool when the
    /// stream is dropped). The checkout waits out a restarting server like any other; the
    /// statement itself is not retried.
    async fn query_stream(&self, q: Compiled) -> Result<RowStream<'_>> {
        let replica = match &self.0.replicas {
            Some(replicas) if q.read_only => replicas.stream_conn().await,
            _ => None,
        };
        let conn = match replica {
            Some(conn) => conn,
            None => self.get().await?,
        };
        self.stream_on(conn, q).await
    }

    fn query_rows(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Row>>> + Send {
        self.run::<AllRows>(q)
    }

    fn query_first(&self, q: &Compiled) -> impl Future<Output = Result<Option<Row>>> + Send {
        self.run::<FirstRow>(q)
    }

    fn execute(&self, q: &Compiled) -> impl Future<Output = Result<u64>> + Send {
        self.run::<Count>(q)
    }

    fn query_decoded<Q: Query>(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Q::Output>>> + Send {
        decoded(self.run::<DecodeAll<Q>>(q))
    }
}

impl Db {
    /// Streams `q` on `conn`, held for the stream's life.
    async fn stream_on<'a>(&'a self, conn: PooledConn<'a>, q: Compiled) -> Result<RowStream<'a>> {
        // Dropped while the server has not answered (no row yet), the statement is canceled and
        // the connection discarded, as once rows come (`HeldRows`).
        let in_flight = InFlight::new(&conn, &self.0.url, true);
        let rows = PgConn::query_stream(&conn, &q).await;
        in_flight.landed();
        let rows = rows.map_err(|e| statement_error(e, self.0.statement_timeout))?;
        Ok(Box::pin(HeldRows { rows: Box::pin(rows), conn, url: &self.0.url, ended: false }))
    }
}

/// The rows of a statement on a pooled connection held for the stream's life. Dropped before its
/// end (the caller stopped reading), it discards the connection and cancels the statement, like a
/// dropped statement ([`InFlight`]): otherwise the rest of its rows would be read and thrown away
/// before the next user's statement on that connection.
struct HeldRows<'a> {
    rows: std::pin::Pin<Box<tokio_postgres::RowStream>>,
    conn: PooledConn<'a>,
    url: &'a DatabaseUrl,
    ended: bool,
}

impl futures_util::Stream for HeldRows<'_> {
    type Item = Result<Row>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = this.rows.as_mut().poll_next(cx);
        match &polled {
            std::task::Poll::Ready(None) | std::task::Poll::Ready(Some(Err(_))) => this.ended = true,
            _ => {}
        }
        polled.map(|row| row.map(|r| r.map_err(Error::Db)))
    }
}

impl Drop for HeldRows<'_> {
    fn drop(&mut self) {
        if !self.ended {
            tracing::debug!(target: "taulu::query", "stream dropped before its end: canceling it, discarding its connection");
            self.conn.mark_broken();
            cancel_in_background(&self.conn, self.url);
        }
    }
}

impl Executor for PooledConn<'_> {
    async fn query_stream(&self, q: Compiled) -> Result<RowStream<'_>> {
        use futures_util::TryStreamExt as _;
        let rows = PgConn::query_stream(self, &q).await.map_err(|e| statement_error(e, None))?;
        Ok(Box::pin(rows.map_err(Error::Db)))
    }

    async fn query_rows(&self, q: &Compiled) -> Result<Vec<Row>> {
        self.query(q).await.map_err(|e| statement_error(e, None))
    }

    async fn query_first(&self, q: &Compiled) -> Result<Option<Row>> {
        PgConn::query_first(self, q).await.map_err(|e| statement_error(e, None))
    }

    async fn execute(&self, q: &Compiled) -> Result<u64> {
        PgConn::execute(self, q).await.map_err(|e| statement_error(e, None))
    }
}

/// A transaction on one pooled connection, handed to the closure of [`Db::transaction`] and
/// [`Db::transaction_with_retry`]. Builder statements run on it with the connection's statement
/// cache (or as unnamed statements with the cache off, for PgBouncer), like statements on the
/// pool; [`Tx::transaction`] nests a savepoint.
pub struct Tx<'c> {
    conn: &'c PgConn,
    url: &'c DatabaseUrl,
    statement_timeout: Option<Duration>,
    depth: u32,
}

impl Tx<'_> {
    /// The underlying client, for what the builder does not cover. Statements on it run inside
    /// this transaction.
    pub fn client(&self) -> &tokio_postgres::Client {
        self.conn.client()
    }

    /// Runs `f` in a savepoint: released on `Ok`, rolled back to on `Err` (the outer transaction
    /// goes on either way).
    pub async fn transaction<T>(&mut self, f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let name = format!("taulu_sp_{}", self.depth + 1);
        self.conn.client().batch_execute(&format!("SAVEPOINT {name}")).await.map_err(|e| self.failed(e))?;
        let mut inner =
            Tx { conn: self.conn, url: self.url, statement_timeout: self.statement_timeout, depth: self.depth + 1 };
        match f(&mut inner).await {
            Ok(v) => {
                self.conn
                    .client()
                    .batch_execute(&format!("RELEASE SAVEPOINT {name}"))
                    .await
                    .map_err(|e| self.failed(e))?;
                Ok(v)
            }
            Err(e) => {
                if let Err(rollback) = self.conn.client().batch_execute(&format!("ROLLBACK TO SAVEPOINT {name}")).await
                {
                    tracing::warn!(target: "taulu::query", error = %rollback, "rollback to savepoint failed after an error");
                }
                Err(e)
            }
        }
    }
}

impl Tx<'_> {
    /// The error of a statement in this transaction: a lost connection took the whole transaction
    /// with it ([`Error::NotCommitted`]).
    /// `COPY table (columns) FROM STDIN (FORMAT binary)` of generated `Insert` rows: the fastest
    /// way to load many rows (see `docs/benchmarks.md`). The rows are encoded as the iterator
    /// yields them, so any number streams in constant memory; the columns are the first row's
    /// (required ones and the optional ones it sets), and every row must set the same
    /// ([`Error::CopyColumns`] otherwise, with nothing of the COPY applied). Returns the number
    /// of rows copied. A COPY is a write: never retried.
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use taulu_app::schema::login_attempts;
    /// let rows = (0..100_000).map(|i| login_attempts::Insert::new(format!("user{i}"), i % 2 == 0));
    /// let copied = db.transaction(async |tx| tx.copy_in(rows).await).await?;
    /// assert_eq!(copied, 100_000);
    /// # Ok(()) }
    /// ```
    pub async fn copy_in<I: crate::Insertable>(&self, rows: impl IntoIterator<Item = I>) -> Result<u64> {
        match super::copy::copy_in(self.conn.client(), rows).await {
            Ok(n) => Ok(n),
            Err(super::copy::CopyFailed::Pg(e)) => Err(self.failed(e)),
            Err(super::copy::CopyFailed::Rows(e)) => Err(e),
        }
    }

    /// One statement of the transaction (`run`, on its connection): in its span, logged, a
    /// failure classified. Never retried: a transaction is re-run whole or not at all.
    async fn statement<T>(&self, q: &Compiled, run: impl Future<Output = PgResult<T>>) -> Result<T> {
        traced(self.url, q, async {
            let started = statement_log_start();
            let out = run.await.map_err(|e| self.failed(e))?;
            log_statement(started, q, 1);
            Ok(out)
        })
        .await
    }

    fn failed(&self, e: tokio_postgres::Error) -> Error {
        match retry::is_connection_fault(&e, self.conn.link()) {
            true => {
                self.conn.mark_broken();
                Error::NotCommitted { source: e }
            }
            false => statement_error(e, self.statement_timeout),
        }
    }
}

impl Executor for Tx<'_> {
    async fn query_stream(&self, q: Compiled) -> Result<RowStream<'_>> {
        use futures_util::TryStreamExt as _;
        let rows = self.conn.query_stream(&q).await.map_err(|e| self.failed(e))?;
        Ok(Box::pin(rows.map_err(|e| self.failed(e))))
    }

    async fn query_rows(&self, q: &Compiled) -> Result<Vec<Row>> {
        self.statement(q, self.conn.query(q)).await
    }

    async fn query_first(&self, q: &Compiled) -> Result<Option<Row>> {
        self.statement(q, self.conn.query_first(q)).await
    }

    async fn execute(&self, q: &Compiled) -> Result<u64> {
        self.statement(q, self.conn.execute(q)).await
    }
}

/// Marks the connection broken unless the transaction was finished (committed or rolled back):
/// a closure that panicked, or a future dropped mid-transaction, leaves a connection inside an
/// open transaction, which must never go back to the pool. A statement it may have been running is
/// canceled on the server.
struct Unfinished<'c>(&'c PgConn, &'c DatabaseUrl);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.0.mark_broken();
        cancel_in_background(self.0, self.1);
    }
}

/// Armed while a statement's answer is awaited. Dropped armed (the caller's future was dropped:
/// a timeout of its own, a client that went away), it discards the connection and asks the server
/// to cancel the statement, so no connection goes back to the pool with a statement still running
/// on it for the next user to wait behind.
///
/// On a shared (multiplexed) connection it does nothing: the cancel would hit another caller's
/// statement, and the connection stays usable (tokio-postgres discards the dropped request's
/// answer).
struct InFlight<'c> {
    conn: &'c PgConn,
    url: &'c DatabaseUrl,
    armed: bool,
}

impl<'c> InFlight<'c> {
    fn new(conn: &'c PgConn, url: &'c DatabaseUrl, exclusive: bool) -> Self {
        InFlight { conn, url, armed: exclusive }
    }

    /// The answer came (or the attempt is over): nothing to do on drop.
    fn landed(mut self) {
        self.armed = false;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            tracing::debug!(target: "taulu::query", "statement dropped in flight: canceling it, discarding its connection");
            self.conn.mark_broken();
            cancel_in_background(self.conn, self.url);
        }
    }
}

/// Sends a cancel request for whatever `token`'s connection runs (on a connection of its own,
/// TLS as the URL's `sslmode`, like libpq's `PQcancel`), within the URL's connect timeout (a
/// server that stopped answering would otherwise hold it forever: with `sslmode=prefer` the cancel
/// connection waits for the answer to its TLS request); a failure is logged.
async fn cancel(token: tokio_postgres::CancelToken, url: &DatabaseUrl) {
    let send = async {
        if url.config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
            token.cancel_query(tokio_postgres::NoTls).await.map_err(|e| crate::error::describe_pg(&e))
        } else {
            let tls = super::tls::connector().map_err(|e| e.to_string())?;
            token.cancel_query(tls).await.map_err(|e| crate::error::describe_pg(&e))
        }
    };
    let bound = url.connect_timeout();
    match tokio::time::timeout(bound, send).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(target: "taulu::query", error = %e, "cancel request failed"),
        Err(_) => {
            tracing::warn!(target: "taulu::query", %url, bound_ms = bound.as_millis() as u64, "cancel request not answered: given up")
        }
    }
}

/// [`cancel`] on a task of its own (from a `Drop`, or past a time limit: nobody waits for it),
/// when there is a runtime to run it.
fn cancel_in_background(conn: &PgConn, url: &DatabaseUrl) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let (token, url) = (conn.client().cancel_token(), url.clone());
        runtime.spawn(async move { cancel(token, &url).await });
    }
}

/// A transaction PostgreSQL aborted in favour of another (40001, 40P01): running it again can
/// succeed.
fn is_rerunnable(e: &Error) -> bool {
    matches!(e.kind(), crate::ErrorKind::SerializationFailure | crate::ErrorKind::Deadlock) && matches!(e, Error::Db(_))
}

/// Where a transaction attempt failed, which decides whether it may be re-run.
enum TxFailure {
    /// Before COMMIT was sent (BEGIN, or the closure): nothing was committed.
    Before(Error),
    /// While COMMIT was in flight.
    AtCommit(tokio_postgres::Error),
}

impl Db {
    /// Runs `f` in a transaction on one pooled connection: COMMIT on `Ok`, ROLLBACK on `Err` or
    /// panic; [`Tx::transaction`] nests a savepoint. Nothing inside is retried statement by
    /// statement; see [`Db::transaction_with_retry`]. A connection lost while COMMIT was in flight
    /// is [`Error::Ambiguous`]: the transaction may have committed.
    pub async fn transaction<T>(&self, f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let conn = self.get().await?;
        match self.attempt_transaction(&conn, None, f).await {
            Ok(v) => Ok(v),
            Err(TxFailure::Before(e)) => Err(e),
            Err(TxFailure::AtCommit(e)) => Err(self.commit_error(&conn, e)),
        }
    }

    /// Runs `f` in a transaction at `isolation`, re-running the whole closure when PostgreSQL
    /// aborts it with a serialization failure (40001) or a deadlock (40P01), or when the
    /// connection fails before COMMIT was sent (nothing was committed), within the retry policy's
    /// attempts. A connection failure during COMMIT is [`Error::Ambiguous`]: it is never re-run.
    /// `f` may run several times, so it must not have side effects outside the transaction.
    pub async fn transaction_with_retry<T>(
        &self,
        isolation: IsolationLevel,
        mut f: impl AsyncFnMut(&mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut backoff = Backoff::attempts(self.0.retry);
        loop {
            // A checkout already waits out an unavailable server within the connect timeout.
            let conn = self.get().await?;
            let (e, rerun) = match self.attempt_transaction(&conn, Some(isolation), &mut f).await {
                Ok(v) => return Ok(v),
                // Refused at COMMIT (a serialization failure found then): rolled back, re-run it;
                // lost during COMMIT: ambiguous, never re-run.
                Err(TxFailure::AtCommit(e)) => {
                    let e = self.commit_error(&conn, e);
                    let rerun = is_rerunnable(&e);
                    (e, rerun)
                }
                Err(TxFailure::Before(e)) => {
                    let rerun = matches!(e, Error::NotCommitted { .. }) || is_rerunnable(&e);
                    (e, rerun)
                }
            };
            drop(conn);
            if !rerun || !backoff.pause("transaction", &e).await {
                return Err(e);
            }
        }
    }

    /// One transaction on `conn`: BEGIN, the closure, COMMIT or ROLLBACK.
    async fn attempt_transaction<T>(
        &self,
        conn: &PgConn,
        isolation: Option<IsolationLevel>,
        f: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T>,
    ) -> std::result::Result<T, TxFailure> {
        let begin = match isolation {
            None | Some(IsolationLevel::ReadCommitted) => "BEGIN",
            Some(IsolationLevel::ReadUncommitted) => "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
            Some(IsolationLevel::RepeatableRead) => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Some(IsolationLevel::Serializable) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            Some(_) => "BEGIN",
        };
        let guard = Unfinished(conn, &self.0.url);
        let mut tx = Tx { conn, url: &self.0.url, statement_timeout: self.0.statement_timeout, depth: 0 };
        conn.client().batch_execute(begin).await.map_err(|e| TxFailure::Before(tx.failed(e)))?;
        let value = match f(&mut tx).await {
            Ok(v) => v,
            Err(e) => {
                if let Err(rollback) = conn.client().batch_execute("ROLLBACK").await {
                    tracing::warn!(target: "taulu::query", error = %rollback, "rollback failed after an error");
                    conn.mark_broken();
                }
                std::mem::forget(guard);
                // A lost connection, whatever way its error came back (a statement on
                // `tx.client()` converted with `?`): the transaction was not applied.
                return Err(TxFailure::Before(match e {
                    Error::Db(db) if retry::is_connection_fault(&db, conn.link()) => tx.failed(db),
                    e => e,
                }));
            }
        };
        let committed = conn.client().batch_execute("COMMIT").await;
        std::mem::forget(guard);
        match committed {
            Ok(()) => Ok(value),
            Err(e) => Err(TxFailure::AtCommit(e)),
        }
    }

    /// A failed COMMIT: PostgreSQL's refusal (a deferred constraint, a serialization failure) is
    /// a plain error, the transaction rolled back; a connection lost while it was in flight
    /// leaves the outcome unknown.
    fn commit_error(&self, conn: &PgConn, e: tokio_postgres::Error) -> Error {
        if retry::is_connection_fault(&e, conn.link()) {
            conn.mark_broken();
            tracing::warn!(target: "taulu::retry", error = %crate::error::describe_pg(&e), "connection lost during COMMIT: outcome unknown");
            Error::Ambiguous { source: e }
        } else {
            Error::Db(e)
        }
    }
}
