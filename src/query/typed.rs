//! Statements written in SQL and typed at build time by `sql!` (the macro `schema!` emits next to
//! the tables): [`TypedSql`] runs them on any [`Executor`] like a built query, and
//! [`SqlShape`] is what the macro inferred, which [`crate::testing::check_sql`] compares with
//! PostgreSQL's own answer.

use std::{future::Future, marker::PhantomData};

use super::{FromRow, exec::Compiled, value::Param};
use crate::Error;

/// What `sql!` inferred for a statement: PostgreSQL's type names (`int4`, `_text`, `role`) of its
/// parameters and result columns, the columns' names and nullability, and where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlShape {
    /// The statement's text.
    pub sql: &'static str,
    /// The type of `$1`, `$2`, ..
    pub params: &'static [&'static str],
    /// Each result column: (name, type, nullable).
    pub columns: &'static [(&'static str, &'static str, bool)],
    /// Safe to run again after a connection fault (a SELECT without locks or side effects).
    pub read_only: bool,
    /// `file:line` of the `sql!`.
    pub origin: &'static str,
}

/// A statement typed by `sql!`: its text, its parameters (checked against the inferred types at
/// compile time) and its row type `R`, a struct with one field per result column.
///
/// ```no_run
/// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
/// # use taulu_app::schema;
/// let email = "ann@example.com";
/// let user = schema::sql!("SELECT u.id, u.username FROM users u WHERE u.email = $1", email)
///     .fetch_optional(db)
///     .await?;
/// if let Some(user) = user {
///     println!("{} {}", user.id, user.username);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a statement does nothing until it is fetched or executed"]
pub struct TypedSql<R> {
    shape: &'static SqlShape,
    params: Vec<Param>,
    _row: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for TypedSql<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedSql").field("sql", &self.shape.sql).field("params", &self.params).finish()
    }
}

impl<R> TypedSql<R> {
    #[doc(hidden)]
    pub fn __new(shape: &'static SqlShape, params: Vec<Param>) -> Self {
        TypedSql { shape, params, _row: PhantomData }
    }

    /// What the macro inferred.
    pub fn shape(&self) -> &'static SqlShape {
        self.shape
    }

    /// The SQL text and the parameters.
    pub fn to_sql(&self) -> (&'static str, &[Param]) {
        (self.shape.sql, &self.params)
    }

    fn compiled(&self) -> Compiled {
        compiled(self.shape, &self.params)
    }
}

impl<R: FromRow> TypedSql<R> {
    /// Runs the statement and returns every row.
    pub fn fetch_all<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, Vec<PgRow>, Vec<R>> {
        Fetch { inner: all_rows(db, self.compiled()), decode: decode_all::<R> }
    }

    /// Runs the statement and returns its first row, or [`Error::NoRows`]. (The statement is sent
    /// as written: add `LIMIT 1` to it when it could return many rows.)
    pub fn fetch_one<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, Option<PgRow>, R> {
        Fetch { inner: first_row(db, self.compiled()), decode: decode_one::<R> }
    }

    /// Runs the statement and returns its first row, if any.
    pub fn fetch_optional<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, Option<PgRow>, Option<R>> {
        Fetch { inner: first_row(db, self.compiled()), decode: decode_optional::<R> }
    }
}

impl<R> TypedSql<R> {
    /// Runs the statement and returns the number of rows it affected (or returned).
    pub fn execute<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, u64, u64> {
        Fetch { inner: affected(db, self.compiled()), decode: Ok }
    }
}

type PgRow = tokio_postgres::Row;

// Not generic: compiled once, whatever the row type.
fn compiled(shape: &SqlShape, params: &[Param]) -> Compiled {
    Compiled { sql: shape.sql.to_owned(), params: params.to_vec(), read_only: shape.read_only }
}

type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

// Generic over the executor only, not the row type: compiled once per executor type.
fn all_rows<E: super::Executor>(db: &E, q: Compiled) -> Boxed<'_, Vec<PgRow>> {
    Box::pin(async move { db.query_rows(&q).await })
}

fn first_row<E: super::Executor>(db: &E, q: Compiled) -> Boxed<'_, Option<PgRow>> {
    Box::pin(async move { db.query_first(&q).await })
}

fn affected<E: super::Executor>(db: &E, q: Compiled) -> Boxed<'_, u64> {
    Box::pin(async move { db.execute(&q).await })
}

/// The future of a `sql!` fetch (or execute): the statement's rows, then decoded as its row type. Everything
/// generic over the row type is this small poll and a decoding loop: each `sql!` has a row type of
/// its own, so whatever is generic over it is compiled once per statement (the executor's future
/// is boxed, compiled once per executor type).
#[must_use = "futures do nothing unless awaited"]
pub struct Fetch<'a, T, U> {
    inner: Boxed<'a, T>,
    decode: fn(T) -> Result<U, Error>,
}

impl<T, U> Future for Fetch<'_, T, U> {
    type Output = Result<U, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = self.get_mut();
        match this.inner.as_mut().poll(cx) {
            std::task::Poll::Ready(Ok(rows)) => std::task::Poll::Ready((this.decode)(rows)),
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(e)),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

fn decode_one<R: FromRow>(row: Option<PgRow>) -> Result<R, Error> {
    decode_optional(row)?.ok_or(Error::NoRows)
}

fn decode_optional<R: FromRow>(row: Option<PgRow>) -> Result<Option<R>, Error> {
    match row {
        Some(row) => Ok(Some(R::from_row(&row)?)),
        None => Ok(None),
    }
}

/// Every row as `R`: a plain loop (iterator adapters would be compiled once per statement too).
fn decode_all<R: FromRow>(rows: Vec<PgRow>) -> Result<Vec<R>, Error> {
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(R::from_row(row)?);
    }
    Ok(out)
}

/// Every `sql!` of a crate, found by `taulu::sql_statements!` at build time: for
/// [`crate::testing::check_sql`].
pub type SqlStatements = &'static [SqlShape];

/// One statement of a `sql!` accuracy corpus (`taulu::__private::sql_corpus!`): what the macro
/// made of it, or why it refused, and the nullability a person checked by hand, if given.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct CorpusEntry {
    pub line: usize,
    pub sql: &'static str,
    pub typed: Result<SqlShape, &'static str>,
    pub nullable: Option<&'static [bool]>,
}
