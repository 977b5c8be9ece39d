//! The `taulu` command line: migrations, the local database, and the demo. Argument parsing and
//! printing only; every operation is a library call.

use std::{path::PathBuf, process::ExitCode};

use taulu::{
    DatabaseUrl, Error, LocalCluster, Result,
    migrate::{Migrations, Migrator},
};

const USAGE: &str = "\
taulu: a type-safe PostgreSQL data layer (migrations, local database, demo)

USAGE:
    taulu [--dir DIR] <COMMAND>

COMMANDS:
    demo                    migrate the database and show that the schema is there
    migrate up [N]          apply all pending migrations, or the next N
    migrate down [N|all]    revert the last N applied migrations (default 1)
    migrate status          list applied and pending migrations
    migrate new NAME        create the next numbered, empty up/down pair in the migrations dir
    migrate verify          on a scratch database: up all, down all, up all; compare schemas
    migrate force VERSION   record that exactly the migrations up to VERSION are applied (0: none)
    db start                start the local PostgreSQL (or reuse the running one)
    db stop                 stop the local PostgreSQL
    db url                  print the local database URL (with its password)
    help                    print this text

OPTIONS:
    --dir DIR    read migrations from DIR instead of the ones embedded at build time
                 (`migrate new` writes to DIR; default ./migrations; env TAULU_MIGRATIONS_DIR)

ENVIRONMENT:
    DATABASE_URL    postgres://user:password@host:port/dbname; when unset, a local PostgreSQL is
                    started in target/taulu-pg (database `taulu`)
    TAULU_PG_DIR    directory of the local cluster (default target/taulu-pg)
    TAULU_LOG       log level: error, warn, info (default), debug, trace
";

/// The database the CLI uses on the local cluster.
const LOCAL_DB: &str = "taulu";

