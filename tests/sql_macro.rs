//! `sql!`: hand-written statements typed against the migrations at build time, run on real
//! PostgreSQL, and every one of them confirmed by PREPARE (`check_sql`).

use taulu::testing::{TestDb, check_sql};
use taulu_app::{
    MIGRATIONS,
    schema::{Role, sql},
};
use uuid::Uuid;

async fn seed(db: &TestDb) -> (Uuid, Uuid) {
    let c = db.client();
    let user = sql!(
        "INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3) RETURNING id, created_at",
        "ann",
        "ann@example.com",
        "h"
    )
    .fetch_one(c)
    .await
    .unwrap();
    let org =
        sql!("INSERT INTO orgs (name, slug) VALUES ($1, $2) RETURNING id", "Acme", "acme").fetch_one(c).await.unwrap();
    let added =
        sql!("INSERT INTO members (org_id, user_id, member_role) VALUES ($1, $2, $3)", org.id, user.id, Role::Owner)
            .execute(c)
            .await
            .unwrap();
    assert_eq!(added, 1);
    (user.id, org.id)
}

#[tokio::test]
async fn statements_run_with_typed_parameters_and_named_row_fields() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let (user, org) = seed(&db).await;
    let pool = db.pool();

    // Joins with aliases; outer-joined columns are Options; enum columns read as the enum.
    let rows = sql!(
        "SELECT o.slug, m.member_role, u.email, s.id AS session
         FROM orgs o
         JOIN members m ON m.org_id = o.id
         JOIN users u USING (id)
         LEFT JOIN sessions s ON s.user_id = u.id
         WHERE o.id = $1
         ORDER BY o.slug",
        org
    );
    // (USING (id) joins users.id = orgs.id here: no row; the point is the types.)
    let none = rows.fetch_all(&pool).await.unwrap();
    assert!(none.is_empty());
    let rows = sql!(
        "SELECT o.slug, m.member_role, u.email, s.id AS session
         FROM orgs o
         JOIN members m ON m.org_id = o.id
         JOIN users u ON u.id = m.user_id
         LEFT JOIN sessions s ON s.user_id = u.id
         WHERE o.id = $1",
        org
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.slug.as_str(), row.member_role, row.email.as_str()), ("acme", Role::Owner, "ann@example.com"));
    let session: Option<Uuid> = row.session;
    assert_eq!(session, None);

    // Aggregates and a window: count is never NULL; max of a NOT NULL column is not NULL in a
    // grouped query either (every group has a row).
    let stats = sql!(
        "SELECT count(*) AS members, max(u.created_at) AS newest,
                row_number() OVER (ORDER BY count(*) DESC) AS rank
         FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.member_role = ANY($1)
         GROUP BY m.org_id",
        vec![Role::Owner, Role::Admin]
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (count, rank): (i64, i64) = (stats.members, stats.rank);
    assert_eq!((count, rank), (1, 1));
    let newest: chrono::DateTime<chrono::Utc> = stats.newest;
    assert!(newest <= chrono::Utc::now());

    // Something the builder cannot say: a recursive CTE over generate-free arithmetic.
    let n = sql!(
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < $1) SELECT sum(n) AS total FROM t",
        10
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n.total, Some(55));

    // UPDATE .. RETURNING, and an Option binding NULL for a nullable column.
    let renamed = sql!("UPDATE users SET display_name = $1 WHERE id = $2 RETURNING display_name", None::<&str>, user)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(renamed.display_name, None);
    let deleted = sql!("DELETE FROM members WHERE user_id = $1", user).execute(&pool).await.unwrap();
    assert_eq!(deleted, 1);
}

