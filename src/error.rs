//! The one error type of taulu. Every fallible public function returns [`Error`]; variants carry the
//! context a caller (or a person reading a log) needs. Nothing here may format a password.

use std::{fmt, io, path::PathBuf};

/// A `Result` whose error is taulu's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in taulu.
///
/// Match on the variant to tell a configuration mistake from an unreachable server from a failed
/// migration; use [`Error::sqlstate`] / [`Error::as_db_error`] for what PostgreSQL itself said.
/// The `Display` text never contains a password, whatever the input was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `DATABASE_URL` (or another connection string) could not be parsed.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong, without echoing the URL.
        reason: String,
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
    Db(#[from] tokio_postgres::Error),

    /// A migration file is missing, misnamed, duplicated or unreadable as a set.
    #[error("{}: {reason}", file.display())]
    MigrationFile {
        /// The offending file (or directory).
        file: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A migration's statement failed. The database is as it was before the migration, unless
    /// [`MigrationFailure::dirty`] is set (a `no-transaction` migration that failed part-way).
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

    /// No pooled connection became available within the pool's connection timeout.
    #[error("timed out waiting for a database connection from the pool")]
    PoolTimeout,

    /// The database could not be reached within the retry budget (every attempt failed with a
    /// transient fault). Retrying later may succeed; nothing was applied.
    #[error("database unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: std::sync::Arc<Error>,
    },

    /// The connection failed after a write was sent: it may or may not have been applied. taulu
    /// never re-sends such a statement; check (by a unique key) before repeating it.
    #[error(
        "outcome unknown: the connection failed after the statement was sent, so it may have been applied: {source}"
    )]
    Ambiguous {
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
    /// True when the migration ran outside a transaction and its version is now marked dirty.
    pub dirty: bool,
    /// PostgreSQL's error.
    pub source: tokio_postgres::Error,
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
        if self.dirty {
            f.write_str(
                "\n  the migration ran outside a transaction and is now marked dirty; see `taulu migrate force`",
            )?;
        } else {
            f.write_str("\n  the migration was rolled back; the database is unchanged")?;
        }
        Ok(())
    }
}

impl Error {
    /// PostgreSQL's error, when the server reported one.
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        match self {
            Error::Connect { source, .. } => source.as_db_error(),
            Error::Db(source) => source.as_db_error(),
            Error::MigrationFailed(f) => f.source.as_db_error(),
            Error::Ambiguous { source } => source.as_db_error(),
            Error::Unavailable { last, .. } => last.as_db_error(),
            _ => None,
        }
    }

    /// The SQLSTATE code of PostgreSQL's error (for example `23505` for a unique violation).
    pub fn sqlstate(&self) -> Option<&str> {
        self.as_db_error().map(|e| e.code().code())
    }

    /// True for failures worth retrying later: the server was unreachable or the pool exhausted.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. } | Error::PoolTimeout)
            || crate::retry::classify_connect(self) == crate::retry::Class::Retry
    }

    /// True for a unique-constraint violation (SQLSTATE 23505).
    pub fn is_unique_violation(&self) -> bool {
        self.sqlstate() == Some("23505")
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
