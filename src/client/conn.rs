//! One connection: opening it (plain, TLS or Unix socket) within a timeout, driving it on a task
//! that records how it ended, and [`PgConn`], the pooled connection with its prepared-statement
//! cache, which bb8 manages through [`Manager`]. Runs SQL it is handed; never builds any, never
//! formats a password.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
    task::Poll,
    time::Duration,
};

use tokio_postgres::{
    Client, NoTls, Row, Statement,
    types::{Kind, Type},
};

use super::{tls, url::DatabaseUrl};
use crate::{
    error::{Error, Result},
    query::{Compiled, Param, Query},
    retry::Link,
};

/// Opens one connection and drives it on a background task.
///
/// TLS follows the URL's `sslmode` like libpq: `disable` is plain TCP; `prefer` (the default) uses
/// TLS when the server offers it; `require` insists on it. Without `PGSSLROOTCERT` the server's
/// certificate is not verified (libpq's `require`); with it, the certificate must chain to that
/// CA and name the host (libpq's `verify-full`).
///
/// The whole attempt (TCP, TLS, authentication) is bounded by the URL's `connect_timeout`
/// (default [`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT), 10 s): a server that
/// accepts but never answers gives [`Error::ConnectTimeout`] instead of a hang. The task logs a
/// connection that ends with an error at `warn` level. Errors name the target without its password.
pub async fn connect(url: &DatabaseUrl) -> Result<Client> {
    Ok(open(url, url.connect_timeout()).await?.client)
}

/// An open connection: the client, how its driver ended (while it runs: [`Link::Open`]), and the
/// driver task, which a caller that wants a clean close awaits after dropping the client.
pub(crate) struct Opened {
    pub client: Client,
    pub link: Arc<LinkState>,
    pub driver: tokio::task::JoinHandle<()>,
}

impl Opened {
    /// Drops the client and waits for the driver to say goodbye to the server (so a following
    /// `DROP DATABASE .. WITH (FORCE)` finds no session to terminate).
    pub async fn close(self) {
        drop(self.client);
        let _ = self.driver.await;
    }
}

/// A failure while opening a connection to `url`, its setup statements included: an
/// [`Error::Connect`], retried or not as one.
pub(crate) fn connect_failed(url: &DatabaseUrl) -> impl Fn(tokio_postgres::Error) -> Error + Copy + '_ {
    |source| Error::Connect { target: url.to_string(), source: Arc::new(source) }
}

pub(crate) async fn open(url: &DatabaseUrl, timeout: Duration) -> Result<Opened> {
    tracing::debug!(target: "taulu::client", %url, "connecting");
    match tokio::time::timeout(timeout, open_unbounded(url)).await {
        Ok(Ok(opened)) => {
            tracing::debug!(target: "taulu::client", %url, "connected");
            Ok(opened)
        }
        Ok(Err(e)) => {
            tracing::debug!(target: "taulu::client", %url, error = %e, "connect failed");
            Err(e)
        }
        Err(_) => {
            tracing::debug!(target: "taulu::client", %url, timeout_ms = timeout.as_millis() as u64, "connect timed out");
            Err(Error::ConnectTimeout { target: url.to_string(), after: timeout })
        }
    }
}

async fn open_unbounded(url: &DatabaseUrl) -> Result<Opened> {
    let fail = connect_failed(url);
    let link = Arc::new(LinkState::default());
    let target = url.to_string();
    let (client, driver) = if url.config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, connection) = url.config.connect(NoTls).await.map_err(fail)?;
        (client, tokio::spawn(drive(connection, target, link.clone())))
    } else {
        let tls = tls::connector()?;
        let (client, connection) = url.config.connect(tls).await.map_err(fail)?;
        (client, tokio::spawn(drive(connection, target, link.clone())))
    };
    Ok(Opened { client, link, driver })
}

