//! The `taulu` binary on real PostgreSQL: exit codes, output, errors that never print a password,
//! verified TLS, and runner processes competing for the migration lock. Each test runs the binary
//! as a user would, against a database of its own from `taulu::testing`.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use taulu::{
    DatabaseUrl, Db, DbConfig, Error,
    migrate::Migrations,
    testing::{TestDb, server},
};
use tokio_postgres::Client;

/// The repository's migrations (the reference app's), which the CLI reads with `--dir` /
/// `TAULU_MIGRATIONS_DIR` like any project's.
fn app_migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

/// The `taulu` binary, reading the reference app's migrations unless `--dir` says otherwise.
fn taulu() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_taulu"));
    cmd.env("TAULU_MIGRATIONS_DIR", app_migrations_dir());
    cmd
}

fn fixture(name: &str) -> Migrations {
    Migrations::from_dir(fixture_dir(name)).unwrap()
}

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
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

/// A guard against hanging forever when a condition never comes true: panics past `secs`. (Not a
/// timing assertion: every wait in these tests is on an observed condition.)
fn give_up_after(secs: u64) -> impl Fn(&str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    move |what: &str| assert!(Instant::now() < deadline, "gave up waiting for {what}")
}

#[tokio::test]
async fn the_cli_with_a_wrong_password_fails_without_printing_it() {
    let password = "Cl1-Wr0ng-Secret-91b2";
    let (_, raw) = url_with_wrong_password(password).await;
    let out = tokio::task::spawn_blocking(move || {
        taulu().args(["migrate", "status"]).env("DATABASE_URL", raw).env("TAULU_LOG", "trace").output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: cannot connect to postgres@"), "{stderr}");
    assert!(stderr.contains("password authentication failed"), "{stderr}");
    assert!(!stdout.contains(password) && !stderr.contains(password), "leaked: {stdout}\n{stderr}");
}

#[tokio::test]
async fn the_cli_migrates_reports_status_and_reverts() {
    let db = TestDb::empty().await.unwrap();
    let url = db.url().to_url_with_password();
    let run = |args: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let out = taulu().args(args).env("DATABASE_URL", url).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{args:?}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
            text
        })
    };
    let up = run(&["migrate", "up", "2"]).await.unwrap();
    assert!(up.contains("applied  000001_create_initial_tables"), "{up}");
    assert!(up.contains("applied  000002_add_session_revocation"), "{up}");
    let status = run(&["migrate", "status"]).await.unwrap();
    assert!(status.contains("000003   add_users_display_name  pending"), "{status}");
    assert!(status.ends_with("2 applied, 1 pending\n"), "{status}");
    let down = run(&["migrate", "down"]).await.unwrap();
    assert!(down.starts_with("reverted 000002_add_session_revocation"), "{down}");
    assert_eq!(applied_versions(db.client()).await, [1]);
    let verify = run(&["migrate", "verify"]).await.unwrap();
    assert!(
        verify.starts_with("ok: 3 migrations applied, the 3 newest reverted one by one, all re-applied"),
        "{verify}"
    );
}

#[tokio::test]
async fn the_cli_rejects_bad_usage_with_exit_code_2() {
    let out = tokio::task::spawn_blocking(|| taulu().args(["migrate", "up", "zero"]).output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("N must be a positive number"));
}

