//! The reference service end to end: real HTTP (hyper's client) to the axum service, running in
//! the test process over a pool with the default settings, on real PostgreSQL (a fresh database
//! per test from `taulu::testing`).

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use hyper::StatusCode;
use serde_json::json;
use support::{account, app_db, call, sign_up, spawn_app};
use taulu::{
    DatabaseUrl, Db, DbConfig,
    testing::{FaultProxy, TestDb},
};
use taulu_app::service::Limits;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_log_in_use_the_session_and_log_out() {
    let (test, addr) = app_db().await;
    let made = sign_up(addr, "ann", "Ann@Example.com").await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.body["email"], "Ann@Example.com");

    // The same address in another case, and the same username: 409, from the unique indexes.
    let again = sign_up(addr, "ann2", "ann@EXAMPLE.com").await;
    assert_eq!(
        (again.status, again.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("that email is already registered"))
    );
    let taken = sign_up(addr, "ann", "other@example.com").await;
    assert_eq!((taken.status, taken.body["error"].as_str()), (StatusCode::CONFLICT, Some("that username is taken")));
    let short =
        call(addr, "POST", "/signup", None, Some(json!({"username": "x", "email": "x@x", "password": "short"}))).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);

    let wrong =
        call(addr, "POST", "/login", None, Some(json!({"email": "ann@example.com", "password": "nope nope"}))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let login =
        call(addr, "POST", "/login", None, Some(json!({"email": "ANN@example.com", "password": "correct horse"})))
            .await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    let token = login.body["token"].as_str().unwrap().to_owned();

    let me = call(addr, "GET", "/me", Some(&token), None).await;
    assert_eq!((me.status, me.body["username"].as_str()), (StatusCode::OK, Some("ann")));
    assert_eq!(call(addr, "GET", "/me", None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(call(addr, "GET", "/me", Some(&"0".repeat(64)), None).await.status, StatusCode::UNAUTHORIZED);

    // Stored: every attempt, and the session's token only as its SHA-256.
    let c = test.client();
    let attempts: Vec<(String, bool)> = c
        .query("SELECT identifier, success FROM login_attempts ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(attempts, [("ann@example.com".to_owned(), false), ("ANN@example.com".to_owned(), true)]);
    let stored: Vec<u8> = c.query_one("SELECT token_hash FROM sessions", &[]).await.unwrap().get(0);
    let token_bytes: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&token[i..i + 2], 16).unwrap()).collect();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, token_bytes, "the token itself is never stored");

    assert_eq!(call(addr, "POST", "/logout", Some(&token), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(call(addr, "GET", "/me", Some(&token), None).await.status, StatusCode::UNAUTHORIZED);
    let revoked: i64 =
        c.query_one("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL", &[]).await.unwrap().get(0);
    assert_eq!(revoked, 1, "logout revokes the row, it does not delete it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_counts_the_callers_successful_and_failed_sign_ins() {
    let (_test, addr) = app_db().await;
    let (token, _) = account(addr, "cid").await;
    let wrong = json!({"email": "cid@example.com", "password": "wrong password"});
    assert_eq!(call(addr, "POST", "/login", None, Some(wrong)).await.status, StatusCode::UNAUTHORIZED);
    // Someone else's failures are not the caller's.
    account(addr, "dee").await;
    let dee_wrong = json!({"email": "dee@example.com", "password": "nope"});
    assert_eq!(call(addr, "POST", "/login", None, Some(dee_wrong)).await.status, StatusCode::UNAUTHORIZED);
    let activity = call(addr, "GET", "/me/activity", Some(&token), None).await;
    assert_eq!(activity.status, StatusCode::OK, "{activity:?}");
    assert_eq!((activity.body["successes"].as_i64(), activity.body["failures"].as_i64()), (Some(1), Some(1)));
    assert!(activity.body["last_success"].is_string(), "{activity:?}");
    assert_eq!(call(addr, "GET", "/me/activity", None, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failed_logins_lock_the_account_out_even_with_the_right_password() {
    let (test, addr) = app_db().await;
    account(addr, "bob").await;
    let login = |password: &'static str| {
        call(addr, "POST", "/login", None, Some(json!({"email": "Bob@example.com", "password": password})))
    };
    for _ in 0..Limits::default().max_failures {
        assert_eq!(login("wrong password").await.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login("correct horse").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
    assert_eq!(locked.retry_after.as_deref(), Some("900"));
    let recorded: i64 = test
        .client()
        .query_one("SELECT count(*) FROM login_attempts WHERE lower(identifier) = 'bob@example.com'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1 + 5 + 1, "every attempt is recorded, the locked-out one too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orgs_members_and_roles() {
    let (_test, addr) = app_db().await;
    let (ann, _) = account(addr, "ann").await;
    let (bob, bob_id) = account(addr, "bob").await;
    let (carol, carol_id) = account(addr, "carol").await;
    let (_dave, dave_id) = account(addr, "dave").await;

    let created = call(addr, "POST", "/orgs", Some(&ann), Some(json!({"name": "Acme", "slug": "acme"}))).await;
    assert_eq!((created.status, created.body["role"].as_str()), (StatusCode::CREATED, Some("owner")));
    let dup = call(addr, "POST", "/orgs", Some(&bob), Some(json!({"name": "Other", "slug": "acme"}))).await;
    assert_eq!((dup.status, dup.body["error"].as_str()), (StatusCode::CONFLICT, Some("that slug is taken")));
    let bad = call(addr, "POST", "/orgs", Some(&bob), Some(json!({"name": "Bad", "slug": "Not A Slug"}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bad:?}");
    assert_eq!(
        call(addr, "POST", "/orgs", None, Some(json!({"name": "x", "slug": "x"}))).await.status,
        StatusCode::UNAUTHORIZED
    );

    let add = |token: String, email: &'static str, role: &'static str| async move {
        call(addr, "POST", "/orgs/acme/members", Some(&token), Some(json!({"email": email, "role": role}))).await.status
    };
    assert_eq!(add(ann.clone(), "bob@example.com", "member").await, StatusCode::CREATED);
    assert_eq!(add(ann.clone(), "CAROL@example.com", "admin").await, StatusCode::CREATED);
    assert_eq!(add(ann.clone(), "bob@example.com", "member").await, StatusCode::CONFLICT, "already a member");
    assert_eq!(add(ann.clone(), "nobody@example.com", "member").await, StatusCode::NOT_FOUND);
    assert_eq!(add(bob.clone(), "dave@example.com", "member").await, StatusCode::FORBIDDEN, "members do not manage");
    assert_eq!(add(carol.clone(), "dave@example.com", "owner").await, StatusCode::FORBIDDEN, "admins make no owners");
    assert_eq!(add(carol.clone(), "dave@example.com", "member").await, StatusCode::CREATED);

    let mine = call(addr, "GET", "/orgs", Some(&bob), None).await;
    assert_eq!(mine.body, json!([{"id": created.body["id"], "name": "Acme", "slug": "acme", "role": "member"}]));
    // A generated row as the handler returns it: every column, named as in the table.
    let org = call(addr, "GET", "/orgs/acme", Some(&bob), None).await;
    let created_at = org.body["created_at"].as_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&created_at).is_ok(), "{created_at}");
    assert_eq!(org.body, json!({"id": created.body["id"], "name": "Acme", "slug": "acme", "created_at": created_at}));
    let members = call(addr, "GET", "/orgs/acme/members", Some(&bob), None).await;
    let names: Vec<(&str, &str)> = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("ann", "owner"), ("bob", "member"), ("carol", "admin"), ("dave", "member")]);
    let (outsider, _) = account(addr, "eve").await;
    assert_eq!(call(addr, "GET", "/orgs/acme/members", Some(&outsider), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(addr, "GET", "/orgs/acme", Some(&outsider), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(addr, "GET", "/orgs/nope/members", Some(&ann), None).await.status, StatusCode::NOT_FOUND);

    let set_role = |token: String, user: String, role: &'static str| async move {
        call(addr, "PATCH", &format!("/orgs/acme/members/{user}"), Some(&token), Some(json!({"role": role})))
            .await
            .status
    };
    let ann_id = call(addr, "GET", "/me", Some(&ann), None).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(set_role(carol.clone(), bob_id.clone(), "admin").await, StatusCode::NO_CONTENT);
    assert_eq!(
        set_role(carol.clone(), ann_id.clone(), "member").await,
        StatusCode::FORBIDDEN,
        "admins do not touch owners"
    );
    assert_eq!(set_role(ann.clone(), ann_id.clone(), "admin").await, StatusCode::CONFLICT, "the last owner stays");
    let leave = |token: String, user: String| async move {
        call(addr, "DELETE", &format!("/orgs/acme/members/{user}"), Some(&token), None).await
    };
    let last = leave(ann.clone(), ann_id.clone()).await;
    assert_eq!(
        (last.status, last.body["error"].as_str()),
        (StatusCode::CONFLICT, Some("the last owner cannot leave the org"))
    );
    assert_eq!(set_role(ann.clone(), carol_id.clone(), "owner").await, StatusCode::NO_CONTENT);
    assert_eq!(leave(ann.clone(), ann_id).await.status, StatusCode::NO_CONTENT, "with another owner, ann may leave");
    assert_eq!(leave(bob.clone(), dave_id.clone()).await.status, StatusCode::NO_CONTENT, "an admin removes a member");
    assert_eq!(leave(bob.clone(), dave_id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(call(addr, "GET", "/orgs", Some(&ann), None).await.body, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_and_its_owner_are_created_together_or_not_at_all() {
    let (test, addr) = app_db().await;
    let (ann, _) = account(addr, "ann").await;
    // The owner's membership row fails (a trigger refuses it) after the org row was inserted.
    test.client()
        .batch_execute(
            "CREATE FUNCTION refuse_member() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
             CREATE TRIGGER refuse_member BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION refuse_member();",
        )
        .await
        .unwrap();
    let failed = call(addr, "POST", "/orgs", Some(&ann), Some(json!({"name": "Acme", "slug": "acme"}))).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{failed:?}");
    assert_eq!(failed.body["error"], "internal error", "no database detail reaches the client");
    let orgs: i64 = test.client().query_one("SELECT count(*) FROM orgs", &[]).await.unwrap().get(0);
    assert_eq!(orgs, 0, "the org was rolled back with the membership");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_with_one_email_create_exactly_one_account() {
    let (test, addr) = app_db().await;
    let cases = ["same@example.com", "SAME@example.com", "Same@Example.com", "same@EXAMPLE.COM"];
    let calls: Vec<_> = (0..12)
        .map(|i| tokio::spawn(async move { sign_up(addr, &format!("user{i}"), cases[i % cases.len()]).await.status }))
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 11), "{statuses:?}");
    let n: i64 = test.client().query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let (_test, addr) = app_db().await;
    assert_eq!(call(addr, "GET", "/healthz", None, None).await.status, StatusCode::OK);
    let ready = call(addr, "GET", "/readyz", None, None).await;
    assert_eq!((ready.status, ready.body.as_str()), (StatusCode::OK, Some("ready")));

    // A service whose database does not answer: alive, not ready; a request gets 503 with
    // retry advice (nothing was applied).
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url: DatabaseUrl =
        format!("postgres://app:secret@127.0.0.1:{}/app", silent.local_addr().unwrap().port()).parse().unwrap();
    let down = spawn_app(Db::new(DbConfig::new(url))).await;
    assert_eq!(call(down, "GET", "/healthz", None, None).await.status, StatusCode::OK);
    assert_eq!(call(down, "GET", "/readyz", None, None).await.status, StatusCode::SERVICE_UNAVAILABLE);
    let refused = sign_up(down, "ann", "ann@example.com").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{refused:?}");
    assert_eq!(refused.retry_after.as_deref(), Some("5"));
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_this_binarys_schema_is_not_ready_and_says_why() {
    // Migrated to version 2 of 3: users.display_name is missing.
    let test = TestDb::empty().await.unwrap();
    taulu::migrate::Migrator::new(&taulu_app::MIGRATIONS).up(test.client(), Some(2)).await.unwrap();
    let addr = spawn_app(test.pool()).await;
    assert_eq!(call(addr, "GET", "/healthz", None, None).await.status, StatusCode::OK);
    let ready = call(addr, "GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.body.as_str().unwrap().contains("column public.users.display_name does not exist"), "{ready:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_connection_is_cut_is_503_without_retry_advice() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let port = test.url().config().get_ports()[0];
    let proxy = FaultProxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let through = test.url().to_url_with_password().replace(&format!(":{port}/"), &format!(":{}/", proxy.port()));
    let addr = spawn_app(Db::new(DbConfig::new(through.parse().unwrap()))).await;
    // The service reaches the database through the proxy (and its pool has a connection).
    let ready = call(addr, "GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{ready:?}");
    // Hold the sign-up's INSERT on a lock, cut the connection while it waits, then let it commit.
    let admin = test.connect().await.unwrap();
    admin.batch_execute("BEGIN; LOCK TABLE users IN SHARE MODE").await.unwrap();
    let signing_up = tokio::spawn(sign_up(addr, "ann", "ann@example.com"));
    // Waiting is read from pg_locks, not pg_stat_activity: inside this open transaction the
    // server shows pg_stat_activity as it was at the transaction's first read of it, so a backend
    // that was still starting up then (the pool opening a connection) never appears. That stale
    // view is what made this test wait a minute for a sign-up that was already waiting here.
    // (pg_locks covers the whole cluster, and every test database has the same OIDs.)
    let on_users = "FROM pg_locks WHERE relation = 'users'::regclass \
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    let waiting = format!("SELECT count(*) {on_users} AND NOT granted");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(!signing_up.is_finished(), "the sign-up ended before reaching the lock: {:?}", signing_up.await);
        if Instant::now() > deadline {
            let rows = admin.query(&format!("SELECT pid, mode, granted {on_users}"), &[]).await.unwrap();
            let seen: Vec<(i32, String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
            panic!("the INSERT never reached the lock on users: {seen:?}");
        }
        if admin.query_one(&waiting, &[]).await.unwrap().get::<_, i64>(0) > 0 {
            break;
        }
        // Poll every few milliseconds, not in a tight loop: on 2 cores, back-to-back catalog
        // queries starved the held request in 3 runs of 9.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.reset_all();
    let reply = signing_up.await.unwrap();
    admin.batch_execute("COMMIT").await.unwrap();
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert_eq!(reply.retry_after, None, "no retry advice: the sign-up may have been applied");
    let accounts: i64 = admin.query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
    assert!(accounts <= 1, "the cut sign-up was applied {accounts} times");
    assert!(reply.body["error"].as_str().unwrap().contains("may or may not have been applied"), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_during_a_burst_of_reads_gives_no_5xx() {
    // A cluster of its own: restarting the shared one would disturb other tests.
    let dir = taulu::LocalCluster::default_dir().with_file_name("taulu-pg-app-restart");
    let cluster = tokio::task::spawn_blocking(move || taulu::LocalCluster::ensure_in(&dir)).await.unwrap().unwrap();
    let name = format!("app_restart_{}", std::process::id());
    taulu::local::ensure_database(&cluster.url("postgres"), &name).await.unwrap();
    let client = taulu::connect(&cluster.url(&name)).await.unwrap();
    taulu::migrate::Migrator::new(&taulu_app::MIGRATIONS).up(&client, None).await.unwrap();
    drop(client);
    // The settings a user gets by default.
    let addr = spawn_app(Db::new(DbConfig::new(cluster.url(&name)))).await;
    let (token, _) = account(addr, "reader").await;
    assert_eq!(
        call(addr, "POST", "/orgs", Some(&token), Some(json!({"name": "Acme", "slug": "acme"}))).await.status,
        StatusCode::CREATED
    );

    let (done, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let readers: Vec<_> = (0..8)
        .map(|i| {
            let (done, stop, failures, token) = (done.clone(), stop.clone(), failures.clone(), token.clone());
            tokio::spawn(async move {
                let path = if i % 2 == 0 { "/orgs" } else { "/me" };
                while !stop.load(Ordering::SeqCst) {
                    let reply = call(addr, "GET", path, Some(&token), None).await;
                    if reply.status == StatusCode::OK {
                        done.fetch_add(1, Ordering::SeqCst);
                    } else {
                        failures.lock().unwrap().push(format!("{path}: {reply:?}"));
                    }
                }
            })
        })
        .collect();
    let wait_for = |n: usize, what: &'static str| {
        let done = done.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while done.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "gave up waiting for {what}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    wait_for(100, "100 reads before the restart").await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart().unwrap()).await.unwrap();
    let after = done.load(Ordering::SeqCst);
    wait_for(after + 100, "100 reads after the restart").await;
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    assert_eq!(*failures.lock().unwrap(), Vec::<String>::new(), "no response but 200 during the restart");
    let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_demoting_each_other_at_once_leave_the_org_one_owner() {
    let (_test, addr) = app_db().await;
    let (ann, ann_id) = account(addr, "ann").await;
    let (bob, bob_id) = account(addr, "bob").await;
    assert_eq!(
        call(addr, "POST", "/orgs", Some(&ann), Some(json!({"name": "Acme", "slug": "acme"}))).await.status,
        StatusCode::CREATED
    );
    let add = json!({"email": "bob@example.com", "role": "owner"});
    assert_eq!(call(addr, "POST", "/orgs/acme/members", Some(&ann), Some(add)).await.status, StatusCode::CREATED);
    // Each demotes the other at the same moment. Under the org's row lock they run one after the
    // other, and the second sees the first's effect: its caller is no longer an owner (403). Without
    // the lock both would pass the check and leave the org without an owner.
    let demote = |token: String, target: String| {
        tokio::spawn(async move {
            let body = json!({"role": "member"});
            call(addr, "PATCH", &format!("/orgs/acme/members/{target}"), Some(&token), Some(body)).await.status
        })
    };
    let (a, b) = (demote(ann.clone(), bob_id), demote(bob, ann_id));
    let mut statuses = [a.await.unwrap(), b.await.unwrap()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::FORBIDDEN]);
    let members = call(addr, "GET", "/orgs/acme/members", Some(&ann), None).await;
    let owners = members.body.as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
    assert_eq!(owners, 1, "{members:?}");
}

/// `/metrics` answers while every connection is held (it reads the pool, not the database), and
/// shows it: with the org's row locked by the test, member changes hold the pool's 5 connections
/// and the callers beyond them wait; once the lock goes, all are served and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_pool_under_load() {
    let (test, addr) = app_db().await;
    let (ann, _) = account(addr, "ann").await;
    account(addr, "bob").await;
    assert_eq!(
        call(addr, "POST", "/orgs", Some(&ann), Some(json!({"name": "Acme", "slug": "acme"}))).await.status,
        StatusCode::CREATED
    );
    let before = call(addr, "GET", "/metrics", None, None).await.body;

    test.client().batch_execute("BEGIN; SELECT 1 FROM orgs WHERE slug = 'acme' FOR UPDATE").await.unwrap();
    let adds: Vec<_> = (0..8)
        .map(|_| {
            let token = ann.clone();
            let body = json!({"email": "bob@example.com"});
            tokio::spawn(async move { call(addr, "POST", "/orgs/acme/members", Some(&token), Some(body)).await.status })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let under_load = loop {
        let m = call(addr, "GET", "/metrics", None, None).await.body;
        if m["in_use"] == 5 && m["waiting"].as_u64().unwrap() >= 3 {
            break m;
        }
        assert!(Instant::now() < deadline, "the pool never filled: {m}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!((under_load["max_size"].as_u64(), under_load["idle"].as_u64()), (Some(5), Some(0)), "{under_load}");
    test.client().batch_execute("COMMIT").await.unwrap();
    let mut statuses = Vec::new();
    for add in adds {
        statuses.push(add.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::CREATED);
    assert!(statuses[1..].iter().all(|s| *s == StatusCode::CONFLICT), "{statuses:?}");

    let after = call(addr, "GET", "/metrics", None, None).await.body;
    let grew = |field: &str| after[field].as_u64().unwrap() - before[field].as_u64().unwrap();
    assert!(grew("checkouts") >= 8, "{after}");
    assert!(grew("waits") >= 3, "{after}");
    assert!(grew("wait_time") > 0, "{after}");
    assert_eq!(
        (after["in_use"].as_u64(), after["waiting"].as_u64(), after["timeouts"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
}
