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
