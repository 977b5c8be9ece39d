//! The query builder: exact `(sql, params)` renderings (no database), then the same queries run on
//! real PostgreSQL.

use taulu::{prelude::*, query::Param, testing::TestDb};
use taulu_app::schema::{
    LoginAttempts, Members, Orgs, Role, Sessions, Sysrole, Users, login_attempts, members, orgs, sessions, users,
};
use tokio_postgres::Client;
use uuid::Uuid;

fn render<S, C, L>(q: &taulu::query::Select<S, C, L>) -> (String, String) {
    let (sql, params): (String, Vec<Param>) = q.to_sql();
    (sql, format!("{params:?}"))
}

fn check<S, C, L>(q: taulu::query::Select<S, C, L>, sql: &str, params: &str) {
    assert_eq!(render(&q), (sql.to_owned(), params.to_owned()));
}

const ID: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);

#[test]
fn select_columns_and_all() {
    check(
        select_from::<Users>().columns((users::id, users::email)),
        r#"SELECT "users"."id", "users"."email" FROM "users""#,
        "[]",
    );
    check(
        select_from::<Orgs>().all(),
        r#"SELECT "orgs"."id", "orgs"."name", "orgs"."slug", "orgs"."created_at" FROM "orgs""#,
        "[]",
    );
    check(
        select_from::<Orgs>().columns((orgs::slug,)).distinct(),
        r#"SELECT DISTINCT "orgs"."slug" FROM "orgs""#,
        "[]",
    );
    check(
        select_from::<LoginAttempts>()
            .columns((login_attempts::identifier, login_attempts::attempted_at))
            .distinct_on((login_attempts::identifier,))
            .order_by(login_attempts::identifier)
            .order_by(login_attempts::attempted_at.desc()),
        r#"SELECT DISTINCT ON ("login_attempts"."identifier") "login_attempts"."identifier", "login_attempts"."attempted_at" FROM "login_attempts" ORDER BY "login_attempts"."identifier", "login_attempts"."attempted_at" DESC"#,
        "[]",
    );
}

#[test]
fn comparisons_bind_every_value() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            render(&select_from::<Users>().columns((users::id,)).where_(users::id.eq(ID))).0,
            r#""users"."id" = $1"#,
            "eq",
        ),
        (
            render(&select_from::<Users>().columns((users::id,)).where_(users::username.ne("x"))).0,
            r#""users"."username" <> $1"#,
            "ne",
        ),
        (
            render(&select_from::<LoginAttempts>().columns((login_attempts::id,)).where_(login_attempts::id.lt(5))).0,
            r#""login_attempts"."id" < $1"#,
            "lt",
        ),
        (
            render(&select_from::<LoginAttempts>().columns((login_attempts::id,)).where_(login_attempts::id.le(5))).0,
            r#""login_attempts"."id" <= $1"#,
            "le",
        ),
        (
            render(&select_from::<LoginAttempts>().columns((login_attempts::id,)).where_(login_attempts::id.gt(5))).0,
            r#""login_attempts"."id" > $1"#,
            "gt",
        ),
        (
            render(&select_from::<LoginAttempts>().columns((login_attempts::id,)).where_(login_attempts::id.ge(5))).0,
            r#""login_attempts"."id" >= $1"#,
            "ge",
        ),
    ];
    for (sql, condition, what) in cases {
        assert!(sql.ends_with(&format!(" WHERE {condition}")), "{what}: {sql}");
    }
    check(
        select_from::<Users>().columns((users::id,)).where_(users::system_role.eq(Sysrole::Admin)),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."system_role" = $1"#,
        "[Admin]",
    );
}

#[test]
fn in_like_between_and_null_tests() {
    check(
        select_from::<Users>().columns((users::id,)).where_(users::username.in_(["a", "b"])),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."username" = ANY($1)"#,
        r#"[["a", "b"]]"#,
    );
    // One statement text whatever the list's length: an empty list is an empty array.
    check(
        select_from::<Users>().columns((users::id,)).where_(users::username.not_in(Vec::<String>::new())),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."username" <> ALL($1)"#,
        "[[]]",
    );
    check(
        select_from::<Members>()
            .columns((members::user_id,))
            .where_(members::member_role.in_([Role::Owner, Role::Admin])),
        r#"SELECT "members"."user_id" FROM "members" WHERE "members"."member_role" = ANY($1)"#,
        "[[Owner, Admin]]",
    );
    check(
        select_from::<Users>().columns((users::id,)).where_(users::email.ilike("%@example.com")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" ILIKE $1"#,
        r#"["%@example.com"]"#,
    );
    check(
        select_from::<Users>().columns((users::id,)).where_(users::username.like("a%")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."username" LIKE $1"#,
        r#"["a%"]"#,
    );
    check(
        select_from::<LoginAttempts>().columns((login_attempts::id,)).where_(login_attempts::id.between(10, 20)),
        r#"SELECT "login_attempts"."id" FROM "login_attempts" WHERE "login_attempts"."id" BETWEEN $1 AND $2"#,
        "[10, 20]",
    );
    check(
        select_from::<Users>().columns((users::id,)).where_(users::display_name.is_null()),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."display_name" IS NULL"#,
        "[]",
    );
    check(
        select_from::<Sessions>().columns((sessions::id,)).where_(sessions::revoked_at.is_not_null()),
        r#"SELECT "sessions"."id" FROM "sessions" WHERE "sessions"."revoked_at" IS NOT NULL"#,
        "[]",
    );
}

#[test]
fn and_or_not_are_parenthesised_and_successive_wheres_combine_with_and() {
    check(
        select_from::<Users>()
            .columns((users::id,))
            .where_(users::username.eq("a").or(users::email.eq("b")))
            .where_(not(users::system_role.eq(Sysrole::Admin)).and(users::display_name.is_not_null())),
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."username" = $1 OR "users"."email" = $2) AND (NOT ("users"."system_role" = $3) AND "users"."display_name" IS NOT NULL)"#,
        r#"["a", "b", Admin]"#,
    );
    check(
        select_from::<Users>()
            .columns((users::id,))
            .where_(users::username.eq("a").and(users::email.eq("b").or(users::email.eq("c")))),
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."username" = $1 AND ("users"."email" = $2 OR "users"."email" = $3))"#,
        r#"["a", "b", "c"]"#,
    );
}

#[test]
fn joins_infer_the_joined_table_and_column_comparisons() {
    check(
        select_from::<Members>().inner_join(orgs::id, members::org_id).where_(members::user_id.eq(ID)).columns((
            orgs::name,
            orgs::slug,
            members::member_role,
        )),
        r#"SELECT "orgs"."name", "orgs"."slug", "members"."member_role" FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" WHERE "members"."user_id" = $1"#,
        "[01234567-89ab-cdef-0123-456789abcdef]",
    );
    check(
        select_from::<Users>()
            .left_join(sessions::user_id, users::id)
            .columns((users::username, sessions::expires_at))
            .where_(sessions::user_id.eq(users::id).or(sessions::id.is_null())),
        r#"SELECT "users"."username", "sessions"."expires_at" FROM "users" LEFT JOIN "sessions" ON "sessions"."user_id" = "users"."id" WHERE ("sessions"."user_id" = "users"."id" OR "sessions"."id" IS NULL)"#,
        "[]",
    );
}

#[test]
fn order_limit_offset() {
    check(
        select_from::<Users>()
            .columns((users::username,))
            .order_by(users::display_name.asc().nulls_last())
            .order_by(users::created_at.desc().nulls_first())
            .limit(10)
            .offset(20),
        r#"SELECT "users"."username" FROM "users" ORDER BY "users"."display_name" NULLS LAST, "users"."created_at" DESC NULLS FIRST LIMIT $1 OFFSET $2"#,
        "[10, 20]",
    );
}

