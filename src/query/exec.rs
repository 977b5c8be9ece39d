//! Running compiled queries: [`Executor`] is anything that can run SQL with parameters (the pool
//! `Db`, a pooled connection, a tokio-postgres client or transaction). It receives SQL text already
//! rendered; it never builds any.

use std::future::Future;

use tokio_postgres::{Row, types::ToSql};

use super::value::Param;
use crate::Error;

/// A rendered statement: SQL text and its parameters.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The SQL text with `$n` placeholders.
    pub sql: String,
    /// The parameters, `$1` first.
    pub params: Vec<Param>,
    /// True for a SELECT: safe to re-run after a connection fault.
    pub read_only: bool,
}

impl Compiled {
    /// The parameters as tokio-postgres takes them.
    pub fn param_refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(Param::as_sql).collect()
    }

    /// The parameters with their PostgreSQL types, when every one has a known type (always for
    /// values bound through the builder; not for raw `sql(..).bind(..)` values).
    pub fn typed_params(&self) -> Option<Vec<(&(dyn ToSql + Sync), tokio_postgres::types::Type)>> {
        self.params.iter().map(|p| Some((p.as_sql(), p.sql_type()?.clone()))).collect()
    }
}

/// A query that can run: it has a column list, and `Output` is its row type.
#[diagnostic::on_unimplemented(
    message = "this query has no column list yet",
    label = "add `.columns((..))` or `.all()` before fetching"
)]
pub trait Query {
    /// The type of one result row (`Send`: rows are decoded as they arrive, inside a statement's
    /// future).
    type Output: Send;
    #[doc(hidden)]
    fn compile(&self) -> Compiled;
    #[doc(hidden)]
    fn decode(row: &tokio_postgres::Row) -> Result<Self::Output, Error>;
}

/// Runs `q` and decodes every row as query `Q` reads them (shared by SELECT and RETURNING).
pub(crate) fn fetch_rows<Q: Query, E: Executor>(
    db: &E,
    q: &Compiled,
) -> impl Future<Output = Result<Vec<Q::Output>, Error>> + Send {
    db.query_decoded::<Q>(q)
}

/// Decodes every row as query `Q` reads them.
pub(crate) fn decode_all<Q: Query>(rows: &[Row]) -> Result<Vec<Q::Output>, Error> {
    // Sized once: collecting a fallible iterator into `Result<Vec<_>>` knows no length and regrows.
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(Q::decode(row)?);
    }
    Ok(out)
}

/// `EXPLAIN statement` (or `EXPLAIN (ANALYZE, BUFFERS)`, which runs it): PostgreSQL's plan,
/// one line per row, with the statement's own values bound. Without ANALYZE nothing runs, so it is
/// read-only whatever the statement; with it, a write is a write (applied, never retried).
pub(crate) async fn explain<E: Executor>(db: &E, q: Compiled, analyze: bool) -> Result<Vec<String>, Error> {
    let sql = format!("EXPLAIN {}{}", if analyze { "(ANALYZE, BUFFERS) " } else { "" }, q.sql);
    let q = Compiled { sql, params: q.params, read_only: q.read_only || !analyze };
    let rows = db.query_rows(&q).await?;
    rows.iter().map(|r| r.try_get::<_, String>(0).map_err(Error::from)).collect()
}

/// Decodes the first row of a result, if any (a plain function: every async layer between the
/// caller and the pool would copy the whole query future once more per query).
pub(crate) fn decode_first<Q: Query>(row: Option<Row>) -> Result<Option<Q::Output>, Error> {
    row.as_ref().map(Q::decode).transpose()
}

/// Rows as they arrive from the server, not buffered: see [`Executor::query_stream`].
pub type RowStream<'a> = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Row, Error>> + Send + 'a>>;

