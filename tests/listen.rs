//! LISTEN/NOTIFY on real PostgreSQL: delivery, and a listener that survives its backend being
//! terminated and the server restarting, saying each time that notifications may have been missed.

use std::time::Duration;

use taulu::{Db, DbConfig, ListenEvent, Notification, testing::TestDb};

/// The next event, or a failure after `secs` (a missing event must fail, not hang).
async fn next(listener: &mut taulu::Listener, secs: u64) -> ListenEvent {
    tokio::time::timeout(Duration::from_secs(secs), listener.next())
        .await
        .expect("an event within the time limit")
        .expect("the listener lives")
}

fn payload(event: ListenEvent) -> (String, String) {
    match event {
        ListenEvent::Notification(Notification { channel, payload, .. }) => (channel, payload),
        other => panic!("expected a notification, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_on_the_listened_channels_arrive_in_order() {
    let test = TestDb::empty().await.unwrap();
    let db = test.pool();
    let mut listener = db.listen(&["jobs", "Mixed Case"]).await.unwrap();
    db.notify("other", "not for us").await.unwrap();
    db.notify("jobs", "1").await.unwrap();
    db.notify("Mixed Case", "it's quoted").await.unwrap();
    // Sent inside a transaction that rolls back: never delivered.
    let _ = db
        .transaction(async |tx| {
            taulu::query::Executor::query_rows(tx, &notify_query("jobs", "rolled back")).await?;
            Err::<(), _>(taulu::Error::NoRows)
        })
        .await;
    db.notify("jobs", "2").await.unwrap();
    assert_eq!(payload(next(&mut listener, 30).await), ("jobs".into(), "1".into()));
    assert_eq!(payload(next(&mut listener, 30).await), ("Mixed Case".into(), "it's quoted".into()));
    assert_eq!(payload(next(&mut listener, 30).await), ("jobs".into(), "2".into()));
}

fn notify_query(channel: &str, payload: &str) -> taulu::query::Compiled {
    taulu::query::Compiled {
        sql: "SELECT pg_notify($1, $2)".into(),
        params: vec![taulu::query::Param::new(channel.to_owned()), taulu::query::Param::new(payload.to_owned())],
        read_only: false,
    }
}

/// The backend of the listening session (its last statement was the LISTEN).
async fn listener_pids(admin: &tokio_postgres::Client, db: &str) -> Vec<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_listening_backend_is_replaced_and_the_gap_is_reported() {
    let test = TestDb::empty().await.unwrap();
    let db = test.pool();
    let mut listener = db.listen(&["jobs"]).await.unwrap();
    db.notify("jobs", "before").await.unwrap();
    assert_eq!(payload(next(&mut listener, 30).await), ("jobs".into(), "before".into()));

    let pids = listener_pids(test.client(), test.name()).await;
    assert_eq!(pids.len(), 1, "one listening session");
    test.client().execute("SELECT pg_terminate_backend($1)", &[&pids[0]]).await.unwrap();
    assert_eq!(next(&mut listener, 60).await, ListenEvent::Reconnected);
    let again = listener_pids(test.client(), test.name()).await;
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], pids[0], "a new session listens");
    db.notify("jobs", "after").await.unwrap();
    assert_eq!(payload(next(&mut listener, 30).await), ("jobs".into(), "after".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_survives_a_server_restart() {
    // A cluster of its own: restarting the shared one would disturb other tests.
    let dir = taulu::LocalCluster::default_dir().with_file_name("taulu-pg-restart");
    let cluster = tokio::task::spawn_blocking(move || taulu::LocalCluster::ensure_in(&dir)).await.unwrap().unwrap();
    let db = Db::new(DbConfig::new(cluster.url("postgres")));
    let mut listener = db.listen(&["restarts"]).await.unwrap();
    db.notify("restarts", "before").await.unwrap();
    assert_eq!(payload(next(&mut listener, 30).await), ("restarts".into(), "before".into()));

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart().unwrap()).await.unwrap();
    assert_eq!(next(&mut listener, 60).await, ListenEvent::Reconnected);
    db.notify("restarts", "after").await.unwrap();
    assert_eq!(payload(next(&mut listener, 30).await), ("restarts".into(), "after".into()));
}

/// A listening connection lost between the server accepting it and its LISTEN (a bouncer or
/// server stopping just then) is a connect failure: waited out, and the listener starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_connection_lost_before_its_listen_is_retried() {
    let test = TestDb::empty().await.unwrap();
    let port = test.url().config().get_ports()[0];
    let proxy = taulu::testing::FaultProxy::start(([127, 0, 0, 1], port).into()).await.unwrap();
    let url = test.url().to_url_with_password().replace(&format!(":{port}/"), &format!(":{}/", proxy.port()));
    let db = Db::new(DbConfig::new(url.parse().unwrap()));
    proxy.cut_when_ready(2);
    let mut listener = db.listen(&["jobs"]).await.unwrap();
    assert_eq!(proxy.cuts_left(), 0, "two connections were cut before their LISTEN");
    test.pool().notify("jobs", "after").await.unwrap();
    assert_eq!(payload(next(&mut listener, 30).await), ("jobs".into(), "after".into()));
}
