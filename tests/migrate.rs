//! The migration runner, the CLI and connection errors, on real PostgreSQL (the local cluster, or
//! `DATABASE_URL`'s server). Every test gets its own database from `taulu::testing`.

use std::path::{Path, PathBuf};

use taulu::{
    DatabaseUrl, Error,
    migrate::{Migrations, Migrator, State},
    testing::{TestDb, capture_logs, server},
};
use tokio_postgres::Client;

fn fixture(name: &str) -> Migrations {
    Migrations::from_dir(fixture_dir(name)).unwrap()
}

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

async fn exists(client: &Client, relation: &str) -> bool {
    client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&relation]).await.unwrap().get(0)
}

async fn applied_versions(client: &Client) -> Vec<i64> {
    client
        .query("SELECT version FROM taulu_schema_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn app_migrations_apply_and_round_trip_in_verify() {
    let migrator = Migrator::new(&taulu_app::MIGRATIONS);
    let server = server().await.unwrap();
    let (report, logs) = capture_logs(async || migrator.verify(&server).await).await;
    let report = report.unwrap();
    // The scratch database's session says goodbye before the database is dropped.
    assert!(!logs.contains("connection closed with an error"), "{logs}");
    assert_eq!(report.migrations, migrator.migrations().len());
    // The app schema is in the comparison: 5 tables with their columns, indexes, enums...
    assert!(report.objects > 60, "only {} objects compared", report.objects);
}

#[tokio::test]
async fn up_down_up_gives_the_same_schema_and_version_rows() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let migrator = Migrator::new(&taulu_app::MIGRATIONS);
    let n = migrator.migrations().len();

    assert_eq!(migrator.up(c, None).await.unwrap().len(), n);
    assert!(exists(c, "users").await && exists(c, "members").await);
    let first = dump_columns(c).await;
    assert!(first.contains(&"sessions.revoked_at timestamp with time zone NULL".to_owned()), "{first:#?}");

    assert_eq!(migrator.down(c, usize::MAX).await.unwrap().len(), n);
    assert!(!exists(c, "users").await);
    assert!(dump_columns(c).await.is_empty());
    assert!(applied_versions(c).await.is_empty());

    assert_eq!(migrator.up(c, None).await.unwrap().len(), n);
    assert_eq!(dump_columns(c).await, first);
    assert_eq!(applied_versions(c).await, (1..=n as i64).collect::<Vec<_>>());
    // Nothing left to do.
    assert!(migrator.up(c, None).await.unwrap().is_empty());
}

async fn dump_columns(c: &Client) -> Vec<String> {
    c.query(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' ||
                CASE is_nullable WHEN 'YES' THEN 'NULL' ELSE 'NOT NULL' END
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> 'taulu_schema_migrations'
         ORDER BY table_name, ordinal_position",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn up_and_down_honour_their_limits() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let migrator = Migrator::new(&taulu_app::MIGRATIONS);
    let applied = migrator.up(c, Some(1)).await.unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [1]);
    migrator.up(c, Some(1)).await.unwrap();
    assert_eq!(applied_versions(c).await, [1, 2]);
    let reverted = migrator.down(c, 1).await.unwrap();
    assert_eq!(reverted.iter().map(|a| a.version).collect::<Vec<_>>(), [2]);
    assert_eq!(applied_versions(c).await, [1]);
}

#[tokio::test]
async fn verify_fails_naming_what_a_wrong_down_migration_left_behind() {
    let migrator = Migrator::new(&fixture("wrong_down"));
    let err = migrator.verify(&server().await.unwrap()).await.unwrap_err();
    let Error::Verify { differences } = &err else {
        panic!("expected a verify error, got {err}");
    };
    assert_eq!(
        differences,
        &["000002_index_and_require_name.down.sql does not reverse 000002_index_and_require_name.up.sql: \
             column public.things.name differs: expected `text NULL position 2`, found `text NOT NULL position 2`"]
    );
}

