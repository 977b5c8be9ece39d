//! The guide: how to use taulu, construct by construct, with the SQL each part sends. Every
//! example is a doc test, compiled (and where it needs no server, run) in `cargo test`; most use
//! the reference app's schema (`taulu_app::schema`), where yours would use your own module.
//!
//! - [`migrations`]: migration files in the layout you have, the runner, the CLI, adopting a
//!   database another tool migrated.
//! - [`schema`]: `schema!`, the types it generates, how SQL types map, views, JSON, the startup
//!   drift check.
//! - [`queries`]: the builder, every construct and the SQL it renders, and the mistakes that do not
//!   compile.
//! - [`sql`]: `sql!`, hand-written SQL typed at build time and confirmed by PREPARE in tests.
//! - [`pool`]: `Db`, configuration, what is retried, errors to match on, time limits, shutdown,
//!   LISTEN/NOTIFY, multiplexing, metrics and tracing.
//! - [`scaling_out`]: PgBouncer, read replicas, failover.
//! - [`testing`]: a fresh database per test, fault and log helpers.
//! - [`coming_from_sqlx`], [`coming_from_diesel`]: an existing project adopts taulu in place, each
//!   shown whole on a crate of the workspace (`examples/from-sqlx`, `examples/from-diesel`), whose
//!   tests run the converted code on a real PostgreSQL.

#[doc = include_str!("guide/migrations.md")]
pub mod migrations {}

#[doc = include_str!("guide/schema.md")]
pub mod schema {}

#[doc = include_str!("guide/queries.md")]
pub mod queries {}

#[doc = include_str!("guide/sql.md")]
pub mod sql {}

#[doc = include_str!("guide/pool.md")]
pub mod pool {}

#[doc = include_str!("guide/scaling_out.md")]
pub mod scaling_out {}

#[doc = include_str!("guide/testing.md")]
pub mod testing {}

