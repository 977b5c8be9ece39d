//! Statements written in SQL and typed at build time by `sql!` (the macro `schema!` emits next to
//! the tables): [`TypedSql`] runs them on any [`Executor`] like a built query, and
//! [`SqlShape`] is what the macro inferred, which [`crate::testing::check_sql`] compares with
//! PostgreSQL's own answer.

use std::marker::PhantomData;

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
        Compiled { sql: self.shape.sql.to_owned(), params: self.params.clone(), read_only: self.shape.read_only }
    }
}

impl<R: FromRow> TypedSql<R> {
    /// Runs the statement and returns every row.
    pub async fn fetch_all<E: super::Executor>(&self, db: &E) -> Result<Vec<R>, Error> {
        db.query_rows(&self.compiled()).await?.iter().map(R::from_row).collect()
    }

    /// Runs the statement and returns its first row, or [`Error::NoRows`]. (The statement is sent
    /// as written: add `LIMIT 1` to it when it could return many rows.)
    pub async fn fetch_one<E: super::Executor>(&self, db: &E) -> Result<R, Error> {
        self.fetch_optional(db).await?.ok_or(Error::NoRows)
    }

    /// Runs the statement and returns its first row, if any.
    pub async fn fetch_optional<E: super::Executor>(&self, db: &E) -> Result<Option<R>, Error> {
        db.query_first(&self.compiled()).await?.as_ref().map(R::from_row).transpose()
    }

    /// Runs the statement and returns the number of rows it affected (or returned).
    pub async fn execute<E: super::Executor>(&self, db: &E) -> Result<u64, Error> {
        db.execute(&self.compiled()).await
    }
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
