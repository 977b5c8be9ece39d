//! A request's log, in a test binary of its own: `capture_logs` listens on the test's thread,
//! and the service runs on that thread's runtime. (In the same process as the other end-to-end
//! tests, whose threads hit the same callsites concurrently, some events were not captured.)

mod support;

use hyper::StatusCode;
use serde_json::json;
use support::{app_db, call, sign_up};

#[test]
fn a_requests_log_names_its_statements_and_timings_never_its_values() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (_test, addr) = app_db().await;
        let (token, log) = taulu::testing::capture_logs(async || {
            let made = sign_up(addr, "ann", "secret-address@example.com").await;
            assert_eq!(made.status, StatusCode::CREATED);
            let login = call(
                addr,
                "POST",
                "/login",
                None,
                Some(json!({"email": "secret-address@example.com", "password": "correct horse"})),
            )
            .await;
            let token = login.body["token"].as_str().unwrap().to_owned();
            assert_eq!(call(addr, "GET", "/orgs", Some(&token), None).await.status, StatusCode::OK);
            token
        })
        .await;
        assert!(log.contains("request{method=POST path=/signup}"), "{log}");
        assert!(log.contains(r#"sql=INSERT INTO "users""#), "{log}");
        assert!(log.contains(r#"request{method=GET path=/orgs}"#), "{log}");
        assert!(log.contains(r#"sql=SELECT "orgs"."id""#), "{log}");
        assert!(log.contains("elapsed_us="), "{log}");
        for secret in ["secret-address", "correct horse", "argon2id", token.as_str()] {
            assert!(!log.contains(secret), "the log shows {secret:?}: {log}");
        }
    });
}