#[tokio::test]
async fn rows_of_mixed_and_many_columns_read_back_field_by_field() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let pool = db.pool();
    // Fields of every size and alignment, in an order that needs padding (a row of up to 32
    // columns is read as a generic struct of the same layout, then taken as the row struct).
    let rows = sql!(
        "SELECT true AS a, 7::int2 AS b, 'x'::text AS c, 9::int8 AS d, NULL::int4 AS e, $1::text AS f, 2.5::float4 AS g
         FROM generate_series(1, 3)",
        "y"
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!((r.a, r.b, r.c.as_str(), r.d, r.e, r.f.as_deref(), r.g), (true, 7, "x", 9, None, Some("y"), 2.5));
    }
    let cloned = rows[2].clone();
    drop(rows);
    assert_eq!(format!("{cloned:?}"), "Row { a: true, b: 7, c: \"x\", d: 9, e: None, f: Some(\"y\"), g: 2.5 }");
    let one = sql!("SELECT 'only'::text AS s, 1::int8 AS n WHERE $1", true).fetch_optional(&pool).await.unwrap();
    assert_eq!(one.map(|r| (r.s, r.n)), Some(("only".to_owned(), 1)));

    // A function returning record, its columns given by a column definition list (every field
    // may be NULL: it comes from JSON); ROWS FROM zips functions, padding the shorter with NULLs.
    let people = sql!(
        "SELECT p.name, p.age FROM jsonb_to_recordset($1) AS p(name text, age int4) ORDER BY p.name",
        serde_json::json!([{"name": "bob"}, {"name": "ann", "age": 40}])
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let people: Vec<(Option<String>, Option<i32>)> = people.into_iter().map(|p| (p.name, p.age)).collect();
    assert_eq!(people, [(Some("ann".into()), Some(40)), (Some("bob".into()), None)]);
    let zipped = sql!(
        "SELECT a, b, i FROM ROWS FROM (generate_series(1, 3), unnest($1::text[])) WITH ORDINALITY AS r(a, b, i)",
        vec!["x".to_owned()]
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let zipped: Vec<(Option<i32>, Option<String>, i64)> = zipped.into_iter().map(|r| (r.a, r.b, r.i)).collect();
    assert_eq!(zipped, [(Some(1), Some("x".into()), 1), (Some(2), None, 2), (Some(3), None, 3)]);

    // 34 columns: past the generic layouts, the row struct reads itself.
    let wide = sql!("SELECT 1::int2 AS c1, 2::int8 AS c2, 3::int2 AS c3, 4::int8 AS c4, 5::int2 AS c5, 6::int8 AS c6, 7::int2 AS c7, 8::int8 AS c8, 9::int2 AS c9, 10::int8 AS c10, 11::int2 AS c11, 12::int8 AS c12, 13::int2 AS c13, 14::int8 AS c14, 15::int2 AS c15, 16::int8 AS c16, 17::int2 AS c17, 18::int8 AS c18, 19::int2 AS c19, 20::int8 AS c20, 21::int2 AS c21, 22::int8 AS c22, 23::int2 AS c23, 24::int8 AS c24, 25::int2 AS c25, 26::int8 AS c26, 27::int2 AS c27, 28::int8 AS c28, 29::int2 AS c29, 30::int8 AS c30, 31::int2 AS c31, 32::int8 AS c32, 33::int2 AS c33, 34::int8 AS c34").fetch_one(&pool).await.unwrap();
    assert_eq!((wide.c1, wide.c2, wide.c33, wide.c34), (1i16, 2i64, 33i16, 34i64));
}

#[tokio::test]
async fn statements_run_inside_transactions() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let mut client = db.connect().await.unwrap();
    let result: Result<(), taulu::Error> = taulu::transaction(&mut client, async |tx| {
        sql!("INSERT INTO orgs (name, slug) VALUES ($1, $2)", "Temp", "temp").execute(tx).await?;
        let seen = sql!("SELECT count(*) AS n FROM orgs WHERE slug = $1", "temp").fetch_one(tx).await?;
        assert_eq!(seen.n, 1);
        // A `void` function is typed: its column reads as a raw value with no bytes. The lock is
        // the transaction's: another connection cannot take it meanwhile.
        let lock = sql!("SELECT pg_advisory_xact_lock($1) AS locked", 42).fetch_one(tx).await?;
        assert_eq!(lock.locked.map(|v| (v.type_name, v.bytes.len())), Some(("void".to_owned(), 0)));
        let other = sql!("SELECT pg_try_advisory_xact_lock($1) AS got", 42).fetch_one(db.client()).await?;
        assert_eq!(other.got, Some(false), "the advisory lock is held by the transaction");
        Err(taulu::Error::NoRows) // roll back
    })
    .await;
    assert!(result.is_err());
    let after = sql!("SELECT count(*) AS n FROM orgs").fetch_one(db.client()).await.unwrap();
    assert_eq!(after.n, 0);
}

#[test]
fn an_integer_literal_takes_the_parameters_type() {
    // $1 is LIMIT's bigint: the literal is an i64, no suffix needed.
    let q = sql!("SELECT id FROM users ORDER BY id LIMIT $1", 10);
    assert_eq!(q.shape().params, ["int8"]);
    assert_eq!(format!("{:?}", q.to_sql().1), "[10]");
}

#[test]
fn read_only_is_decided_from_the_parsed_statement() {
    assert!(sql!("SELECT id FROM users WHERE email = $1", "x").shape().read_only);
    assert!(!sql!("SELECT id FROM users WHERE email = $1 FOR UPDATE", "x").shape().read_only);
    assert!(!sql!("SELECT nextval('login_attempts_id_seq') AS n").shape().read_only);
    assert!(!sql!("SELECT pg_advisory_xact_lock($1) AS l", 1).shape().read_only);
    assert!(!sql!("DELETE FROM sessions WHERE expires_at < now()").shape().read_only);
    assert!(!sql!("WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) AS n FROM gone").shape().read_only);
}

