//! JSON operators and nested results (json_array / json_object decoded into serde structs) on
//! PostgreSQL.

use serde::Deserialize;
use serde_json::json;
use taulu::{
    prelude::*,
    query::{Json, correlated, json_array, json_object, jsonb_set},
    testing::TestDb,
};
use taulu_app::schema::{Members, Orgs, Users, members, orgs, users};

#[derive(Debug, Deserialize, PartialEq)]
struct Membership {
    slug: String,
    member_role: String,
}

#[derive(Debug, Deserialize, PartialEq)]
struct OrgOut {
    name: String,
    slug: String,
}

#[tokio::test]
async fn a_parent_row_with_its_children_in_one_round_trip() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h'), ('bob', 'bob@x', 'h');
         INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme'), ('Globex', 'globex');
         INSERT INTO members (org_id, user_id, member_role)
            SELECT o.id, u.id, 'owner' FROM orgs o, users u WHERE u.username = 'ann';",
    )
    .await
    .unwrap();
    type UserWithOrgs = (String, Json<Vec<Membership>>, Option<Json<OrgOut>>, Option<i64>);
    let rows: Vec<UserWithOrgs> = select_from::<Users>()
        .columns((
            users::username,
            json_array(Members, |m| {
                m.inner_join(orgs::id, members::org_id)
                    .columns((orgs::slug, members::member_role))
                    .where_(members::user_id.eq(users::id))
                    .order_by(orgs::slug)
            }),
            json_object(Orgs, |o| {
                o.columns((orgs::name, orgs::slug))
                    .where_(orgs::slug.eq("acme"))
                    .where_exists::<Members, _, _>(|m| m.where_(members::org_id.eq(orgs::id)))
            }),
            correlated(Members, |m| m.columns((count_all(),)).where_(members::user_id.eq(users::id))),
        ))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    let acme = || OrgOut { name: "Acme".into(), slug: "acme".into() };
    let m = |slug: &str| Membership { slug: slug.into(), member_role: "owner".into() };
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].0.as_str(), &rows[0].1.0, rows[0].2.as_ref().map(|j| &j.0), rows[0].3),
        ("ann", &vec![m("acme"), m("globex")], Some(&acme()), Some(2))
    );
    assert_eq!((rows[1].0.as_str(), rows[1].1.0.len(), rows[1].3), ("bob", 0, Some(0)));
}

#[tokio::test]
async fn json_operators_compute_what_postgres_computes() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    c.batch_execute("INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h')").await.unwrap();
    let doc = || val(json!({"a": {"b": 1, "c": [10, 20]}, "k": "v"}));
    type Out =
        (Option<serde_json::Value>, Option<String>, Option<serde_json::Value>, Option<String>, bool, bool, bool, bool);
    let row: Out = select_from::<Users>()
        .columns((
            doc().get("a"),
            doc().get_text("k"),
            doc().path(&["a", "c"]).at(1),
            doc().path_text(&["a", "b"]),
            doc().contains(json!({"k": "v"})),
            doc().has_key("k"),
            doc().has_any_key(&["x", "a"]),
            doc().has_all_keys(&["x", "a"]),
        ))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(
        row,
        (
            Some(json!({"b": 1, "c": [10, 20]})),
            Some("v".into()),
            Some(json!(20)),
            Some("1".into()),
            true,
            true,
            true,
            false
        )
    );
    let (set,): (serde_json::Value,) =
        select_from::<Users>().columns((jsonb_set(doc(), &["a", "b"], json!(2)),)).fetch_one(c).await.unwrap();
    assert_eq!(set["a"]["b"], json!(2));
    // The missing key is NULL, read as None.
    let (missing,): (Option<String>,) =
        select_from::<Users>().columns((doc().get_text("zzz"),)).fetch_one(c).await.unwrap();
    assert_eq!(missing, None);
}

#[tokio::test]
async fn array_operators_aggregate_and_unnest() {
    use taulu::query::{Bound, any_of_array, array_agg, cardinality, unnest};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@x', 'h'), ('bob', 'bob@x', 'h'), ('cid', 'cid@x', 'h')",
    )
    .await
    .unwrap();
    let names = || array_agg(users::username);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    type Out = (Option<Vec<String>>, Option<i32>, Option<bool>, Option<bool>, Option<bool>);
    let row: Out = select_from::<Users>()
        .columns((
            names(),
            cardinality(names()),
            names().array_contains(s(&["ann", "bob"])),
            names().array_contained_in(s(&["ann"])),
            names().overlaps(s(&["zed", "cid"])),
        ))
        .fetch_one(c)
        .await
        .unwrap();
    let mut all = row.0.clone().unwrap();
    all.sort();
    assert_eq!(
        (all, row.1, row.2, row.3, row.4),
        (s(&["ann", "bob", "cid"]), Some(3), Some(true), Some(false), Some(true))
    );

    let picked: Vec<(String,)> = select_from::<Users>()
        .columns((users::username,))
        .where_(any_of_array(users::username, Bound::<Vec<String>>::new(s(&["bob", "cid", "zed"]))))
        .order_by(users::username)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(picked, vec![("bob".to_string(),), ("cid".to_string(),)]);

    let mut unnested: Vec<(Option<String>,)> =
        select_from::<Users>().columns((unnest(names()),)).fetch_all(c).await.unwrap();
    unnested.sort();
    assert_eq!(unnested.len(), 3);
}