/// Something that can run a [`Compiled`] statement.
pub trait Executor: Sync {
    /// Runs a statement and returns its rows as a stream, read from the connection as they are
    /// consumed (memory stays flat whatever the result's size). The default buffers (executors
    /// that can stream override it). A stream is never retried: a failure mid-way is an error
    /// item.
    fn query_stream(&self, q: Compiled) -> impl Future<Output = Result<RowStream<'_>, Error>> + Send {
        async move {
            let rows = self.query_rows(&q).await?;
            Ok(Box::pin(futures_util::stream::iter(rows.into_iter().map(Ok))) as RowStream<'_>)
        }
    }
    /// Runs a statement that returns rows.
    fn query_rows(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;
    /// Runs a statement and returns its first row, if any (further rows are read and dropped).
    fn query_first(&self, q: &Compiled) -> impl Future<Output = Result<Option<Row>, Error>> + Send {
        async move { Ok(self.query_rows(q).await?.into_iter().next()) }
    }
    /// Runs a statement and returns the number of rows it affected.
    fn execute(&self, q: &Compiled) -> impl Future<Output = Result<u64, Error>> + Send;
    /// Runs a statement and returns its rows decoded by query `Q`. The default decodes what
    /// [`query_rows`](Self::query_rows) returns; the pool decodes rows as they arrive.
    #[doc(hidden)]
    fn query_decoded<Q: Query>(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Q::Output>, Error>> + Send {
        async move { decode_all::<Q>(&self.query_rows(q).await?) }
    }
}

impl Executor for tokio_postgres::Client {
    async fn query_stream(&self, q: Compiled) -> Result<RowStream<'_>, Error> {
        use futures_util::TryStreamExt as _;
        tracing::trace!(target: "taulu::query", sql = %q.sql, "query stream");
        let rows = self.query_raw(q.sql.as_str(), q.params.iter().map(Param::as_sql)).await?;
        Ok(Box::pin(rows.map_err(Error::Db)))
    }

    async fn query_rows(&self, q: &Compiled) -> Result<Vec<Row>, Error> {
        tracing::trace!(target: "taulu::query", sql = %q.sql, "query");
        Ok(self.query(q.sql.as_str(), &q.param_refs()).await?)
    }

    async fn execute(&self, q: &Compiled) -> Result<u64, Error> {
        tracing::trace!(target: "taulu::query", sql = %q.sql, "execute");
        Ok(tokio_postgres::Client::execute(self, q.sql.as_str(), &q.param_refs()).await?)
    }
}

impl Executor for tokio_postgres::Transaction<'_> {
    async fn query_rows(&self, q: &Compiled) -> Result<Vec<Row>, Error> {
        tracing::trace!(target: "taulu::query", sql = %q.sql, "query in transaction");
        Ok(self.query(q.sql.as_str(), &q.param_refs()).await?)
    }

    async fn execute(&self, q: &Compiled) -> Result<u64, Error> {
        tracing::trace!(target: "taulu::query", sql = %q.sql, "execute in transaction");
        Ok(tokio_postgres::Transaction::execute(self, q.sql.as_str(), &q.param_refs()).await?)
    }
}

/// A connection that can open a transaction: a client (`BEGIN`), or a transaction (`SAVEPOINT`,
/// so transactions nest).
pub trait Transactional {
    /// Opens the transaction (or savepoint).
    fn begin(&mut self) -> impl Future<Output = Result<tokio_postgres::Transaction<'_>, Error>> + Send;
}

impl Transactional for tokio_postgres::Client {
    async fn begin(&mut self) -> Result<tokio_postgres::Transaction<'_>, Error> {
        Ok(self.transaction().await?)
    }
}

impl Transactional for tokio_postgres::Transaction<'_> {
    async fn begin(&mut self) -> Result<tokio_postgres::Transaction<'_>, Error> {
        Ok(self.transaction().await?)
    }
}

/// Runs `f` inside a transaction: COMMIT when it returns `Ok`, ROLLBACK when it returns `Err` or
/// panics (the transaction is rolled back when dropped). Called with a transaction, it nests as a
/// SAVEPOINT: the inner part can fail and roll back alone.
///
/// ```no_run
/// # async fn f(client: &mut tokio_postgres::Client) -> Result<(), taulu::Error> {
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let id = taulu::transaction(client, async |tx| {
///     let (id,) = insert_into::<Users>()
///         .values(users::Insert::new("ann", "ann@example.com", "h"))
///         .returning((users::id,))
///         .fetch_one(tx)
///         .await?;
///     Ok(id)
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn transaction<C, T, F>(conn: &mut C, f: F) -> Result<T, Error>
where
    C: Transactional,
    F: for<'t, 'c> AsyncFnOnce(&'t mut tokio_postgres::Transaction<'c>) -> Result<T, Error>,
{
    let lost = |e: &tokio_postgres::Error| crate::retry::is_connection_fault(e, crate::retry::Link::Open);
    let mut tx = conn.begin().await.map_err(|e| match e {
        Error::Db(db) if lost(&db) => Error::NotCommitted { source: db },
        e => e,
    })?;
    match f(&mut tx).await {
        Ok(value) => match tx.commit().await {
            Ok(()) => Ok(value),
            // Lost while COMMIT was in flight: it may have committed.
            Err(e) if lost(&e) => Err(Error::Ambiguous { source: e }),
            Err(e) => Err(e.into()),
        },
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(target: "taulu::query", error = %rollback, "rollback failed after an error");
            }
            Err(match e {
                Error::Db(db) if lost(&db) => Error::NotCommitted { source: db },
                e => e,
            })
        }
    }
}