#[test]
fn row_types_follow_nullability_and_left_joins() {
    // These bindings are the test: they only compile with the right row types.
    fn row<Q: taulu::query::Query>(_: &Q) -> Option<Q::Output> {
        None
    }
    let q = select_from::<Users>().left_join(sessions::user_id, users::id).columns((
        users::id,
        users::display_name,
        sessions::id,
        sessions::revoked_at,
    ));
    type Expected = (Uuid, Option<String>, Option<Uuid>, Option<chrono::DateTime<chrono::Utc>>);
    let _: Option<Expected> = row(&q);
    let all = select_from::<Users>().all();
    let _: Option<users::Row> = row(&all);
    let inner =
        select_from::<Members>().inner_join(orgs::id, members::org_id).columns((orgs::name, members::member_role));
    let _: Option<(String, Role)> = row(&inner);
}

async fn seed(c: &Client) -> (Uuid, Uuid) {
    let ann: Uuid = c
        .query_one(
            "INSERT INTO users (username, email, password_hash, system_role) VALUES ('ann', 'ann@example.com', 'h', 'admin') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let bob: Uuid = c
        .query_one(
            "INSERT INTO users (username, email, password_hash) VALUES ('bob', 'bob@example.com', 'h') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme'), ('Globex', 'globex');
         INSERT INTO members (org_id, user_id, member_role) SELECT id, '{ann}', 'owner' FROM orgs WHERE slug = 'acme';
         INSERT INTO members (org_id, user_id) SELECT id, '{ann}' FROM orgs WHERE slug = 'globex';
         INSERT INTO members (org_id, user_id, member_role) SELECT id, '{bob}', 'admin' FROM orgs WHERE slug = 'acme';
         INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ('{ann}', '\\x01', now() + interval '1 day');"
    ))
    .await
    .unwrap();
    (ann, bob)
}

#[tokio::test]
async fn users_filtered_by_system_role() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (ann, _) = seed(db.client()).await;
    let admins = select_from::<Users>()
        .columns((users::id, users::username))
        .where_(users::system_role.eq(Sysrole::Admin))
        .fetch_all(db.client())
        .await
        .unwrap();
    assert_eq!(admins, vec![(ann, "ann".to_owned())]);
}

#[tokio::test]
async fn a_users_orgs_via_members_joined_to_orgs() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let (ann, bob) = seed(db.client()).await;
    let orgs_of = |user| {
        select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .where_(members::user_id.eq(user))
            .columns((orgs::name, orgs::slug, members::member_role))
            .order_by(orgs::slug)
    };
    assert_eq!(
        orgs_of(ann).fetch_all(db.client()).await.unwrap(),
        vec![("Acme".into(), "acme".into(), Role::Owner), ("Globex".into(), "globex".into(), Role::Member)]
    );
    assert_eq!(orgs_of(bob).fetch_all(db.client()).await.unwrap(), vec![("Acme".into(), "acme".into(), Role::Admin)]);
}

#[tokio::test]
async fn left_join_produces_none_and_fetch_variants() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let rows = select_from::<Users>()
        .left_join(sessions::user_id, users::id)
        .columns((users::username, sessions::token_hash))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows, vec![("ann".into(), Some(vec![1u8])), ("bob".into(), None)]);

    let by_name = |name: &'static str| select_from::<Users>().all().where_(users::username.eq(name));
    let ann: users::Row = by_name("ann").fetch_one(c).await.unwrap();
    assert_eq!((ann.email.as_str(), ann.system_role, ann.display_name), ("ann@example.com", Sysrole::Admin, None));
    assert!(by_name("nobody").fetch_optional(c).await.unwrap().is_none());
    assert!(matches!(by_name("nobody").fetch_one(c).await, Err(taulu::Error::NoRows)));
}

#[tokio::test]
async fn every_condition_kind_selects_the_right_rows() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let names = |q: taulu::query::Select<_, _>| async move {
        let q = q;
        let rows: Vec<(String,)> = q.fetch_all(c).await.unwrap();
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
    };
    let base = || select_from::<Users>().columns((users::username,)).order_by(users::username);
    assert_eq!(names(base().where_(users::username.in_(["bob", "zed"]))).await, ["bob"]);
    assert_eq!(names(base().where_(users::username.not_in(["bob"]))).await, ["ann"]);
    assert_eq!(names(base().where_(users::username.in_(Vec::<String>::new()))).await, Vec::<String>::new());
    assert_eq!(names(base().where_(users::username.not_in(Vec::<String>::new()))).await, ["ann", "bob"]);
    // Enum values go as one typed array.
    let owners_and_admins: Vec<(Uuid,)> = select_from::<Members>()
        .columns((members::user_id,))
        .where_(members::member_role.in_([Role::Owner, Role::Admin]))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(owners_and_admins.len(), 2);
    assert_eq!(names(base().where_(users::email.ilike("%@EXAMPLE.com"))).await, ["ann", "bob"]);
    assert_eq!(names(base().where_(users::email.like("%@EXAMPLE.com"))).await, Vec::<String>::new());
    assert_eq!(names(base().where_(users::display_name.is_null())).await, ["ann", "bob"]);
    assert_eq!(names(base().where_(not(users::username.eq("ann")))).await, ["bob"]);
    assert_eq!(names(base().where_(users::username.eq("ann").or(users::username.eq("bob")))).await, ["ann", "bob"]);
    assert_eq!(
        names(base().where_(users::username.eq("ann")).where_(users::username.eq("bob"))).await,
        Vec::<String>::new()
    );
    assert_eq!(names(base().limit(1).offset(1)).await, ["bob"]);
    assert_eq!(
        names(
            base()
                .where_(users::created_at.between(chrono::Utc::now() - chrono::Duration::hours(1), chrono::Utc::now()))
        )
        .await,
        ["ann", "bob"]
    );
}

fn new_user(name: &str) -> users::Insert {
    users::Insert::new(name, format!("{name}@example.com"), "hash")
}