/// # Coming from sqlx
///
/// A project on sqlx keeps its migrations directory, its database and the text of its
/// statements. What changes is where the types come from: taulu reads the migrations at build
/// time (no `DATABASE_URL`, no `.sqlx/` directory to keep in sync) and types each statement
/// against them.
///
/// ## 1. Point taulu at the directory you have
///
/// `sqlx migrate add` makes `<version>_<description>.sql` files (or `.up.sql`/`.down.sql` pairs
/// with `-r`); taulu reads them where they are, in that layout (detected, or named):
///
/// ```
/// // src/db.rs (here a module of the doc test)
/// mod db {
///     taulu::schema!("migrations", module = crate::db);      // or layout = "sqlx"
///     pub static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
/// }
/// # fn main() {}
/// ```
///
/// with a `build.rs` holding `println!("cargo::rerun-if-changed=migrations");`. One-way files
/// migrate up (`taulu migrate down` says why it cannot go below them); `-- no-transaction` runs a
/// file outside a transaction, as sqlx does. A file no layout reads, or a directory mixing
/// layouts, fails the build naming the file.
///
/// ## 2. Take over the database in place
///
/// ```text
/// taulu migrate adopt --from sqlx
/// ```
///
/// reads `_sqlx_migrations`, refuses a failed entry or a version without a file here, and records
/// the same versions as applied in taulu's table. No file is renamed or written, and sqlx's table
/// is left as it was (going back to sqlx stays possible).
///
/// ## 3. Statements: change the macro's name, nothing else
///
/// | sqlx | taulu |
/// |---|---|
/// | `sqlx::query!(sql, args..)` | `db::sql!(sql, args..)` |
/// | `sqlx::query_as!(T, sql, args..)` | `db::sql!(as T, sql, args..)`, `T: taulu::FromRow` |
/// | `sqlx::query_scalar!(sql, args..)` | `db::sql!(scalar, sql, args..)` |
/// | `.fetch_all(&pool)`, `.fetch_one`, `.fetch_optional`, `.execute` | the same, on a [`Db`](crate::Db), a [`Tx`](crate::Tx) or a connection |
///
/// sqlx's column overrides keep their meaning: `AS "name!"` (NOT NULL), `AS "name?"` (nullable),
/// `AS "name: Type"` (read as `Type`), `AS "name!: Type"`, `AS "name?: Type"`.
///
/// ```no_run
/// use taulu_app::schema::{self, sql};
///
/// #[derive(Debug, taulu::FromRow)]                     // was #[derive(sqlx::FromRow)]
/// struct Account {
///     id: uuid::Uuid,
///     username: String,
///     display_name: Option<String>,
/// }
///
/// async fn examples(db: &taulu::Db, email: &str) -> taulu::Result<()> {
///     // query! with overrides: `role` is read as the generated enum, `shown` as an Option.
///     let rows = sql!(
///         r#"SELECT id AS "id!", system_role AS "role: schema::Sysrole", display_name AS "shown?"
///            FROM users WHERE email = $1"#,
///         email
///     )
///     .fetch_all(db)
///     .await?;
///     let _: (uuid::Uuid, schema::Sysrole, &Option<String>) = (rows[0].id, rows[0].role, &rows[0].shown);
///
///     // query_as!: the struct's fields are checked against the columns at build time.
///     let accounts: Vec<Account> =
///         sql!(as Account, "SELECT id, username, display_name FROM users ORDER BY username").fetch_all(db).await?;
///
///     // query_scalar!
///     let n: i64 = sql!(scalar, "SELECT count(*) FROM users").fetch_one(db).await?;
///
///     // sqlx's bulk insert: one statement, the columns as arrays.
///     sql!(
///         "INSERT INTO login_attempts (identifier, success) SELECT * FROM UNNEST($1::text[], $2::bool[])",
///         vec!["ann".to_owned()],
///         vec![true]
///     )
///     .execute(db)
///     .await?;
///     let _ = (accounts, n);
///     Ok(())
/// }
/// ```
///
/// ## What is different
///
/// - **No database at build time.** `sql!` types with PostgreSQL's grammar and a copy of its
///   catalog; on real projects its types agree with what PREPARE says (the `taulu-corpus` tool
///   measures that: `docs/benchmarks.md`). CI needs no database to build.
/// - **Enums are generated** from `CREATE TYPE .. AS ENUM`: the hand-written
///   `#[derive(sqlx::Type)]` copy goes; an enum label that does not exist (`'pubic'`) is a
///   compile error with a did-you-mean, as PREPARE would refuse it.
/// - **Nullability is inferred further**: a column proven by WHERE (`x = $1`, `x IS NOT NULL`) or
///   an inner join is NOT NULL, an outer join's side is `Option`, `->>` is `Option`. Many `"x!"`
///   overrides become unnecessary; they still work.
/// - **What `sql!` refuses**, it refuses at build time with the reason and a caret under the place
///   (an untyped `$1` with no context, an unnamed column, transaction control). The builder
///   ([`select_from`](crate::query::select_from), ..) is there for queries assembled at run time.
/// - **The pool**: `PgPool::connect(url)` becomes [`taulu::db()`](crate::db) (from `DATABASE_URL`)
///   or [`Db::connect`](crate::Db::connect); `pool.begin()` becomes
///   [`db.transaction(async |tx| ..)`](crate::Db::transaction), which commits or rolls back for you.
///   Reads are retried on a connection fault; a write whose outcome is unknown is reported as such,
///   never repeated.
pub mod coming_from_sqlx {}