#[tokio::test]
async fn verify_drops_its_scratch_database_even_when_it_fails() {
    let server = server().await.unwrap();
    let (result, logged) = capture_logs(async || Migrator::new(&fixture("wrong_down")).verify(&server).await).await;
    assert!(result.is_err());
    let scratch = logged
        .lines()
        .find(|l| l.contains("verify: created scratch database"))
        .and_then(|l| l.split("database=").nth(1))
        .map(|name| name.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no scratch database logged: {logged}"));
    assert!(scratch.starts_with("taulu_verify_"), "{scratch}");
    let admin = taulu::connect(&server).await.unwrap();
    let left: i64 =
        admin.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&scratch]).await.unwrap().get(0);
    assert_eq!(left, 0, "{scratch} was not dropped");
}

#[tokio::test]
async fn four_concurrent_runners_apply_each_migration_exactly_once() {
    let db = TestDb::empty().await.unwrap();
    let migrator = Migrator::new(&fixture("concurrent"));
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(db.connect().await.unwrap());
    }
    let runs = clients.iter().map(|c| migrator.up(c, None));
    let results = futures_join_all(runs).await;
    let mut applied_by_someone = Vec::new();
    for r in results {
        applied_by_someone.extend(r.expect("every runner succeeds").into_iter().map(|a| a.version));
    }
    applied_by_someone.sort();
    assert_eq!(applied_by_someone, [1, 2, 3, 4, 5, 6], "each migration applied by exactly one runner");

    let c = db.client();
    let per_version: Vec<(i32, i64)> = c
        .query("SELECT version, count(*) FROM applications GROUP BY version ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(per_version, (1..=6).map(|v| (v, 1)).collect::<Vec<_>>());
    assert_eq!(applied_versions(c).await, [1, 2, 3, 4, 5, 6]);
}

/// Polls all futures concurrently on this task (no extra dependency for `join_all`).
async fn futures_join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut tasks: Vec<_> = futures.map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<F::Output>> = tasks.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (task, slot) in tasks.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = task {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *slot = Some(v);
                        *task = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future completed")).collect()
}