fn main() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(CliError::Taulu(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let level =
        std::env::var("TAULU_LOG").ok().and_then(|l| l.parse::<tracing::Level>().ok()).unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

enum CliError {
    Usage(String),
    Taulu(Error),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Taulu(e)
    }
}

async fn run(mut args: Vec<String>) -> Result<(), CliError> {
    let mut dir: Option<PathBuf> = std::env::var_os("TAULU_MIGRATIONS_DIR").map(PathBuf::from);
    if let Some(i) = args.iter().position(|a| a == "--dir") {
        let value = args.get(i + 1).cloned().ok_or_else(|| CliError::Usage("--dir needs a directory".into()))?;
        dir = Some(PathBuf::from(value));
        args.drain(i..=i + 1);
    }
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let migrations = || -> Result<Migrations> {
        match &dir {
            Some(d) => Migrations::from_dir(d),
            None => Migrations::embedded(),
        }
    };
    match words.as_slice() {
        [] | ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            Ok(())
        }
        ["demo"] => demo(migrations()?).await.map_err(Into::into),
        ["migrate", "up", rest @ ..] => {
            let limit = optional_count(rest)?;
            let migrator = Migrator::new(migrations()?);
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
            let migrator = Migrator::new(migrations()?);
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
            let migrator = Migrator::new(migrations()?);
            let client = app_client().await?;
            println!("{}", migrator.status(&client).await?);
            Ok(())
        }
        ["migrate", "new", name @ ..] if !name.is_empty() => {
            let target = dir.clone().unwrap_or_else(|| PathBuf::from("migrations"));
            let (up, down) = taulu::migrate::new_migration(&target, &name.join(" "))?;
            println!("created {}\ncreated {}", up.display(), down.display());
            Ok(())
        }
        ["migrate", "verify"] => {
            let migrator = Migrator::new(migrations()?);
            let server = server_url().await?;
            let report = migrator.verify(&server).await?;
            println!(
                "ok: {} migrations applied, reverted and re-applied; {} schema objects identical on both up passes",
                report.migrations, report.objects
            );
            Ok(())
        }
        ["migrate", "force", version] => {
            let version: i64 =
                version.parse().map_err(|_| CliError::Usage(format!("VERSION must be a number, got {version:?}")))?;
            let migrator = Migrator::new(migrations()?);
            let client = app_client().await?;
            migrator.force(&client, version).await?;
            println!("recorded: migrations up to {version} are applied");
            Ok(())
        }
        ["db", "start"] => {
            let cluster = blocking(LocalCluster::ensure).await?;
            println!("local PostgreSQL running on 127.0.0.1:{} ({})", cluster.port(), cluster.dir().display());
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

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::LocalPostgres { message: format!("background task failed: {e}") })?
}

/// The server for administrative work: `DATABASE_URL`, or the local cluster's `postgres` database.
async fn server_url() -> Result<DatabaseUrl> {
    match DatabaseUrl::from_env()? {
        Some(url) => Ok(url),
        None => Ok(blocking(LocalCluster::ensure).await?.url("postgres")),
    }
}

/// The application database: `DATABASE_URL`, or the local cluster's `taulu` database (created on
/// first use).
async fn app_url() -> Result<DatabaseUrl> {
    match DatabaseUrl::from_env()? {
        Some(url) => Ok(url),
        None => {
            let cluster = blocking(LocalCluster::ensure).await?;
            taulu::local::ensure_database(&cluster.url("postgres"), LOCAL_DB).await?;
            Ok(cluster.url(LOCAL_DB))
        }
    }
}

async fn app_client() -> Result<tokio_postgres::Client> {
    taulu::connect(&app_url().await?).await
}

/// Migrates the application database, prints its status, and proves the schema is there.
async fn demo(migrations: Migrations) -> Result<()> {
    let url = app_url().await?;
    println!("database: {url}");
    let client = taulu::connect(&url).await?;
    let migrator = Migrator::new(migrations);
    let applied = migrator.up(&client, None).await?;
    println!("\n== migrate up: {} applied", applied.len());
    for a in &applied {
        println!("   {:06}_{} ({} ms)", a.version, a.name, a.duration.as_millis());
    }
    println!("\n== migrate status\n{}", migrator.status(&client).await?);

    println!("\n== tables");
    let tables = client
        .query(
            "SELECT c.table_name, string_agg(c.column_name || ' ' || c.udt_name, ', ' ORDER BY c.ordinal_position)
             FROM information_schema.columns c
             JOIN information_schema.tables t USING (table_schema, table_name)
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> $1
             GROUP BY c.table_name ORDER BY c.table_name",
            &[&taulu::migrate::DEFAULT_TABLE],
        )
        .await?;
    for row in &tables {
        println!("   {:<15} {}", row.get::<_, String>(0), row.get::<_, String>(1));
    }
    println!("\n== enums");
    let enums = client
        .query(
            "SELECT t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
             JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
             GROUP BY t.typname ORDER BY t.typname",
            &[],
        )
        .await?;
    for row in &enums {
        println!("   {:<15} {}", row.get::<_, String>(0), row.get::<_, String>(1));
    }

    // A round trip through the schema, rolled back so the demo leaves no data behind.
    println!("\n== a write round trip (rolled back)");
    client.batch_execute("BEGIN").await?;
    let outcome = async {
        let user = client
            .query_one(
                "INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3)
                 RETURNING id::text, system_role::text",
                &[&"demo", &"Demo@Example.com", &"not-a-real-hash"],
            )
            .await?;
        println!(
            "   inserted user demo: id {} (gen_random_uuid), system_role '{}' (the default)",
            user.get::<_, String>(0),
            user.get::<_, String>(1)
        );
        let duplicate = client
            .execute(
                "INSERT INTO users (username, email, password_hash) VALUES ('demo2', 'demo@example.COM', 'x')",
                &[],
            )
            .await;
        match duplicate {
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                println!(
                    "   a second user with email demo@example.COM is refused: emails are unique case-insensitively"
                )
            }
            other => println!("   unexpected: the duplicate email was not refused ({other:?})"),
        }
        Ok::<_, Error>(())
    }
    .await;
    client.batch_execute("ROLLBACK").await?;
    outcome?;
    println!("   rolled back");
    Ok(())
}
