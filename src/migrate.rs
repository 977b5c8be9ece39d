//! The migration runner: migration files as they are on disk in the layout of the tool that made
//! them (golang-migrate, sqlx, diesel, refinery), embedded at build time or read at run time,
//! applied one transaction per migration under an advisory lock, recorded with checksums in a
//! version table. It runs SQL it is given; it builds none.
//!
//! # Files
//!
//! One rule set reads every layout, for `schema!`, [`taulu::migrations!`](crate::migrations!),
//! this runner and the CLI alike; a directory's layout is detected (or named:
//! [`Migrations::from_dir_as`], `migrations!("dir", layout = "sqlx")`):
//!
//! | layout | files |
//! |---|---|
//! | golang-migrate | `000001_create_users.up.sql`, `000001_create_users.down.sql` |
//! | sqlx | `20240101120000_create_users.sql` (one way), or `.up.sql` / `.down.sql` |
//! | diesel | `2024-01-01-120000_create_users/up.sql`, `down.sql` (version `20240101120000`) |
//! | refinery | `V1__create_users.sql` (one way; `U1__..` is applied whatever its order), at any depth |
//!
//! Versions are unique; a down file needs its up; a migration without a down file is one way
//! (reverting it is refused, saying so). A `.sql` file the layout reads that fits none of its names
//! is an error naming it (so a typo cannot hide a migration), and so is a directory mixing layouts.
//!
//! # Transactions
//!
//! Each migration runs in its own transaction together with its version-table row: it is applied
//! entirely or not at all. `BEGIN` / `COMMIT` inside a file are therefore rejected, except one
//! plain `BEGIN` as the first statement and `COMMIT` as the last: that is the same one
//! transaction, and the file runs in the runner's.
//!
//! Some statements cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, using an enum label
//! added by `ALTER TYPE ... ADD VALUE` in the same transaction). A file that is one such statement
//! runs outside one; otherwise put this directive on the **first line** of the file (sqlx's own
//! `-- no-transaction`, and diesel's `run_in_transaction = false` in `metadata.toml`, say the
//! same):
//!
//! ```sql
//! -- taulu:no-transaction
//! CREATE INDEX CONCURRENTLY users_created_at_idx ON users (created_at);
//! ```
//!
//! Its statements then run one by one in autocommit mode. Before the first, its version is
//! recorded as *dirty*; the mark is cleared when the last one succeeds. If one fails, the version
//! stays dirty and every runner refuses to continue until a person repairs the database and says
//! what state it is in with [`Migrator::force`] (`taulu migrate force VERSION`).
//!
//! # Checksums
//!
//! The SHA-256 of each up file is recorded when it is applied. If an applied file later changes,
//! `up`, `down` and `status` report it by name and nothing runs until the file is restored or
//! `force` records the new checksum. (Down files are not checksummed: fixing a broken down
//! migration is allowed.)

mod catalog;
// `files` and `split` are symlinks to the macros crate's files (one rule set and one splitter for
// both crates; a symlink, not `#[path]`, so each published package holds its own copy).
mod files;
mod split;

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::Path,
    time::{Duration, Instant},
};

use sha2::{Digest as _, Sha256};
use tokio_postgres::Client;

use crate::{
    client::DatabaseUrl,
    error::{Error, MigrationFailure, MigrationOutcome, Result},
    local::quote_ident,
    retry::{self, Link},
};

pub use files::{Layout, NO_TRANSACTION_DIRECTIVE};

/// How long a runner waits for another runner's migration lock before saying so, and how often
/// it repeats itself while it waits.
const LOCK_REPORT_FIRST: Duration = Duration::from_secs(2);
const LOCK_REPORT_EVERY: Duration = Duration::from_secs(5);

/// sqlx's version table, as sqlx creates it.
const SQLX_HISTORY: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)";

/// The default name of the version table.
pub const DEFAULT_TABLE: &str = "taulu_schema_migrations";

/// One direction of a migration: a file and its SQL.
#[derive(Debug, Clone)]
pub struct Script {
    file: String,
    sql: String,
    transactional: bool,
}

impl Script {
    /// The file name, e.g. `000001_create_initial_tables.up.sql`.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// False when the file starts with [`NO_TRANSACTION_DIRECTIVE`].
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }
}

/// A migration: a version, a name, an up script and, unless it is one way, a down script.
#[derive(Debug, Clone)]
pub struct Migration {
    version: i64,
    name: String,
    up: Script,
    down: Option<Script>,
    checksum: String,
    unordered: bool,
}

impl Migration {
    /// The version number (the leading digits of the file name; diesel's without its dashes).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The description part of the file (or diesel directory) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The up script.
    pub fn up(&self) -> &Script {
        &self.up
    }

    /// The down script; `None` for a one-way migration (sqlx's simple files, refinery's, an up
    /// file without its down).
    pub fn down(&self) -> Option<&Script> {
        self.down.as_ref()
    }

    /// Hex SHA-256 of the up file.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }
}

/// An ordered, validated set of migrations.
///
/// ```
/// use taulu::migrate::{Layout, Migrations};
/// let set = Migrations::from_files([
///     ("000001_init.up.sql", "CREATE TABLE t (id int);"),
///     ("000001_init.down.sql", "DROP TABLE t;"),
/// ])?;
/// assert_eq!((set.layout(), set.iter().next().unwrap().name()), (Layout::GolangMigrate, "init"));
///
/// // sqlx's one-way files, diesel's directories, refinery's names: read as they are.
/// let sqlx = Migrations::from_files([("20240101120000_users.sql", "CREATE TABLE users (id int);")])?;
/// assert_eq!((sqlx.layout(), sqlx.iter().next().unwrap().down().is_none()), (Layout::Sqlx, true));
/// let diesel = Migrations::from_files([
///     ("2024-01-01-120000_users/up.sql", "CREATE TABLE users (id int);"),
///     ("2024-01-01-120000_users/down.sql", "DROP TABLE users;"),
/// ])?;
/// assert_eq!(diesel.iter().next().unwrap().version(), 20240101120000);
///
/// let err = Migrations::from_files([("000002_only.down.sql", "SELECT 1;")]).unwrap_err();
/// assert!(err.to_string().contains("000002_only.down.sql: has no up migration"));
/// # Ok::<(), taulu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Migrations {
    items: Vec<Migration>,
    layout: Layout,
}

impl Default for Migrations {
    fn default() -> Self {
        Migrations { items: Vec::new(), layout: Layout::GolangMigrate }
    }
}

/// A directory of migrations embedded in the binary by [`taulu::migrations!`](crate::migrations!):
/// the value an application keeps in a `static` and hands to the runner and to `TestDb`. It
/// dereferences to [`Migrations`], parsed on first use.
///
/// ```
/// static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
///
/// assert_eq!(MIGRATIONS.dir(), "migrations");
/// let first = MIGRATIONS.iter().next().unwrap();
/// assert_eq!((first.version(), first.name()), (1, "create_initial_tables"));
/// let migrator = taulu::migrate::Migrator::new(&MIGRATIONS);
/// # let _ = migrator;
/// ```
pub struct Embedded {
    dir: &'static str,
    layout: &'static str,
    files: &'static [(&'static str, &'static str)],
    parsed: std::sync::OnceLock<Migrations>,
}

