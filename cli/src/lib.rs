//! The `taulu` command line: migrations and the local database, for any project. Argument parsing
//! and printing only; every operation is a library call. Its own dependencies (log formatting)
//! stay out of a user's library build: this is a separate crate, `cargo install taulu-cli`.
//!
//! An application can embed it to get the same commands over its own embedded migrations (the
//! reference app does: `cargo run -- migrate status`), with [`Cli::embedded`] and extra commands of
//! its own in front.

use std::{path::PathBuf, process::ExitCode};

use taulu::{
    Error, LocalCluster, Result,
    local::{blocking, server_url, url_or_local},
    migrate::{Layout, Migrations, Migrator},
};

const USAGE: &str = "\
USAGE:
    taulu [--dir DIR] [--layout LAYOUT] <COMMAND>

COMMANDS:
    migrate up [N]          apply all pending migrations, or the next N
    migrate down [N|all]    revert the last N applied migrations (default 1)
    migrate status          list applied and pending migrations
    migrate new NAME        create the next migration in the migrations dir, in its layout
    migrate verify          on a scratch database: up all, down all (but one-way migrations),
                            up all; compare schemas
    migrate force VERSION   record that exactly the migrations up to VERSION are applied
                            (`none`: none)
    migrate adopt --from TOOL
                            take over a database migrated by golang-migrate, sqlx, diesel or
                            refinery, files as they are: record its applied versions as the
                            baseline (refuses a dirty one)
    db start [--env]        start the local PostgreSQL (or reuse the running one) and print
                            the DATABASE_URL to export; --env writes it to ./.env instead
    db stop                 stop the local PostgreSQL
    db url                  print the local database URL (with its password)
    help                    print this text

OPTIONS:
    --dir DIR    the migrations directory (default ./migrations, or the set the program embeds;
                 env TAULU_MIGRATIONS_DIR); `migrate new` writes to it
    --layout L   its layout: golang-migrate, sqlx, diesel or refinery (default: detected from
                 its files)

ENVIRONMENT:
    DATABASE_URL    postgres://user:password@host:port/dbname; when unset, a local PostgreSQL is
                    started in target/taulu-pg (database `taulu`)
    TAULU_PG_DIR    directory of the local cluster (default target/taulu-pg)
    TAULU_LOG       log level: error, warn, info (default), debug, trace
";

/// The database the CLI uses on the local cluster.
pub const LOCAL_DB: &str = "taulu";

/// How a program presents the commands: its name and summary, the migrations it embeds (used
/// when neither `--dir` nor `TAULU_MIGRATIONS_DIR` names a directory), and usage lines for
/// commands of its own.
#[derive(Debug, Clone, Copy)]
pub struct Cli<'a> {
    /// First line of the usage text.
    pub about: &'a str,
    /// The migrations used without `--dir`; `None`: `./migrations`.
    pub embedded: Option<&'a Migrations>,
    /// Usage lines for the program's own commands, printed before the migration commands.
    pub extra_commands: &'a str,
}

impl Cli<'_> {
    /// The `taulu` binary: migrations from `--dir` (default `./migrations`).
    pub const STANDALONE: Cli<'static> =
        Cli { about: "taulu: migrations and a local PostgreSQL for any project", embedded: None, extra_commands: "" };

    /// The usage text.
    pub fn usage(&self) -> String {
        let usage = if self.extra_commands.is_empty() {
            USAGE.to_owned()
        } else {
            USAGE.replacen("COMMANDS:\n", &format!("COMMANDS:\n{}", self.extra_commands), 1)
        };
        format!("{}\n\n{usage}", self.about)
    }

    /// Runs `args` (without the program name) on a fresh current-thread runtime, printing the
    /// outcome; the exit code: 0 success, 1 an error, 2 bad usage.
    pub fn main(&self, args: Vec<String>) -> ExitCode {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        self.exit(runtime.block_on(self.run(args)))
    }

    /// Prints an outcome the way [`Cli::main`] does and gives its exit code.
    pub fn exit(&self, outcome: Result<(), CliError>) -> ExitCode {
        match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(CliError::Usage(msg)) => {
                eprintln!("error: {msg}\n\n{}", self.usage());
                ExitCode::from(2)
            }
            Err(CliError::Taulu(e)) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Logs to stderr at `TAULU_LOG` (default `info`).
pub fn init_logging() {
    let level =
        std::env::var("TAULU_LOG").ok().and_then(|l| l.parse::<tracing::Level>().ok()).unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Why a command failed: bad usage (exit code 2) or an error (1).
#[derive(Debug)]
pub enum CliError {
    /// The arguments are wrong; the message says how.
    Usage(String),
    /// The command ran and failed.
    Taulu(Error),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Taulu(e)
    }
}

impl Cli<'_> {
    /// Runs one command.
    pub async fn run(&self, args: Vec<String>) -> Result<(), CliError> {
        run(args, self.embedded, &self.usage()).await
    }
}