/// # Coming from diesel
///
/// A project on diesel keeps its migrations directory and its database. `schema.rs` (written by
/// `diesel print-schema` from a live database) goes: `schema!` types the same tables from the
/// migrations at build time, so the Rust side cannot fall behind the SQL.
///
/// ## 1. Point taulu at the directory you have
///
/// `diesel migration generate` makes `<timestamp>_<name>/up.sql` and `down.sql`; taulu reads them
/// in place (`diesel_initial_setup` included: its functions are modelled like any other):
///
/// ```
/// // src/db.rs (here a module of the doc test)
/// mod db {
///     taulu::schema!("migrations", module = crate::db);      // or layout = "diesel"
///     pub static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
/// }
/// # fn main() {}
/// ```
///
/// A migration's `metadata.toml` with `run_in_transaction = false` runs outside a transaction,
/// as diesel does. Then `taulu migrate adopt --from diesel` takes over the database: it reads
/// `__diesel_schema_migrations` and records the same versions as applied, writing no file.
///
/// ## 2. Queries: the builder reads like the DSL
///
/// | diesel | taulu |
/// |---|---|
/// | `users::table.filter(users::email.eq(e))` | `select_from::<Users>().where_(users::email.eq(e))` |
/// | `.select((users::id, users::email))` | `.columns((users::id, users::email))` |
/// | `.select(User::as_select())` / `.load::<User>` | `.all()` (the generated `users::Row`) or `.fetch_all_as::<T>` with `#[derive(taulu::FromRow)]` |
/// | `.order(users::created_at.desc())`, `.limit(n)` | `.order_by(users::created_at.desc())`, `.limit(n)` |
/// | `a::table.inner_join(b::table)` (by `joinable!`) | `.inner_join(b::id, a::b_id)`: the join columns are written, not declared |
/// | `.group_by(x).select((x, count_star()))` | `.group_by((x,)).columns((x, count_all()))` |
/// | `insert_into(t).values(&NewUser { .. })` | `insert_into::<Users>().values(users::Insert::new(..).with_x(..))` |
/// | `update(t.find(id)).set(c.eq(v))` | `update::<Users>().set(c, v).where_(users::id.eq(id))` |
/// | `delete(t.filter(..))` | `delete_from::<Users>().where_(..)` |
/// | `.returning(..)`, `.get_result(conn)` | `.returning((..))` / `.returning_all()`, `.fetch_one(db)` |
/// | `.load(conn)`, `.first(conn)`, `.execute(conn)` | `.fetch_all(db)`, `.fetch_one(db)`, `.execute(db)`: async, on a pool |
///
/// ```no_run
/// use taulu::prelude::*;
/// use taulu_app::schema::{LoginAttempts, Users, login_attempts, users};
///
/// async fn examples(db: &taulu::Db) -> taulu::Result<()> {
///     // users::table.filter(users::username.eq("ann")).select((users::id, users::email)).first(conn)
///     let (id, email): (uuid::Uuid, String) = select_from::<Users>()
///         .where_(users::username.eq("ann"))
///         .columns((users::id, users::email))
///         .fetch_one(db)
///         .await?;
///
///     // login_attempts::table.group_by(login_attempts::identifier)
///     //     .select((login_attempts::identifier, count_star())).load::<(String, i64)>(conn)
///     let per_identifier: Vec<(String, i64)> = select_from::<LoginAttempts>()
///         .group_by((login_attempts::identifier,))
///         .columns((login_attempts::identifier, count_all()))
///         .fetch_all(db)
///         .await?;
///
///     // diesel::update(users::table.find(id)).set(users::display_name.eq("Ann")).execute(conn)
///     update::<Users>().set(users::display_name, "Ann").where_(users::id.eq(id)).execute(db).await?;
///     let _ = (email, per_identifier);
///     Ok(())
/// }
/// ```
///
/// ## What is different
///
/// - **Async and pooled**: queries run on a [`Db`](crate::Db) (bb8 over tokio-postgres), a
///   transaction is [`db.transaction(async |tx| ..)`](crate::Db::transaction); reads are retried
///   on a connection fault, writes never repeated.
/// - **No `joinable!` or `allow_tables_to_appear_in_same_query!`**: a join names its columns, and
///   a column from a table that is not in the query is a compile error.
/// - **SQL the builder does not cover** is written as SQL and still typed at build time:
///   `sql!` (the macro a `schema!` module exports; see [`coming_from_sqlx`]), where diesel
///   needed `sql_query` and a hand-written `QueryableByName` struct.
pub mod coming_from_diesel {}
