//! # taulu
//!
//! A type-safe PostgreSQL data layer for Rust, in the spirit of Kysely + kysely-codegen, built on
//! tokio-postgres. The schema comes from plain SQL migration files (golang-migrate naming); the
//! [`schema!`] macro turns them into types at build time; a Kysely-like builder whose mistakes are
//! compile errors writes the SQL; a bb8 pool with a safe retry layer runs it.
//!
//! ```no_run
//! mod schema {
//!     taulu::schema!("migrations"); // your migrations directory: types at build time
//! }
//! static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
//!
//! use schema::{Members, members, orgs};
//! use taulu::prelude::*;
//! # async fn f(user_id: uuid::Uuid) -> taulu::Result<()> {
//! let db = taulu::db()?; // the process-wide pool, from DATABASE_URL
//! taulu::migrate::Migrator::new(&MIGRATIONS).up(db.get().await?.client(), None).await?;
//! let orgs: Vec<(String, String, schema::Role)> = select_from::<Members>()
//!     .inner_join(orgs::id, members::org_id)
//!     .where_(members::user_id.eq(user_id))
//!     .columns((orgs::name, orgs::slug, members::member_role))
//!     .fetch_all(db)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! - [`schema!`]: typed tables, columns, rows, inserts and enums from your migration files;
//!   [`migrations!`]: the same files embedded for the runner.
//! - [`query`]: the builder (`select_from`, `insert_into`, `update`, `delete_from`, [`transaction`]).
//! - [`Db`], [`db()`], [`Tx`], [`retry`]: the pool, its transactions and what it retries;
//!   [`Error::kind`] says what went wrong in terms a caller can act on.
//! - [`migrate`]: the runner (`up`, `down`, `status`, `force`, `verify`).
//! - [`LocalCluster`]: a self-started server; `testing` (cargo feature `testing`): per-test
//!   databases of your schema and `#[taulu::test]`.
//! - [`DatabaseUrl`] / [`connect`]: connection strings that never print their password.
//! - [`guide`]: coming from sqlx or diesel, in place.

#![warn(missing_docs)]

// Doc examples and generated code name this crate `::taulu`.
extern crate self as taulu;

mod client;
mod error;
pub mod guide;
pub mod local;
pub mod meta;
pub mod migrate;
pub mod query;
pub mod retry;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use client::{
    DATABASE_REPLICA_URLS, DATABASE_URL, DEFAULT_CONNECT_TIMEOUT, DatabaseUrl, Db, DbConfig, IsolationLevel,
    ListenEvent, Listener, Manager, Notification, OnPrimary, PGSSLROOTCERT, PgConn, PoolStatus, PooledConn,
    ReplicaHealth, ReplicaStatus, Session, Timed, Tx, connect, db,
};
pub use error::{Error, ErrorKind, MigrationFailure, MigrationOutcome, Result};
pub use local::LocalCluster;
pub use query::transaction;
pub use query::{
    Column, FromRow, InsertValue, Insertable, Interval, NotNull, Nullability, Nullable, Raw, SqlEnum, Table, Writable,
};