/// Opens a connection whose driver forwards the server's notifications to `notifications` (and
/// ends, dropping it, when the connection ends). For LISTEN; within `timeout` like [`open`].
pub(crate) async fn open_listening(
    url: &DatabaseUrl,
    timeout: Duration,
    notifications: tokio::sync::mpsc::UnboundedSender<super::listen::Notification>,
) -> Result<Client> {
    let fail = connect_failed(url);
    let opening = async {
        if url.config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
            let (client, connection) = url.config.connect(NoTls).await.map_err(fail)?;
            tokio::spawn(forward_notifications(connection, notifications));
            Ok(client)
        } else {
            let (client, connection) = url.config.connect(tls::connector()?).await.map_err(fail)?;
            tokio::spawn(forward_notifications(connection, notifications));
            Ok(client)
        }
    };
    match tokio::time::timeout(timeout, opening).await {
        Ok(opened) => opened,
        Err(_) => Err(Error::ConnectTimeout { target: url.to_string(), after: timeout }),
    }
}

/// Drives a connection, passing its notifications on, until it ends.
async fn forward_notifications<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    out: tokio::sync::mpsc::UnboundedSender<super::listen::Notification>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                let _ = out.send(super::listen::Notification {
                    channel: n.channel().to_owned(),
                    payload: n.payload().to_owned(),
                    process_id: n.process_id(),
                });
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::debug!(target: "taulu::listen", error = %crate::error::describe_pg(&e), "listening connection ended");
                return;
            }
            None => return,
        }
    }
}

/// How a connection's driver task ended, shared with the connection's users.
#[derive(Debug, Default)]
pub(crate) struct LinkState(AtomicU8);

impl LinkState {
    const OPEN: u8 = 0;
    const CLOSED_IDLE: u8 = 1;
    const CLOSED: u8 = 2;

    pub fn get(&self) -> Link {
        match self.0.load(Ordering::Acquire) {
            Self::OPEN => Link::Open,
            Self::CLOSED_IDLE => Link::ClosedIdle,
            _ => Link::Closed,
        }
    }

    /// Records the driver's result. tokio-postgres ends a connection with the server's own error
    /// only when that error answers no request: nothing of ours was in flight, so every request
    /// still queued on it was never written.
    fn end(&self, result: &std::result::Result<(), tokio_postgres::Error>) {
        let state = match result {
            Err(e) if e.as_db_error().is_some() => Self::CLOSED_IDLE,
            _ => Self::CLOSED,
        };
        self.0.store(state, Ordering::Release);
    }
}