#[test]
fn insert_update_delete_render() {
    let (sql, params) = insert_into::<Users>().values(new_user("ann").with_display_name("Ann")).to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "users" ("username", "email", "password_hash", "display_name") VALUES ($1, $2, $3, $4)"#
    );
    assert_eq!(format!("{params:?}"), r#"["ann", "ann@example.com", "hash", "Ann"]"#);
    let (sql, _) = insert_into::<Users>()
        .values_many([new_user("a"), new_user("b").with_system_role(Sysrole::Admin)])
        .returning_all()
        .to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "users" ("username", "email", "password_hash", "system_role") VALUES ($1, $2, $3, DEFAULT), ($4, $5, $6, $7) RETURNING "users"."id", "users"."username", "users"."email", "users"."password_hash", "users"."system_role", "users"."created_at", "users"."updated_at", "users"."display_name""#
    );
    let (sql, _) = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", "acme"))
        .on_conflict((orgs::slug,))
        .do_update((orgs::name,))
        .returning((orgs::id,))
        .to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "orgs" ("name", "slug") VALUES ($1, $2) ON CONFLICT ("slug") DO UPDATE SET "name" = EXCLUDED."name" RETURNING "orgs"."id""#
    );
    let (sql, _) =
        insert_into::<Orgs>().values(orgs::Insert::new("A", "a")).on_conflict((orgs::slug,)).do_nothing().to_sql();
    assert!(sql.ends_with(r#" ON CONFLICT ("slug") DO NOTHING"#), "{sql}");
    let (sql, _) = insert_into::<Users>().values(new_user("a")).on_any_conflict_do_nothing().to_sql();
    assert!(sql.ends_with(" ON CONFLICT DO NOTHING"), "{sql}");

    let (sql, params) = update::<Users>()
        .set(users::display_name, "Ann")
        .set(users::system_role, Sysrole::Admin)
        .where_(users::id.eq(ID))
        .returning((users::updated_at,))
        .to_sql();
    assert_eq!(
        sql,
        r#"UPDATE "users" SET "display_name" = $1, "system_role" = $2 WHERE "users"."id" = $3 RETURNING "users"."updated_at""#
    );
    assert_eq!(format!("{params:?}"), r#"["Ann", Admin, 01234567-89ab-cdef-0123-456789abcdef]"#);
    let (sql, _) = update::<Sessions>().set_null(sessions::revoked_at).to_sql();
    assert_eq!(sql, r#"UPDATE "sessions" SET "revoked_at" = NULL"#);
    let (sql, params) = delete_from::<Sessions>().where_(sessions::user_id.eq(ID)).returning((sessions::id,)).to_sql();
    assert_eq!(sql, r#"DELETE FROM "sessions" WHERE "sessions"."user_id" = $1 RETURNING "sessions"."id""#);
    assert_eq!(params.len(), 1);
}

#[tokio::test]
async fn inserting_a_user_with_returning_all_then_update_and_delete() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let ann: users::Row = insert_into::<Users>().values(new_user("ann")).returning_all().fetch_one(c).await.unwrap();
    assert_eq!((ann.username.as_str(), ann.system_role, ann.display_name.clone()), ("ann", Sysrole::User, None));

    let many = insert_into::<Users>().values_many([new_user("b"), new_user("c").with_system_role(Sysrole::Admin)]);
    assert_eq!(many.execute(c).await.unwrap(), 2);
    assert_eq!(insert_into::<Users>().values_many([]).execute(c).await.unwrap(), 0);

    let (role, name) = update::<Users>()
        .set(users::display_name, "Ann A.")
        .set(users::system_role, Sysrole::Admin)
        .where_(users::id.eq(ann.id))
        .returning((users::system_role, users::display_name))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!((role, name.as_deref()), (Sysrole::Admin, Some("Ann A.")));
    let cleared =
        update::<Users>().set_null(users::display_name).where_(users::id.eq(ann.id)).execute(c).await.unwrap();
    assert_eq!(cleared, 1);

    // A duplicate email (case-insensitive unique index) is skipped with ON CONFLICT DO NOTHING.
    let skipped = insert_into::<Users>()
        .values(users::Insert::new("ann2", "ANN@example.com", "h"))
        .on_any_conflict_do_nothing()
        .returning((users::id,))
        .fetch_optional(c)
        .await
        .unwrap();
    assert_eq!(skipped, None);
    let dup = insert_into::<Users>().values(users::Insert::new("ann2", "ANN@example.com", "h")).execute(c).await;
    assert!(dup.unwrap_err().is_unique_violation());

    // Upsert on orgs.slug.
    let first = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", "acme"))
        .returning((orgs::id,))
        .fetch_one(c)
        .await
        .unwrap();
    let upserted = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme Inc", "acme"))
        .on_conflict((orgs::slug,))
        .do_update((orgs::name,))
        .returning((orgs::id, orgs::name))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(upserted, (first.0, "Acme Inc".to_owned()));

    let deleted = delete_from::<Users>()
        .where_(users::username.in_(["b", "c"]))
        .returning((users::username,))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 2);
    let left: Vec<(String,)> = select_from::<Users>().columns((users::username,)).fetch_all(c).await.unwrap();
    assert_eq!(left, vec![("ann".to_owned(),)]);
}

#[tokio::test]
async fn a_transaction_inserts_a_user_and_a_session_or_neither() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let mut client = db.connect().await.unwrap();
    let token = vec![7u8; 32];
    let expires = chrono::Utc::now() + chrono::Duration::days(1);

    let user_id = taulu::transaction(&mut client, async |tx| {
        let (id,) = insert_into::<Users>().values(new_user("ann")).returning((users::id,)).fetch_one(tx).await?;
        insert_into::<Sessions>().values(sessions::Insert::new(id, token.clone(), expires)).execute(tx).await?;
        Ok(id)
    })
    .await
    .unwrap();
    assert_eq!(count_users_and_sessions(&client).await, (1, 1));

    // The second insert fails (duplicate token hash): the user inserted first is rolled back too.
    let failed = taulu::transaction(&mut client, async |tx| {
        let (id,) = insert_into::<Users>().values(new_user("bob")).returning((users::id,)).fetch_one(tx).await?;
        insert_into::<Sessions>().values(sessions::Insert::new(id, token.clone(), expires)).execute(tx).await?;
        Ok(id)
    })
    .await;
    assert!(failed.unwrap_err().is_unique_violation());
    assert_eq!(count_users_and_sessions(&client).await, (1, 1));

    // Nested: the inner savepoint fails and rolls back alone; the outer transaction commits.
    let outcome = taulu::transaction(&mut client, async |tx| {
        insert_into::<Users>().values(new_user("cat")).execute(tx).await?;
        let inner = taulu::transaction(tx, async |sp| {
            insert_into::<Users>().values(new_user("dan")).execute(sp).await?;
            insert_into::<Sessions>()
                .values(sessions::Insert::new(user_id, token.clone(), expires))
                .execute(sp)
                .await?;
            Ok(())
        })
        .await;
        assert!(inner.is_err());
        Ok(())
    })
    .await;
    outcome.unwrap();
    let names: Vec<(String,)> =
        select_from::<Users>().columns((users::username,)).order_by(users::username).fetch_all(&client).await.unwrap();
    assert_eq!(names, vec![("ann".to_owned(),), ("cat".to_owned(),)]);
}

#[tokio::test]
async fn a_panicking_transaction_rolls_back() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let url = db.url().clone();
    let handle = tokio::spawn(async move {
        let mut client = taulu::connect(&url).await.unwrap();
        let _: Result<(), taulu::Error> = taulu::transaction(&mut client, async |tx| {
            insert_into::<Users>().values(new_user("ghost")).execute(tx).await?;
            panic!("boom");
        })
        .await;
    });
    assert!(handle.await.unwrap_err().is_panic());
    let rows: Vec<(String,)> = select_from::<Users>().columns((users::username,)).fetch_all(db.client()).await.unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}

async fn count_users_and_sessions(c: &Client) -> (usize, usize) {
    let u: Vec<(Uuid,)> = select_from::<Users>().columns((users::id,)).fetch_all(c).await.unwrap();
    let s: Vec<(Uuid,)> = select_from::<Sessions>().columns((sessions::id,)).fetch_all(c).await.unwrap();
    (u.len(), s.len())
}

#[test]
fn aggregates_group_by_having_and_aliases_render() {
    check(
        select_from::<Members>()
            .inner_join(orgs::id, members::org_id)
            .columns((orgs::slug, count_all().as_("members"), min(members::created_at)))
            .group_by((orgs::slug,))
            .having(count_all().gt(1))
            .order_by(orgs::slug),
        r#"SELECT "orgs"."slug", count(*) AS "members", min("members"."created_at") FROM "members" INNER JOIN "orgs" ON "orgs"."id" = "members"."org_id" GROUP BY "orgs"."slug" HAVING count(*) > $1 ORDER BY "orgs"."slug""#,
        "[1]",
    );
    check(
        select_from::<LoginAttempts>().columns((
            count(login_attempts::user_id),
            sum(login_attempts::id),
            avg(login_attempts::id),
            max(login_attempts::identifier).as_("last"),
        )),
        r#"SELECT count("login_attempts"."user_id"), sum("login_attempts"."id"), avg("login_attempts"."id"), max("login_attempts"."identifier") AS "last" FROM "login_attempts""#,
        "[]",
    );
    check(
        select_from::<Users>().columns((users::username.as_("name"),)),
        r#"SELECT "users"."username" AS "name" FROM "users""#,
        "[]",
    );
}

