//! `cargo run -- demo`, run as a user runs it, on a database of its own.

use taulu::testing::TestDb;

#[tokio::test]
async fn the_demo_runs_the_product_flows_and_leaves_no_data_behind() {
    let db = TestDb::empty().await.unwrap();
    let url = db.url().to_url_with_password();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_taulu-app"))
            .arg("demo")
            .env("DATABASE_URL", url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "== migrate up: 3 applied",
        "recorded login attempts: 2 for ann-",
        "opened session ",
        "added members: ann-",
        "belongs to Acme (acme-",
        "as owner",
        "failed with a unique violation, rolled back; carol exists afterwards: false",
        "cleaned up: deleted 2 users",
        "pool: ",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    for table in ["users", "sessions", "orgs", "members"] {
        let n: i64 = db.client().query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "{table} is left with rows");
    }
}

#[tokio::test]
async fn the_app_binary_runs_the_cli_commands_over_its_embedded_migrations() {
    let db = TestDb::empty().await.unwrap();
    let url = db.url().to_url_with_password();
    let run = move |args: &'static [&'static str]| {
        let url = url.clone();
        // From a directory without migrations: the embedded set is used, not ./migrations.
        std::process::Command::new(env!("CARGO_BIN_EXE_taulu-app"))
            .args(args)
            .env("DATABASE_URL", url)
            .env_remove("TAULU_MIGRATIONS_DIR")
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap()
    };
    let out =
        tokio::task::spawn_blocking(move || (run(&["migrate", "up", "1"]), run(&["migrate", "status"]))).await.unwrap();
    let (up, status) = (String::from_utf8_lossy(&out.0.stdout), String::from_utf8_lossy(&out.1.stdout));
    assert!(up.contains("applied  000001_create_initial_tables"), "{up}");
    assert!(status.ends_with("1 applied, 2 pending\n"), "{status}");
}

#[tokio::test]
async fn serve_migrates_answers_over_http_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead as _, Read as _, Write as _};
    let db = TestDb::empty().await.unwrap();
    let url = db.url().to_url_with_password();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_taulu-app"))
        .args(["serve", "127.0.0.1:0"])
        .env("DATABASE_URL", url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reply = tokio::task::spawn_blocking(move || {
        // "serving on http://127.0.0.1:PORT (database ...)": printed once migrated and listening.
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr =
            line.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or_default().to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    })
    .await
    .unwrap();
    // SIGTERM (what a container runtime sends): drain, close the pool, exit 0.
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let exited =
        tokio::time::timeout(std::time::Duration::from_secs(30), tokio::task::spawn_blocking(move || child.wait()))
            .await
            .expect("the service stops within 30 s of SIGTERM")
            .unwrap()
            .unwrap();
    assert!(exited.success(), "{exited:?}");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ready"), "{reply}");
    let applied: i64 = db.client().query_one("SELECT count(*) FROM taulu_schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(applied, 3, "serve migrated the database first");
}