#[tokio::test]
async fn a_migration_failing_halfway_changes_nothing_and_names_file_and_statement() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let migrator = Migrator::new(&fixture("failing"));
    let err = migrator.up(c, None).await.unwrap_err();

    let Error::MigrationFailed(failure) = &err else {
        panic!("expected a migration failure, got {err}");
    };
    assert_eq!(failure.file, "000002_fails_halfway.up.sql");
    assert_eq!(failure.statement, "SELECT id FROM no_such_table;");
    // PostgreSQL's error position, mapped into the file: line 4, at `no_such_table`.
    assert_eq!((failure.line, failure.column), (4, 16));
    assert_eq!(failure.outcome, taulu::MigrationOutcome::RolledBack);
    assert_eq!(err.sqlstate(), Some("42P01"));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "migration 000002_fails_halfway.up.sql:4:16 failed: ERROR: relation \"no_such_table\" does not exist (SQLSTATE 42P01)"
        ),
        "{text}"
    );
    assert!(text.contains("statement: SELECT id FROM no_such_table;"), "{text}");

    // The first migration is applied; nothing of the second is.
    assert_eq!(applied_versions(c).await, [1]);
    assert!(exists(c, "ok_table").await);
    assert!(!exists(c, "partial").await);
    assert!(!exists(c, "never_created").await);
    let extra: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'ok_table' AND column_name = 'extra'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(extra, 0, "the ALTER TABLE before the failure was rolled back");
    // And the connection is usable (not stuck in an aborted transaction).
    c.batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn no_transaction_migrations_run_outside_a_transaction_and_a_failure_leaves_them_dirty() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let set = fixture("no_transaction");
    assert!(!set.get(2).unwrap().up().is_transactional());
    let migrator = Migrator::new(&set);

    // 1 and 2 apply: CREATE INDEX CONCURRENTLY and using a just-added enum label both work.
    let err = migrator.up(c, None).await.unwrap_err();
    assert!(exists(c, "feelings_how_idx").await);
    let how: String = c.query_one("SELECT how::text FROM feelings", &[]).await.unwrap().get(0);
    assert_eq!(how, "meh");

    // 3 fails after its first statement ran: the table exists, the version is dirty.
    let Error::MigrationFailed(failure) = &err else {
        panic!("expected a migration failure, got {err}");
    };
    assert_eq!(failure.file, "000003_fails_outside_a_transaction.up.sql");
    assert_eq!(failure.outcome, taulu::MigrationOutcome::Dirty);
    assert_eq!(failure.line, 3);
    assert!(exists(c, "half_done").await);
    let status = migrator.status(c).await.unwrap();
    assert_eq!(
        status.entries.iter().map(|e| e.state).collect::<Vec<_>>(),
        [State::Applied, State::Applied, State::Dirty]
    );

    // Every runner refuses to go on until someone says what state the database is in.
    let refused = migrator.up(c, None).await.unwrap_err();
    assert!(matches!(refused, Error::Dirty { version: 3, previous: 2, .. }), "{refused}");
    assert!(refused.to_string().contains("taulu migrate force 3"), "{refused}");
    let refused = migrator.down(c, 1).await.unwrap_err();
    assert!(matches!(refused, Error::Dirty { version: 3, .. }), "{refused}");

    // A person repairs the database by hand and records that 3 is not applied.
    c.batch_execute("DROP TABLE half_done").await.unwrap();
    migrator.force(c, 2).await.unwrap();
    assert_eq!(applied_versions(c).await, [1, 2]);
    let status = migrator.status(c).await.unwrap();
    assert_eq!(
        status.entries.iter().map(|e| e.state).collect::<Vec<_>>(),
        [State::Applied, State::Applied, State::Pending]
    );

    // The no-transaction down migration runs too.
    migrator.down(c, 1).await.unwrap();
    assert!(!exists(c, "feelings_how_idx").await);
    assert_eq!(applied_versions(c).await, [1]);
}

#[tokio::test]
async fn an_edited_applied_migration_is_detected_by_checksum() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let original = Migrations::from_files([
        ("000001_create_t.up.sql", "CREATE TABLE t (id int);"),
        ("000001_create_t.down.sql", "DROP TABLE t;"),
    ])
    .unwrap();
    Migrator::new(&original).up(c, None).await.unwrap();

    let edited = Migrations::from_files([
        ("000001_create_t.up.sql", "CREATE TABLE t (id bigint);"),
        ("000001_create_t.down.sql", "DROP TABLE t;"),
        ("000002_more.up.sql", "CREATE TABLE more (id int);"),
        ("000002_more.down.sql", "DROP TABLE more;"),
    ])
    .unwrap();
    let migrator = Migrator::new(&edited);
    let err = migrator.up(c, None).await.unwrap_err();
    let Error::ChecksumMismatch { version, file, .. } = &err else {
        panic!("expected a checksum mismatch, got {err}");
    };
    assert_eq!((*version, file.as_str()), (1, "000001_create_t.up.sql"));
    assert!(err.to_string().starts_with("migration 000001_create_t.up.sql was applied with checksum"));
    // Nothing ran: 2 is still pending.
    assert!(!exists(c, "more").await);
    assert!(matches!(migrator.down(c, 1).await, Err(Error::ChecksumMismatch { .. })));
    let states: Vec<State> = migrator.status(c).await.unwrap().entries.iter().map(|e| e.state).collect();
    assert_eq!(states, [State::Modified, State::Pending]);

    // Declaring the edit intended records the new checksum; then 2 applies.
    migrator.force(c, 1).await.unwrap();
    assert_eq!(migrator.up(c, None).await.unwrap().len(), 1);
    assert!(exists(c, "more").await);
}