#[tokio::test]
async fn aggregates_have_exact_result_types() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let (ann, _) = seed(c).await;
    // The annotations are part of the test: count is i64, sum of bigint is numeric, ...
    let per_org: Vec<(String, i64)> = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .columns((orgs::slug, count_all()))
        .group_by((orgs::slug,))
        .having(count_all().ge(1))
        .order_by(orgs::slug)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(per_org, vec![("acme".to_owned(), 2), ("globex".to_owned(), 1)]);

    for (who, ok) in [("ann", false), ("ann", true), ("x", false)] {
        insert_into::<LoginAttempts>()
            .values(login_attempts::Insert::new(who, ok).with_user_id(ann))
            .execute(c)
            .await
            .unwrap();
    }
    let (n, users_seen, total, mean, first, last): (
        i64,
        i64,
        Option<rust_decimal::Decimal>,
        Option<rust_decimal::Decimal>,
        Option<String>,
        Option<String>,
    ) = select_from::<LoginAttempts>()
        .columns((
            count_all(),
            count(login_attempts::user_id),
            sum(login_attempts::id),
            avg(login_attempts::id),
            min(login_attempts::identifier),
            max(login_attempts::identifier),
        ))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!((n, users_seen), (3, 3));
    assert_eq!(total.unwrap().to_string(), "6");
    assert_eq!(mean.unwrap().round_dp(2).to_string(), "2.00");
    assert_eq!((first.as_deref(), last.as_deref()), (Some("ann"), Some("x")));

    let none: (Option<rust_decimal::Decimal>, i64) = select_from::<LoginAttempts>()
        .columns((sum(login_attempts::id), count_all()))
        .where_(login_attempts::identifier.eq("nobody"))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(none, (None, 0), "sum over no rows is NULL, count is 0");
}

