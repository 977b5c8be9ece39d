//! taulu through a real PgBouncer (Debian's `pgbouncer`, started by the test support) in
//! transaction pooling mode, with the statement cache off: every statement kind, enums in
//! parameters and results, raw fragments with bound values, transactions, and many clients
//! sharing two server connections. In transaction mode consecutive transactions of one client
//! land on whichever server connection is free, so anything prepared by name in one and used in
//! another fails with "prepared statement .. does not exist".

use std::collections::BTreeSet;

use futures_util::TryStreamExt as _;
use taulu::{
    Db, DbConfig, IsolationLevel, LocalCluster, local::LocalPgBouncer, prelude::*, query::sql, testing::TestDb,
};
use taulu_app::schema::{Members, Orgs, Role, Sysrole, Users, members, orgs, users};

/// A migrated database on the local cluster, and a pool reaching it through a PgBouncer with
/// two server connections, configured as the README says for PgBouncer.
async fn through_pgbouncer(clients: u32) -> (TestDb, Db) {
    let cluster = tokio::task::spawn_blocking(LocalCluster::ensure).await.unwrap().unwrap();
    let test = TestDb::on(&cluster.url("postgres"), &taulu_app::MIGRATIONS).await.unwrap();
    let c = cluster.clone();
    let bouncer = tokio::task::spawn_blocking(move || LocalPgBouncer::ensure(&c, 2)).await.unwrap().unwrap();
    let mut config = DbConfig::new(bouncer.url(test.name()));
    config.max_size = clients;
    config.statement_cache_size = 0;
    (test, Db::connect(config).await.unwrap())
}