impl Embedded {
    /// Used by `taulu::migrations!`, which has checked the files with the rules
    /// [`Migrations::from_files_as`] applies, in `layout`.
    #[doc(hidden)]
    pub const fn __new(
        dir: &'static str,
        layout: &'static str,
        files: &'static [(&'static str, &'static str)],
    ) -> Self {
        Embedded { dir, layout, files, parsed: std::sync::OnceLock::new() }
    }

    /// The directory as the macro was given it.
    pub fn dir(&self) -> &'static str {
        self.dir
    }

    /// The migrations, parsed on first use.
    pub fn migrations(&self) -> &Migrations {
        self.parsed.get_or_init(|| {
            let layout = Layout::named(self.layout).ok();
            match layout.map(|l| Migrations::from_files_as(l, self.files.iter().copied())) {
                Some(Ok(set)) => set,
                // `migrations!` ran the same rules (the same source file) on the same files.
                Some(Err(e)) => unreachable!("taulu::migrations! accepted a set Migrations rejects: {e}"),
                None => unreachable!("taulu::migrations! named an unknown layout {:?}", self.layout),
            }
        })
    }
}

impl std::ops::Deref for Embedded {
    type Target = Migrations;

    fn deref(&self) -> &Migrations {
        self.migrations()
    }
}

impl fmt::Debug for Embedded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Embedded").field("dir", &self.dir).field("files", &self.files.len()).finish()
    }
}

impl Migrations {
    /// Reads a directory in its layout, detected from its files (see the [module](self) docs).
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::read_dir(dir.as_ref(), None)
    }

    /// Reads a directory in the layout given.
    pub fn from_dir_as(dir: impl AsRef<Path>, layout: Layout) -> Result<Self> {
        Self::read_dir(dir.as_ref(), Some(layout))
    }

    fn read_dir(dir: &Path, layout: Option<Layout>) -> Result<Self> {
        let files = files::read_dir(dir).map_err(|e| Error::MigrationFile { file: e.file.into(), reason: e.reason })?;
        Self::checked(layout, &files)
    }

    /// Builds a set from `(path in the directory, contents)` pairs (`2024-01-01-120000_x/up.sql`
    /// for a diesel directory's file), in the layout they show, checking names and versions.
    pub fn from_files<N: Into<String>, S: Into<String>>(files: impl IntoIterator<Item = (N, S)>) -> Result<Self> {
        Self::checked(None, &Self::dir_files(files))
    }

    /// [`Migrations::from_files`] in the layout given.
    pub fn from_files_as<N: Into<String>, S: Into<String>>(
        layout: Layout,
        files: impl IntoIterator<Item = (N, S)>,
    ) -> Result<Self> {
        Self::checked(Some(layout), &Self::dir_files(files))
    }

    fn dir_files<N: Into<String>, S: Into<String>>(files: impl IntoIterator<Item = (N, S)>) -> Vec<files::DirFile> {
        let mut files: Vec<files::DirFile> = files
            .into_iter()
            .map(|(n, s)| {
                let name: String = n.into();
                files::DirFile { path: name.clone().into(), name, text: s.into() }
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        files
    }

    fn checked(layout: Option<Layout>, files: &[files::DirFile]) -> Result<Self> {
        let (layout, checked) =
            files::check(layout, files).map_err(|e| Error::MigrationFile { file: e.file.into(), reason: e.reason })?;
        let script = |s: files::CheckedScript| Script { file: s.file, sql: s.sql, transactional: s.transactional };
        let items = checked
            .into_iter()
            .map(|m| Migration {
                version: m.version,
                name: m.name,
                checksum: hex(&Sha256::digest(m.up.original.as_deref().unwrap_or(&m.up.sql).as_bytes())),
                up: script(m.up),
                down: m.down.map(script),
                unordered: m.unordered,
            })
            .collect();
        Ok(Migrations { items, layout })
    }

    /// The layout the files were read in.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.items.iter()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.items.iter().find(|m| m.version == version)
    }

    /// A short hex digest of every version, name and checksum: equal sets have equal fingerprints.
    /// Used to name template databases.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for m in &self.items {
            h.update(m.version.to_be_bytes());
            h.update(m.name.as_bytes());
            h.update(m.checksum.as_bytes());
            h.update(m.down.as_ref().map_or("", |d| d.sql.as_str()).as_bytes());
        }
        hex(&h.finalize()[..8])
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A migration tool whose version table [`Migrator::adopt`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// golang-migrate: `schema_migrations (version bigint, dirty boolean)`, one row.
    GolangMigrate,
    /// sqlx: `_sqlx_migrations (version, description, installed_on, success, checksum, ..)`.
    Sqlx,
    /// diesel: `__diesel_schema_migrations (version varchar, run_on)`.
    Diesel,
    /// refinery: `refinery_schema_history (version, name, applied_on, checksum)`.
    Refinery,
}

impl Tool {
    const ALL: [Tool; 4] = [Tool::GolangMigrate, Tool::Sqlx, Tool::Diesel, Tool::Refinery];

    /// Its name on the command line: `golang-migrate`, `sqlx`, `diesel`, `refinery`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::GolangMigrate => "golang-migrate",
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Refinery => "refinery",
        }
    }

    /// Its version table.
    pub fn table(self) -> &'static str {
        match self {
            Tool::GolangMigrate => "schema_migrations",
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Refinery => "refinery_schema_history",
        }
    }
}

impl std::str::FromStr for Tool {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Tool::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown tool {s:?}: golang-migrate, sqlx, diesel or refinery"))
    }
}

impl std::str::FromStr for Layout {
    type Err = String;

    /// `golang-migrate`, `sqlx`, `diesel` or `refinery`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Layout::named(s)
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`Migrator::adopt`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// The tool whose history was adopted.
    pub tool: Tool,
    /// The latest version now recorded as applied (0: none).
    pub version: i64,
    /// How many versions the tool had applied.
    pub recorded: usize,
}

/// What `up` did for one migration.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Version applied.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// How long it took.
    pub duration: Duration,
}

/// The state of one migration in [`Status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Applied, and the file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Failed part-way outside a transaction; see [`Migrator::force`].
    Dirty,
    /// Applied, but the up file changed since.
    Modified,
    /// Applied in the database, but no file has this version.
    MissingFile,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Dirty => "DIRTY",
            State::Modified => "MODIFIED",
            State::MissingFile => "NO FILE",
        })
    }
}

/// One row of [`Status`].
#[derive(Debug, Clone)]
pub struct StatusEntry {
    /// Version.
    pub version: i64,
    /// Name (from the file, or from the database when the file is missing).
    pub name: String,
    /// State.
    pub state: State,
    /// When it was applied (UTC, `YYYY-MM-DD HH:MM:SS`), if it was.
    pub applied_at: Option<String>,
    /// How long it took, if recorded.
    pub duration_ms: Option<i64>,
}