#[test]
fn subqueries_and_raw_sql_render() {
    use taulu::query::{scalar, sql};
    check(
        select_from::<Users>().columns((users::username,)).where_(users::id.in_select(
            select_from::<Members>().columns((members::user_id,)).where_(members::member_role.eq(Role::Owner)),
        )),
        r#"SELECT "users"."username" FROM "users" WHERE "users"."id" IN (SELECT "members"."user_id" FROM "members" WHERE "members"."member_role" = $1)"#,
        "[Owner]",
    );
    check(
        select_from::<Users>()
            .columns((users::username,))
            .where_(users::id.not_in_select(select_from::<Sessions>().columns((sessions::user_id,)))),
        r#"SELECT "users"."username" FROM "users" WHERE "users"."id" NOT IN (SELECT "sessions"."user_id" FROM "sessions")"#,
        "[]",
    );
    check(
        select_from::<Users>().columns((users::username,)).where_exists::<Members, _, _>(|m| {
            m.where_(members::user_id.eq(users::id)).where_(members::member_role.eq(Role::Admin))
        }),
        r#"SELECT "users"."username" FROM "users" WHERE EXISTS (SELECT 1 FROM "members" WHERE "members"."user_id" = "users"."id" AND "members"."member_role" = $1)"#,
        "[Admin]",
    );
    check(
        select_from::<Users>()
            .columns((users::username,))
            .where_not_exists::<Sessions, _, _>(|s| s.where_(sessions::user_id.eq(users::id))),
        r#"SELECT "users"."username" FROM "users" WHERE NOT EXISTS (SELECT 1 FROM "sessions" WHERE "sessions"."user_id" = "users"."id")"#,
        "[]",
    );
    check(
        select_from::<Users>().columns((users::username, scalar(select_from::<Orgs>().columns((count_all(),))))),
        r#"SELECT "users"."username", (SELECT count(*) FROM "orgs") FROM "users""#,
        "[]",
    );
    check(
        select_from::<Users>()
            .columns((users::id,))
            .where_(sql("\"users\".\"email\" ~* {} AND {{x}} IS NOT NULL").bind("^a")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" ~* $1 AND {x} IS NOT NULL"#,
        r#"["^a"]"#,
    );
    let (sql_text, _) = select_from::<Users>().columns((users::id,)).where_(sql("{} = {}").bind(1)).to_sql();
    assert!(sql_text.ends_with("WHERE $1 = $0"), "a missing bind fails loudly: {sql_text}");
}

#[tokio::test]
async fn subqueries_distinct_and_raw_sql_on_postgres() {
    use taulu::query::{scalar, sql};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let owners: Vec<(String,)> = select_from::<Users>()
        .columns((users::username,))
        .where_(users::id.in_select(
            select_from::<Members>().columns((members::user_id,)).where_(members::member_role.eq(Role::Owner)),
        ))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(owners, vec![("ann".to_owned(),)]);
    let admins_somewhere: Vec<(String,)> = select_from::<Users>()
        .columns((users::username,))
        .where_exists::<Members, _, _>(|m| {
            m.where_(members::user_id.eq(users::id)).where_(members::member_role.eq(Role::Admin))
        })
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(admins_somewhere, vec![("bob".to_owned(),)]);
    let without_session: Vec<(String,)> = select_from::<Users>()
        .columns((users::username,))
        .where_not_exists::<Sessions, _, _>(|s| s.where_(sessions::user_id.eq(users::id)))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(without_session, vec![("bob".to_owned(),)]);
    let with_org_count: Vec<(String, Option<i64>)> = select_from::<Users>()
        .columns((users::username, scalar(select_from::<Orgs>().columns((count_all(),)))))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(with_org_count, vec![("ann".to_owned(), Some(2)), ("bob".to_owned(), Some(2))]);
    let roles: Vec<(Role,)> = select_from::<Members>()
        .columns((members::member_role,))
        .distinct()
        .order_by(members::member_role)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(roles, vec![(Role::Owner,), (Role::Admin,), (Role::Member,)], "enum order, each once");
    let latest_per_user: Vec<(Uuid, Role)> = select_from::<Members>()
        .columns((members::user_id, members::member_role))
        .distinct_on((members::user_id,))
        .order_by(members::user_id)
        .order_by(members::member_role)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(latest_per_user.len(), 2);
    let by_raw: Vec<(String,)> = select_from::<Users>()
        .columns((users::username,))
        .where_(sql("lower(\"users\".\"email\") = lower({})").bind("BOB@example.com"))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(by_raw, vec![("bob".to_owned(),)]);
    let mismatch = select_from::<Users>().columns((users::id,)).where_(sql("{} = {}").bind(1)).fetch_all(c).await;
    assert!(mismatch.unwrap_err().to_string().contains("there is no parameter $0"));
}

/// Strings an attacker (or an unlucky user) might send.
fn hostile_corpus() -> Vec<String> {
    let mut v: Vec<String> = [
        "'",
        "''",
        "\"",
        "\"\"",
        "\\",
        "\\'",
        "\\\\'",
        "'; DROP TABLE users; --",
        "\"; DROP TABLE users; --",
        "1; DELETE FROM users",
        "'); DROP TABLE sessions; --",
        "' OR '1'='1",
        "\" OR \"\"=\"",
        "admin'--",
        "1' OR 1=1 --",
        "/*",
        "*/",
        "/* comment */ SELECT 1",
        "--",
        "-- comment\nSELECT 1",
        "$1",
        "$2",
        "$0",
        "$$",
        "$$; DROP TABLE users; $$",
        "$tag$",
        "E'\\x00'",
        "%",
        "_",
        "%_%",
        "\\%",
        "NULL",
        "null",
        "\n",
        "\r\n",
        "\t",
        " ",
        "",
        "   leading and trailing   ",
        "ünïcødé",
        "日本語テキスト",
        "🦀🔥💥",
        "\u{200B}",
        "\u{FEFF}BOM",
        "\u{202E}reversed",
        "e\u{301}",
        "Ω≈ç√∫",
        "🇫🇮🇸🇪",
        "＇fullwidth＇",
        "‘curly’ “quotes”",
        "\u{7f}",
        "\u{1}\u{2}",
        "\u{1b}[31mred",
        "<script>alert(1)</script>",
        "${jndi:ldap://x}",
        "{{7*7}}",
        "SELECT pg_sleep(10)",
        "pg_terminate_backend(pg_backend_pid())",
        "COPY users TO PROGRAM 'id'",
        ";",
        ";;",
        "?",
        "??",
        ":name",
        "@var",
        "#",
        "\"users\"",
        "users",
        "table",
        "\"Mixed\"Case",
        "back\\slash\\n\\t",
        "%00",
        "&#39;",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    v.push("a".repeat(100_000));
    v.push("'".repeat(10_000));
    v.push("🦀".repeat(5_000));
    v.push("\\".repeat(4_001));
    v
}

#[tokio::test]
async fn hostile_strings_are_stored_and_read_back_byte_for_byte_and_change_nothing_else() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    seed(c).await;
    let corpus = hostile_corpus();
    assert!(corpus.len() >= 60, "{} strings", corpus.len());

    let before = snapshot(c).await;

    for s in &corpus {
        let (id, stored) = insert_into::<LoginAttempts>()
            .values(login_attempts::Insert::new(s.clone(), false).with_user_agent(s.clone()))
            .returning((login_attempts::id, login_attempts::identifier))
            .fetch_one(c)
            .await
            .unwrap_or_else(|e| panic!("insert of {:?} failed: {e}", s.chars().take(40).collect::<String>()));
        assert_eq!(stored.as_bytes(), s.as_bytes());
        let found: Vec<(i64, String, Option<String>)> = select_from::<LoginAttempts>()
            .columns((login_attempts::id, login_attempts::identifier, login_attempts::user_agent))
            .where_(login_attempts::identifier.eq(s.as_str()))
            .where_(login_attempts::user_agent.in_([s.clone()]))
            .fetch_all(c)
            .await
            .unwrap();
        assert_eq!(
            found,
            vec![(id, s.clone(), Some(s.clone()))],
            "read back {:?}",
            s.chars().take(40).collect::<String>()
        );
        // As a LIKE pattern, escaped, the string matches itself literally and nothing else.
        let liked: Vec<(i64,)> = select_from::<LoginAttempts>()
            .columns((login_attempts::id,))
            .where_(login_attempts::identifier.like(taulu::query::escape_like(s)))
            .fetch_all(c)
            .await
            .unwrap();
        assert_eq!(liked, vec![(id,)], "LIKE {:?}", s.chars().take(40).collect::<String>());
    }
    let total: Vec<(i64,)> = select_from::<LoginAttempts>().columns((count_all(),)).fetch_all(c).await.unwrap();
    assert_eq!(total, vec![(corpus.len() as i64,)], "one row per string, no more");
    assert_eq!(snapshot(c).await, before, "no table created, dropped or changed elsewhere");

    // NUL cannot be stored in PostgreSQL text: a clear error naming the parameter, and nothing is
    // written (it is refused before anything is sent).
    let err = insert_into::<LoginAttempts>()
        .values(login_attempts::Insert::new("nul\0byte", false))
        .execute(c)
        .await
        .unwrap_err();
    assert!(matches!(err, taulu::Error::InvalidParameter { position: 1, .. }), "{err}");
    assert_eq!(err.kind(), taulu::ErrorKind::InvalidParameter);
    assert!(err.to_string().starts_with("parameter $1 is text containing a NUL byte (0x00)"), "{err}");
    let total: Vec<(i64,)> = select_from::<LoginAttempts>().columns((count_all(),)).fetch_all(c).await.unwrap();
    assert_eq!(total, vec![(corpus.len() as i64,)]);
}

/// Values PostgreSQL cannot store, refused before anything is sent, with the parameter named: a
/// NUL in text or in a text array's element, U+0000 in jsonb (json takes it), and parameters over
/// the 1 GB PostgreSQL reads in one message (it would close the connection, saying why only in its
/// log). The connection serves the next statement; a pool does not retry them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_postgresql_cannot_take_are_refused_before_sending_naming_the_parameter() {
    use taulu::query::{Compiled, Executor, Param};
    use tokio_postgres::types::Type;
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let statement = |sql: &str, params: Vec<Param>| Compiled { sql: sql.into(), params, read_only: true };
    let refused = [
        (
            statement("SELECT $1::int, $2::text", vec![Param::new(1i32), Param::typed("a\0b".to_owned(), Type::TEXT)]),
            2,
            "is text containing a NUL byte",
        ),
        (
            statement(
                "SELECT cardinality($1::text[])",
                vec![Param::typed(vec!["ok".to_owned(), "x\0".to_owned()], Type::TEXT_ARRAY)],
            ),
            1,
            "has element 2, which is text containing a NUL byte",
        ),
        (
            statement("SELECT $1::jsonb", vec![Param::typed(serde_json::json!({"k": ["a\u{0}"]}), Type::JSONB)]),
            1,
            "is jsonb holding the character U+0000",
        ),
        (
            statement("SELECT $1::varchar", vec![Param::typed("v\0".to_owned(), Type::VARCHAR)]),
            1,
            "is text containing a NUL byte",
        ),
    ];
    let pool = db.pool();
    for (q, position, reason) in refused {
        for err in [db.client().query_rows(&q).await.unwrap_err(), pool.query_rows(&q).await.unwrap_err()] {
            match &err {
                taulu::Error::InvalidParameter { position: p, reason: r, .. } => {
                    assert_eq!(*p, position, "{err}");
                    assert!(r.starts_with(reason), "{err}");
                }
                _ => panic!("{}: {err}", q.sql),
            }
        }
    }
    // json keeps the escape; a backslash before `u0000` is no NUL; each connection still works.
    let fine = [
        statement("SELECT $1::json::text", vec![Param::typed(serde_json::json!("a\u{0}"), Type::JSON)]),
        statement("SELECT $1::jsonb::text", vec![Param::typed(serde_json::json!("a\\u0000"), Type::JSONB)]),
    ];
    for q in &fine {
        assert_eq!(db.client().query_rows(q).await.unwrap().len(), 1, "{}", q.sql);
        assert_eq!(pool.query_rows(q).await.unwrap().len(), 1, "{}", q.sql);
    }
    // Over the message limit: two values of 600 MB.
    let big = || Param::typed(vec![b'x'; 600 << 20], Type::BYTEA);
    let q = statement("SELECT length($1::bytea) + length($2::bytea)", vec![big(), big()]);
    let err = pool.query_rows(&q).await.unwrap_err();
    assert!(matches!(err, taulu::Error::InvalidParameter { position: 2, .. }), "{err}");
    assert!(err.to_string().contains("over the 1 GB PostgreSQL takes in one message"), "{err}");
    drop(q);
    let (n,): (i64,) = select_from::<Users>().columns((count_all(),)).fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
}