/// Runs the CLI with `args` against `url`, returning (exit code, stdout, stderr).
async fn cli(args: &[&str], url: &str) -> (Option<i32>, String, String) {
    let (args, url): (Vec<String>, String) = (args.iter().map(|a| a.to_string()).collect(), url.to_owned());
    tokio::task::spawn_blocking(move || {
        let out = taulu().args(&args).env("DATABASE_URL", url).env("TAULU_LOG", "debug").output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_runner_processes_with_create_index_concurrently_do_not_deadlock() {
    let db = TestDb::empty().await.unwrap();
    let url = db.url().to_url_with_password();
    let dir = fixture_dir("concurrent_index").display().to_string();
    // A deploy of eight replicas, each running `taulu migrate up` at once. A runner blocked in
    // pg_advisory_lock would hold a snapshot that CREATE INDEX CONCURRENTLY waits for: a deadlock.
    let runners: Vec<_> = (0..8)
        .map(|_| tokio::spawn(cli_owned(vec!["--dir".into(), dir.clone(), "migrate".into(), "up".into()], url.clone())))
        .collect();
    let mut runs = Vec::new();
    for runner in runners {
        runs.push(runner.await.unwrap());
    }
    for (i, (code, _, stderr)) in runs.iter().enumerate() {
        assert_eq!(*code, Some(0), "runner {i}: {stderr}");
    }
    let applied: usize = runs.iter().map(|(_, out, _)| out.matches("applied  ").count()).sum();
    assert_eq!(applied, 2, "each migration applied by exactly one runner");
    let c = db.client();
    assert_eq!(applied_versions(c).await, [1, 2]);
    let dirty: i64 = c.query_one("SELECT count(*) FROM taulu_schema_migrations WHERE dirty", &[]).await.unwrap().get(0);
    assert_eq!(dirty, 0);
    let valid: bool = c
        .query_one("SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_kind_idx'::regclass", &[])
        .await
        .unwrap()
        .get(0);
    assert!(valid, "the concurrently built index is valid");
}

async fn cli_owned(args: Vec<String>, url: String) -> (Option<i32>, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli(&args, &url).await
}

#[tokio::test]
async fn a_password_with_an_unencoded_at_sign_is_never_printed() {
    let server = server().await.unwrap();
    let cfg = server.config();
    let port = cfg.get_ports()[0];
    let user = cfg.get_user().unwrap();
    // A wrong password with an `@` in it: the CLI fails to authenticate and says so, naming the
    // target without any part of the password.
    let raw = format!("postgres://{user}:Hunter2@Secret@127.0.0.1:{port}/postgres");
    let (code, stdout, stderr) = cli(&["migrate", "status"], &raw).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot connect to {user}@127.0.0.1:{port}/postgres")), "{stderr}");
    for secret in ["Hunter2", "Secret"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} leaked: {stdout}\n{stderr}");
    }
    let url: DatabaseUrl = raw.parse().unwrap();
    let db = taulu::Db::new(taulu::DbConfig::new(url.clone()));
    let shown = format!("{url} {url:?} {db:?} {:?}", taulu::DbConfig::new(url.clone()));
    assert!(!shown.contains("Hunter2") && !shown.contains("Secret"), "{shown}");
}

/// A TCP listener that accepts connections and never says a word: a frozen server.
async fn silent_server() -> (tokio::net::TcpListener, u16) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_gives_a_connect_timeout_in_the_library_and_the_cli() {
    let (listener, port) = silent_server().await;
    // Keep accepted sockets open (and silent) while the test runs.
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            sockets.push(s);
        }
    });
    let url: DatabaseUrl = format!("postgres://u:pw@127.0.0.1:{port}/db?connect_timeout=1").parse().unwrap();
    let started = std::time::Instant::now();
    let err = taulu::connect(&url).await.unwrap_err();
    assert!(matches!(err, Error::ConnectTimeout { .. }), "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::Unavailable);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(err.to_string(), format!("cannot connect to u@127.0.0.1:{port}/db: no answer within 1000 ms"));

    let (code, _, stderr) =
        cli(&["migrate", "status"], &url.to_url_with_password().replace("/db", "/db?connect_timeout=1")).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no answer within 1000 ms"), "{stderr}");
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_waiting_for_the_lock_says_who_holds_it() {
    let db = TestDb::empty().await.unwrap();
    let holder = db.connect().await.unwrap();
    // Hold the runner's advisory lock, as another runner in the middle of its work would.
    let key: i64 = holder
        .query_one(
            "SELECT ('x' || substr(encode(sha256('taulu-migrate:taulu_schema_migrations'), 'hex'), 1, 16))::bit(64)::bigint",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    holder.execute("SELECT pg_advisory_lock($1)", &[&key]).await.unwrap();
    let pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let url = db.url().to_url_with_password();
    let mut child = taulu()
        .args(["--dir", &fixture_dir("concurrent").display().to_string(), "migrate", "up"])
        .env("DATABASE_URL", &url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read its log until it names the holder, then let go of the lock (reading on to the end, so
    // the runner's log never meets a closed pipe).
    let stderr = child.stderr.take().unwrap();
    let wanted = format!("waiting for the migration lock held by pid {pid} since");
    let (said_tx, said_rx) = tokio::sync::oneshot::channel::<()>();
    let log = tokio::task::spawn_blocking(move || {
        use std::io::BufRead as _;
        let mut said = Some(said_tx);
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains(&wanted) {
                said.take().map(|tx| tx.send(()));
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let said = tokio::time::timeout(std::time::Duration::from_secs(60), said_rx).await;
    if !matches!(said, Ok(Ok(()))) {
        let _ = child.kill();
        panic!("the runner never said who holds the lock: {}", log.await.unwrap());
    }
    holder.execute("SELECT pg_advisory_unlock($1)", &[&key]).await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    let log = log.await.unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("got the migration lock"), "{log}");
    assert_eq!(applied_versions(db.client()).await.len(), fixture("concurrent").len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_require_encrypts_and_a_root_certificate_verifies_the_server() {
    let dir = taulu::LocalCluster::default_dir().with_file_name("taulu-pg-tls");
    let (cluster, ca) = tokio::task::spawn_blocking(move || {
        let cluster = taulu::LocalCluster::ensure_in(&dir)?;
        let ca = cluster.enable_tls()?;
        Ok::<_, Error>((cluster, ca))
    })
    .await
    .unwrap()
    .unwrap();
    let base = cluster.url("postgres").to_url_with_password();
    let with_mode = |mode: &str| -> DatabaseUrl { format!("{base}?sslmode={mode}").parse().unwrap() };
    // The reload that turns TLS on is asynchronous: wait until the server reports it.
    let guard = give_up_after(60);
    loop {
        guard("the server to report ssl = on");
        let c = taulu::connect(&with_mode("disable")).await.unwrap();
        let on: String = c.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        if on == "on" {
            break;
        }
        tokio::task::yield_now().await;
    }
    let plain = taulu::connect(&with_mode("disable")).await.unwrap();
    assert!(!uses_tls(&plain).await);
    let encrypted = taulu::connect(&with_mode("require")).await.unwrap();
    assert!(uses_tls(&encrypted).await, "sslmode=require uses TLS");
    // Through the pool too.
    let db = Db::connect(DbConfig::new(with_mode("require"))).await.unwrap();
    let conn = db.get().await.unwrap();
    assert!(uses_tls(conn.client()).await);
    drop(conn);

    // Verification (PGSSLROOTCERT is read once per process, so run the CLI): the right CA passes,
    // another CA's certificate is refused.
    let url_require = format!("{base}?sslmode=require");
    let run = move |root: std::path::PathBuf| {
        let url = url_require.clone();
        taulu().args(["migrate", "status"]).env("DATABASE_URL", url).env("PGSSLROOTCERT", root).output().unwrap()
    };
    let ok = tokio::task::spawn_blocking({
        let (ca, run) = (ca.clone(), run.clone());
        move || run(ca)
    })
    .await
    .unwrap();
    assert!(ok.status.success(), "verified against the CA: {}", String::from_utf8_lossy(&ok.stderr));
    let other = std::env::temp_dir().join(format!("taulu-other-ca-{}.crt", std::process::id()));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=not the CA", "-keyout"])
        .arg(other.with_extension("key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success());
    let refused = tokio::task::spawn_blocking({
        let (other, run) = (other.clone(), run.clone());
        move || run(other)
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(!stderr.contains(cluster.password()), "{stderr}");
    let _ = std::fs::remove_file(&other);
    let _ = std::fs::remove_file(other.with_extension("key"));
}

async fn uses_tls(c: &Client) -> bool {
    c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_cli_adopts_a_golang_migrate_history() {
    let db = TestDb::empty().await.unwrap();
    db.client()
        .batch_execute(
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
             INSERT INTO schema_migrations VALUES (1, false);",
        )
        .await
        .unwrap();
    let url = db.url().to_url_with_password();
    let (adopt, unknown) = tokio::task::spawn_blocking(move || {
        let run =
            |tool: &str| taulu().args(["migrate", "adopt", "--from", tool]).env("DATABASE_URL", &url).output().unwrap();
        (run("golang-migrate"), run("flyway"))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&adopt.stdout);
    assert!(adopt.status.success(), "{stdout}{}", String::from_utf8_lossy(&adopt.stderr));
    assert!(stdout.starts_with("adopted golang-migrate's history: migrations up to 1 recorded"), "{stdout}");
    assert_eq!(applied_versions(db.client()).await, [1]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown tool \"flyway\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_start_prints_the_url_or_writes_it_to_dot_env_keeping_the_other_lines() {
    let dir = std::env::temp_dir().join(format!("taulu-cli-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), "# mine\nRUST_LOG=info\nexport DATABASE_URL=postgres://old@nowhere/db\n").unwrap();
    let run = |args: &'static [&'static str]| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            taulu().args(args).current_dir(dir).env_remove("DATABASE_URL").output().unwrap()
        })
    };
    let printed = run(&["db", "start"]).await.unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let stdout = String::from_utf8_lossy(&printed.stdout).into_owned();
    let url = stdout.lines().find_map(|l| l.strip_prefix("export DATABASE_URL='")).unwrap().trim_end_matches('\'');
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let db: String = client.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    assert_eq!(db, "taulu", "the URL printed is the CLI's own database, and it exists");

    let wrote = run(&["db", "start", "--env"]).await.unwrap();
    assert!(wrote.status.success(), "{wrote:?}");
    let env = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert_eq!(env, format!("# mine\nRUST_LOG=info\nDATABASE_URL={url}\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}