/// Applied and pending migrations, in version order. `Display` prints a table.
#[derive(Debug, Clone)]
pub struct Status {
    /// One entry per version known to the files or the database.
    pub entries: Vec<StatusEntry>,
}

impl Status {
    /// Entries in this state.
    pub fn count(&self, state: State) -> usize {
        self.entries.iter().filter(|e| e.state == state).count()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.entries.iter().map(|e| e.name.len()).max().unwrap_or(4).max(4);
        writeln!(f, "{:<8} {:<width$}  {:<8}  {:<23}  DURATION", "VERSION", "NAME", "STATE", "APPLIED AT (UTC)")?;
        for e in &self.entries {
            let at = e.applied_at.as_deref().unwrap_or("-");
            let took = e.duration_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms"));
            writeln!(f, "{:06}   {:<width$}  {:<8}  {at:<23}  {took}", e.version, e.name, e.state.to_string())?;
        }
        let mut summary = format!("{} applied, {} pending", self.count(State::Applied), self.count(State::Pending));
        for state in [State::Dirty, State::Modified, State::MissingFile] {
            let n = self.count(state);
            if n > 0 {
                summary.push_str(&format!(", {n} {}", state.to_string().to_lowercase()));
            }
        }
        write!(f, "{summary}")
    }
}

/// What `verify` checked.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Migrations applied, and applied again after the reverted ones were.
    pub migrations: usize,
    /// The newest migrations reverted one by one (all of them but one-way migrations and those
    /// below the newest one-way migration).
    pub reverted: usize,
    /// Schema objects compared after the up passes.
    pub objects: usize,
}

/// A row of the version table.
#[derive(Debug)]
struct Row {
    version: i64,
    name: String,
    checksum: String,
    applied_at: String,
    duration_ms: Option<i64>,
    dirty: bool,
}

/// Applies, reverts and inspects a [`Migrations`] set on a database.
///
/// ```no_run
/// # async fn run(client: &tokio_postgres::Client) -> taulu::Result<()> {
/// use taulu::migrate::{Embedded, Migrator};
/// static MIGRATIONS: Embedded = taulu::migrations!("migrations");
///
/// let migrator = Migrator::new(&MIGRATIONS);
/// let applied = migrator.up(client, None).await?;
/// println!("{} applied\n{}", applied.len(), migrator.status(client).await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Migrations,
    table: String,
}

impl Migrator {
    /// A migrator of (a copy of) `migrations`, recording into [`DEFAULT_TABLE`].
    pub fn new(migrations: &Migrations) -> Self {
        Migrator { migrations: migrations.clone(), table: DEFAULT_TABLE.to_owned() }
    }

    /// Records into another version table (in the connection's `search_path`).
    pub fn with_table(mut self, table: &str) -> Self {
        self.table = table.to_owned();
        self
    }

    /// The migrations this migrator applies.
    pub fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    fn table_sql(&self) -> String {
        quote_ident(&self.table)
    }

    /// Applies pending migrations in version order, at most `limit` of them (all when `None`).
    ///
    /// Holds an advisory lock for the whole run, so concurrent runners apply each migration
    /// exactly once. Fails without running anything when a migration is dirty, an applied file
    /// changed, an applied version has no file, or a pending migration is older than an applied one.
    pub async fn up(&self, client: &Client, limit: Option<usize>) -> Result<Vec<Applied>> {
        self.locked(client, async {
            let rows = self.checked_rows(client).await?;
            let latest = rows.keys().next_back().copied().unwrap_or(0);
            let pending: Vec<&Migration> = self.migrations.iter().filter(|m| !rows.contains_key(&m.version)).collect();
            if let Some(m) = pending.iter().find(|m| m.version < latest && !m.unordered) {
                return Err(Error::OutOfOrder {
                    file: m.up.file.clone(),
                    latest_applied: latest,
                });
            }
            let pending: Vec<&Migration> = pending.into_iter().take(limit.unwrap_or(usize::MAX)).collect();
            // sqlx's own history table, for sqlx migrations that edit it (one that deletes a
            // library's rows from it, say): on a database sqlx never migrated it is made as sqlx
            // makes it, empty, so they run as they did under sqlx.
            if self.migrations.layout == Layout::Sqlx && pending.iter().any(|m| m.up.sql.contains("_sqlx_migrations")) {
                client.batch_execute(SQLX_HISTORY).await?;
            }
            let mut done = Vec::new();
            for m in pending {
                let duration = self.run(client, m, Direction::Up).await?;
                tracing::info!(target: "taulu::migrate", version = m.version, name = %m.name, ms = duration.as_millis() as u64, "applied");
                done.push(Applied {
                    version: m.version,
                    name: m.name.clone(),
                    duration,
                });
            }
            Ok(done)
        })
        .await
    }

    /// Reverts the `count` most recently applied migrations, newest first.
    pub async fn down(&self, client: &Client, count: usize) -> Result<Vec<Applied>> {
        self.locked(client, async {
            let rows = self.checked_rows(client).await?;
            let reverting: Vec<&Migration> = rows
                .keys()
                .rev()
                .take(count)
                .map(|v| self.migrations.get(*v).expect("checked_rows verified every applied version has a file"))
                .collect();
            if let Some(m) = reverting.iter().find(|m| m.down.is_none()) {
                return Err(Error::MigrationFile {
                    file: m.up.file.clone().into(),
                    reason: format!(
                        "is a one-way migration (no down file, as {}'s one-way migrations are): version {} cannot \
                         be reverted, so nothing was",
                        self.migrations.layout.name(),
                        m.version
                    ),
                });
            }
            let mut done = Vec::new();
            for m in reverting {
                let duration = self.run(client, m, Direction::Down).await?;
                tracing::info!(target: "taulu::migrate", version = m.version, name = %m.name, ms = duration.as_millis() as u64, "reverted");
                done.push(Applied {
                    version: m.version,
                    name: m.name.clone(),
                    duration,
                });
            }
            Ok(done)
        })
        .await
    }

    /// Lists every migration with its state. Read-only: it creates nothing.
    pub async fn status(&self, client: &Client) -> Result<Status> {
        let rows = self.rows(client).await?;
        let versions: BTreeSet<i64> = rows.keys().copied().chain(self.migrations.iter().map(|m| m.version)).collect();
        let entries = versions
            .into_iter()
            .map(|v| {
                let file = self.migrations.get(v);
                let row = rows.get(&v);
                let state = match (file, row) {
                    (_, Some(r)) if r.dirty => State::Dirty,
                    (None, Some(_)) => State::MissingFile,
                    (Some(m), Some(r)) if r.checksum != m.checksum => State::Modified,
                    (Some(_), Some(_)) => State::Applied,
                    (_, None) => State::Pending,
                };
                StatusEntry {
                    version: v,
                    name: file.map(|m| m.name.clone()).or_else(|| row.map(|r| r.name.clone())).unwrap_or_default(),
                    state,
                    applied_at: row.map(|r| r.applied_at.clone()),
                    duration_ms: row.and_then(|r| r.duration_ms),
                }
            })
            .collect();
        Ok(Status { entries })
    }