#[tokio::test]
async fn a_pending_migration_older_than_an_applied_one_is_refused() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let two = |extra: bool| {
        let mut files = vec![("000002_b.up.sql", "CREATE TABLE b (id int);"), ("000002_b.down.sql", "DROP TABLE b;")];
        if extra {
            files.push(("000001_a.up.sql", "CREATE TABLE a (id int);"));
            files.push(("000001_a.down.sql", "DROP TABLE a;"));
        }
        Migrations::from_files(files).unwrap()
    };
    Migrator::new(&two(false)).up(c, None).await.unwrap();
    let err = Migrator::new(&two(true)).up(c, None).await.unwrap_err();
    assert!(matches!(&err, Error::OutOfOrder { file, latest_applied: 2 } if file == "000001_a.up.sql"), "{err}");
    assert!(!exists(c, "a").await);
}

#[tokio::test]
async fn an_applied_migration_without_a_file_is_reported() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    Migrator::new(&fixture("failing")).up(c, Some(1)).await.unwrap();
    let fewer = Migrator::new(&Migrations::default());
    let err = fewer.up(c, None).await.unwrap_err();
    assert!(matches!(&err, Error::UnknownApplied { version: 1, name } if name == "create_ok_table"), "{err}");
    let states: Vec<State> = fewer.status(c).await.unwrap().entries.iter().map(|e| e.state).collect();
    assert_eq!(states, [State::MissingFile]);
}

#[tokio::test]
async fn status_lists_applied_and_pending_migrations() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let migrator = Migrator::new(&taulu_app::MIGRATIONS);

    // Before anything ran (no version table yet): everything pending, and status created nothing.
    let status = migrator.status(c).await.unwrap();
    assert!(status.entries.iter().all(|e| e.state == State::Pending && e.applied_at.is_none()));
    assert!(!exists(c, "taulu_schema_migrations").await);

    migrator.up(c, Some(2)).await.unwrap();
    let status = migrator.status(c).await.unwrap();
    let rows: Vec<(i64, &str, State)> = status.entries.iter().map(|e| (e.version, e.name.as_str(), e.state)).collect();
    assert_eq!(
        rows,
        [
            (1, "create_initial_tables", State::Applied),
            (2, "add_session_revocation", State::Applied),
            (3, "add_users_display_name", State::Pending),
        ]
    );
    assert!(status.entries[..2].iter().all(|e| e.applied_at.is_some() && e.duration_ms.is_some()));

    let text = status.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("VERSION  NAME"), "{text}");
    assert!(lines[1].starts_with("000001   create_initial_tables   applied   20"), "{text}");
    assert!(lines[2].starts_with("000002   add_session_revocation  applied   20"), "{text}");
    assert!(lines[3].starts_with("000003   add_users_display_name  pending   -"), "{text}");
    assert_eq!(lines[4], "2 applied, 1 pending");
}

/// The local cluster's (or DATABASE_URL's) server, with a wrong password.
async fn url_with_wrong_password(password: &str) -> (DatabaseUrl, String) {
    let server = server().await.unwrap();
    let cfg = server.config();
    let host = match &cfg.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        other => panic!("expected a TCP host, got {other:?}"),
    };
    let port = cfg.get_ports()[0];
    let user = cfg.get_user().unwrap();
    let raw = format!("postgres://{user}:{password}@{host}:{port}/postgres");
    (raw.parse().unwrap(), raw)
}

#[tokio::test]
async fn a_wrong_password_gives_an_error_that_does_not_contain_it() {
    let password = "Wr0ng-Pa55word-7f3a9c";
    let (url, _) = url_with_wrong_password(password).await;

    // Capture every log line emitted while connecting, at the most verbose level.
    let (result, logged) = capture_logs(async || taulu::connect(&url).await).await;
    let err = result.unwrap_err();

    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert_eq!(err.sqlstate(), Some("28P01"), "invalid_password: {err}");
    let shown = format!("{err}\n{err:?}");
    assert!(shown.contains("password authentication failed"), "{shown}");
    assert!(!shown.contains(password), "the error leaks the password: {shown}");
    assert!(logged.contains("connect failed"), "the failure is logged: {logged}");
    assert!(!logged.contains(password), "a log line leaks the password: {logged}");
}

