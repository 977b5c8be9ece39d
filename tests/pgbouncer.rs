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
