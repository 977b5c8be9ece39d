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

    drop(client);
    let db = taulu::Db::connect(taulu::DbConfig::new(url)).await?;
    builder_flows(&db).await?;
    let (open, idle) = db.state();
    println!("   pool: {open} connections open, {idle} idle (max 5)");
    Ok(())
}

/// The product's flows through the typed builder, printing what each returned. Names carry a
/// random suffix and everything is deleted at the end, so the demo can run again and again.
async fn builder_flows(db: &taulu::Db) -> Result<()> {
    use taulu::prelude::*;
    use taulu::schema::{
        LoginAttempts, Members, Orgs, Role, Sessions, Users, login_attempts, members, orgs, sessions, users,
    };

    let tag: String = format!("{:04x}", rand::random::<u16>());
    let (ann_name, bob_name, slug) = (format!("ann-{tag}"), format!("bob-{tag}"), format!("acme-{tag}"));
    println!("\n== the builder at work (demo names end in -{tag}; deleted at the end)");

    let ann: users::Row = insert_into::<Users>()
        .values(
            users::Insert::new(ann_name.clone(), format!("{ann_name}@example.com"), "argon2id$...")
                .with_display_name("Ann"),
        )
        .returning_all()
        .fetch_one(db)
        .await?;
    println!(
        "   created user {} ({}), system_role {}, created_at {}",
        ann.username, ann.id, ann.system_role, ann.created_at
    );
    let (bob_id,) = insert_into::<Users>()
        .values(users::Insert::new(bob_name.clone(), format!("{bob_name}@example.com"), "argon2id$..."))
        .returning((users::id,))
        .fetch_one(db)
        .await?;

    for (identifier, success) in [(ann_name.as_str(), false), (ann_name.as_str(), true), ("mallory", false)] {
        let user = (identifier == ann_name).then_some(ann.id);
        let mut attempt =
            login_attempts::Insert::new(identifier.to_owned(), success).with_ip("127.0.0.1".parse().unwrap());
        if let Some(id) = user {
            attempt = attempt.with_user_id(id);
        }
        insert_into::<LoginAttempts>().values(attempt).execute(db).await?;
    }
    let (tries, failures): (i64, i64) = (
        select_from::<LoginAttempts>()
            .columns((count_all(),))
            .where_(login_attempts::user_id.eq(ann.id))
            .fetch_one(db)
            .await?
            .0,
        select_from::<LoginAttempts>()
            .columns((count_all(),))
            .where_(login_attempts::user_id.eq(ann.id))
            .where_(login_attempts::success.eq(false))
            .fetch_one(db)
            .await?
            .0,
    );
    println!("   recorded login attempts: {tries} for {ann_name}, {failures} of them failed");

    let expires = chrono::Utc::now() + chrono::Duration::days(30);
    let (session_id, session_expires) = insert_into::<Sessions>()
        .values(
            sessions::Insert::new(ann.id, rand::random::<[u8; 32]>().to_vec(), expires).with_user_agent("taulu-demo"),
        )
        .returning((sessions::id, sessions::expires_at))
        .fetch_one(db)
        .await?;
    println!("   opened session {session_id}, expires {session_expires}");

    let (org_id, org_name) = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", slug.clone()))
        .returning((orgs::id, orgs::name))
        .fetch_one(db)
        .await?;
    println!("   created org {org_name} ({slug})");
    insert_into::<Members>()
        .values_many([
            members::Insert::new(org_id, ann.id).with_member_role(Role::Owner),
            members::Insert::new(org_id, bob_id),
        ])
        .execute(db)
        .await?;
    println!("   added members: {ann_name} as owner, {bob_name} with the default role");

    for (name, id) in [(&ann_name, ann.id), (&bob_name, bob_id)] {
        let orgs_of = select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .where_(members::user_id.eq(id))
            .columns((orgs::name, orgs::slug, members::member_role))
            .fetch_all(db)
            .await?;
        for (org, slug, role) in orgs_of {
            println!("   {name} belongs to {org} ({slug}) as {role}");
        }
    }

    let rolled_back = db
        .transaction(async |tx| {
            insert_into::<Users>()
                .values(users::Insert::new(format!("carol-{tag}"), format!("carol-{tag}@example.com"), "x"))
                .execute(tx)
                .await?;
            // Same email as ann, differently cased: the unique index refuses it, the whole
            // transaction (carol too) rolls back.
            insert_into::<Users>()
                .values(users::Insert::new(
                    format!("dave-{tag}"),
                    format!("{}@EXAMPLE.com", ann_name.to_uppercase()),
                    "x",
                ))
                .execute(tx)
                .await?;
            Ok(())
        })
        .await;
    let carol = select_from::<Users>()
        .columns((users::id,))
        .where_(users::username.eq(format!("carol-{tag}")))
        .fetch_optional(db)
        .await?;
    println!(
        "   a transaction inserting carol then a duplicate email: {}; carol exists afterwards: {}",
        match &rolled_back {
            Err(e) if e.is_unique_violation() => "failed with a unique violation, rolled back".to_owned(),
            Err(e) => format!("failed: {e}"),
            Ok(()) => "unexpectedly committed".to_owned(),
        },
        carol.is_some()
    );

    // Clean up: members and sessions go with their user and org (ON DELETE CASCADE).
    let gone = delete_from::<Users>().where_(users::id.in_([ann.id, bob_id])).execute(db).await?;
    delete_from::<Orgs>().where_(orgs::id.eq(org_id)).execute(db).await?;
    delete_from::<LoginAttempts>()
        .where_(login_attempts::identifier.in_([ann_name.clone(), "mallory".to_owned()]))
        .execute(db)
        .await?;
    println!("   cleaned up: deleted {gone} users (their sessions and memberships cascaded), the org and the attempts");
    Ok(())
}
