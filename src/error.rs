//! The one error type of taulu. Every fallible public function returns [`Error`]; variants carry the
//! context a caller (or a person reading a log) needs. Nothing here may format a password.

use std::{fmt, io, path::PathBuf};

use tokio_postgres::error::SqlState;

/// A `Result` whose error is taulu's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in taulu.
///
/// Match on the variant to tell a configuration mistake from an unreachable server from a failed
/// migration; use [`Error::sqlstate`] / [`Error::as_db_error`] for what PostgreSQL itself said.
/// The `Display` text never contains a password, whatever the input was; `Debug` prints the same
/// text, so a `main` returning `taulu::Result` reports what `Display` says.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `DATABASE_URL` (or another connection string) could not be parsed.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong, without echoing the URL.
        reason: String,
    },

    /// A setting is missing or malformed (`DATABASE_URL` unset, a `TAULU_*` variable that is not a
    /// number, ...).
    #[error("configuration: {reason}")]
    Config {
        /// What is wrong and which variable it is.
        reason: String,
    },

    /// TLS could not be set up (an unreadable or invalid `PGSSLROOTCERT`, ...).
    #[error("TLS: {reason}")]
    Tls {
        /// What is wrong.
        reason: String,
    },

    /// Opening a connection took longer than the connect timeout (the server accepted the TCP
    /// connection but did not answer, or did not accept it at all).
    #[error("cannot connect to {target}: no answer within {} ms", after.as_millis())]
    ConnectTimeout {
        /// `user@host:port/dbname`, never the password.
        target: String,
        /// The timeout that ran out.
        after: std::time::Duration,
    },

    /// Opening a connection failed: the server is unreachable, refused us, or rejected the
    /// credentials.
    #[error("cannot connect to {target}: {}", describe_pg(source))]
    Connect {
        /// `user@host:port/dbname`, never the password.
        target: String,
        /// The driver's error (shared: the pool reports one connect failure to every waiter).
        #[source]
        source: std::sync::Arc<tokio_postgres::Error>,
    },

    /// A statement failed on an open connection.
    #[error("{}", describe_pg(.0))]
    Db(#[source] tokio_postgres::Error),

    /// A migration file is missing, misnamed, duplicated or unreadable as a set.
    #[error("{}: {reason}", file.display())]
    MigrationFile {
        /// The offending file (or directory).
        file: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A migration's statement (or its COMMIT) failed. [`MigrationFailure::outcome`] says what that
    /// left: rolled back (the database is as it was), dirty (a `no-transaction` migration that
    /// failed part-way), or unknown (the connection was lost while COMMIT was in flight).
    #[error("{0}")]
    MigrationFailed(Box<MigrationFailure>),

    /// An applied migration's file changed after it was applied.
    #[error(
        "migration {file} was applied with checksum {applied} but the file now has checksum {current}; \
         restore the file, or if the change is intended and already reflected in the database, run \
         `taulu migrate force {version}`"
    )]
    ChecksumMismatch {
        /// Version of the migration.
        version: i64,
        /// The up file whose content changed.
        file: String,
        /// Checksum recorded when it was applied.
        applied: String,
        /// Checksum of the file now.
        current: String,
    },

    /// A migration that runs outside a transaction failed part-way; the database is in an unknown
    /// state until a person says what it is.
    #[error(
        "migration {version} ({name}) is dirty: it failed part-way outside a transaction. Repair the \
         database by hand, then run `taulu migrate force {version}` if it is now fully applied or \
         `taulu migrate force {previous}` if it is not applied at all"
    )]
    Dirty {
        /// The dirty version.
        version: i64,
        /// Its name.
        name: String,
        /// The version just below it (0 when none).
        previous: i64,
    },

    /// The database has a migration applied that no file describes.
    #[error(
        "migration {version} ({name}) is applied in the database but has no file; run a build that \
         has it, or `taulu migrate force` to a version you have"
    )]
    UnknownApplied {
        /// Version recorded in the database.
        version: i64,
        /// Name recorded in the database.
        name: String,
    },

    /// A migration is pending although a later one is already applied.
    #[error(
        "migration {file} is pending but the later migration {latest_applied} is already applied; \
         renumber it above {latest_applied}"
    )]
    OutOfOrder {
        /// The pending migration's up file.
        file: String,
        /// The highest applied version.
        latest_applied: i64,
    },

    /// `verify` found that the migrations do not round-trip.
    #[error("migrations do not round-trip:\n  {}", differences.join("\n  "))]
    Verify {
        /// One line per difference, naming the object.
        differences: Vec<String>,
    },

    /// No PostgreSQL installation was found for the self-started local database.
    #[error(
        "no PostgreSQL server binaries found (looked for initdb/pg_ctl on PATH, via `pg_config \
         --bindir`, and under /usr/lib/postgresql/*/bin). Install them (Debian/Ubuntu: `apt-get \
         install postgresql`), or set DATABASE_URL to an existing server"
    )]
    PostgresNotInstalled,

    /// The self-started local PostgreSQL could not be set up or started.
    #[error("local PostgreSQL: {message}")]
    LocalPostgres {
        /// What failed, with the command's output when there is one.
        message: String,
    },

    /// Every connection of the pool stayed busy for the whole connect timeout. The database is
    /// healthy but the application asks more of it at once than the pool allows: raise
    /// `TAULU_POOL_MAX`, shorten transactions, or shed load. Never retried.
    #[error(
        "pool exhausted: {max} of {max} connections busy for {} ms (raise TAULU_POOL_MAX or TAULU_POOL_CONNECT_TIMEOUT_MS, or make statements shorter)",
        waited.as_millis()
    )]
    PoolExhausted {
        /// The pool's size.
        max: u32,
        /// How long the caller waited.
        waited: std::time::Duration,
    },

    /// The statement ran longer than the `statement_timeout` the pool sets on its connections
    /// (`TAULU_STATEMENT_TIMEOUT_MS`), or than the limit of [`Db::with_timeout`](crate::Db::with_timeout);
    /// PostgreSQL canceled it. Not retried.
    #[error("statement timeout: canceled after {} ms: {}", after.as_millis(), describe_pg(source))]
    StatementTimeout {
        /// The configured timeout.
        after: std::time::Duration,
        /// PostgreSQL's error (SQLSTATE 57014).
        #[source]
        source: tokio_postgres::Error,
    },

    /// The pool was closed ([`Db::close`](crate::Db::close)); nothing was sent.
    #[error("the connection pool is closed")]
    Closed,

    /// A parameter value PostgreSQL cannot take: text (or a text array's element) containing a NUL
    /// byte, jsonb holding U+0000, parameters over the 1 GB PostgreSQL reads in one message. Found
    /// while the values are written, so nothing was sent.
    #[error("parameter ${position} {reason}")]
    InvalidParameter {
        /// 1-based position (`$1` is 1).
        position: usize,
        /// What is wrong with it, and what to do.
        reason: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A row given to [`Tx::copy_in`](crate::Tx::copy_in) sets other columns than the first row
    /// (COPY takes one column list for every row); nothing of the COPY was applied.
    #[error(
        "COPY row {row} sets the columns {found:?}, but the first row set {expected:?}: every row of a COPY gives the same columns (give the optional ones in every row, or in none)"
    )]
    CopyColumns {
        /// 1-based position of the row.
        row: u64,
        /// The columns of the first row.
        expected: Vec<&'static str>,
        /// The columns of this row.
        found: Vec<&'static str>,
    },

    /// The database could not be reached within the retry budget (every attempt failed with a
    /// transient fault). Retrying later may succeed; nothing was applied.
    #[error("database unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: std::sync::Arc<Error>,
    },

    /// The connection failed after a write (or a COMMIT) was sent: it may or may not have been
    /// applied. taulu never re-sends such a statement; check (by a unique key) before repeating it.
    #[error(
        "outcome unknown: the connection failed after the statement was sent, so it may have been applied: {}",
        describe_pg(source)
    )]
    Ambiguous {
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// Every attempt of a statement had a connection, and lost it while the statement was sent or
    /// ran (nothing of it was applied: only statements known not to have been, and reads, are
    /// retried). The server accepted each connection, so it is up: it may be refusing this
    /// statement itself by closing the connection, which it explains in its log only (a protocol
    /// violation, a crash it recovers from). Its kind is [`ErrorKind::Unavailable`].
    #[error(
        "the server ended the connection during the statement on each of {attempts} attempts, while accepting \
         new connections: it may be refusing this statement (the server's log says why): {}",
        describe_pg(source)
    )]
    EndedDuringStatement {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// The connection was lost inside a transaction, before its COMMIT was sent: the server rolls
    /// the transaction back, so nothing of it was applied. Running it again is safe
    /// ([`Db::transaction_with_retry`](crate::Db::transaction_with_retry) does). Its kind is
    /// [`ErrorKind::Unavailable`].
    #[error("transaction not applied: the connection was lost before COMMIT was sent: {}", describe_pg(source))]
    NotCommitted {
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// `fetch_one` found no row.
    #[error("the query returned no rows")]
    NoRows,

    /// A file-system or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Details of a failed migration statement.
#[derive(Debug)]
#[non_exhaustive]
pub struct MigrationFailure {
    /// The file that failed, e.g. `000003_add_x.up.sql`.
    pub file: String,
    /// 1-based line of the failing statement's start, or of the error position when PostgreSQL
    /// reported one.
    pub line: usize,
    /// 1-based column matching `line`.
    pub column: usize,
    /// The failing statement's text.
    pub statement: String,
    /// What the failure left behind.
    pub outcome: MigrationOutcome,
    /// PostgreSQL's error.
    pub source: tokio_postgres::Error,
}

/// What a failed migration left in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationOutcome {
    /// Its transaction was rolled back: the database is as it was before the migration.
    RolledBack,
    /// It ran outside a transaction and failed part-way: its version is marked dirty.
    Dirty,
    /// The connection was lost while its COMMIT was in flight: it may or may not have been
    /// applied. `taulu migrate status` tells which (its version is listed as applied if it was).
    Unknown,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {}:{}:{} failed: {}", self.file, self.line, self.column, describe_pg(&self.source))?;
        let stmt = self.statement.trim();
        const MAX: usize = 600;
        if stmt.len() > MAX {
            let cut = (0..=MAX).rev().find(|&i| stmt.is_char_boundary(i)).unwrap_or(0);
            write!(f, "\n  statement: {} …", &stmt[..cut])?;
        } else {
            write!(f, "\n  statement: {stmt}")?;
        }
        f.write_str(match self.outcome {
            MigrationOutcome::RolledBack => "\n  the migration was rolled back; the database is unchanged",
            MigrationOutcome::Dirty => {
                "\n  the migration ran outside a transaction and is now marked dirty; see `taulu migrate force`"
            }
            MigrationOutcome::Unknown => {
                "\n  the connection was lost during COMMIT: whether the migration was applied is unknown; \
                 `taulu migrate status` shows it as applied if it was"
            }
        })
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::statement(e, None)
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// The error a caller gets for a statement that failed: a parameter refused before sending
    /// names it, and a cancel by the pool's statement timeout (`statement_timeout`, when it set
    /// one) is named as such.
    pub(crate) fn statement(e: tokio_postgres::Error, statement_timeout: Option<std::time::Duration>) -> Error {
        let refused = std::error::Error::source(&e).and_then(|c| c.downcast_ref::<crate::query::Refused>());
        if let Some(refused) = refused {
            // The driver says which parameter it was writing only in its message.
            let text = e.to_string();
            let index = text.rsplit(' ').next().and_then(|n| n.parse::<usize>().ok());
            if let Some(index) = index {
                return Error::InvalidParameter { position: index + 1, reason: refused.0.clone(), source: e };
            }
        }
        match (e.code(), statement_timeout) {
            (Some(c), Some(after)) if *c == SqlState::QUERY_CANCELED => Error::StatementTimeout { after, source: e },
            _ => Error::Db(e),
        }
    }

    /// What kind of failure this is, for a caller to act on: match on it to answer 409 for a
    /// unique violation, retry a serialization failure, 503 an unavailable database, and so on.
    ///
    /// ```
    /// use taulu::{Error, ErrorKind};
    /// let e = Error::Config { reason: "TAULU_POOL_MAX must be a number".into() };
    /// assert_eq!(e.kind(), ErrorKind::Config);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidUrl { .. } | Error::Config { .. } => ErrorKind::Config,
            Error::Tls { .. } => ErrorKind::Tls,
            Error::Connect { source, .. } => match source.code() {
                Some(code) if code.code().starts_with("28") => ErrorKind::Authentication,
                Some(code) if *code == SqlState::INVALID_CATALOG_NAME => ErrorKind::Config,
                _ if crate::retry::classify_connect(self) == crate::retry::Class::Retry => ErrorKind::Unavailable,
                // Not the network, not the server's state: a missing password, TLS the server
                // refuses, an authentication method the client lacks.
                _ => ErrorKind::Config,
            },
            Error::ConnectTimeout { .. }
            | Error::Unavailable { .. }
            | Error::NotCommitted { .. }
            | Error::EndedDuringStatement { .. }
            | Error::Closed => ErrorKind::Unavailable,
            Error::PoolExhausted { .. } => ErrorKind::PoolExhausted,
            Error::StatementTimeout { .. } => ErrorKind::StatementTimeout,
            Error::Ambiguous { .. } => ErrorKind::Ambiguous,
            Error::InvalidParameter { .. } | Error::CopyColumns { .. } => ErrorKind::InvalidParameter,
            Error::NoRows => ErrorKind::NoRows,
            Error::Db(e) => ErrorKind::of_db(e),
            Error::MigrationFailed(f) if f.outcome == MigrationOutcome::Unknown => ErrorKind::Ambiguous,
            Error::MigrationFile { .. }
            | Error::MigrationFailed(_)
            | Error::ChecksumMismatch { .. }
            | Error::Dirty { .. }
            | Error::UnknownApplied { .. }
            | Error::OutOfOrder { .. }
            | Error::Verify { .. } => ErrorKind::Migration,
            Error::PostgresNotInstalled | Error::LocalPostgres { .. } | Error::Io { .. } => ErrorKind::Environment,
        }
    }

    /// PostgreSQL's error, when the server reported one.
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        match self {
            Error::Connect { source, .. } => source.as_db_error(),
            Error::Db(source)
            | Error::Ambiguous { source }
            | Error::NotCommitted { source }
            | Error::EndedDuringStatement { source, .. }
            | Error::StatementTimeout { source, .. }
            | Error::InvalidParameter { source, .. } => source.as_db_error(),
            Error::MigrationFailed(f) => f.source.as_db_error(),
            Error::Unavailable { last, .. } => last.as_db_error(),
            _ => None,
        }
    }

    /// The SQLSTATE of PostgreSQL's error, compared with tokio-postgres's constants:
    /// `e.code() == Some(&SqlState::UNIQUE_VIOLATION)`.
    pub fn code(&self) -> Option<&SqlState> {
        self.as_db_error().map(|e| e.code())
    }

    /// The SQLSTATE code as text (for example `"23505"` for a unique violation).
    pub fn sqlstate(&self) -> Option<&str> {
        self.code().map(SqlState::code)
    }

    /// The constraint a violation names (`users_email_key`, `members_org_id_fkey`, ...).
    pub fn constraint(&self) -> Option<&str> {
        self.as_db_error()?.constraint()
    }

    /// The table the error is about, when PostgreSQL names one.
    pub fn table(&self) -> Option<&str> {
        self.as_db_error()?.table()
    }

    /// The column the error is about, when PostgreSQL names one (a NOT NULL violation).
    pub fn column(&self) -> Option<&str> {
        self.as_db_error()?.column()
    }

    /// The schema of [`table`](Self::table).
    pub fn schema(&self) -> Option<&str> {
        self.as_db_error()?.schema()
    }

    /// True for failures worth retrying later: the database was unreachable, or the pool busy.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind(), ErrorKind::Unavailable | ErrorKind::PoolExhausted)
    }

    /// True for a unique-constraint violation (SQLSTATE 23505).
    pub fn is_unique_violation(&self) -> bool {
        self.kind() == ErrorKind::UniqueViolation
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    pub(crate) fn local(message: impl Into<String>) -> Self {
        Error::LocalPostgres { message: message.into() }
    }
}