#[test]
fn nullability_follows_the_schema_joins_and_where() {
    let cols = |s: &taulu::query::SqlShape| s.columns.iter().map(|c| (c.0, c.2)).collect::<Vec<_>>();
    let s = sql!("SELECT u.display_name, s.user_agent FROM users u LEFT JOIN sessions s ON s.user_id = u.id");
    assert_eq!(cols(s.shape()), [("display_name", true), ("user_agent", true)]);
    let s =
        sql!("SELECT u.id, s.id AS sid FROM users u LEFT JOIN sessions s ON s.user_id = u.id WHERE s.id IS NOT NULL");
    assert_eq!(cols(s.shape()), [("id", false), ("sid", false)]);
    let s = sql!("SELECT coalesce(display_name, username) AS name, max(display_name) AS \"m!\" FROM users GROUP BY 1");
    assert_eq!(cols(s.shape()), [("name", false), ("m!", true)]);
    // `AS "m!"` asserts NOT NULL: the field is a plain String.
    if let Some(row) = row_of(&s) {
        let _: String = row.m;
    }
    // `AS "n?"` makes a NOT NULL column an Option.
    let s = sql!("SELECT username AS \"n?\" FROM users");
    assert_eq!(cols(s.shape()), [("n?", false)]);
    if let Some(row) = row_of(&s) {
        let _: Option<String> = row.n;
    }
}

#[test]
fn a_column_of_an_unmapped_type_reads_as_raw() {
    let s = sql!("SELECT '1.50'::money AS price");
    assert_eq!(s.shape().columns, [("price", "money", false)]);
    if let Some(row) = row_of(&s) {
        let _: taulu::Raw = row.price;
    }
}

/// A value of a statement's row type, for type assertions (never called for a value).
fn row_of<R>(_: &taulu::query::TypedSql<R>) -> Option<R> {
    None
}

#[tokio::test]
async fn every_statement_in_the_app_and_these_tests_matches_what_postgresql_prepares() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let statements = taulu::sql_statements!("migrations", "app/src", "tests/sql_macro.rs");
    assert!(statements.len() >= 15, "found {}", statements.len());
    if let Err(report) = check_sql(db.client(), statements).await {
        panic!("sql! and PostgreSQL disagree:\n{report}");
    }
}

/// A user type a column is read as, as an sqlx override names one.
#[derive(Debug, PartialEq)]
struct Username(String);

impl<'a> tokio_postgres::types::FromSql<'a> for Username {
    fn from_sql(
        ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        String::from_sql(ty, raw).map(Username)
    }
    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <String as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

#[derive(Debug, taulu::FromRow)]
struct Account {
    id: Uuid,
    username: String,
    display_name: Option<String>,
}

/// A statement written for sqlx's `query!`, moved to `sql!` as it is: sqlx's column overrides
/// (`"name!"`, `"name?"`, `"name: Type"`, `"name!: Type"`, `"name?: Type"`) mean what they mean
/// to sqlx; `sql!(as T, ..)` reads rows into a struct of the caller's (as `query_as!`), and
/// `sql!(scalar, ..)` a single column's values (as `query_scalar!`).
#[tokio::test]
async fn statements_written_for_sqlx_run_unchanged() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let (user, _) = seed(&db).await;
    let c = db.client();
    let rows = sql!(
        r#"SELECT id AS "id!", username AS "name: Username", display_name AS "shown?: String",
                  system_role AS "role!: taulu_app::schema::Sysrole", length(email) AS "len!: i32",
                  created_at AS "at?"
           FROM users WHERE email = $1"#,
        "ann@example.com"
    )
    .fetch_all(c)
    .await
    .unwrap();
    let ann = &rows[0];
    let (id, name, shown, role, len): (Uuid, &Username, &Option<String>, taulu_app::schema::Sysrole, i32) =
        (ann.id, &ann.name, &ann.shown, ann.role, ann.len);
    let at: Option<chrono::DateTime<chrono::Utc>> = ann.at;
    assert_eq!(
        (id, name, shown, role, len),
        (user, &Username("ann".into()), &None, taulu_app::schema::Sysrole::User, 15)
    );
    assert!(at.is_some());
    check_sql(c, &[*rows_shape()]).await.unwrap();

    let accounts: Vec<Account> =
        sql!(as Account, "SELECT id, username, display_name FROM users ORDER BY username").fetch_all(c).await.unwrap();
    assert_eq!((accounts[0].id, accounts[0].username.as_str(), &accounts[0].display_name), (user, "ann", &None));
    let one = sql!(as Account, "SELECT id, username, display_name FROM users WHERE id = $1", user).fetch_one(c).await;
    assert_eq!(one.unwrap().username, "ann");

    let count: i64 = sql!(scalar, "SELECT count(*) FROM users").fetch_one(c).await.unwrap();
    assert_eq!(count, 1);
    let names: Vec<String> = sql!(scalar, "SELECT username FROM users").fetch_all(c).await.unwrap();
    assert_eq!(names, ["ann"]);
    let missing: Option<String> =
        sql!(scalar, "SELECT username FROM users WHERE id = $1", Uuid::nil()).fetch_optional(c).await.unwrap();
    assert_eq!(missing, None);
}

/// The overrides' statement's shape, confirmed by PREPARE (its column names are sqlx's).
fn rows_shape() -> &'static taulu::query::SqlShape {
    sql!(r#"SELECT id AS "id!", username AS "name: Username" FROM users"#).shape()
}