/// The user tables and the row counts of the tables the hostile test must not touch.
async fn snapshot(c: &Client) -> (Vec<String>, Vec<(&'static str, i64)>) {
    let tables: Vec<String> = c
        .query(
            "SELECT schemaname || '.' || tablename FROM pg_tables
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut counts = Vec::new();
    for t in ["users", "sessions", "orgs", "members"] {
        let n: i64 = c.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.unwrap().get(0);
        counts.push((t, n));
    }
    (tables, counts)
}

#[test]
fn more_renderings() {
    check(
        select_from::<Users>().all().where_(users::id.eq(ID)),
        r#"SELECT "users"."id", "users"."username", "users"."email", "users"."password_hash", "users"."system_role", "users"."created_at", "users"."updated_at", "users"."display_name" FROM "users" WHERE "users"."id" = $1"#,
        "[01234567-89ab-cdef-0123-456789abcdef]",
    );
    check(
        select_from::<Sessions>().inner_join(users::id, sessions::user_id).all().limit(5),
        r#"SELECT "sessions"."id", "sessions"."user_id", "sessions"."token_hash", "sessions"."expires_at", "sessions"."created_at", "sessions"."last_seen_at", "sessions"."ip", "sessions"."user_agent", "sessions"."revoked_at", "users"."id", "users"."username", "users"."email", "users"."password_hash", "users"."system_role", "users"."created_at", "users"."updated_at", "users"."display_name" FROM "sessions" INNER JOIN "users" ON "users"."id" = "sessions"."user_id" LIMIT $1"#,
        "[5]",
    );
    check(
        select_from::<Sessions>()
            .columns((sessions::id,))
            .where_(sessions::created_at.ne(sessions::last_seen_at))
            .offset(3),
        r#"SELECT "sessions"."id" FROM "sessions" WHERE "sessions"."created_at" <> "sessions"."last_seen_at" OFFSET $1"#,
        "[3]",
    );
    check(
        select_from::<Users>().columns((users::id,)).where_(not(users::username.eq("a").or(users::username.eq("b")))),
        r#"SELECT "users"."id" FROM "users" WHERE NOT ("users"."username" = $1 OR "users"."username" = $2)"#,
        r#"["a", "b"]"#,
    );
    check(
        select_from::<Members>()
            .columns((members::org_id, members::member_role, count(members::user_id).as_("n")))
            .group_by((members::org_id, members::member_role))
            .having(count(members::user_id).ge(2).and(count_all().lt(100))),
        r#"SELECT "members"."org_id", "members"."member_role", count("members"."user_id") AS "n" FROM "members" GROUP BY "members"."org_id", "members"."member_role" HAVING (count("members"."user_id") >= $1 AND count(*) < $2)"#,
        "[2, 100]",
    );
    check(
        select_from::<Members>()
            .left_join(users::id, members::user_id)
            .left_join(orgs::id, members::org_id)
            .columns((users::email, orgs::slug))
            .where_(orgs::slug.is_null().or(users::email.is_null())),
        r#"SELECT "users"."email", "orgs"."slug" FROM "members" LEFT JOIN "users" ON "users"."id" = "members"."user_id" LEFT JOIN "orgs" ON "orgs"."id" = "members"."org_id" WHERE ("orgs"."slug" IS NULL OR "users"."email" IS NULL)"#,
        "[]",
    );
    let (sql, params) = update::<Sessions>()
        .set(sessions::last_seen_at, chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
        .where_(sessions::user_id.eq(ID))
        .where_(sessions::revoked_at.is_null())
        .to_sql();
    assert_eq!(
        sql,
        r#"UPDATE "sessions" SET "last_seen_at" = $1 WHERE "sessions"."user_id" = $2 AND "sessions"."revoked_at" IS NULL"#
    );
    assert_eq!(params.len(), 2);
    assert_eq!(delete_from::<LoginAttempts>().to_sql().0, r#"DELETE FROM "login_attempts""#);
    let (sql, _) = insert_into::<Orgs>().values(orgs::Insert::new("A", "a").with_id(ID)).returning_all().to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "orgs" ("id", "name", "slug") VALUES ($1, $2, $3) RETURNING "orgs"."id", "orgs"."name", "orgs"."slug", "orgs"."created_at""#
    );
    let (sql, _) = insert_into::<LoginAttempts>()
        .values_many([
            login_attempts::Insert::new("a", true),
            login_attempts::Insert::new("b", false).with_ip("::1".parse().unwrap()),
        ])
        .to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "login_attempts" ("identifier", "success", "ip") VALUES ($1, $2, DEFAULT), ($3, $4, $5)"#
    );
}

#[test]
fn upserts_with_values_and_where_and_constraint_targets_render() {
    let (sql, params) = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", "acme"))
        .on_conflict((orgs::slug,))
        .do_update((orgs::name,))
        .where_(orgs::name.ne("Locked"))
        .returning((orgs::id, orgs::name.as_("org_name")))
        .to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "orgs" ("name", "slug") VALUES ($1, $2) ON CONFLICT ("slug") DO UPDATE SET "name" = EXCLUDED."name" WHERE "orgs"."name" <> $3 RETURNING "orgs"."id", "orgs"."name" AS "org_name""#
    );
    assert_eq!(format!("{params:?}"), r#"["Acme", "acme", "Locked"]"#);
    let (sql, params) = insert_into::<Orgs>()
        .values(orgs::Insert::new("Acme", "acme"))
        .on_conflict_on_constraint("orgs_slug_key")
        .do_update_set(orgs::name, "Taken")
        .to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "orgs" ("name", "slug") VALUES ($1, $2) ON CONFLICT ON CONSTRAINT "orgs_slug_key" DO UPDATE SET "name" = $3"#
    );
    assert_eq!(params.len(), 3);
    // A raw fragment composed with other conditions keeps its own grouping.
    let q = select_from::<Users>()
        .columns((users::id,))
        .where_(taulu::query::sql("\"users\".\"username\" = {} OR \"users\".\"username\" = {}").bind("a").bind("b"))
        .where_(users::email.eq("a@example.com"));
    assert_eq!(
        q.to_sql().0,
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."username" = $1 OR "users"."username" = $2) AND "users"."email" = $3"#
    );
    let q = select_from::<Users>()
        .columns((users::id,))
        .where_(taulu::query::sql("true OR true").and(users::email.eq("x")))
        .limit(3usize)
        .offset(2u32);
    assert_eq!(
        q.to_sql().0,
        r#"SELECT "users"."id" FROM "users" WHERE ((true OR true) AND "users"."email" = $1) LIMIT $2 OFFSET $3"#
    );
}

#[tokio::test]
async fn upserts_update_only_what_their_where_allows_and_empty_inserts_send_nothing() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    insert_into::<Orgs>().values(orgs::Insert::new("Locked", "locked")).execute(c).await.unwrap();
    insert_into::<Orgs>().values(orgs::Insert::new("Old", "open")).execute(c).await.unwrap();
    let upsert = |name: &'static str, slug: &'static str| {
        insert_into::<Orgs>()
            .values(orgs::Insert::new(name, slug))
            .on_conflict((orgs::slug,))
            .do_update((orgs::name,))
            .where_(orgs::name.ne("Locked"))
            .returning((orgs::name,))
    };
    // The locked row is left alone (and not returned); the open one takes the new name.
    assert_eq!(upsert("New", "locked").fetch_optional(c).await.unwrap(), None);
    assert_eq!(upsert("New", "open").fetch_one(c).await.unwrap(), ("New".to_owned(),));
    let by_constraint = insert_into::<Orgs>()
        .values(orgs::Insert::new("Whatever", "open"))
        .on_conflict_on_constraint("orgs_slug_key")
        .do_update_set(orgs::name, "Renamed")
        .returning((orgs::name,))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(by_constraint, ("Renamed".to_owned(),));
    let names: Vec<(String, String)> =
        select_from::<Orgs>().columns((orgs::slug, orgs::name)).order_by(orgs::slug).fetch_all(c).await.unwrap();
    assert_eq!(names, [("locked".into(), "Locked".into()), ("open".into(), "Renamed".into())]);

    // No rows: nothing is sent, whichever way it runs.
    let none = || insert_into::<LoginAttempts>().values_many([]).returning((login_attempts::id,));
    let before: i64 = c.query_one("SELECT count(*) FROM login_attempts", &[]).await.unwrap().get(0);
    assert_eq!(none().fetch_all(c).await.unwrap(), vec![]);
    assert_eq!(none().fetch_optional(c).await.unwrap(), None);
    assert!(matches!(none().fetch_one(c).await, Err(taulu::Error::NoRows)));
    let after: i64 = c.query_one("SELECT count(*) FROM login_attempts", &[]).await.unwrap().get(0);
    assert_eq!(before, after);
}