/// One line for a driver error: PostgreSQL's severity, message, SQLSTATE, detail and hint when the
/// server said something, the driver's own text otherwise.
pub(crate) fn describe_pg(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                s.push_str("; detail: ");
                s.push_str(detail);
            }
            if let Some(hint) = db.hint() {
                s.push_str("; hint: ");
                s.push_str(hint);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut cur = std::error::Error::source(e);
            while let Some(inner) = cur {
                let t = inner.to_string();
                if !s.contains(&t) {
                    s.push_str(": ");
                    s.push_str(&t);
                }
                cur = inner.source();
            }
            s
        }
    }
}

/// The kinds of [`Error`] a caller acts on, from [`Error::kind`]. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A unique constraint or unique index refused the row (23505); see [`Error::constraint`].
    UniqueViolation,
    /// A foreign key refused the row (23503).
    ForeignKeyViolation,
    /// A NOT NULL column got NULL (23502); see [`Error::column`].
    NotNullViolation,
    /// A CHECK constraint refused the row (23514).
    CheckViolation,
    /// An exclusion constraint refused the row (23P01).
    ExclusionViolation,
    /// A serializable or repeatable-read transaction lost to a concurrent one (40001): re-run it
    /// ([`Db::transaction_with_retry`](crate::Db::transaction_with_retry) does).
    SerializationFailure,
    /// PostgreSQL broke a deadlock by aborting this transaction (40P01): re-run it.
    Deadlock,
    /// The statement was canceled (57014): a cancel request, or a `statement_timeout` the
    /// application set itself (PostgreSQL reports both alike).
    QueryCanceled,
    /// The pool's own statement timeout canceled the statement.
    StatementTimeout,
    /// A lock could not be taken within `lock_timeout`, or `NOWAIT` found it taken (55P03).
    LockNotAvailable,
    /// Every pooled connection stayed busy for the whole connect timeout.
    PoolExhausted,
    /// The database could not be reached (refused, down, starting up, shutting down, no answer
    /// within the connect timeout); nothing was applied. Retry later.
    Unavailable,
    /// A write or COMMIT was sent and the connection failed before the answer: it may have been
    /// applied. Never retried by taulu.
    Ambiguous,
    /// The server refused the credentials (28xxx).
    Authentication,
    /// The connection string or a setting is wrong, or names a database that does not exist.
    Config,
    /// TLS could not be set up or negotiated.
    Tls,
    /// A parameter value PostgreSQL cannot take (text with a NUL byte, jsonb with U+0000, over 1 GB
    /// in all); nothing was sent.
    InvalidParameter,
    /// The statement itself is wrong: syntax, an unknown table or column, insufficient privilege
    /// (42xxx).
    InvalidStatement,
    /// A value is out of range or malformed for its type (22xxx).
    DataException,
    /// `fetch_one` found no row.
    NoRows,
    /// A migration file, its checksum, its order, or its run failed.
    Migration,
    /// The local PostgreSQL, the file system or a process failed.
    Environment,
    /// Anything else PostgreSQL or the driver reported; see [`Error::code`].
    Other,
}

