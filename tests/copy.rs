//! `Tx::copy_in`: generated `Insert` rows loaded with `COPY .. FROM STDIN (FORMAT binary)` on
//! PostgreSQL, enums and nullable columns included, and a row that sets other columns refused
//! with nothing applied.

use taulu::{Db, DbConfig, ErrorKind, prelude::*, testing::TestDb};
use taulu_app::schema::{LoginAttempts, Members, Orgs, Role, Users, login_attempts, members, orgs, users};

#[tokio::test]
async fn rows_are_copied_with_their_types_and_mismatched_rows_apply_nothing() {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let db = Db::connect(DbConfig::new(test.url().clone())).await.unwrap();

    // 20,000 rows, streamed from an iterator: text, bool, inet; the columns left out get their
    // defaults (identity, now()) or NULL.
    let rows = (0..20_000u32).map(|i| {
        login_attempts::Insert::new(format!("user{i}"), i % 2 == 0)
            .with_ip("10.0.0.1".parse().unwrap())
            .with_user_agent(format!("agent {i}"))
    });
    let copied = db.transaction(async |tx| tx.copy_in(rows).await).await.unwrap();
    assert_eq!(copied, 20_000);
    let (n, ok) = select_from::<LoginAttempts>()
        .columns((count_all(), count(login_attempts::id).filter(login_attempts::success.eq(true))))
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!((n, ok), (20_000, 10_000));
    let (agent, ip, user) = select_from::<LoginAttempts>()
        .columns((login_attempts::user_agent, login_attempts::ip, login_attempts::user_id))
        .where_(login_attempts::identifier.eq("user4"))
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!((agent.as_deref(), ip, user), (Some("agent 4"), Some("10.0.0.1".parse().unwrap()), None));

    // An enum column, with the type the server gave it.
    let user = insert_into::<Users>()
        .values(users::Insert::new("ann", "ann@x", "h"))
        .returning((users::id,))
        .fetch_one(&db)
        .await
        .unwrap()
        .0;
    let orgs: Vec<_> = (0..3).map(|i| orgs::Insert::new(format!("Org {i}"), format!("org-{i}"))).collect();
    let org_ids: Vec<(uuid::Uuid,)> =
        insert_into::<Orgs>().values_many(orgs).returning((orgs::id,)).fetch_all(&db).await.unwrap();
    let memberships = org_ids
        .iter()
        .zip([Role::Owner, Role::Admin, Role::Member])
        .map(|((org,), role)| members::Insert::new(*org, user).with_member_role(role));
    assert_eq!(db.transaction(async |tx| tx.copy_in(memberships).await).await.unwrap(), 3);
    let roles: Vec<(Role,)> = select_from::<Members>()
        .columns((members::member_role,))
        .order_by(members::member_role)
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(roles, [(Role::Owner,), (Role::Admin,), (Role::Member,)]);

    // The second row sets an optional column the first did not: refused, nothing applied.
    let mixed = [login_attempts::Insert::new("x", true), login_attempts::Insert::new("y", true).with_user_agent("z")];
    let err = db.transaction(async |tx| tx.copy_in(mixed).await).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{err}");
    assert!(err.to_string().starts_with("COPY row 2 sets the columns"), "{err}");
    let (n,) = select_from::<LoginAttempts>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(n, 20_000);
    // No rows: nothing sent.
    let none: Vec<login_attempts::Insert> = Vec::new();
    assert_eq!(db.transaction(async |tx| tx.copy_in(none).await).await.unwrap(), 0);
}