#[tokio::test]
async fn many_row_inserts_through_unnest_store_what_values_would() {
    use taulu::query::UNNEST_FROM_ROWS;
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let rows = |tag: &str, n: usize| {
        (0..n)
            .map(|i| {
                let a = login_attempts::Insert::new(format!("{tag}-{i}"), i % 2 == 0);
                if i % 3 == 0 { a.with_user_agent(format!("agent {i} \u{e9}")) } else { a.with_user_agent("") }
            })
            .collect::<Vec<_>>()
    };
    // Past the threshold, with every column given: UNNEST, one array per column.
    let q = insert_into::<LoginAttempts>().values_many(rows("u", UNNEST_FROM_ROWS));
    let (sql, params) = q.to_sql();
    assert_eq!(
        sql,
        r#"INSERT INTO "login_attempts" ("identifier", "success", "user_agent") SELECT * FROM UNNEST($1::text[], $2::bool[], $3::text[])"#
    );
    assert_eq!(params.len(), 3);
    assert_eq!(q.execute(c).await.unwrap(), UNNEST_FROM_ROWS as u64);
    // The same rows through VALUES read back identically.
    insert_into::<LoginAttempts>().values_many_as(rows("v", UNNEST_FROM_ROWS), Some(false)).execute(c).await.unwrap();
    let read = |tag: &'static str| {
        select_from::<LoginAttempts>()
            .columns((
                substring(login_attempts::identifier, 3, 10),
                login_attempts::success,
                login_attempts::user_agent,
            ))
            .where_(login_attempts::identifier.like(format!("{tag}-%")))
            .order_by(login_attempts::id)
    };
    let (u, v) = (read("u").fetch_all(c).await.unwrap(), read("v").fetch_all(c).await.unwrap());
    assert_eq!(u.len(), UNNEST_FROM_ROWS);
    assert_eq!(u, v);
    // Enum arrays go through UNNEST too; rows that leave a column out fall back to VALUES (DEFAULT).
    let user: Uuid = c
        .query_one("INSERT INTO users (username, email, password_hash) VALUES ('m', 'm@x', 'h') RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    let orgs: Vec<Uuid> = c
        .query("INSERT INTO orgs (name, slug) VALUES ('A', 'a'), ('B', 'b') RETURNING id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let memberships = orgs.iter().map(|o| members::Insert::new(*o, user).with_member_role(Role::Admin));
    let q = insert_into::<Members>().values_many_as(memberships, Some(true));
    assert!(q.to_sql().0.contains(r#"UNNEST($1::uuid[], $2::uuid[], $3::"role"[])"#), "{}", q.to_sql().0);
    assert_eq!(q.execute(c).await.unwrap(), 2);
    let roles: Vec<(Role,)> = select_from::<Members>()
        .columns((members::member_role,))
        .where_(members::user_id.eq(user))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(roles, vec![(Role::Admin,), (Role::Admin,)]);
    // Past PostgreSQL's 65,535 parameters a VALUES list cannot be sent at all; one array per column
    // can (33,000 rows of 2 columns: 66,000 values).
    let many = (0..33_000).map(|i| login_attempts::Insert::new(format!("bulk-{i}"), false)).collect::<Vec<_>>();
    let refused = insert_into::<LoginAttempts>().values_many_as(many.clone(), Some(false)).execute(c).await;
    assert!(refused.is_err(), "VALUES with 66,000 parameters");
    assert_eq!(insert_into::<LoginAttempts>().values_many(many).execute(c).await.unwrap(), 33_000);
    let mixed = [login_attempts::Insert::new("a", true), login_attempts::Insert::new("b", true).with_user_agent("x")];
    let (mixed_sql, _) = insert_into::<LoginAttempts>().values_many_as(mixed, Some(true)).to_sql();
    assert!(mixed_sql.contains("VALUES ($1, $2, DEFAULT), ($3, $4, $5)"), "{mixed_sql}");
}

// Query text once per shape (`src/query/shape.rs`): a SELECT made of parts whose text follows from
// their types is rendered once per thread and shape; debug builds, which run these tests, also
// render every such query from its node tree and panic on any difference.

#[tokio::test]
async fn a_query_built_out_of_text_order_numbers_its_values_in_text_order() {
    // LIMIT's value is bound first, the WHERE value second; the text numbers them as it reads.
    let build = |name: &'static str| {
        select_from::<Users>().limit(5).where_(users::username.eq(name)).columns((users::username,))
    };
    let text = r#"SELECT "users"."username" FROM "users" WHERE "users"."username" = $1 LIMIT $2"#;
    check(build("ann"), text, r#"["ann", 5]"#);
    let (sql, params) = build("bob").into_sql();
    assert_eq!((sql.as_str(), format!("{params:?}")), (text, r#"["bob", 5]"#.to_owned()));
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    seed(db.client()).await;
    assert_eq!(build("bob").fetch_all(db.client()).await.unwrap(), vec![("bob".to_owned(),)]);
    assert_eq!(build("bob").fetch_one(db.client()).await.unwrap(), ("bob".to_owned(),));
}

#[test]
fn one_shape_with_other_values_and_optional_clauses_stays_exact() {
    let search = |name: Option<&'static str>, after: Option<Uuid>, desc: bool| {
        let key = if desc { users::username.desc() } else { users::username.asc() };
        select_from::<Users>()
            .columns((users::id,))
            .where_opt(name.map(|n| users::username.eq(n)))
            .where_opt(after.map(|id| users::id.gt(id)))
            .order_by(key)
            .limit(10)
    };
    let base = r#"SELECT "users"."id" FROM "users""#;
    check(search(None, None, false), &format!(r#"{base} ORDER BY "users"."username" LIMIT $1"#), "[10]");
    check(
        search(Some("ann"), None, true),
        &format!(r#"{base} WHERE "users"."username" = $1 ORDER BY "users"."username" DESC LIMIT $2"#),
        r#"["ann", 10]"#,
    );
    check(
        search(Some("bob"), None, true),
        &format!(r#"{base} WHERE "users"."username" = $1 ORDER BY "users"."username" DESC LIMIT $2"#),
        r#"["bob", 10]"#,
    );
    check(
        search(Some("ann"), Some(ID), false),
        &format!(r#"{base} WHERE "users"."username" = $1 AND "users"."id" > $2 ORDER BY "users"."username" LIMIT $3"#),
        &format!(r#"["ann", {ID}, 10]"#),
    );
    check(
        search(None, Some(ID), false),
        &format!(r#"{base} WHERE "users"."id" > $1 ORDER BY "users"."username" LIMIT $2"#),
        &format!("[{ID}, 10]"),
    );
    // IN lists, NOT, BETWEEN, IS NULL and OR are shaped too; a list of any length is one array.
    check(
        select_from::<Users>()
            .columns((users::id,))
            .where_(users::username.in_(["a", "b", "c"]).or(not(users::display_name.is_null())))
            .where_(users::created_at.between(chrono::DateTime::UNIX_EPOCH, chrono::DateTime::UNIX_EPOCH)),
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."username" = ANY($1) OR NOT ("users"."display_name" IS NULL)) AND "users"."created_at" BETWEEN $2 AND $3"#,
        r#"[["a", "b", "c"], 1970-01-01T00:00:00Z, 1970-01-01T00:00:00Z]"#,
    );
}

#[test]
fn a_shaped_query_that_gains_an_unshaped_part_keeps_every_value() {
    // `lower(..)` and GROUP BY have no shape: the parts recorded so far become the node tree, with
    // their values, and the query goes on from there.
    check(
        select_from::<Users>()
            .limit(3)
            .columns((users::username,))
            .where_(users::id.ne(ID))
            .where_(lower(users::email).eq("ann@example.com"))
            .order_by(users::username),
        r#"SELECT "users"."username" FROM "users" WHERE "users"."id" <> $1 AND lower("users"."email") = $2 ORDER BY "users"."username" LIMIT $3"#,
        &format!(r#"[{ID}, "ann@example.com", 3]"#),
    );
    check(
        select_from::<Members>()
            .where_(members::member_role.eq(Role::Owner))
            .group_by((members::org_id,))
            .columns((members::org_id, count_all())),
        r#"SELECT "members"."org_id", count(*) FROM "members" WHERE "members"."member_role" = $1 GROUP BY "members"."org_id""#,
        "[Owner]",
    );
    // A second column list or LIMIT replaces the first, as on the node tree.
    check(
        select_from::<Users>().columns((users::id,)).limit(1).columns((users::email,)).limit(2),
        r#"SELECT "users"."email" FROM "users" LIMIT $1"#,
        "[2]",
    );
}

#[test]
fn the_texts_of_shapes_are_bounded_per_thread() {
    let before = taulu::__private::cached_shapes();
    let q = select_from::<Sessions>().columns((sessions::id,)).where_(sessions::user_id.eq(ID));
    let _ = q.to_sql();
    let _ = q.to_sql();
    assert_eq!(taulu::__private::cached_shapes(), before + 1, "a primary-key style select is one shape");
    // 2,500 distinct shapes: five comparisons, each one of six operators.
    for i in 0..2_500_u32 {
        let op = |n: u32| (i / 6_u32.pow(n)) % 6;
        let cmp = |n: u32, v: i64| -> taulu::query::Binary<_, _, bool> {
            let c = login_attempts::id;
            match op(n) {
                0 => c.eq(v),
                1 => c.ne(v),
                2 => c.lt(v),
                3 => c.le(v),
                4 => c.gt(v),
                _ => c.ge(v),
            }
        };
        let mut q = select_from::<LoginAttempts>().columns((login_attempts::id,));
        for n in 0..5 {
            q = q.where_(cmp(n, i64::from(n)));
        }
        let (sql, params) = q.to_sql();
        assert_eq!(params.len(), 5);
        assert!(sql.ends_with("$5"), "{sql}");
        assert!(taulu::__private::cached_shapes() <= 2048, "the cache grew past its bound");
    }
}

/// `ON CONFLICT (cols) WHERE predicate`: a partial unique index is the arbiter only when the
/// predicate is given (without it PostgreSQL finds no matching constraint).
#[tokio::test]
async fn an_upsert_on_a_partial_unique_index_names_its_predicate() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    c.batch_execute("CREATE UNIQUE INDEX one_live_session ON sessions (user_id) WHERE revoked_at IS NULL")
        .await
        .unwrap();
    let ann: Uuid =
        insert_into::<Users>().values(new_user("ann")).returning((users::id,)).fetch_one(c).await.unwrap().0;
    let session = |token: u8| sessions::Insert::new(ann, vec![token], chrono::Utc::now() + chrono::Duration::days(1));
    let upsert = |token: u8| {
        insert_into::<Sessions>()
            .values(session(token))
            .on_conflict((sessions::user_id,))
            .where_(sessions::revoked_at.is_null())
            .do_update((sessions::token_hash,))
    };
    upsert(1).execute(c).await.unwrap();
    upsert(2).execute(c).await.unwrap();
    let tokens: Vec<(Vec<u8>,)> =
        select_from::<Sessions>().columns((sessions::token_hash,)).fetch_all(c).await.unwrap();
    assert_eq!(tokens, [(vec![2],)], "the second replaced the live session's token");
    let without = insert_into::<Sessions>().values(session(3)).on_conflict((sessions::user_id,)).do_nothing();
    let err = without.execute(c).await.unwrap_err();
    assert!(err.to_string().contains("no unique or exclusion constraint matching"), "{err}");
}

/// `.value(col, expr)`: a column's value from an expression, in every row of a VALUES insert
/// (replacing the rows' own), and as one more select item of an INSERT .. SELECT.
#[tokio::test]
async fn insert_values_from_expressions_and_scalar_subqueries() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let rows = insert_into::<Users>()
        .values_many((0..60).map(|i| new_user(&format!("u{i}")).with_display_name("given")))
        .value(users::display_name, upper(val("from sql".to_owned())))
        .value(users::created_at, sql::<chrono::DateTime<chrono::Utc>>("now() - interval '1 day'"))
        .returning((users::display_name, users::created_at))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows.len(), 60, "60 rows (past the UNNEST threshold) go as VALUES with an expression");
    assert!(rows.iter().all(|(d, _)| d.as_deref() == Some("FROM SQL")));
    assert!(rows[0].1 < chrono::Utc::now() - chrono::Duration::hours(23));

    // A scalar subquery as a value: the org's name is its first member's username.
    let (name,) = insert_into::<Orgs>()
        .values(orgs::Insert::new("placeholder", "acme"))
        .value(
            orgs::name,
            coalesce(
                scalar(select_from::<Users>().columns((users::username,)).order_by(users::username).limit(1)),
                "none",
            ),
        )
        .returning((orgs::name,))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(name, "u0");

    // INSERT .. SELECT: one more select item.
    let q = insert_into::<Orgs>()
        .select((orgs::slug,), select_from::<Users>().columns((users::username,)).where_(users::username.eq("u1")))
        .value(orgs::name, val("Copied".to_owned()));
    assert_eq!(
        q.to_sql().0,
        r#"INSERT INTO "orgs" ("slug", "name") SELECT "users"."username", $1::text FROM "users" WHERE "users"."username" = $2"#
    );
    assert_eq!(q.execute(c).await.unwrap(), 1);
}

/// Correlated EXISTS as an expression: in a select list, in a DELETE's and an UPDATE's WHERE.
#[tokio::test]
async fn correlated_exists_in_select_lists_and_writes() {
    use taulu::query::{correlated_exists, correlated_not_exists};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let (ann, bob) = seed(c).await;
    insert_into::<Orgs>().values(orgs::Insert::new("Empty", "empty")).execute(c).await.unwrap();
    insert_into::<Users>().values(new_user("loner")).execute(c).await.unwrap();

    let flags: Vec<(String, bool)> = select_from::<Users>()
        .columns((users::username, correlated_exists(Members, |m| m.where_(members::user_id.eq(users::id)))))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    let flags: Vec<(&str, bool)> = flags.iter().map(|(u, f)| (u.as_str(), *f)).collect();
    assert!(flags.contains(&("loner", false)), "{flags:?}");
    assert_eq!(flags.iter().filter(|(_, f)| *f).count(), flags.len() - 1, "{flags:?}");

    // DELETE the orgs nobody belongs to; UPDATE the users who belong to one.
    let gone = delete_from::<Orgs>()
        .where_(correlated_not_exists(Members, |m| m.where_(members::org_id.eq(orgs::id))))
        .returning((orgs::slug,))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(gone, [("empty".to_owned(),)]);
    let touched = update::<Users>()
        .set(users::display_name, "member")
        .where_(correlated_exists(Members, |m| {
            m.where_(members::user_id.eq(users::id).and(members::member_role.eq(taulu_app::schema::Role::Owner)))
        }))
        .returning((users::id,))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(touched, [(ann,)], "ann owns an org, bob ({bob}) does not");
}
