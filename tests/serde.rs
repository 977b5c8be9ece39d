//! taulu's `serde` feature: generated rows, inserts, enums and `sql!` rows become JSON and back,
//! in the shape a JSON API returns (field names as the columns, enums as their SQL labels), with
//! rows read from a real PostgreSQL.

use serde_json::json;
use taulu::Interval;
use taulu::query::insert_into;
use taulu::testing::TestDb;
use taulu_app::{
    MIGRATIONS,
    schema::{Role, Sysrole, Users, sql, users},
};

#[test]
fn enums_are_their_sql_labels() {
    assert_eq!(serde_json::to_value(Sysrole::Admin).unwrap(), json!("admin"));
    assert_eq!(serde_json::from_value::<Role>(json!("member")).unwrap(), Role::Member);
    let wrong = serde_json::from_value::<Role>(json!("Owner")).unwrap_err().to_string();
    assert!(wrong.contains("unknown variant `Owner`, expected one of `owner`, `admin`, `member`"), "{wrong}");
}

#[test]
fn an_insert_reads_from_json_with_its_optional_columns_left_out() {
    let body = json!({ "username": "ann", "email": "ann@example.com", "password_hash": "h" });
    let insert: users::Insert = serde_json::from_value(body).unwrap();
    assert_eq!(insert, users::Insert::new("ann", "ann@example.com", "h"));
    let with_role: users::Insert = serde_json::from_value(json!({
        "username": "bob", "email": "bob@example.com", "password_hash": "h", "system_role": "admin"
    }))
    .unwrap();
    assert_eq!(with_role, users::Insert::new("bob", "bob@example.com", "h").with_system_role(Sysrole::Admin));
    let missing = serde_json::from_value::<users::Insert>(json!({ "username": "eve" })).unwrap_err().to_string();
    assert!(missing.contains("missing field `email`"), "{missing}");
}

#[test]
fn values_without_a_json_type_of_their_own_have_a_stated_shape() {
    let i = Interval { months: 1, days: 2, microseconds: 3 };
    assert_eq!(serde_json::to_value(i).unwrap(), json!({ "months": 1, "days": 2, "microseconds": 3 }));
    // numeric as a string: a JSON number would round it through f64.
    let d: rust_decimal::Decimal = "12345678901234567890.123456789".parse().unwrap();
    assert_eq!(serde_json::to_value(d).unwrap(), json!("12345678901234567890.123456789"));
}

#[tokio::test]
async fn rows_read_from_postgres_become_json_and_come_back_equal() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let c = db.client();
    let ann = insert_into::<Users>()
        .values(users::Insert::new("ann", "ann@example.com", "h").with_display_name("Ann"))
        .returning_all()
        .fetch_one(c)
        .await
        .unwrap();
    let value = serde_json::to_value(&ann).unwrap();
    assert_eq!(value["id"], json!(ann.id.to_string()));
    assert_eq!(value["system_role"], json!("user"));
    assert_eq!(value["display_name"], json!("Ann"));
    assert_eq!(value["created_at"], json!(ann.created_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)));
    let back: users::Row = serde_json::from_value(value).unwrap();
    assert_eq!(back, ann);

    // A `sql!` row, with a nullable outer-joined column and an enum.
    let org =
        sql!("INSERT INTO orgs (name, slug) VALUES ($1, $2) RETURNING id", "Acme", "acme").fetch_one(c).await.unwrap();
    sql!("INSERT INTO members (org_id, user_id, member_role) VALUES ($1, $2, $3)", org.id, ann.id, Role::Admin)
        .execute(c)
        .await
        .unwrap();
    let rows = sql!(
        "SELECT u.username, m.member_role, s.id AS session
         FROM users u JOIN members m ON m.user_id = u.id LEFT JOIN sessions s ON s.user_id = u.id"
    )
    .fetch_all(c)
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(&rows).unwrap(),
        json!([{ "username": "ann", "member_role": "admin", "session": null }])
    );
    // And back, as serde's derive reads a struct: a map (a missing `Option` field is `None`, an
    // unknown field is skipped) or a sequence; a missing plain field or a repeated one is an error.
    fn like<T: serde::de::DeserializeOwned>(_: &[T], value: serde_json::Value) -> Result<T, serde_json::Error> {
        serde_json::from_value(value)
    }
    let back = like(&rows, json!({ "member_role": "owner", "username": "bo", "extra": [1, 2] })).unwrap();
    assert_eq!((back.username.as_str(), back.member_role, back.session), ("bo", Role::Owner, None));
    let back = like(&rows, json!(["cy", "member", uuid::Uuid::nil()])).unwrap();
    assert_eq!((back.username.as_str(), back.session), ("cy", Some(uuid::Uuid::nil())));
    let missing = like(&rows, json!({ "member_role": "owner" })).unwrap_err();
    assert_eq!(missing.to_string(), "missing field `username`");
    fn like_text<T: serde::de::DeserializeOwned>(_: &[T], text: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(text)
    }
    let twice = like_text(&rows, r#"{ "username": "a", "username": "b", "member_role": "owner" }"#).unwrap_err();
    assert!(twice.to_string().starts_with("duplicate field `username`"), "{twice}");
    let short = like(&rows, json!(["cy"])).unwrap_err();
    assert!(short.to_string().starts_with("invalid length 1, expected struct Row"), "{short}");
}

/// The same migrations with the user's own attributes on the generated types.
mod camel {
    taulu::schema!("migrations", rows = { #[serde(rename_all = "camelCase")] }, enums = { #[repr(u16)] });
}

#[test]
fn the_users_attributes_go_on_every_row_insert_and_enum() {
    let insert = camel::login_attempts::Insert::new("ann", true).with_user_agent("curl");
    assert_eq!(
        serde_json::to_value(&insert).unwrap(),
        json!({ "identifier": "ann", "success": true, "userId": null, "ip": null, "userAgent": "curl", "attemptedAt": null })
    );
    let row: camel::members::Row = serde_json::from_value(json!({
        "orgId": uuid::Uuid::nil(), "userId": uuid::Uuid::nil(), "memberRole": "owner",
        "createdAt": "2026-12-07T10:00:00Z"
    }))
    .unwrap();
    assert_eq!(row.member_role, camel::Role::Owner);
    assert_eq!(std::mem::size_of::<camel::Role>(), 2, "#[repr(u16)]");
}