async fn drive<F>(connection: F, target: String, link: Arc<LinkState>)
where
    F: Future<Output = std::result::Result<(), tokio_postgres::Error>>,
{
    let mut connection = std::pin::pin!(connection);
    // The state is recorded before the connection (and with it every pending request's channel)
    // is dropped, so a request that fails because of the end already sees how it ended.
    let result = std::future::poll_fn(|cx| {
        let polled = connection.as_mut().poll(cx);
        if let Poll::Ready(result) = &polled {
            link.end(result);
        }
        polled
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(target: "taulu::client", url = %target, error = %crate::error::describe_pg(&e), "connection closed with an error");
    }
}

/// A pooled connection: the client, its prepared-statement cache, and a "broken" mark the retry
/// layer sets so a faulty connection is discarded instead of returned to the pool.
pub struct PgConn {
    // Boxed: bb8 moves the connection in and out of its queue and through every checkout
    // future; a tokio-postgres `Client` is ~200 bytes, its box is one pointer.
    pub(super) client: Box<Client>,
    statements: Mutex<StatementCache>,
    cache_size: usize,
    /// With the cache off (PgBouncer mode): the database's own types, learned at connect.
    types: Option<Box<LearnedTypes>>,
    pub(super) broken: AtomicBool,
    link: Arc<LinkState>,
}

impl PgConn {
    async fn statement(&self, sql: &str) -> PgResult<Statement> {
        if let Some(s) = self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(sql) {
            return Ok(s);
        }
        // Boxed, like every cold path here: it would otherwise swell each query's future.
        let stmt = Box::pin(self.client.prepare(sql)).await?;
        self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(
            sql,
            stmt.clone(),
            self.cache_size,
        );
        Ok(stmt)
    }

    /// The parameters with their PostgreSQL types, for an unnamed statement (the cache is off):
    /// those known by name only (a generated enum, OID 0) resolved to this database's OIDs. A value
    /// with no type (one made with [`Param::new`]) gets the type the server infers for it, asked
    /// for first (two more round trips), as a prepared statement would.
    async fn typed_params<'q>(
        &self,
        q: &'q Compiled,
    ) -> PgResult<Vec<(&'q (dyn tokio_postgres::types::ToSql + Sync), Type)>> {
        let described = match q.params.iter().all(|p| p.sql_type().is_some()) {
            true => None,
            false => Some(Box::pin(self.describe_params(&q.sql)).await?),
        };
        let typed = q.params.iter().enumerate().map(|(i, p)| {
            let ty = match (p.sql_type(), &described) {
                (Some(ty), _) => ty.clone(),
                (None, Some(described)) => described.get(i).cloned().unwrap_or(Type::UNKNOWN),
                (None, None) => Type::UNKNOWN,
            };
            let ty = self.types.as_ref().and_then(|types| types.resolve(&ty)).unwrap_or(ty);
            (p.as_sql(), ty)
        });
        Ok(typed.collect())
    }

    /// The parameter types the server infers for `sql`, asked without leaving a prepared statement
    /// behind: prepared by name inside a transaction (so, through PgBouncer in transaction mode,
    /// on one server connection) that deallocates it before it commits.
    async fn describe_params(&self, sql: &str) -> PgResult<Vec<Type>> {
        self.client.batch_execute("BEGIN").await?;
        match self.client.prepare(sql).await {
            Ok(stmt) => {
                self.client.batch_execute("DEALLOCATE ALL; COMMIT").await?;
                Ok(stmt.params().to_vec())
            }
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    }

    pub(super) async fn query(&self, q: &Compiled) -> PgResult<Vec<Row>> {
        use futures_util::TryStreamExt as _;
        if self.cache_size == 0 {
            // Unnamed statements (for PgBouncer in transaction mode): Parse/Bind/Execute in one go.
            // Boxed: the cached path below is the hot one; these futures would double its size.
            return Box::pin(async { self.client.query_typed(q.sql.as_str(), &self.typed_params(q).await?).await })
                .await;
        }
        let stmt = self.statement(&q.sql).await?;
        // query_raw takes the parameters as an iterator: no Vec of references per query.
        self.client.query_raw(&stmt, q.params.iter().map(Param::as_sql)).await?.try_collect().await
    }

    /// Every row, each decoded by `Q` as it arrives: no `Vec` of rows, which would regrow (and
    /// free) as the result comes in. A row that does not decode is the inner error, once every row
    /// has been read (the connection is left with nothing in flight).
    pub(super) async fn query_decoded<Q: Query>(&self, q: &Compiled) -> PgResult<Result<Vec<Q::Output>>> {
        use futures_util::TryStreamExt as _;
        if self.cache_size == 0 {
            return Ok(crate::query::decode_all::<Q>(&Box::pin(self.query(q)).await?));
        }
        let stmt = self.statement(&q.sql).await?;
        let rows = self.client.query_raw(&stmt, q.params.iter().map(Param::as_sql)).await?;
        let mut rows = std::pin::pin!(rows);
        let (mut out, mut failed) = (Vec::new(), None);
        while let Some(row) = rows.try_next().await? {
            if failed.is_none() {
                match Q::decode(&row) {
                    Ok(v) => out.push(v),
                    Err(e) => failed = Some(e),
                }
            }
        }
        Ok(failed.map_or(Ok(out), Err))
    }

    /// The rows as a stream, read as they are consumed.
    pub(super) async fn query_stream(&self, q: &Compiled) -> PgResult<tokio_postgres::RowStream> {
        if self.cache_size == 0 {
            return Box::pin(async { self.client.query_typed_raw(q.sql.as_str(), self.typed_params(q).await?).await })
                .await;
        }
        let stmt = self.statement(&q.sql).await?;
        self.client.query_raw(&stmt, q.params.iter().map(Param::as_sql)).await
    }

    /// The first row (the rest are read and dropped): no `Vec` for the common one-row fetch.
    pub(super) async fn query_first(&self, q: &Compiled) -> PgResult<Option<Row>> {
        use futures_util::TryStreamExt as _;
        if self.cache_size == 0 {
            // Boxed: the cold path's future would otherwise be the largest part of this one.
            return Ok(Box::pin(self.query(q)).await?.into_iter().next());
        }
        let stmt = self.statement(&q.sql).await?;
        let rows = self.client.query_raw(&stmt, q.params.iter().map(Param::as_sql)).await?;
        let mut rows = std::pin::pin!(rows);
        let mut first = None;
        while let Some(row) = rows.try_next().await? {
            first.get_or_insert(row);
        }
        Ok(first)
    }

    pub(super) async fn execute(&self, q: &Compiled) -> PgResult<u64> {
        if self.cache_size == 0 {
            return Box::pin(async { self.client.execute_typed(q.sql.as_str(), &self.typed_params(q).await?).await })
                .await;
        }
        let stmt = self.statement(&q.sql).await?;
        self.client.execute_raw(&stmt, q.params.iter().map(Param::as_sql)).await
    }

    /// The underlying client (for what the builder does not cover).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How the connection's driver ended ([`Link::Open`] while it runs).
    pub(crate) fn link(&self) -> Link {
        self.link.get()
    }

    /// Marks the connection for discarding when it goes back to the pool.
    pub(crate) fn mark_broken(&self) {
        self.broken.store(true, Ordering::Relaxed);
    }
}

/// Prepared statements by SQL text, bounded, evicting the least recently used: a hit stamps the
/// entry with a counter; a miss on a full cache drops the entry with the oldest stamp (a scan, on
/// the cold path only). Dropping a `Statement` closes it on the server.
#[derive(Default)]
struct StatementCache {
    map: HashMap<String, (Statement, u64), SqlHash>,
    clock: u64,
}

impl StatementCache {
    fn get(&mut self, sql: &str) -> Option<Statement> {
        let (stmt, used) = self.map.get_mut(sql)?;
        self.clock += 1;
        *used = self.clock;
        Some(stmt.clone())
    }

    fn insert(&mut self, sql: &str, stmt: Statement, capacity: usize) {
        if self.map.len() >= capacity
            && let Some(oldest) = self.map.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone())
        {
            self.map.remove(&oldest);
        }
        self.clock += 1;
        self.map.insert(sql.to_owned(), (stmt, self.clock));
    }
}