    /// Declares that exactly the migrations up to and including `version` are applied (a version
    /// below every file's, such as 0 or -1, for none),
    /// without running any SQL of theirs: clears a dirty mark, records current checksums, removes
    /// rows above `version` and rows without a file. Use it after repairing a database by hand.
    pub async fn force(&self, client: &Client, version: i64) -> Result<()> {
        let lowest = self.migrations.iter().map(|m| m.version).min();
        if self.migrations.get(version).is_none() && lowest.is_some_and(|l| version >= l) {
            return Err(Error::MigrationFile {
                file: format!("version {version}").into(),
                reason: "no migration file has this version".into(),
            });
        }
        self.locked(client, async {
            let t = self.table_sql();
            let known: Vec<i64> = self.migrations.iter().map(|m| m.version).collect();
            in_transaction(client, async {
                client
                    .execute(&format!("DELETE FROM {t} WHERE version > $1 OR version <> ALL($2)"), &[&version, &known])
                    .await?;
                for m in self.migrations.iter().filter(|m| m.version <= version) {
                    client
                        .execute(
                            &format!(
                                "INSERT INTO {t} (version, name, checksum, dirty) VALUES ($1, $2, $3, false)
                                 ON CONFLICT (version) DO UPDATE
                                 SET name = excluded.name, checksum = excluded.checksum, dirty = false"
                            ),
                            &[&m.version, &m.name, &m.checksum],
                        )
                        .await?;
                }
                Ok(())
            })
            .await?;
            tracing::info!(target: "taulu::migrate", version, "forced");
            Ok(())
        })
        .await
    }