#[tokio::test]
async fn test_databases_are_isolated_and_cloned_from_the_migrated_template() {
    let a = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let b = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    assert_ne!(a.name(), b.name());
    a.client()
        .execute("INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@example.com', 'x')", &[])
        .await
        .unwrap();
    assert_eq!(count_users(a.client()).await, 1);
    assert_eq!(count_users(b.client()).await, 0);
    assert_eq!(applied_versions(b.client()).await.len(), taulu_app::MIGRATIONS.len());

    // Dropping a TestDb drops its database.
    let name = a.name().to_owned();
    drop(a);
    let admin = taulu::connect(&server().await.unwrap()).await.unwrap();
    let left: i64 =
        admin.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name]).await.unwrap().get(0);
    assert_eq!(left, 0);
}

async fn count_users(c: &Client) -> i64 {
    c.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_migration_written_for_standard_conforming_strings_off_applies_as_the_server_reads_it() {
    let db = TestDb::empty().await.unwrap();
    let set = Migrations::from_files([
        (
            "000001_legacy_strings.up.sql",
            "SET standard_conforming_strings = off;\n\
             CREATE TABLE notes (body text);\n\
             INSERT INTO notes VALUES ('it\\'s; DROP TABLE notes; --');\n\
             RESET standard_conforming_strings;",
        ),
        ("000001_legacy_strings.down.sql", "DROP TABLE notes;"),
    ])
    .unwrap();
    Migrator::new(&set).up(db.client(), None).await.unwrap();
    let bodies: Vec<String> =
        db.client().query("SELECT body FROM notes", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(bodies, ["it's; DROP TABLE notes; --"]);
}

#[tokio::test]
async fn a_connection_lost_during_commit_leaves_the_outcome_unknown_not_unchanged() {
    let db = TestDb::empty().await.unwrap();
    // A deferred constraint trigger runs at COMMIT; this one ends its own session there.
    let set = Migrations::from_files([
        (
            "000001_dies_at_commit.up.sql",
            "CREATE TABLE boom (x int);\n\
             CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NULL; END $$;\n\
             CREATE CONSTRAINT TRIGGER boom AFTER INSERT ON boom DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION boom();\n\
             INSERT INTO boom VALUES (1);",
        ),
        ("000001_dies_at_commit.down.sql", "DROP TABLE boom; DROP FUNCTION boom();"),
    ])
    .unwrap();
    let client = db.connect().await.unwrap();
    let err = Migrator::new(&set).up(&client, None).await.unwrap_err();
    let Error::MigrationFailed(failure) = &err else { panic!("{err}") };
    assert_eq!(failure.outcome, taulu::MigrationOutcome::Unknown, "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::Ambiguous);
    let text = err.to_string();
    assert!(text.contains("whether the migration was applied is unknown"), "{text}");
    assert!(!text.contains("unchanged"), "{text}");
}

#[test]
fn a_migration_file_with_an_upper_case_suffix_is_an_error_not_skipped() {
    let dir = std::env::temp_dir().join(format!("taulu-upper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("000001_a.up.sql"), "SELECT 1;").unwrap();
    std::fs::write(dir.join("000001_a.down.sql"), "SELECT 1;").unwrap();
    std::fs::write(dir.join("000002_b.up.SQL"), "SELECT 1;").unwrap();
    let err = Migrations::from_dir(&dir).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.starts_with("000002_b.up.SQL: is not a migration file (the suffix must be lower-case"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_of_a_database_all_succeed() {
    let server = server().await.unwrap();
    let name = format!("taulu_race_{}", std::process::id());
    let results = futures_join_all((0..8).map(|_| taulu::local::ensure_database(&server, &name))).await;
    let admin = taulu::connect(&server.with_dbname("postgres")).await.unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
    for r in results {
        r.unwrap();
    }
}

#[tokio::test]
async fn a_file_wrapped_in_begin_and_commit_runs_as_its_one_transaction() {
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    let set = Migrations::from_files([
        ("000001_wrapped.up.sql", "BEGIN;\nCREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nCOMMIT;\n"),
        ("000001_wrapped.down.sql", "BEGIN;\nDROP TABLE a;\nCOMMIT;\n"),
        ("000002_fails.up.sql", "BEGIN;\nCREATE TABLE b (x int);\nSELECT * FROM nope;\nCOMMIT;\n"),
        ("000002_fails.down.sql", ""),
    ])
    .unwrap();
    let err = Migrator::new(&set).up(c, None).await.unwrap_err();
    assert!(err.to_string().contains("000002_fails.up.sql:3:"), "the error keeps the file's line: {err}");
    assert!(exists(c, "a").await, "the first file committed");
    assert!(!exists(c, "b").await, "the failing file rolled back as one transaction");
    assert_eq!(applied_versions(c).await, [1]);
    Migrator::new(&set).down(c, 1).await.unwrap();
    assert!(!exists(c, "a").await);
}

/// The reference app's migrations 1 and 2 applied as another tool would have: their SQL, run
/// directly, and that tool's version table, made as the tool makes it, with `rows` inserted.
async fn migrated_by(c: &Client, tool: taulu::migrate::Tool, rows: &str) {
    use taulu::migrate::Tool;
    for m in taulu_app::MIGRATIONS.iter().take(2) {
        c.batch_execute(m.up().sql()).await.unwrap();
    }
    let table = match tool {
        Tool::GolangMigrate => {
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
        }
        Tool::Sqlx => {
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                 installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
                 checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)"
        }
        Tool::Diesel => {
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
                 run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        }
        Tool::Refinery => {
            "CREATE TABLE refinery_schema_history (version int4 PRIMARY KEY, name VARCHAR(255),
                 applied_on VARCHAR(255), checksum VARCHAR(255))"
        }
    };
    if !rows.is_empty() {
        c.batch_execute(table).await.unwrap();
        c.batch_execute(rows).await.unwrap();
    }
}

#[tokio::test]
async fn adopting_a_golang_migrate_history_records_its_baseline_and_up_goes_on_from_there() {
    use taulu::migrate::Tool;
    let db = TestDb::empty().await.unwrap();
    let c = db.client();
    migrated_by(c, Tool::GolangMigrate, "INSERT INTO schema_migrations VALUES (2, false);").await;
    let migrator = Migrator::new(&taulu_app::MIGRATIONS);
    let adopted = migrator.adopt(c, Tool::GolangMigrate).await.unwrap();
    assert_eq!((adopted.version, adopted.recorded), (2, 2));
    assert_eq!(applied_versions(c).await, [1, 2]);
    let checksums: Vec<String> = c
        .query("SELECT checksum FROM taulu_schema_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let ours: Vec<String> = taulu_app::MIGRATIONS.iter().take(2).map(|m| m.checksum().to_owned()).collect();
    assert_eq!(checksums, ours);
    // Again: the same baseline, no error. Then up applies only what is new.
    migrator.adopt(c, Tool::GolangMigrate).await.unwrap();
    let applied = migrator.up(c, None).await.unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [3]);
}

#[tokio::test]
async fn adoption_refuses_a_dirty_source_unknown_versions_and_gaps_and_records_nothing() {
    use taulu::migrate::Tool;
    let migrator = Migrator::new(&taulu_app::MIGRATIONS);
    let cases = [
        (
            Tool::GolangMigrate,
            "INSERT INTO schema_migrations VALUES (2, true);",
            "recorded version 2 as dirty or failed",
        ),
        (
            Tool::Sqlx,
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (1, 'create initial tables', true, '\\x00', 1), (2, 'add session revocation', false, '\\x00', 1);",
            "recorded version 2 as dirty or failed",
        ),
        (
            Tool::Sqlx,
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (2, 'add session revocation', true, '\\x00', 1);",
            "never applied versions 1 below its latest (2)",
        ),
        (
            Tool::Diesel,
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('1'), ('20240101120000');",
            "records versions without a file here: 20240101120000",
        ),
        (Tool::Diesel, "", "no diesel version table in this database"),
    ];
    for (tool, ddl, expected) in cases {
        let db = TestDb::empty().await.unwrap();
        migrated_by(db.client(), tool, ddl).await;
        let err = migrator.adopt(db.client(), tool).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{}: {err}", tool.name());
        assert!(!exists(db.client(), "taulu_schema_migrations").await, "{}: nothing recorded", tool.name());
    }
    // sqlx and diesel histories that match adopt.
    for (tool, ddl) in [
        (
            Tool::Sqlx,
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (1, 'a', true, '\\x00', 1), (2, 'b', true, '\\x00', 1);",
        ),
        (Tool::Diesel, "INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('1'), ('2');"),
    ] {
        let db = TestDb::empty().await.unwrap();
        migrated_by(db.client(), tool, ddl).await;
        assert_eq!(migrator.adopt(db.client(), tool).await.unwrap().version, 2, "{}", tool.name());
        assert_eq!(applied_versions(db.client()).await, [1, 2]);
    }
}

/// The same small service's migrations in each tool's layout, as they are on disk.
mod layouts {
    pub mod sqlx {
        taulu::schema!("tests/fixtures/layouts/sqlx");
    }
    pub mod diesel {
        taulu::schema!("tests/fixtures/layouts/diesel", layout = "diesel");
    }
    pub mod refinery {
        taulu::schema!("tests/fixtures/layouts/refinery");
    }
}

static SQLX: taulu::migrate::Embedded = taulu::migrations!("tests/fixtures/layouts/sqlx");
static DIESEL: taulu::migrate::Embedded = taulu::migrations!("tests/fixtures/layouts/diesel", layout = "diesel");
static REFINERY: taulu::migrate::Embedded = taulu::migrations!("tests/fixtures/layouts/refinery");

/// A digest of every file below `dir`: adoption must leave it as it was.
fn digest(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(digest(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// sqlx's, diesel's and refinery's layouts, read as they are on disk: the runner applies each set
/// to a fresh database (diesel's `metadata.toml` and sqlx's `-- no-transaction` run an index
/// outside a transaction), `schema!` types the same files with no drift from the migrated catalog,
/// a typed query runs on it, and one-way migrations are not reverted (saying why) while `verify`
/// round-trips the reversible ones above them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tools_layout_migrates_and_types_as_it_is_on_disk() {
    use taulu::{migrate::Layout, prelude::*};
    let sets: [(&taulu::migrate::Embedded, Layout, &taulu::meta::Schema, usize); 3] = [
        (&SQLX, Layout::Sqlx, &layouts::sqlx::SCHEMA, 5),
        (&DIESEL, Layout::Diesel, &layouts::diesel::SCHEMA, 4),
        (&REFINERY, Layout::Refinery, &layouts::refinery::SCHEMA, 4),
    ];
    for (set, layout, schema, count) in sets {
        assert_eq!((set.layout(), set.len()), (layout, count), "{layout}");
        let db = TestDb::new(set).await.unwrap();
        let check = taulu::meta::check(db.client(), schema).await.unwrap();
        assert!(check.is_ok(), "{layout}: {check}");
        let tables: Vec<&str> = schema.tables.iter().map(|t| t.name).collect();
        assert!(tables.contains(&"accounts") && tables.contains(&"bookmarks"), "{layout}: {tables:?}");
        let index: bool = db
            .client()
            .query_one("SELECT to_regclass('bookmarks_account_id_idx') IS NOT NULL", &[])
            .await
            .unwrap()
            .get(0);
        assert!(index, "{layout}: the index");
    }
    let db = TestDb::new(&SQLX).await.unwrap();
    use layouts::sqlx::{Bookmarks, bookmarks};
    let starred: Vec<(bool,)> =
        select_from::<Bookmarks>().columns((bookmarks::starred,)).fetch_all(db.client()).await.unwrap();
    assert!(starred.is_empty());
    // sqlx's history table, made for the migration that edits it (a database sqlx never migrated).
    assert!(crate::exists(db.client(), "_sqlx_migrations").await);
    // The two newest sqlx migrations have down files; the three before them are one way.
    let migrator = Migrator::new(&SQLX);
    let err = migrator.down(db.client(), 3).await.unwrap_err().to_string();
    assert!(err.contains("20240302100000_forget_library_jobs.sql: is a one-way migration (no down file"), "{err}");
    assert_eq!(applied_versions(db.client()).await.len(), 5, "nothing was reverted");
    assert_eq!(migrator.down(db.client(), 2).await.unwrap().len(), 2);
    let report = migrator.verify(&server().await.unwrap()).await.unwrap();
    assert_eq!((report.migrations, report.reverted), (5, 2));
}

/// Takes over a database another tool migrated, its files as they are: the tool's version table
/// as the tool makes it, the first migrations applied; adopt records them, `up` applies the rest,
/// and not a file of the directory is renamed, written or removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopting_a_history_in_place_leaves_every_file_as_it_is() {
    use taulu::migrate::Tool;
    let cases: [(&taulu::migrate::Embedded, &str, Tool, &str); 3] = [
        (
            &SQLX,
            "sqlx",
            Tool::Sqlx,
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                 installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,
                 checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (20240301090000, 'create accounts', true, '\\x00', 1),
                    (20240302090000, 'bookmarks v1.1', true, '\\x00', 1);",
        ),
        (
            &DIESEL,
            "diesel",
            Tool::Diesel,
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL,
                 run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
             INSERT INTO __diesel_schema_migrations (version)
             VALUES ('00000000000000'), ('20240301090000'), ('20240302090000');",
        ),
        (
            &REFINERY,
            "refinery",
            Tool::Refinery,
            "CREATE TABLE refinery_schema_history (version int4 PRIMARY KEY, name VARCHAR(255),
                 applied_on VARCHAR(255), checksum VARCHAR(255));
             INSERT INTO refinery_schema_history VALUES (1, 'create_accounts', '2024-03-01', '1'),
                    (2, 'create_bookmarks', '2024-03-02', '2');",
        ),
    ];
    for (set, dir, tool, history) in cases {
        let dir = fixture_dir(&format!("layouts/{dir}"));
        let before = digest(&dir);
        let db = TestDb::empty().await.unwrap();
        let c = db.client();
        let on_disk = Migrations::from_dir(&dir).unwrap();
        let applied_by_tool = if tool == Tool::Diesel { 3 } else { 2 };
        for m in on_disk.iter().take(applied_by_tool) {
            c.batch_execute(m.up().sql()).await.unwrap();
        }
        c.batch_execute(history).await.unwrap();
        let migrator = Migrator::new(&on_disk);
        let adopted = migrator.adopt(c, tool).await.unwrap();
        assert_eq!(adopted.recorded, applied_by_tool, "{}", tool.name());
        let applied = migrator.up(c, None).await.unwrap();
        assert_eq!(applied.len(), set.len() - applied_by_tool, "{}", tool.name());
        assert_eq!(applied_versions(c).await.len(), set.len(), "{}", tool.name());
        assert_eq!(digest(&dir), before, "{}: the directory is as it was", tool.name());
    }
}