/// The statement cache's hasher: the SQL text is hashed on every query, so it goes a word at a
/// time (the FxHash mix). SipHash's DoS resistance buys nothing here (the keys are the program's
/// own statements) and costs several times as much on a 100-byte statement.
#[derive(Clone, Copy, Default)]
struct SqlHash;

/// The hasher state.
struct SqlHasher(u64);

impl std::hash::BuildHasher for SqlHash {
    type Hasher = SqlHasher;
    fn build_hasher(&self) -> SqlHasher {
        SqlHasher(0)
    }
}

impl SqlHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for SqlHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }
    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The database's own types (enums, domains, composite and range types, extensions' types, and
/// their arrays), learned when a connection opens in PgBouncer mode.
///
/// tokio-postgres learns a type it does not know (an enum in a result, say) the first time it
/// meets it, with catalog statements it prepares by name and keeps. Through PgBouncer in
/// transaction mode the next transaction may run in another server session, where those names do
/// not exist (or, worse, name another client's statement). So every such type is learned here at
/// once, inside one transaction (one server session), and the names are deallocated before it
/// commits: from then on the driver's type cache answers every lookup. Parameters whose type is
/// known by name only (a generated enum and its arrays) are sent with these OIDs.
#[derive(Default)]
struct LearnedTypes {
    by_name: HashMap<(String, String), Type>,
    array_of: HashMap<u32, Type>,
}

/// The database's own types: outside the system schemas, without tables' row types (and their
/// arrays).
const OWN_TYPES: &str = "SELECT t.oid FROM pg_catalog.pg_type t \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)' \
     AND t.typtype <> 'p' \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid IN (t.typrelid, e.typrelid) AND c.relkind <> 'c') \
     ORDER BY t.oid";