/// One client's round of work: every statement kind, with enums both ways.
async fn round(db: &Db, tag: &str) -> taulu::Result<()> {
    let ann = format!("ann-{tag}");
    let (ann_id, role) = insert_into::<Users>()
        .values(
            users::Insert::new(&ann, format!("{ann}@example.com"), "h")
                .with_system_role(Sysrole::Admin)
                .with_display_name("Ann"),
        )
        .returning((users::id, users::system_role))
        .fetch_one(db)
        .await?;
    assert_eq!(role, Sysrole::Admin);
    let others = [format!("bob-{tag}"), format!("cat-{tag}")];
    insert_into::<Users>()
        .values_many(others.iter().map(|n| users::Insert::new(n, format!("{n}@example.com"), "h")))
        .execute(db)
        .await?;
    let mine = [ann.clone(), others[0].clone(), others[1].clone()];
    let roles: Vec<(String, Sysrole)> = select_from::<Users>()
        .columns((users::username, users::system_role))
        .where_(users::username.in_(mine.clone()))
        .where_(users::system_role.in_([Sysrole::Admin, Sysrole::User]))
        .order_by(users::username.asc())
        .fetch_all(db)
        .await?;
    assert_eq!(
        roles,
        vec![(ann.clone(), Sysrole::Admin), (others[0].clone(), Sysrole::User), (others[1].clone(), Sysrole::User)]
    );
    // A raw fragment with bound values.
    let (shout,) = select_from::<Users>()
        .columns((sql::<String>("upper({})").arg(users::username).as_("shout"),))
        .where_(
            sql("lower({}) = lower({}) AND {} > {}")
                .arg(users::email)
                .bind(format!("ANN-{tag}@example.com"))
                .arg(users::created_at)
                .bind(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH),
        )
        .fetch_one(db)
        .await?;
    assert_eq!(shout, ann.to_uppercase());
    // NULL and an enum bound in raw fragments.
    let (n,) = select_from::<Users>()
        .columns((count_all(),))
        .where_(users::username.in_(mine.clone()))
        .where_(sql("coalesce({}, true)").bind(None::<bool>))
        .where_(sql("{} = {}").arg(users::system_role).bind(Sysrole::User))
        .fetch_one(db)
        .await?;
    assert_eq!(n, 2);
    // Hand-made statements whose values carry no type (`Param::new`): the server's inference is
    // asked first, in a transaction of its own, then they run unnamed like the rest.
    {
        use taulu::query::{Compiled, Executor, Param};
        let q = |sql: &str, params: Vec<Param>, read_only| Compiled { sql: sql.into(), params, read_only };
        let renamed = q(
            "UPDATE users SET display_name = $1 WHERE username = $2",
            vec![Param::new("A"), Param::new(ann.clone())],
            false,
        );
        assert_eq!(db.execute(&renamed).await?, 1);
        let read = q(
            "SELECT display_name FROM users WHERE username = $1 AND created_at > $2",
            vec![Param::new(ann.clone()), Param::new(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)],
            true,
        );
        assert_eq!(db.query_rows(&read).await?[0].get::<_, Option<String>>(0).as_deref(), Some("A"));
        let streamed: Vec<_> = db.query_stream(read.clone()).await?.try_collect().await?;
        assert_eq!(streamed.len(), 1);
        let wrong = q("SELECT 1 FROM users WHERE username = $1", vec![Param::new(5i64)], true);
        assert!(db.query_rows(&wrong).await.is_err(), "a value of another type than the server infers is refused");
    }
    // Upsert, and an enum in an UNNEST insert of several rows.
    let org_id = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", format!("acme-{tag}")))
        .on_conflict((orgs::slug,))
        .do_update((orgs::name,))
        .returning((orgs::id,))
        .fetch_one(db)
        .await?
        .0;
    let ids: Vec<(uuid::Uuid,)> =
        select_from::<Users>().columns((users::id,)).where_(users::username.in_(mine.clone())).fetch_all(db).await?;
    insert_into::<Members>()
        .values_many(ids.iter().map(|(id,)| {
            members::Insert::new(org_id, *id).with_member_role(if *id == ann_id { Role::Owner } else { Role::Member })
        }))
        .execute(db)
        .await?;
    let demoted = update::<Members>()
        .set(members::member_role, Role::Admin)
        .where_(members::org_id.eq(org_id))
        .where_(members::member_role.eq(Role::Member))
        .returning((members::member_role,))
        .fetch_all(db)
        .await?;
    assert_eq!(demoted, vec![(Role::Admin,), (Role::Admin,)]);
    // A `sql!` statement: an enum array parameter and enum results, sent with their types.
    let owners = taulu_app::schema::sql!(
        "SELECT u.username, m.member_role FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.member_role = ANY($2) ORDER BY u.username",
        org_id,
        vec![Role::Owner]
    )
    .fetch_all(db)
    .await?;
    assert_eq!(owners.len(), 1);
    assert_eq!((owners[0].username.as_str(), owners[0].member_role), (ann.as_str(), Role::Owner));
    // Streaming.
    let streamed: BTreeSet<String> = select_from::<Members>()
        .columns((members::member_role,))
        .where_(members::org_id.eq(org_id))
        .fetch_stream(db)
        .await?
        .map_ok(|(r,)| format!("{r:?}"))
        .try_collect()
        .await?;
    assert_eq!(streamed, BTreeSet::from(["Owner".to_owned(), "Admin".to_owned()]));
    // Transactions: one committed, one rolled back, one with retries at SERIALIZABLE.
    db.transaction(async move |tx| {
        update::<Users>().set(users::display_name, "Ann B").where_(users::id.eq(ann_id)).execute(tx).await?;
        Ok(())
    })
    .await?;
    let rolled_back: taulu::Result<()> = db
        .transaction(async move |tx| {
            delete_from::<Members>().where_(members::org_id.eq(org_id)).execute(tx).await?;
            Err(taulu::Error::NoRows)
        })
        .await;
    assert!(rolled_back.is_err());
    let owners = db
        .transaction_with_retry(IsolationLevel::Serializable, async move |tx| {
            let (n,) = select_from::<Members>()
                .columns((count_all(),))
                .where_(members::org_id.eq(org_id))
                .where_(members::member_role.eq(Role::Owner))
                .fetch_one(tx)
                .await?;
            Ok(n)
        })
        .await?;
    assert_eq!(owners, 1);
    let (name,) =
        select_from::<Users>().columns((users::display_name,)).where_(users::id.eq(ann_id)).fetch_one(db).await?;
    assert_eq!(name.as_deref(), Some("Ann B"));
    assert_eq!(delete_from::<Orgs>().where_(orgs::id.eq(org_id)).execute(db).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_kind_runs_through_pgbouncer_in_transaction_mode() {
    let (_test, db) = through_pgbouncer(1).await;
    round(&db, "solo").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_share_two_server_connections_through_pgbouncer() {
    let (test, db) = through_pgbouncer(20).await;
    let mut tasks: Vec<tokio::task::JoinHandle<taulu::Result<()>>> = Vec::new();
    for t in 0..20 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for r in 0..5 {
                round(&db, &format!("{t}-{r}")).await?;
            }
            Ok(())
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            errors.push(e.to_string());
        }
    }
    assert_eq!(errors, Vec::<String>::new());
    // The work really went through two server connections: PostgreSQL saw no more sessions on
    // the database than PgBouncer's pool (plus our own admin connection).
    let sessions: i64 = test
        .client()
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(sessions <= 3, "{sessions} sessions on the database");
    let (users_left,) = select_from::<Users>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(users_left, 300);
}

/// PgBouncer restarted under load, as a deploy of the bouncer does (the old daemon stopped at once,
/// a new one started on the same port 2 s later), then reloaded (SIGHUP, as `RELOAD`), with the
/// default settings but the statement cache off:
/// 20 readers get no error (a read cut off is retried, the restart waited out within the connect
/// timeout); of 5 writers (each row a unique key), every acknowledged write is there once, no
/// write is there twice, and only writes in flight when it stopped are `Ambiguous`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pgbouncer_restart_under_load_costs_no_read_and_reports_only_writes_in_flight() {
    use std::sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    };
    use taulu_app::schema::{LoginAttempts, login_attempts};
    let cluster = tokio::task::spawn_blocking(LocalCluster::ensure).await.unwrap().unwrap();
    let test = TestDb::on(&cluster.url("postgres"), &taulu_app::MIGRATIONS).await.unwrap();
    // A PgBouncer of its own (pool size 3): the one of pool size 2 serves the tests running meanwhile.
    let c = cluster.clone();
    let bouncer = tokio::task::spawn_blocking(move || LocalPgBouncer::ensure(&c, 3)).await.unwrap().unwrap();
    let mut config = DbConfig::new(bouncer.url(test.name()));
    config.statement_cache_size = 0;
    let db = Db::connect(config).await.unwrap();
    let (reads, writes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let read_errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for _ in 0..20 {
        let (db, reads, stop, errors) = (db.clone(), reads.clone(), stop.clone(), read_errors.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match select_from::<LoginAttempts>().columns((count_all(),)).fetch_one(&db).await {
                    Ok(_) => drop(reads.fetch_add(1, Ordering::SeqCst)),
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    let mut writers = Vec::new();
    for w in 0..5 {
        let (db, writes, stop) = (db.clone(), writes.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let (mut acked, mut ambiguous, mut failed) = (Vec::new(), Vec::new(), Vec::new());
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("w{w}-{i}");
                i += 1;
                match insert_into::<LoginAttempts>()
                    .values(login_attempts::Insert::new(key.clone(), true))
                    .execute(&db)
                    .await
                {
                    Ok(_) => acked.push(key),
                    Err(e) if e.kind() == taulu::ErrorKind::Ambiguous => ambiguous.push(key),
                    Err(e) => failed.push(format!("{key}: {e}")),
                }
                writes.fetch_add(1, Ordering::SeqCst);
            }
            (acked, ambiguous, failed)
        }));
    }
    let progress = || reads.load(Ordering::SeqCst).min(writes.load(Ordering::SeqCst) * 4);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while progress() < 400 {
        assert!(std::time::Instant::now() < deadline, "gave up waiting for load before the restart");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let (b, c) = (bouncer.clone(), cluster.clone());
    tokio::task::spawn_blocking(move || b.restart(&c, std::time::Duration::from_secs(2))).await.unwrap().unwrap();
    let after = progress();
    while progress() < after + 400 {
        assert!(std::time::Instant::now() < deadline, "gave up waiting for load after the restart");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    // Then a RELOAD (SIGHUP), as a configuration change does: connections stay, nobody notices.
    let b = bouncer.clone();
    tokio::task::spawn_blocking(move || b.reload()).await.unwrap().unwrap();
    let after = progress();
    while progress() < after + 400 {
        assert!(std::time::Instant::now() < deadline, "gave up waiting for load after the reload");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    let (mut acked, mut ambiguous, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for w in writers {
        let (a, m, f) = w.await.unwrap();
        acked.extend(a);
        ambiguous.extend(m);
        failed.extend(f);
    }
    println!(
        "{} reads, {} writes acknowledged, {} ambiguous",
        reads.load(Ordering::SeqCst),
        acked.len(),
        ambiguous.len()
    );
    assert_eq!(read_errors.lock().unwrap().clone(), Vec::<String>::new(), "no read error");
    assert_eq!(failed, Vec::<String>::new(), "no write failed otherwise");
    assert!(ambiguous.len() <= 5, "only writes in flight at the restart: {ambiguous:?}");
    let stored: Vec<(String, i64)> = select_from::<LoginAttempts>()
        .columns((login_attempts::identifier, count_all()))
        .group_by((login_attempts::identifier,))
        .fetch_all(&db)
        .await
        .unwrap();
    let stored: std::collections::HashMap<String, i64> = stored.into_iter().collect();
    assert!(stored.values().all(|&n| n == 1), "no write applied twice");
    for key in &acked {
        assert_eq!(stored.get(key), Some(&1), "acknowledged {key} is there");
    }
    assert_eq!(stored.len(), acked.len() + ambiguous.iter().filter(|k| stored.contains_key(*k)).count());
}
