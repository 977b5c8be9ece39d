//! Table aliases (a table joined to itself) and UPDATE .. FROM / DELETE .. USING, on PostgreSQL.

use taulu::{prelude::*, query::Aliased, testing::TestDb};
use taulu_app::schema::{Members, Orgs, Role, Users, members, orgs, users};
use tokio_postgres::Client;
use uuid::Uuid;

taulu::alias!(Peer, Other);

async fn seed(c: &Client) -> [Uuid; 3] {
    let ids: Vec<Uuid> = c
        .query(
            "INSERT INTO users (username, email, password_hash) VALUES
                ('ann', 'ann@x', 'h'), ('bob', 'bob@x', 'h'), ('cid', 'cid@x', 'h') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.batch_execute(&format!(
        "INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme'), ('Globex', 'globex');
         INSERT INTO members (org_id, user_id, member_role) SELECT id, '{0}', 'owner' FROM orgs WHERE slug = 'acme';
         INSERT INTO members (org_id, user_id) SELECT id, '{1}' FROM orgs WHERE slug = 'acme';
         INSERT INTO members (org_id, user_id) SELECT id, '{2}' FROM orgs WHERE slug = 'globex';",
        ids[0], ids[1], ids[2]
    ))
    .await
    .unwrap();
    [ids[0], ids[1], ids[2]]
}

#[tokio::test]
async fn a_table_joined_to_itself_through_an_alias() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let [ann, bob, _] = seed(c).await;
    // Who shares an org with ann, and their name (a third join, of users under another alias).
    let q = select_from::<Members>()
        .inner_join_on(
            Aliased::<Members, Peer>::default(),
            members::org_id.of::<Peer>().eq(members::org_id).and(members::user_id.of::<Peer>().ne(members::user_id)),
        )
        .inner_join_on(Aliased::<Users, Other>::default(), users::id.of::<Other>().eq(members::user_id.of::<Peer>()))
        .columns((users::username.of::<Other>(), members::member_role.of::<Peer>()))
        .where_(members::user_id.eq(ann));
    assert_eq!(
        q.to_sql().0,
        r#"SELECT "Other"."username", "Peer"."member_role" FROM "members" INNER JOIN "members" AS "Peer" ON ("Peer"."org_id" = "members"."org_id" AND "Peer"."user_id" <> "members"."user_id") INNER JOIN "users" AS "Other" ON "Other"."id" = "Peer"."user_id" WHERE "members"."user_id" = $1"#
    );
    assert_eq!(q.fetch_all(c).await.unwrap(), vec![("bob".to_owned(), Role::Member)]);

    // An aliased table as FROM, read whole with all().
    let rows: Vec<users::Row> =
        select_from::<Aliased<Users, Peer>>().all().where_(users::id.of::<Peer>().eq(bob)).fetch_all(c).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.username.as_str()).collect::<Vec<_>>(), ["bob"]);

    // A left-joined alias reads as Option.
    let rows: Vec<(String, Option<Uuid>)> = select_from::<Users>()
        .left_join_on(Aliased::<Members, Peer>::default(), members::user_id.of::<Peer>().eq(users::id))
        .columns((users::username, members::org_id.of::<Peer>()))
        .where_(users::username.eq("cid").or(users::username.eq("ann")))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(_, org)| org.is_some()));
}

#[tokio::test]
async fn update_from_and_delete_using_change_only_the_joined_rows() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    let [_, bob, cid] = seed(c).await;
    // Promote everyone in acme who is a member; return the org's name from the FROM table.
    let promoted = update::<Members>()
        .from(Orgs)
        .set(members::member_role, Role::Admin)
        .where_(orgs::id.eq(members::org_id).and(orgs::slug.eq("acme")).and(members::member_role.eq(Role::Member)))
        .returning((members::user_id, orgs::name))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(promoted, vec![(bob, "Acme".to_owned())]);

    // SET from a column of the FROM table.
    let renamed = update::<Orgs>()
        .from(Users)
        .set(orgs::name, upper(users::username))
        .where_(users::id.eq(cid).and(orgs::slug.eq("globex")))
        .returning((orgs::name,))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(renamed, vec![("CID".to_owned(),)]);

    // Remove globex's memberships through USING; RETURNING reads the joined table.
    let removed = delete_from::<Members>()
        .using(Orgs)
        .where_(orgs::id.eq(members::org_id).and(orgs::slug.eq("globex")))
        .returning((members::user_id, orgs::slug))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(removed, vec![(cid, "globex".to_owned())]);
    let left: Vec<(i64,)> = select_from::<Members>().columns((count_all(),)).fetch_all(c).await.unwrap();
    assert_eq!(left, vec![(2,)]);
}