impl LearnedTypes {
    async fn learn(client: &Client) -> PgResult<Self> {
        let oids: Vec<u32> = client
            .simple_query(OWN_TYPES)
            .await?
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
                _ => None,
            })
            .collect();
        let mut learned = LearnedTypes::default();
        if oids.is_empty() {
            return Ok(learned);
        }
        client.batch_execute("BEGIN").await?;
        let described = async {
            let mut types = Vec::with_capacity(oids.len());
            for chunk in oids.chunks(1000) {
                let declared: Vec<Type> =
                    chunk.iter().map(|&oid| Type::new(String::new(), oid, Kind::Simple, String::new())).collect();
                let text = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                // The driver looks up each parameter's type: that is the learning.
                let stmt = client.prepare_typed(&format!("SELECT {text}"), &declared).await?;
                types.extend_from_slice(stmt.params());
            }
            client.batch_execute("DEALLOCATE ALL; COMMIT").await?;
            Ok(types)
        }
        .await;
        let types = match described {
            Ok(types) => types,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        };
        for ty in types {
            if let Kind::Array(element) = ty.kind() {
                learned.array_of.insert(element.oid(), ty.clone());
            }
            learned.by_name.insert((ty.schema().to_owned(), ty.name().to_owned()), ty);
        }
        Ok(learned)
    }

    /// `ty` with its OID, when it is known by name only.
    fn resolve(&self, ty: &Type) -> Option<Type> {
        if ty.oid() != 0 {
            return None;
        }
        match ty.kind() {
            Kind::Array(element) => {
                let element = self.resolve(element).unwrap_or_else(|| element.clone());
                self.array_of.get(&element.oid()).cloned()
            }
            _ => self.by_name.get(&(ty.schema().to_owned(), ty.name().to_owned())).cloned(),
        }
    }
}

/// Opens connections for bb8.
pub struct Manager {
    pub(super) url: DatabaseUrl,
    pub(super) connect_timeout: Duration,
    pub(super) statement_timeout: Option<Duration>,
    pub(super) cache_size: usize,
    /// Set by `Db::close`: no new connections, and every connection returned is closed.
    pub(super) closing: Arc<AtomicBool>,
    /// Told of every connection opened (callers waiting out a restart retry at once).
    pub(super) outcomes: Arc<super::pool::ConnectOutcomes>,
}

impl bb8::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = Error;

    async fn connect(&self) -> Result<PgConn> {
        if self.closing.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let Opened { client, link, driver: _ } = open(&self.url, self.connect_timeout).await?;
        // The setup is part of opening: a connection lost during it (a bouncer or server stopping
        // just after accepting us) is a connect failure, retried as one, not a statement's.
        let setup = connect_failed(&self.url);
        if let Some(t) = self.statement_timeout {
            client.batch_execute(&format!("SET statement_timeout = {}", t.as_millis())).await.map_err(setup)?;
        }
        let types = match self.cache_size {
            0 => Some(Box::new(LearnedTypes::learn(&client).await.map_err(setup)?)),
            _ => None,
        };
        self.outcomes.opened();
        Ok(PgConn {
            client: Box::new(client),
            statements: Mutex::new(StatementCache::default()),
            cache_size: self.cache_size,
            types,
            broken: AtomicBool::new(false),
            link,
        })
    }

    async fn is_valid(&self, conn: &mut PgConn) -> Result<()> {
        // Boxed: this future is part of every checkout's future (bb8 embeds it even with
        // `test_on_check_out(false)`), and every byte of it is copied on each checkout.
        Box::pin(conn.client.simple_query("")).await.map(|_| ()).map_err(Error::Db)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        let broken = conn.broken.load(Ordering::Relaxed)
            || conn.client.is_closed()
            || conn.link() != Link::Open
            || self.closing.load(Ordering::Relaxed);
        if broken {
            tracing::debug!(target: "taulu::pool", "discarding a broken connection");
        }
        broken
    }
}

pub(crate) type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;