/// The Rust types columns read as and values are written from, and the crates they come from, so
/// a crate using taulu needs no dependency of its own (and no version to match) for them.
///
/// ```
/// use taulu::types::{DateTime, Decimal, Json, Utc, Uuid};
///
/// let id: Uuid = Uuid::nil();
/// let at: DateTime<Utc> = DateTime::UNIX_EPOCH;
/// let price: Decimal = "9.99".parse().unwrap();
/// let body = Json(taulu::types::serde_json::json!({ "id": id, "at": at, "price": price }));
/// assert_eq!(body.0["price"], "9.99");
/// ```
pub mod types {
    pub use crate::query::{Interval, Json, Raw};
    pub use chrono::{self, DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
    pub use rust_decimal::{self, Decimal};
    pub use serde_json::{self, Value as JsonValue};
    pub use std::net::IpAddr;
    pub use uuid::{self, Uuid};
}

/// What a module using the builder needs: `use taulu::prelude::*;`.
pub mod prelude {
    pub use crate::query::{
        ArrayMethods as _, ColumnOf as _, Executor, ExpressionMethods as _, FilterExt as _, JsonMethods as _,
        OverExt as _, Query as _, avg, case, case_when, coalesce, count, count_all, current_date, current_timestamp,
        delete_from, excluded, exists, greatest, insert_into, least, length, lower, max, min, not, not_exists, now,
        nullif, on_true, partition_by, row_number, scalar, select_from, select_no_from, sql, substring, sum, trim,
        update, upper, val,
    };
    pub use crate::{Column, Error, FromRow, Table, Writable};
}

/// `#[taulu::test]` (cargo feature `testing`): an async test that receives a fresh database of its
/// own, cloned from a template with the migrations applied (built once per migration set).
///
/// ```no_run
/// use taulu::testing::TestDb;
///
/// static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
///
/// #[taulu::test(migrations = MIGRATIONS)] // or `migrations = "dir"`; default "migrations"
/// async fn signs_up(db: TestDb) -> taulu::Result<()> {
///     db.client().execute("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme')", &[]).await?;
///     Ok(())
/// }
/// ```
///
/// The test runs on a current-thread tokio runtime, like `#[tokio::test]`; the database is
/// dropped when the test ends.
#[cfg(feature = "testing")]
pub use taulu_macros::test;

/// A migrations directory embedded in the binary, for the runner: `NNNNNN_description.up.sql`
/// and `.down.sql` files, checked at build time with the runner's own rules (names, up/down
/// pairs, unique versions, no `BEGIN`/`COMMIT` in a transactional file): a bad set fails the
/// build naming the file. The path is relative to the crate root (`CARGO_MANIFEST_DIR`).
///
/// ```
/// static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
///
/// # async fn startup(client: &tokio_postgres::Client) -> taulu::Result<()> {
/// // at startup, before serving:
/// taulu::migrate::Migrator::new(&MIGRATIONS).up(client, None).await?;
/// # Ok(()) }
/// assert!(MIGRATIONS.len() >= 3);
/// ```
///
/// Editing a file rebuilds the crate (each is an `include_str!` input). Cargo sees an *added* or
/// *removed* file only through a build script: add `println!("cargo::rerun-if-changed=migrations");`
/// to your `build.rs`.
pub use taulu_macros::migrations;

/// `#[derive(taulu::FromRow)]`: reads a struct from a row, fields in declaration order; the
/// builder's `select_as` / `fetch_all_as` check the fields' types against the query's columns.
pub use taulu_macros::FromRow;
/// Typed tables, columns, rows, inserts and enums, derived at build time from a directory of
/// migration files (`NNNNNN_description.up.sql`), with no database.
///
/// ```
/// mod db {
///     taulu::schema!("migrations"); // relative to the crate root (CARGO_MANIFEST_DIR)
/// }
/// use taulu::{Column, Table};
/// assert_eq!(db::LoginAttempts::NAME, "login_attempts");
/// assert_eq!(<db::users::system_role as Column>::SQL_TYPE, "sysrole");
/// assert_eq!(db::SCHEMA.enums[1].labels, ["owner", "admin", "member"]);
/// ```
///
/// The macro parses every `*.up.sql` in version order with PostgreSQL's own grammar (libpg_query)
/// and replays it: `CREATE TABLE` (with `LIKE`, identity, serial, generated columns, primary keys),
/// `ALTER TABLE` (add/drop/rename/retype columns, NOT NULL, defaults, identity, rename, set schema),
/// `DROP TABLE`, enums (`CREATE TYPE .. AS ENUM`, `ADD VALUE`, `RENAME VALUE`, rename, drop),
/// domains, `PARTITION OF` / `INHERITS`, `SET search_path` (per file), extensions' types; `TEMP`
/// tables are not part of the schema. Statements that do not change table shapes (indexes,
/// functions, triggers, views, `DO` blocks, grants, seed data, ...) are skipped. Anything it
/// cannot apply fails the build with `file:line` and the reason.
///
/// It emits, in the module where it is invoked:
/// - per table, a marker (`Users`, implementing [`Table`]) and a module (`users`) with a
///   zero-sized marker per column (`users::email`, implementing [`Column`]), the row struct
///   `users::Row` (every column; nullable ones as `Option`) and the insert struct `users::Insert`
///   (required columns as fields, optional ones as `Option`, identity ALWAYS / generated columns
///   absent);
/// - per enum, a Rust enum (`Role`) with `ToSql`/`FromSql`, `Display`, `FromStr` and [`SqlEnum`];
/// - `SCHEMA`, a [`meta::Schema`] describing every table, column and enum.
///
/// Tables and types of schemas other than `public` go into a module named after the schema.
/// SQL types map to: `smallint`/`integer`/`bigint` -> `i16`/`i32`/`i64`, `real`/`double
/// precision` -> `f32`/`f64`, `numeric` -> `rust_decimal::Decimal`, `boolean` -> `bool`,
/// `text`/`varchar`/`char`/`citext` -> `String`, `uuid` -> `uuid::Uuid`, `date`/`time`/
/// `timestamp`/`timestamptz` -> chrono's `NaiveDate`/`NaiveTime`/`NaiveDateTime`/`DateTime<Utc>`,
/// `json`/`jsonb` -> `serde_json::Value`, `bytea` -> `Vec<u8>`, `inet` -> `IpAddr`, `interval` ->
/// [`Interval`], arrays ->
/// `Vec<T>`, enums -> the generated enum, domains -> their base type. Other PostgreSQL types
/// (`tsvector`, `money`, ranges, extension types, ...) read and write [`Raw`]; a type name that
/// exists nowhere is a compile error naming the column.
///
/// ## JSON, and attributes of your own
///
/// With the `serde` feature (on by default), every generated `Row`, `Insert` and `sql!` row
/// derives `Serialize` and `Deserialize` with the columns' names as field names, and every enum
/// is its SQL label (`"owner"`); `numeric` is a string (a JSON number would round it through
/// `f64`), timestamps RFC 3339, [`Interval`] `{"months", "days", "microseconds"}`. An axum handler
/// returns `Json<users::Row>` as it is. Attributes of your own go on every row and insert
/// (`rows = { .. }`) or every enum (`enums = { .. }`):
///
/// ```
/// mod db {
///     taulu::schema!("migrations", rows = { #[serde(rename_all = "camelCase")] });
/// }
/// let insert = db::orgs::Insert::new("Acme", "acme");
/// let json = serde_json::to_value(&insert).unwrap();
/// assert_eq!(json, serde_json::json!({ "name": "Acme", "slug": "acme", "id": null, "createdAt": null }));
/// let role: db::Role = serde_json::from_str("\"admin\"").unwrap();
/// assert_eq!(role, db::Role::Admin);
/// ```
///
/// Editing a migration file rebuilds the invoking crate (the files are `include_str!` inputs).
/// Adding or removing a file is seen by cargo only through a build script: add
/// `println!("cargo::rerun-if-changed=migrations");` to your `build.rs`.
///
/// ## `sql!`: statements written in SQL, typed at build time
///
/// The expansion also holds a `sql!` macro that types a hand-written statement against the same
/// migrations, with no database: `schema::sql!("SELECT .. WHERE u.email = $1", email)` checks
/// every table and column name, infers each `$n`'s type from its context (and checks the value
/// given for it), and reads each result row into a struct with one field per column. See
/// [`query::TypedSql`] and the guide, [`guide::sql`]. For enum-typed parameters and columns,
/// tell the macro where the schema module is: `taulu::schema!("migrations", module =
/// crate::schema)`.
pub use taulu_macros::schema;

/// Every `sql!` statement in the given source directories, typed against the migrations:
/// `taulu::sql_statements!("migrations", "src", "tests")` (paths relative to the crate root) is a
/// `&'static [`[`query::SqlShape`]`]`, which `taulu::testing::check_sql` (feature `testing`) PREPAREs on a real database to
/// confirm what the macro inferred.
pub use taulu_macros::sql_statements;