async fn run(mut args: Vec<String>, embedded: Option<&Migrations>, usage: &str) -> Result<(), CliError> {
    let mut dir: Option<PathBuf> = std::env::var_os("TAULU_MIGRATIONS_DIR").map(PathBuf::from);
    if let Some(i) = args.iter().position(|a| a == "--dir") {
        let value = args.get(i + 1).cloned().ok_or_else(|| CliError::Usage("--dir needs a directory".into()))?;
        dir = Some(PathBuf::from(value));
        args.drain(i..=i + 1);
    }
    let mut layout = None;
    if let Some(i) = args.iter().position(|a| a == "--layout") {
        let value = args.get(i + 1).cloned().ok_or_else(|| CliError::Usage("--layout needs a layout".into()))?;
        layout = Some(value.parse::<Layout>().map_err(CliError::Usage)?);
        args.drain(i..=i + 1);
    }
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let read = |d: &std::path::Path| match layout {
        Some(layout) => Migrations::from_dir_as(d, layout),
        None => Migrations::from_dir(d),
    };
    let migrations = || -> Result<Migrations> {
        match (&dir, embedded) {
            (Some(d), _) => read(d),
            (None, Some(set)) => Ok(set.clone()),
            (None, None) => read("migrations".as_ref()),
        }
    };
    match words.as_slice() {
        [] | ["help" | "--help" | "-h"] => {
            print!("{usage}");
            Ok(())
        }
        ["migrate", "up", rest @ ..] => {
            let limit = optional_count(rest)?;
            let migrator = Migrator::new(&migrations()?);
            let client = app_client().await?;
            let applied = migrator.up(&client, limit).await?;
            if applied.is_empty() {
                println!("nothing to apply: the database is up to date");
            }
            for a in applied {
                println!("applied  {:06}_{} ({} ms)", a.version, a.name, a.duration.as_millis());
            }
            Ok(())
        }
        ["migrate", "down", rest @ ..] => {
            let count = match rest {
                ["all"] => usize::MAX,
                _ => optional_count(rest)?.unwrap_or(1),
            };
            let migrator = Migrator::new(&migrations()?);
            let client = app_client().await?;
            let reverted = migrator.down(&client, count).await?;
            if reverted.is_empty() {
                println!("nothing to revert: no migration is applied");
            }
            for r in reverted {
                println!("reverted {:06}_{} ({} ms)", r.version, r.name, r.duration.as_millis());
            }
            Ok(())
        }
        ["migrate", "status"] => {
            let migrator = Migrator::new(&migrations()?);
            let client = app_client().await?;
            println!("{}", migrator.status(&client).await?);
            Ok(())
        }
        ["migrate", "new", name @ ..] if !name.is_empty() => {
            let target = dir.clone().unwrap_or_else(|| PathBuf::from("migrations"));
            for file in taulu::migrate::new_migration(&target, &name.join(" "))? {
                println!("created {}", file.display());
            }
            Ok(())
        }
        ["migrate", "verify"] => {
            let migrator = Migrator::new(&migrations()?);
            let server = server_url().await?;
            let report = migrator.verify(&server).await?;
            println!(
                "ok: {} migrations applied, the {} newest reverted one by one, all re-applied; {} schema objects \
                 identical on both up passes",
                report.migrations, report.reverted, report.objects
            );
            Ok(())
        }
        ["migrate", "force", version] => {
            let version: i64 = match *version {
                "none" => -1,
                v => v.parse().map_err(|_| CliError::Usage(format!("VERSION must be a number or none, got {v:?}")))?,
            };
            let migrator = Migrator::new(&migrations()?);
            let client = app_client().await?;
            migrator.force(&client, version).await?;
            match version {
                v if v < 0 => println!("recorded: no migration is applied"),
                v => println!("recorded: migrations up to {v} are applied"),
            }
            Ok(())
        }
        ["migrate", "adopt", "--from", tool] => {
            let tool: taulu::migrate::Tool = tool.parse().map_err(CliError::Usage)?;
            let migrator = Migrator::new(&migrations()?);
            let client = app_client().await?;
            let adopted = migrator.adopt(&client, tool).await?;
            println!(
                "adopted {}'s history: migrations up to {} recorded as applied ({} versions)",
                tool.name(),
                adopted.version,
                adopted.recorded
            );
            Ok(())
        }
        ["db", "start", rest @ ..] => {
            let write_env = match rest {
                [] => false,
                ["--env"] => true,
                _ => return Err(CliError::Usage(format!("db start takes --env only, got {}", rest.join(" ")))),
            };
            let cluster = blocking(LocalCluster::ensure).await?;
            taulu::local::ensure_database(&cluster.url("postgres"), LOCAL_DB).await?;
            let url = cluster.url(LOCAL_DB).to_url_with_password();
            println!("local PostgreSQL running on 127.0.0.1:{} ({})", cluster.port(), cluster.dir().display());
            if write_env {
                set_in_env_file(std::path::Path::new(".env"), taulu::DATABASE_URL, &url)?;
                println!("wrote {}=.. to .env", taulu::DATABASE_URL);
            } else {
                println!("export {}='{url}'", taulu::DATABASE_URL);
            }
            Ok(())
        }
        ["db", "stop"] => {
            let dir = LocalCluster::default_dir();
            if blocking(move || LocalCluster::stop_in(&dir)).await? {
                println!("stopped the local PostgreSQL");
            } else {
                println!("the local PostgreSQL is not running");
            }
            Ok(())
        }
        ["db", "url"] => {
            let cluster = blocking(LocalCluster::ensure).await?;
            taulu::local::ensure_database(&cluster.url("postgres"), LOCAL_DB).await?;
            println!("{}", cluster.url(LOCAL_DB).to_url_with_password());
            Ok(())
        }
        _ => Err(CliError::Usage(format!("unknown command: {}", args.join(" ")))),
    }
}