    /// Takes over a database migrated by another tool: reads `tool`'s version table, checks that
    /// every version it records has a file here (and, for tools that record each version, that
    /// none of ours below its latest is missing), refuses a dirty or failed entry, and records the
    /// equivalent baseline with this set's checksums ([`Migrator::force`] to the latest version).
    /// Nothing of the other tool's is changed. Running it again records the same baseline.
    ///
    /// The files stay as they are, in the tool's own layout (see the [module](self) docs): no
    /// file is renamed or written. diesel's `00000000000000_diesel_initial_setup` is version 0
    /// here too; a set without it skips it.
    pub async fn adopt(&self, client: &Client, tool: Tool) -> Result<Adopted> {
        let refuse = |reason: String| Error::MigrationFile { file: tool.table().into(), reason };
        let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&tool.table()]).await?.get(0);
        if !exists {
            return Err(refuse(format!(
                "no {} version table in this database (looked for {} in the search_path)",
                tool.name(),
                tool.table()
            )));
        }
        let (mut applied, dirty): (Vec<i64>, Vec<i64>) = match tool {
            Tool::GolangMigrate => {
                let rows = client.query("SELECT version, dirty FROM schema_migrations", &[]).await?;
                let dirty = rows.iter().filter(|r| r.get::<_, bool>(1)).map(|r| r.get(0)).collect();
                // One row: the current version; every migration up to it is applied.
                let latest: Option<i64> = rows.iter().map(|r| r.get(0)).max();
                let mut versions: Vec<i64> =
                    self.migrations.iter().map(|m| m.version).filter(|v| Some(*v) <= latest).collect();
                versions.extend(latest); // (its file may be missing here: reported below)
                (versions, dirty)
            }
            Tool::Sqlx => {
                let rows = client.query("SELECT version, success FROM _sqlx_migrations ORDER BY version", &[]).await?;
                let failed = rows.iter().filter(|r| !r.get::<_, bool>(1)).map(|r| r.get(0)).collect();
                (rows.iter().map(|r| r.get(0)).collect(), failed)
            }
            Tool::Diesel => {
                let rows = client.query("SELECT version FROM __diesel_schema_migrations", &[]).await?;
                let mut versions = Vec::new();
                for r in &rows {
                    let text: String = r.get(0);
                    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                    match digits.parse::<i64>() {
                        // diesel's initial setup, when the files here do not have it.
                        Ok(0) if self.migrations.get(0).is_none() => {}
                        Ok(v) => versions.push(v),
                        Err(_) => return Err(refuse(format!("version {text:?} is not a number"))),
                    }
                }
                (versions, Vec::new())
            }
            Tool::Refinery => {
                let rows = client.query("SELECT version::int8 FROM refinery_schema_history", &[]).await?;
                (rows.iter().map(|r| r.get(0)).collect(), Vec::new())
            }
        };
        if let Some(v) = dirty.first() {
            return Err(refuse(format!(
                "{} recorded version {v} as dirty or failed: repair the database and resolve it with {} first",
                tool.name(),
                tool.name()
            )));
        }
        applied.sort_unstable();
        applied.dedup();
        let latest = applied.last().copied().unwrap_or(0);
        let unknown: Vec<String> =
            applied.iter().filter(|v| self.migrations.get(**v).is_none()).map(i64::to_string).collect();
        if !unknown.is_empty() {
            return Err(refuse(format!(
                "{} records versions without a file here: {}; add their files (the same versions)",
                tool.name(),
                unknown.join(", ")
            )));
        }
        let missing: Vec<String> = self
            .migrations
            .iter()
            .map(|m| m.version)
            .filter(|v| *v <= latest && applied.binary_search(v).is_err())
            .map(|v| v.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(refuse(format!(
                "{} never applied versions {} below its latest ({latest}): a baseline cannot say what state they are in",
                tool.name(),
                missing.join(", ")
            )));
        }
        let ours: Vec<i64> = self
            .status(client)
            .await?
            .entries
            .iter()
            .filter(|e| e.state != State::Pending)
            .map(|e| e.version)
            .collect();
        if !ours.is_empty() && ours != applied {
            return Err(refuse(format!(
                "{} already records versions {:?} here; adopting would replace that history",
                self.table, ours
            )));
        }
        self.force(client, latest).await?;
        tracing::info!(target: "taulu::migrate", tool = tool.name(), version = latest, "adopted");
        Ok(Adopted { tool, version: latest, recorded: applied.len() })
    }

    /// Checks that the migrations round-trip, on a scratch database created on `server` (and
    /// dropped afterwards): up all, down all, up all. Each down must restore exactly the schema
    /// seen before its up, and the second up pass must give the schema of the first. Compared:
    /// tables, columns (type, nullability, default, identity, generated), constraints, indexes,
    /// enums with label order, domains, views, sequences, functions, triggers, extensions.
    pub async fn verify(&self, server: &DatabaseUrl) -> Result<VerifyReport> {
        let admin = crate::client::connect(server).await?;
        let scratch = format!("taulu_verify_{}", random_suffix());
        admin.batch_execute(&format!("CREATE DATABASE {}", quote_ident(&scratch))).await?;
        tracing::debug!(target: "taulu::migrate", database = %scratch, "verify: created scratch database");
        let result = async {
            let url = server.with_dbname(&scratch);
            let conn = crate::client::open(&url, url.connect_timeout()).await?;
            let report = self.verify_on(&conn.client).await;
            // Say goodbye before the scratch database is dropped, so no session of ours is
            // terminated (and logged as a connection that closed with an error).
            conn.close().await;
            report
        }
        .await;
        let dropped =
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&scratch))).await;
        tracing::debug!(target: "taulu::migrate", database = %scratch, ok = dropped.is_ok(), "verify: dropped scratch database");
        let report = result?;
        dropped?;
        Ok(report)
    }

    async fn verify_on(&self, client: &Client) -> Result<VerifyReport> {
        let mut before = Vec::with_capacity(self.migrations.len());
        for m in &self.migrations {
            before.push(catalog::snapshot(client, &self.table).await?);
            self.up(client, Some(1)).await?;
            tracing::debug!(target: "taulu::migrate", version = m.version, "verify: applied");
        }
        let first_pass = catalog::snapshot(client, &self.table).await?;
        // Newest first, down to the newest one-way migration (nothing below it can be reverted).
        let reversible = self.migrations.iter().rev().take_while(|m| m.down.is_some()).count();
        for (m, expected) in self.migrations.iter().zip(&before).rev().take(reversible) {
            self.down(client, 1).await?;
            let found = catalog::snapshot(client, &self.table).await?;
            let differences = catalog::diff(expected, &found);
            if !differences.is_empty() {
                let down = m.down.as_ref().map_or("", |d| d.file.as_str());
                return Err(Error::Verify {
                    differences: differences
                        .into_iter()
                        .map(|d| format!("{down} does not reverse {}: {d}", m.up.file))
                        .collect(),
                });
            }
        }
        self.up(client, None).await?;
        let second_pass = catalog::snapshot(client, &self.table).await?;
        let differences = catalog::diff(&first_pass, &second_pass);
        if !differences.is_empty() {
            return Err(Error::Verify {
                differences: differences
                    .into_iter()
                    .map(|d| format!("the second up pass differs from the first: {d}"))
                    .collect(),
            });
        }
        Ok(VerifyReport { migrations: self.migrations.len(), reverted: reversible, objects: first_pass.len() })
    }

    /// Runs `f` holding the runner's advisory lock (released even when `f` fails).
    async fn locked<T>(&self, client: &Client, f: impl Future<Output = Result<T>>) -> Result<T> {
        let key = self.lock_key();
        self.acquire_lock(client, key).await?;
        let result = async {
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (
                        version     bigint      PRIMARY KEY,
                        name        text        NOT NULL,
                        checksum    text        NOT NULL,
                        applied_at  timestamptz NOT NULL DEFAULT now(),
                        duration_ms bigint,
                        dirty       boolean     NOT NULL DEFAULT false
                    )",
                    self.table_sql()
                ))
                .await?;
            f.await
        }
        .await;
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await;
        let value = result?;
        unlocked?;
        Ok(value)
    }

    /// Takes the advisory lock by polling `pg_try_advisory_lock`, never by blocking in
    /// `pg_advisory_lock`: a session blocked in that call holds a snapshot, and a `CREATE INDEX
    /// CONCURRENTLY` run by the lock's holder waits for every such snapshot to go away, which
    /// PostgreSQL reports as a deadlock. Every [`LOCK_REPORT_EVERY`] of waiting it logs who holds
    /// the lock.
    async fn acquire_lock(&self, client: &Client, key: i64) -> Result<()> {
        let started = Instant::now();
        let mut reported: Option<Instant> = None;
        let mut delay = Duration::from_millis(20);
        loop {
            let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await?.get(0);
            if got {
                if reported.is_some() {
                    tracing::info!(target: "taulu::migrate", waited_ms = started.elapsed().as_millis() as u64, "got the migration lock");
                }
                return Ok(());
            }
            if reported.is_none_or(|at| at.elapsed() >= LOCK_REPORT_EVERY) && started.elapsed() >= LOCK_REPORT_FIRST {
                let holder = client
                    .query_opt(
                        "SELECT a.pid, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                                coalesce(a.state, ''), coalesce(a.application_name, ''),
                                coalesce(host(a.client_addr), 'local')
                         FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                           AND l.classid = (($1::bigint >> 32) & 4294967295)::oid
                           AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1",
                        &[&key],
                    )
                    .await?;
                match holder {
                    Some(h) => {
                        let (pid, since, state, app, addr): (i32, String, String, String, String) =
                            (h.get(0), h.get(1), h.get(2), h.get(3), h.get(4));
                        tracing::warn!(
                            target: "taulu::migrate",
                            "waiting for the migration lock held by pid {pid} since {since} UTC (state: {state}, application: {app:?}, from {addr}); \
                             if that runner crashed, the server frees the lock when it notices the lost connection, \
                             or end it with SELECT pg_terminate_backend({pid})"
                        );
                    }
                    None => {
                        tracing::warn!(target: "taulu::migrate", "waiting for the migration lock (its holder just released it)")
                    }
                }
                reported = Some(Instant::now());
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }

    fn lock_key(&self) -> i64 {
        let digest = Sha256::digest(format!("taulu-migrate:{}", self.table).as_bytes());
        i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
    }

    async fn rows(&self, client: &Client) -> Result<BTreeMap<i64, Row>> {
        let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.table_sql()]).await?.get(0);
        if !exists {
            return Ok(BTreeMap::new());
        }
        let rows = client
            .query(
                &format!(
                    "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),
                            duration_ms, dirty
                     FROM {} ORDER BY version",
                    self.table_sql()
                ),
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let row = Row {
                    version: r.get(0),
                    name: r.get(1),
                    checksum: r.get(2),
                    applied_at: r.get(3),
                    duration_ms: r.get(4),
                    dirty: r.get(5),
                };
                (row.version, row)
            })
            .collect())
    }

    /// The applied rows, after refusing dirty, modified and unknown ones.
    async fn checked_rows(&self, client: &Client) -> Result<BTreeMap<i64, Row>> {
        let rows = self.rows(client).await?;
        for row in rows.values() {
            if row.dirty {
                return Err(Error::Dirty {
                    version: row.version,
                    name: row.name.clone(),
                    previous: rows.range(..row.version).next_back().map_or(0, |(v, _)| *v),
                });
            }
            let Some(m) = self.migrations.get(row.version) else {
                return Err(Error::UnknownApplied { version: row.version, name: row.name.clone() });
            };
            if m.checksum != row.checksum {
                return Err(Error::ChecksumMismatch {
                    version: m.version,
                    file: m.up.file.clone(),
                    applied: row.checksum.clone(),
                    current: m.checksum.clone(),
                });
            }
        }
        Ok(rows)
    }

    /// Runs one script and records it; returns how long its statements took.
    async fn run(&self, client: &Client, m: &Migration, direction: Direction) -> Result<Duration> {
        let t = self.table_sql();
        let script = match (direction, &m.down) {
            (Direction::Up, _) => &m.up,
            (Direction::Down, Some(down)) => down,
            (Direction::Down, None) => unreachable!("down() refuses one-way migrations before running any"),
        };
        let insert =
            format!("INSERT INTO {t} (version, name, checksum, duration_ms, dirty) VALUES ($1, $2, $3, $4, $5)");
        let delete = format!("DELETE FROM {t} WHERE version = $1");

        if script.transactional {
            let mut failed_statement = true;
            let took = in_transaction(client, async {
                let started = Instant::now();
                execute_statements(client, script, MigrationOutcome::RolledBack).await?;
                let took = started.elapsed();
                match direction {
                    Direction::Up => {
                        let ms = took.as_millis() as i64;
                        client.execute(&insert, &[&m.version, &m.name, &m.checksum, &ms, &false]).await?
                    }
                    Direction::Down => client.execute(&delete, &[&m.version]).await?,
                };
                failed_statement = false;
                Ok(took)
            })
            .await;
            // A failure at COMMIT still belongs to this file: PostgreSQL's refusal (a deferred
            // constraint) rolled it back; a connection lost while COMMIT was in flight leaves the
            // outcome unknown.
            return took.map_err(|e| match e {
                Error::Db(source) if !failed_statement => {
                    let outcome = if retry::is_connection_fault(&source, Link::Open) {
                        MigrationOutcome::Unknown
                    } else {
                        MigrationOutcome::RolledBack
                    };
                    failure(script, 1, 1, "COMMIT", outcome, source)
                }
                other => other,
            });
        }

        // Outside a transaction: mark dirty first, so a failure part-way is never silent.
        match direction {
            Direction::Up => client.execute(&insert, &[&m.version, &m.name, &m.checksum, &None::<i64>, &true]).await?,
            Direction::Down => {
                client.execute(&format!("UPDATE {t} SET dirty = true WHERE version = $1"), &[&m.version]).await?
            }
        };
        let started = Instant::now();
        execute_statements(client, script, MigrationOutcome::Dirty).await?;
        let took = started.elapsed();
        match direction {
            Direction::Up => {
                let ms = took.as_millis() as i64;
                client
                    .execute(
                        &format!(
                            "UPDATE {t} SET dirty = false, duration_ms = $2, applied_at = now() WHERE version = $1"
                        ),
                        &[&m.version, &ms],
                    )
                    .await?
            }
            Direction::Down => client.execute(&delete, &[&m.version]).await?,
        };
        Ok(took)
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

/// Runs `f` inside `BEGIN` .. `COMMIT`, rolling back when it fails. (If the future is dropped
/// part-way the connection is left inside the transaction; the runner never does that.)
async fn in_transaction<T>(client: &Client, f: impl Future<Output = Result<T>>) -> Result<T> {
    client.batch_execute("BEGIN").await?;
    match f.await {
        Ok(value) => match client.batch_execute("COMMIT").await {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Executes a script statement by statement, mapping a failure to the file, line and statement.
/// The file is split the way this server reads it: starting from its `standard_conforming_strings`
/// (and following the file's own `SET`s of it), so a backslash in a string cannot make the runner
/// cut a statement where the server does not.
async fn execute_statements(client: &Client, script: &Script, on_failure: MigrationOutcome) -> Result<()> {
    let conforming = client.query_one("SELECT current_setting('standard_conforming_strings') = 'on'", &[]).await?;
    for stmt in split::split_with(&script.sql, conforming.get(0)) {
        if let Err(source) = client.batch_execute(stmt.text).await {
            let (line, column) = error_location(&script.sql, &stmt, &source);
            return Err(failure(script, line, column, stmt.text, on_failure, source));
        }
    }
    // What a file changed of the session ends with it: the next file (and the version-table row,
    // named without a schema) sees the connection's own search_path, and no temporary table. The
    // schema macro reads files the same way, so the types follow what the database does.
    client.batch_execute(SESSION_RESET).await?;
    Ok(())
}

/// Run after each migration file's statements.
const SESSION_RESET: &str = "RESET search_path; DISCARD TEMP";

fn failure(
    script: &Script,
    line: usize,
    column: usize,
    stmt: &str,
    outcome: MigrationOutcome,
    source: tokio_postgres::Error,
) -> Error {
    Error::MigrationFailed(Box::new(MigrationFailure {
        file: script.file.clone(),
        line,
        column,
        statement: stmt.to_owned(),
        outcome,
        source,
    }))
}

/// 1-based (line, column) in the file: PostgreSQL's error position when it gave one (a character
/// index into the statement), else the statement's start.
fn error_location(file_sql: &str, stmt: &split::Statement<'_>, e: &tokio_postgres::Error) -> (usize, usize) {
    use tokio_postgres::error::ErrorPosition;
    let char_pos = match e.as_db_error().and_then(|d| d.position()) {
        Some(ErrorPosition::Original(p)) => (*p as usize).saturating_sub(1),
        _ => 0,
    };
    let byte_in_stmt = stmt.text.char_indices().nth(char_pos).map_or(0, |(b, _)| b);
    let at = stmt.offset + byte_in_stmt;
    let before = &file_sql[..at];
    let line = 1 + before.matches('\n').count();
    let column = 1 + before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, column)
}

fn random_suffix() -> String {
    use rand::RngExt as _;
    format!("{:016x}", rand::rng().random::<u64>())
}

/// Creates the next migration in `dir`, in the directory's layout, and returns the files made:
/// an up/down pair numbered after the last (golang-migrate, and sqlx's reversible files), one
/// file (sqlx's one-way files, refinery's `V<n>__..`), or a diesel directory. Versions that are
/// timestamps (14 digits) stay timestamps: the current UTC time, as the tools make them. An empty
/// directory gets golang-migrate's pair, `000001_..`.
///
/// The name is lower-cased and every run of characters other than letters and digits becomes
/// one `_`: `"Add user avatars"` -> `000004_add_user_avatars.up.sql`.
pub fn new_migration(dir: &Path, name: &str) -> Result<Vec<std::path::PathBuf>> {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_').to_owned();
    if slug.is_empty() {
        return Err(Error::MigrationFile {
            file: dir.into(),
            reason: format!("cannot make a migration name out of {name:?}: use letters and digits"),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let existing = Migrations::from_dir(dir)?;
    let last = existing.iter().map(|m| m.version).max();
    let timestamps = existing.layout() == Layout::Diesel || last.is_some_and(|v| v >= 10_000_000_000_000);
    let next = match (timestamps, last) {
        (true, last) => {
            let now: i64 = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string().parse().expect("digits");
            now.max(last.unwrap_or(0) + 1)
        }
        (false, last) => last.unwrap_or(0) + 1,
    };
    let one_way = match existing.layout() {
        Layout::Refinery => true,
        Layout::Sqlx => existing.iter().all(|m| m.down.is_none()),
        Layout::GolangMigrate | Layout::Diesel => false,
    };
    let (up, down) = match existing.layout() {
        Layout::GolangMigrate | Layout::Sqlx => {
            let stem = if timestamps { format!("{next}_{slug}") } else { format!("{next:06}_{slug}") };
            match one_way {
                true => (format!("{stem}.sql"), None),
                false => (format!("{stem}.up.sql"), Some(format!("{stem}.down.sql"))),
            }
        }
        Layout::Diesel => {
            let t = next.to_string();
            let stem = format!("{}-{}-{}-{}_{slug}", &t[..4], &t[4..6], &t[6..8], &t[8..]);
            std::fs::create_dir_all(dir.join(&stem)).map_err(|e| Error::io(format!("create {stem}"), e))?;
            (format!("{stem}/up.sql"), Some(format!("{stem}/down.sql")))
        }
        Layout::Refinery => (format!("V{next}__{slug}.sql"), None),
    };
    let mut made = vec![dir.join(&up)];
    let mut texts = vec![format!("-- {up}: describe the change here.\n")];
    if let Some(down) = &down {
        made.push(dir.join(down));
        texts.push(format!("-- Reverses {up} exactly.\n"));
    }
    for (path, text) in made.iter().zip(texts) {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| Error::io(format!("create {}", path.display()), e))?;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(files: &[(&str, &str)]) -> String {
        Migrations::from_files(files.iter().copied()).unwrap_err().to_string()
    }

    #[test]
    fn sets_are_ordered_by_version_not_by_input_order() {
        let set = Migrations::from_files([
            ("10_b.up.sql", ""),
            ("10_b.down.sql", ""),
            ("9_a.down.sql", ""),
            ("9_a.up.sql", ""),
        ])
        .unwrap();
        assert_eq!(set.iter().map(|m| (m.version(), m.name())).collect::<Vec<_>>(), [(9, "a"), (10, "b")]);
    }

    #[test]
    fn malformed_names_are_rejected_with_the_file_name() {
        for bad in ["init.up.sql", "000001.up.sql", "abc_init.up.sql", "99999999999999999999_big.up.sql", "1_a.UP.sql"]
        {
            let e = err(&[(bad, "")]);
            assert!(e.starts_with(&format!("{bad}: is not a migration file (")), "{e}");
            assert!(e.contains("golang-migrate migrations are named <version>_<description>.up.sql"), "{e}");
        }
    }

    #[test]
    fn duplicate_versions_name_both_files() {
        let e = err(&[
            ("000002_a.up.sql", ""),
            ("000002_a.down.sql", ""),
            ("000002_b.up.sql", ""),
            ("000002_b.down.sql", ""),
        ]);
        assert_eq!(e, "000002_b.down.sql: duplicate version 2: 000002_a.down.sql has it too");
        let e = err(&[("2_a.up.sql", ""), ("02_a.up.sql", "")]);
        assert_eq!(e, "2_a.up.sql: duplicate version 2: 02_a.up.sql has it too");
    }

    #[test]
    fn an_up_without_its_down_is_one_way_and_a_down_without_its_up_an_error() {
        let set = Migrations::from_files([("000003_x.up.sql", "")]).unwrap();
        assert!(set.get(3).unwrap().down().is_none());
        assert_eq!(
            err(&[("000003_x.down.sql", "")]),
            "000003_x.down.sql: has no up migration beside it: add the up file of this version"
        );
    }

    /// Each tool's layout, read as it is on disk, with what it allows: versions 0, dots and spaces
    /// in descriptions, up and down names that differ, and each tool's way of saying "outside a
    /// transaction".
    #[test]
    fn every_layout_is_read_as_it_is_on_disk() {
        let sqlx = Migrations::from_files([
            ("00000000000000_setup.sql", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"),
            ("20240101120000_create users v1.2.sql", "CREATE TABLE users (id int);"),
            ("20240102120000_index.up.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON users (id);"),
            ("20240102120000_drop_index.down.sql", "DROP INDEX i;"),
        ])
        .unwrap();
        assert_eq!(sqlx.layout(), Layout::Sqlx);
        let v: Vec<_> = sqlx.iter().map(|m| (m.version(), m.name(), m.down().is_some())).collect();
        assert_eq!(
            v,
            [(0, "setup", false), (20240101120000, "create users v1.2", false), (20240102120000, "index", true)]
        );
        assert!(!sqlx.get(20240102120000).unwrap().up().is_transactional(), "sqlx's directive");
        assert!(sqlx.get(20240102120000).unwrap().down().unwrap().is_transactional());

        let diesel = Migrations::from_files([
            ("00000000000000_diesel_initial_setup/up.sql", "SELECT 1;"),
            ("00000000000000_diesel_initial_setup/down.sql", "SELECT 1;"),
            ("2024-01-01-120000_create_users/up.sql", "CREATE TABLE users (id int);"),
            ("2024-01-01-120000_create_users/down.sql", "DROP TABLE users;"),
            ("2024-01-02-120000_index/up.sql", "CREATE INDEX CONCURRENTLY i ON users (id);\nSELECT 1;"),
            ("2024-01-02-120000_index/down.sql", "DROP INDEX i;"),
            ("2024-01-02-120000_index/metadata.toml", "run_in_transaction = false # CONCURRENTLY\n"),
        ])
        .unwrap();
        assert_eq!(diesel.layout(), Layout::Diesel);
        assert_eq!(diesel.iter().map(|m| m.version()).collect::<Vec<_>>(), [0, 20240101120000, 20240102120000]);
        assert_eq!(diesel.get(20240101120000).unwrap().up().file(), "2024-01-01-120000_create_users/up.sql");
        assert!(!diesel.get(20240102120000).unwrap().up().is_transactional(), "metadata.toml");

        let refinery = Migrations::from_files([
            ("V1__init.sql", "CREATE TABLE t (x int);"),
            ("more/V2__more.sql", "ALTER TABLE t ADD y int;"),
            ("U3__whenever.sql", "SELECT 1;"),
        ])
        .unwrap();
        assert_eq!(refinery.layout(), Layout::Refinery);
        assert_eq!(refinery.iter().map(|m| m.name()).collect::<Vec<_>>(), ["init", "more", "whenever"]);
        assert!(refinery.iter().all(|m| m.down().is_none()));

        // A statement PostgreSQL cannot run in a transaction, alone in its file, runs outside one.
        let alone =
            Migrations::from_files([("1_i.up.sql", "-- the index\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (x);")])
                .unwrap();
        assert!(!alone.get(1).unwrap().up().is_transactional());
    }

    #[test]
    fn a_directory_mixing_layouts_or_holding_strangers_names_the_file() {
        let e = err(&[("1_a.up.sql", ""), ("V2__b.sql", "")]);
        assert!(
            e.starts_with("1_a.up.sql: is a golang-migrate migration, in a refinery directory (whose files"),
            "{e}"
        );
        assert!(e.ends_with("one directory holds one layout"), "{e}");
        let e = err(&[("2024-01-01-120000_a/up.sql", ""), ("20240102_b.sql", "")]);
        assert!(e.starts_with("20240102_b.sql: is a sqlx migration, in a diesel directory"), "{e}");
        let e = err(&[("20240101_a.sql", ""), ("notes.sql", "")]);
        assert!(e.starts_with("notes.sql: is not a migration file"), "{e}");
        // Named explicitly, a layout reads only its own names.
        let e = Migrations::from_files_as(Layout::GolangMigrate, [("1_a.sql", "")]).unwrap_err().to_string();
        assert!(e.starts_with("1_a.sql: is a sqlx migration, in a golang-migrate directory"), "{e}");
        // A one-way file beside a down file of its version.
        let e = err(&[("1_a.sql", ""), ("1_a.down.sql", "")]);
        assert!(e.contains("is a one-way migration, but version 1 has a down file too"), "{e}");
    }

    #[test]
    fn transaction_control_is_rejected_unless_the_file_opts_out() {
        let e = err(&[("1_a.up.sql", "CREATE TABLE t (x int);\nCOMMIT;\nSELECT 1;"), ("1_a.down.sql", "")]);
        assert!(e.starts_with("1_a.up.sql: line 2: `COMMIT` is not allowed"), "{e}");
        let set = Migrations::from_files([
            ("1_a.up.sql", "-- taulu:no-transaction\nBEGIN;\nCOMMIT;"),
            ("1_a.down.sql", "SELECT 1;"),
        ])
        .unwrap();
        let m = set.get(1).unwrap();
        assert!(!m.up().is_transactional());
        assert!(m.down().unwrap().is_transactional());
    }

    #[test]
    fn one_outer_begin_commit_around_a_file_is_its_transaction() {
        let file = "-- wrapped, as golang-migrate sets often are\nBEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n";
        let set =
            Migrations::from_files([("1_a.up.sql", file), ("1_a.down.sql", "BEGIN TRANSACTION; DROP TABLE t; END;")])
                .unwrap();
        let m = set.get(1).unwrap();
        assert!(m.up().is_transactional());
        assert_eq!(
            m.up().sql(),
            "-- wrapped, as golang-migrate sets often are\n      \nCREATE TABLE t (x int);\n       \n"
        );
        assert_eq!(m.checksum(), hex(&Sha256::digest(file.as_bytes())), "the checksum is of the file as written");
        assert_eq!(m.down().unwrap().sql().trim(), "DROP TABLE t;");
        // Anything else with transaction control is still refused.
        let e = err(&[
            ("1_a.up.sql", "BEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\nCREATE TABLE u (x int);"),
            ("1_a.down.sql", ""),
        ]);
        assert!(e.starts_with("1_a.up.sql: line 3: `COMMIT` is not allowed"), "{e}");
        let e = err(&[("1_a.up.sql", "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;"), ("1_a.down.sql", "")]);
        assert!(e.starts_with("1_a.up.sql: line 3: `COMMIT` is not allowed"), "{e}");
        let e = err(&[("1_a.up.sql", "SELECT 1;\nROLLBACK;"), ("1_a.down.sql", "")]);
        assert!(e.starts_with("1_a.up.sql: line 2: `ROLLBACK` is not allowed"), "{e}");
        // A plain BEGIN midway does nothing in the runner's transaction (PostgreSQL warns), as
        // under sqlx's: it is blanked out; savepoints work inside the transaction.
        let set = Migrations::from_files([
            ("1_a.up.sql", "CREATE TABLE t (x int);\nBEGIN;\nSAVEPOINT s;\nCREATE TABLE u (x int);"),
            ("1_a.down.sql", ""),
        ])
        .unwrap();
        assert_eq!(
            set.get(1).unwrap().up().sql(),
            "CREATE TABLE t (x int);\n      \nSAVEPOINT s;\nCREATE TABLE u (x int);"
        );
        let e = err(&[("1_a.up.sql", "BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;"), ("1_a.down.sql", "")]);
        assert!(e.contains("`BEGIN` is not allowed"), "{e}");
    }

    #[test]
    fn checksums_and_fingerprints_follow_content() {
        let a = Migrations::from_files([("1_a.up.sql", "SELECT 1;"), ("1_a.down.sql", "")]).unwrap();
        let b = Migrations::from_files([("1_a.up.sql", "SELECT 2;"), ("1_a.down.sql", "")]).unwrap();
        assert_ne!(a.get(1).unwrap().checksum(), b.get(1).unwrap().checksum());
        assert_eq!(a.get(1).unwrap().checksum().len(), 64);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }

    #[test]
    fn new_migration_numbers_and_slugs() {
        let dir = std::env::temp_dir().join(format!("taulu-new-{}", random_suffix()));
        let made = new_migration(&dir, "Add user avatars!").unwrap();
        let names: Vec<_> = made.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["000001_add_user_avatars.up.sql", "000001_add_user_avatars.down.sql"]);
        let made = new_migration(&dir, "second").unwrap();
        assert_eq!(made[0].file_name().unwrap(), "000002_second.up.sql");
        assert!(new_migration(&dir, "!!!").is_err());
        assert_eq!(Migrations::from_dir(&dir).unwrap().len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `migrate new` follows the directory's layout: sqlx's one-way files with a timestamp,
    /// refinery's next `V`, a diesel directory.
    #[test]
    fn new_migration_follows_the_layout() {
        let run = |seed: &[&str], expect: &dyn Fn(&[String])| {
            let dir = std::env::temp_dir().join(format!("taulu-new-{}", random_suffix()));
            for f in seed {
                let path = dir.join(f);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "SELECT 1;").unwrap();
            }
            let made: Vec<String> = new_migration(&dir, "next one")
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
                .collect();
            expect(&made);
            let set = Migrations::from_dir(&dir).unwrap();
            assert_eq!(
                set.len(),
                seed.iter().filter(|f| !f.contains(".down.") && !f.ends_with("down.sql")).count() + 1
            );
            std::fs::remove_dir_all(&dir).unwrap();
        };
        run(&["20240101120000_a.sql"], &|made| {
            assert_eq!(made.len(), 1);
            assert!(
                made[0].ends_with("_next_one.sql") && made[0].len() == "20240101120000_next_one.sql".len(),
                "{made:?}"
            );
        });
        run(&["V7__a.sql"], &|made| assert_eq!(made, ["V8__next_one.sql"]));
        run(&["2024-01-01-120000_a/up.sql", "2024-01-01-120000_a/down.sql"], &|made| {
            assert_eq!(made.len(), 2);
            assert!(made[0].ends_with("_next_one/up.sql") && made[1].ends_with("_next_one/down.sql"), "{made:?}");
            assert_eq!(made[0].as_bytes()[4], b'-', "{made:?}");
        });
    }

    #[test]
    fn error_locations_point_into_the_file() {
        let sql = "-- c\nSELECT 1;\nSELECT\n  nope;";
        let stmts = split::split(sql);
        assert_eq!(stmts[1].line, 3);
        // Without a server position, the statement's start.
        let (line, col) = (1 + sql[..stmts[1].offset].matches('\n').count(), 1);
        assert_eq!((line, col), (3, 1));
    }
}