impl ErrorKind {
    fn of_db(e: &tokio_postgres::Error) -> ErrorKind {
        let Some(code) = e.code() else { return ErrorKind::Other };
        match code {
            c if *c == SqlState::UNIQUE_VIOLATION => ErrorKind::UniqueViolation,
            c if *c == SqlState::FOREIGN_KEY_VIOLATION => ErrorKind::ForeignKeyViolation,
            c if *c == SqlState::NOT_NULL_VIOLATION => ErrorKind::NotNullViolation,
            c if *c == SqlState::CHECK_VIOLATION => ErrorKind::CheckViolation,
            c if *c == SqlState::EXCLUSION_VIOLATION => ErrorKind::ExclusionViolation,
            c if *c == SqlState::T_R_SERIALIZATION_FAILURE => ErrorKind::SerializationFailure,
            c if *c == SqlState::T_R_DEADLOCK_DETECTED => ErrorKind::Deadlock,
            c if *c == SqlState::QUERY_CANCELED => ErrorKind::QueryCanceled,
            c if *c == SqlState::LOCK_NOT_AVAILABLE => ErrorKind::LockNotAvailable,
            c if crate::retry::is_unavailable_state(c) => ErrorKind::Unavailable,
            c if c.code().starts_with("28") => ErrorKind::Authentication,
            c if c.code().starts_with("42") => ErrorKind::InvalidStatement,
            c if c.code().starts_with("22") => ErrorKind::DataException,
            _ => ErrorKind::Other,
        }
    }
}