/// Sets `key=value` in a `.env` file: replaces the line that sets `key` (with or without
/// `export`), or appends one; every other line stays as it was. Creates the file if needed.
fn set_in_env_file(path: &std::path::Path, key: &str, value: &str) -> Result<(), CliError> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::Config { reason: format!("{} cannot be read: {e}", path.display()) }.into()),
    };
    let sets_key = |line: &str| {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    let mut lines: Vec<String> = Vec::new();
    let mut replaced = false;
    for line in old.lines() {
        if sets_key(line) {
            if !replaced {
                lines.push(format!("{key}={value}"));
            }
            replaced = true;
        } else {
            lines.push(line.to_owned());
        }
    }
    if !replaced {
        lines.push(format!("{key}={value}"));
    }
    let text = lines.join("\n") + "\n";
    std::fs::write(path, text)
        .map_err(|e| Error::Config { reason: format!("{} cannot be written: {e}", path.display()) }.into())
}

fn optional_count(rest: &[&str]) -> Result<Option<usize>, CliError> {
    match rest {
        [] => Ok(None),
        [n] => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| CliError::Usage(format!("N must be a positive number, got {n:?}"))),
        _ => Err(CliError::Usage(format!("too many arguments: {}", rest.join(" ")))),
    }
}

async fn app_client() -> Result<tokio_postgres::Client> {
    taulu::connect(&url_or_local(LOCAL_DB).await?).await
}
