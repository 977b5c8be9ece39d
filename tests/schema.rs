//! `schema!` against real PostgreSQL: the drift tests (the macro's description equals the catalog
//! of a migrated database, for the app and for a deliberately hard fixture), generated types in use
//! (enum round trips, row reads, inserts), and the compile-fail cases.

use std::collections::BTreeMap;

use taulu::{
    Column, FromRow, Insertable, SqlEnum, Table,
    meta::{self, Identity},
    migrate::Migrations,
    testing::TestDb,
};
use tokio_postgres::Client;

mod hard {
    taulu::schema!("tests/fixtures/schema/hard");
}

mod real_world {
    taulu::schema!("tests/fixtures/schema/real_world");
}

/// (schema, table) -> columns as (name, sql type, nullable, has default, identity, generated).
type Shape = BTreeMap<(String, String), Vec<(String, String, bool, bool, Option<Identity>, bool)>>;

fn described(schema: &meta::Schema) -> (Shape, BTreeMap<(String, String), Vec<String>>) {
    let tables = schema
        .tables
        .iter()
        .map(|t| {
            let cols = t
                .columns
                .iter()
                // PostgreSQL's catalog calls every view column nullable; the model infers more.
                .map(|c| {
                    (c.name.into(), c.sql_type.into(), c.nullable || t.view, c.has_default, c.identity, c.generated)
                })
                .collect();
            ((t.schema.into(), t.name.into()), cols)
        })
        .collect();
    let enums = schema
        .enums
        .iter()
        .map(|e| ((e.schema.into(), e.name.into()), e.labels.iter().map(|l| (*l).to_owned()).collect()))
        .collect();
    (tables, enums)
}

/// The same, read from `pg_catalog` of a live database.
async fn catalog(c: &Client) -> (Shape, BTreeMap<(String, String), Vec<String>>) {
    c.batch_execute("SET search_path = public").await.unwrap();
    let rows = c
        .query(
            "SELECT n.nspname, cl.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                    NOT (a.attnotnull OR coalesce(dom.typnotnull, false)),
                    (a.atthasdef AND a.attgenerated = '' AND a.attidentity = '')
                        OR (NOT a.atthasdef AND dom.typdefault IS NOT NULL),
                    a.attidentity::text, a.attgenerated = 's'
             FROM pg_attribute a
             JOIN pg_class cl ON cl.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = cl.relnamespace
             LEFT JOIN pg_type dom ON dom.oid = a.atttypid AND dom.typtype = 'd'
             WHERE cl.relkind IN ('r', 'p', 'v') AND a.attnum > 0 AND NOT a.attisdropped
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
               AND cl.relname <> 'taulu_schema_migrations'
             ORDER BY n.nspname, cl.relname, a.attnum",
            &[],
        )
        .await
        .unwrap();
    let mut tables: Shape = BTreeMap::new();
    for r in rows {
        let identity = match r.get::<_, String>(6).as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        tables.entry((r.get(0), r.get(1))).or_default().push((
            r.get(2),
            r.get(3),
            r.get(4),
            r.get(5),
            identity,
            r.get(7),
        ));
    }
    let mut enums: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in c
        .query(
            "SELECT n.nspname, t.typname, e.enumlabel FROM pg_enum e
             JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
             ORDER BY n.nspname, t.typname, e.enumsortorder",
            &[],
        )
        .await
        .unwrap()
    {
        enums.entry((r.get(0), r.get(1))).or_default().push(r.get(2));
    }
    (tables, enums)
}

async fn assert_no_drift(db: &TestDb, schema: &meta::Schema) {
    let (live_tables, live_enums) = catalog(db.client()).await;
    let (tables, enums) = described(schema);
    assert_eq!(tables.keys().collect::<Vec<_>>(), live_tables.keys().collect::<Vec<_>>(), "the same tables");
    for (key, live) in &live_tables {
        assert_eq!(&tables[key], live, "columns of {key:?}: macro (left) vs database (right)");
    }
    assert_eq!(enums, live_enums, "enums and their labels in order");
    let mut sequences: Vec<(String, String)> =
        schema.sequences.iter().map(|s| (s.schema.to_owned(), s.name.to_owned())).collect();
    sequences.sort();
    let live_sequences: Vec<(String, String)> = db
        .client()
        .query(
            "SELECT n.nspname, cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
             WHERE cl.relkind = 'S' AND n.nspname NOT LIKE 'pg\\_%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(sequences, live_sequences, "sequences, by the names PostgreSQL gives them");
    let check = taulu::meta::check(db.client(), schema).await.unwrap();
    assert!(check.is_ok(), "{check}");
}

#[tokio::test]
async fn the_app_schema_matches_the_migrated_database() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    assert_no_drift(&db, &taulu_app::schema::SCHEMA).await;
    assert_eq!(taulu_app::schema::SCHEMA.tables.len(), 5);
}

#[tokio::test]
async fn search_path_temp_tables_cascades_partitions_inheritance_extensions_and_do_blocks_match_the_database() {
    let set = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/real_world")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    assert_no_drift(&db, &real_world::SCHEMA).await;
    // A sequence the code knows, gone from the database, is drift; one a missing table owned is
    // not named again (the table is).
    db.client()
        .batch_execute("ALTER SEQUENCE order_nos RENAME TO order_numbers_v2; DROP TABLE app.pallets")
        .await
        .unwrap();
    let found: Vec<String> = taulu::meta::check(db.client(), &real_world::SCHEMA)
        .await
        .unwrap()
        .drifts
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(found, ["table app.pallets does not exist", "sequence public.order_nos does not exist"]);

    let columns = |schema: &str, table: &str| -> Vec<&str> {
        real_world::SCHEMA.table(schema, table).unwrap().columns.iter().map(|c| c.name).collect()
    };
    // SET search_path TO app: created in app, not public; and the temporary table is no table.
    assert_eq!(<real_world::app::Accounts as Table>::SCHEMA, "app");
    assert!(real_world::SCHEMA.table("public", "accounts").is_none());
    assert!(real_world::SCHEMA.tables.iter().all(|t| t.name != "scratch"));
    // DROP COLUMN tax CASCADE took the generated column reading it.
    assert_eq!(columns("public", "invoices"), ["id", "net"]);
    // A partition has its parent's columns; an INHERITS child the parent's, then its own.
    assert_eq!(columns("public", "measurements_2026"), ["id", "taken", "value"]);
    assert_eq!(columns("public", "capitals"), ["name", "population", "state"]);
    let capital = real_world::capitals::Insert::new("Helsinki", "Uusimaa");
    assert_eq!(capital.population, None, "the parent's default is inherited");
    // A partition of a table with an identity has none (PostgreSQL 15): its id is required.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let through_parent = real_world::readings::Insert::new(day);
    let into_partition = real_world::readings_2026::Insert::new(7, day);
    assert_eq!((through_parent.note, into_partition.id), (None, 7));
    // Schema `audit` beside table `public.audit`.
    assert_eq!(<real_world::audit_schema::Events as Table>::SCHEMA, "audit");
    assert_eq!(<real_world::Audit as Table>::NAME, "audit");
    // An extension's type reads and writes raw values.
    assert_eq!(<real_world::settings::attrs as Column>::SQL_TYPE, "hstore");
    // The file after a SET search_path starts from the default again; pg_dump's empty one works.
    assert_eq!(<real_world::Dumped as Table>::SCHEMA, "public");

    // Views: typed from their queries, nullability from their sources and joins; read-only.
    let view = |schema: &str, name: &str| -> Vec<(&str, &str, bool)> {
        let t = real_world::SCHEMA.table(schema, name).unwrap();
        assert!(t.view, "{name} is a view");
        t.columns.iter().map(|c| (c.name, c.sql_type, c.nullable)).collect()
    };
    assert_eq!(view("app", "account_names"), [("id", "integer", false), ("name", "text", false)]);
    assert_eq!(view("public", "account_ids"), [("id", "integer", false)]);
    assert_eq!(view("public", "capital_states"), [("city", "text", false), ("state", "text", false)]);
    assert_eq!(
        view("public", "audit_with_events"),
        [
            ("id", "integer", false),
            ("note", "text", true),
            ("at", "timestamp with time zone", true),
            ("event_ref", "text", true)
        ]
    );
    assert_eq!(view("public", "city_count"), [("n", "bigint", false)]);
    assert_eq!(view("public", "all_settings"), [("id", "integer", false), ("attrs", "hstore", true)]);
    assert_eq!(view("public", "audit_notes"), [("id", "integer", false), ("note", "text", true)]);
    assert!(real_world::SCHEMA.table("public", "settings_extra").is_none(), "dropped with its column");
    // DDL inside DO blocks, as PostgreSQL runs it on a fresh database.
    assert_eq!(columns("public", "tickets"), ["id", "state", "title", "reporter"]);
    assert_eq!(columns("public", "ticket_notes"), ["ticket", "body"]);
    assert_eq!(real_world::TicketState::ALL.iter().map(ToString::to_string).collect::<Vec<_>>(), ["open", "closed"]);
    assert_eq!(view("public", "invoice_doubled"), [("id", "integer", false), ("doubled", "numeric", false)]);
    assert_eq!(
        view("public", "audit_summary"),
        [("note", "text", false), ("events", "bigint", false), ("short", "character varying", true)]
    );

    // And the generated types work against it.
    let c = db.client();
    c.batch_execute("INSERT INTO settings VALUES (1, 'a=>1')").await.unwrap();
    let attrs: Option<taulu::Raw> = c.query_one("SELECT attrs FROM settings", &[]).await.unwrap().get(0);
    assert_eq!(attrs.unwrap().type_name, "hstore");
    let accounts: Vec<real_world::app::accounts::Row> = c
        .query("SELECT * FROM app.accounts", &[])
        .await
        .unwrap()
        .iter()
        .map(FromRow::from_row)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(accounts.iter().map(|a| (a.id, a.name.as_str())).collect::<Vec<_>>(), [(1, "seed")]);
    use taulu::prelude::*;
    c.batch_execute("INSERT INTO audit VALUES (1, 'first'), (2, NULL)").await.unwrap();
    let joined = select_from::<real_world::AuditWithEvents>()
        .columns((real_world::audit_with_events::id, real_world::audit_with_events::event_ref))
        .order_by(real_world::audit_with_events::id)
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(joined, [(1, None), (2, None)]);
    let counted: Vec<real_world::city_count::Row> =
        select_from::<real_world::CityCount>().all().fetch_all(c).await.unwrap();
    assert_eq!(counted[0].n, 0);
}

#[tokio::test]
async fn check_schema_reports_each_difference_by_name() {
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let pool = db.pool();
    let check = pool.check_schema(&taulu_app::schema::SCHEMA).await.unwrap();
    assert!(check.is_ok(), "{check}");
    assert_eq!(check.to_string(), "the database matches the compiled schema");

    // A database that drifted: every kind of difference the code would trip on, plus changes it
    // would not (an extra nullable column, an extra table).
    db.client()
        .batch_execute(
            "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);
             ALTER TABLE orgs DROP COLUMN slug;
             ALTER TABLE members ALTER COLUMN created_at DROP NOT NULL;
             ALTER TABLE orgs ADD COLUMN region text NOT NULL;
             ALTER TABLE orgs ADD COLUMN note text;
             ALTER TYPE role ADD VALUE 'guest';
             DROP TABLE login_attempts;
             CREATE TABLE unrelated (x int NOT NULL);",
        )
        .await
        .unwrap();
    let check = pool.check_schema(&taulu_app::schema::SCHEMA).await.unwrap();
    let found: Vec<String> = check.drifts.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "column public.users.email is character varying(200) in the database, text in the code",
            "table public.login_attempts does not exist",
            "column public.orgs.slug does not exist",
            "column public.orgs.region is NOT NULL without a default in the database and unknown to the code (its inserts fail)",
            "column public.members.created_at is nullable in the database, NOT NULL in the code",
            "enum public.role has labels [\"owner\", \"admin\", \"member\", \"guest\"] in the database, [\"owner\", \"admin\", \"member\"] in the code",
        ]
    );
    assert!(check.to_string().starts_with("the database differs from the compiled schema in 6 ways:\n  column"));
}

#[tokio::test]
async fn the_hard_fixture_schema_matches_the_migrated_database() {
    let set = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/hard")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    assert_no_drift(&db, &hard::SCHEMA).await;

    // Spot checks of what the fixture exercises, so a silently empty model cannot pass.
    let accounts = hard::SCHEMA.table("public", "accounts").unwrap();
    let names: Vec<&str> = accounts.columns.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "id",
            "Email",
            "nickname",
            "balance",
            "ratio",
            "tags",
            "matrix",
            "mood",
            "points",
            "created",
            "doubled",
            "kind",
            "self",
            "DisplayName",
            "contact"
        ]
    );
    assert!(hard::SCHEMA.table("billing", "renamed_scratch").is_some());
    assert!(hard::SCHEMA.table("Reporting", "DailyTotals").is_some());
    let truncated = "this_table_name_is_much_longer_than_sixty_three_bytes_and_gets_";
    assert_eq!(truncated.len(), 63);
    assert!(hard::SCHEMA.table("public", truncated).is_some());
    assert_eq!(
        hard::SCHEMA.enums.iter().find(|e| e.name == "mood").unwrap().labels,
        ["blue", "meh", "happy", "ecstatic"]
    );
    assert_eq!(hard::SCHEMA.domains.len(), 2);
}

#[test]
fn generated_markers_carry_table_name_type_and_nullability() {
    use taulu_app::schema::{Users, sessions, users};
    assert_eq!((Users::SCHEMA, Users::NAME), ("public", "users"));
    assert_eq!(Users::COLUMNS[..3], ["id", "username", "email"]);
    assert_eq!(<users::email as Column>::NAME, "email");
    assert_eq!(<users::email as Column>::SQL_TYPE, "text");
    assert_eq!(<sessions::ip as Column>::SQL_TYPE, "inet");
    const { assert!(!<<users::email as Column>::Null as taulu::Nullability>::NULLABLE) };
    const { assert!(<<users::display_name as Column>::Null as taulu::Nullability>::NULLABLE) };
    // The Rust type is the non-null type; `Null` says whether rows hold an Option.
    let _: fn() -> <sessions::token_hash as Column>::Rust = Vec::<u8>::new;
    assert_eq!(<hard::accounts::points as Column>::CAST, Some("integer"));
    assert_eq!(<hard::accounts::Email as Column>::CAST, Some("text"));
    assert_eq!(<hard::accounts::kind as Column>::NAME, "kind");
    assert_eq!(<hard::accounts::self_ as Column>::NAME, "self");
    assert_eq!(<hard::reporting::dailytotals::Day as Column>::SQL_TYPE, "date");
    assert_eq!(<hard::billing::invoices::state as Column>::SQL_TYPE, "billing.invoice_state");
}

#[tokio::test]
async fn generated_enums_round_trip_through_postgres() {
    use taulu_app::schema::{Role, Sysrole};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();
    for role in Role::ALL {
        let back: Role = c.query_one("SELECT $1::role", &[role]).await.unwrap().get(0);
        assert_eq!(back, *role);
        let text: String = c.query_one("SELECT $1::role::text", &[role]).await.unwrap().get(0);
        assert_eq!(text, role.to_string());
    }
    assert_eq!(Role::LABELS, ["owner", "admin", "member"]);
    assert_eq!("admin".parse::<Sysrole>(), Ok(Sysrole::Admin));
    assert!("root".parse::<Sysrole>().is_err());
    // A `role` value is not accepted where a `sysrole` is expected: the types are checked.
    let err = c.query_one("SELECT $1::sysrole", &[&Role::Admin]).await.unwrap_err();
    assert!(err.to_string().contains("error serializing parameter"), "{err}");
}

#[tokio::test]
async fn inserts_and_rows_follow_required_optional_and_defaulted_columns() {
    use taulu_app::schema::{LoginAttempts, Sysrole, Users, login_attempts, users};
    let db = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let c = db.client();

    let insert = users::Insert::new("ann", "ann@example.com", "hash").with_display_name("Ann");
    assert_eq!(
        insert.clone().into_values().iter().map(|v| v.column).collect::<Vec<_>>(),
        ["username", "email", "password_hash", "display_name"],
        "required columns, then the optional ones that were given"
    );
    let user: users::Row = insert_returning(c, &insert).await;
    assert_eq!((user.username.as_str(), user.display_name.as_deref()), ("ann", Some("Ann")));
    assert_eq!(user.system_role, Sysrole::User, "the column default applied");
    assert!(user.created_at <= chrono::Utc::now());

    // Identity ALWAYS columns are not part of the insert type; nullable ones are optional.
    let attempt = login_attempts::Insert::new("ann", false).with_user_id(user.id);
    assert_eq!(
        attempt.clone().into_values().iter().map(|v| v.column).collect::<Vec<_>>(),
        ["identifier", "success", "user_id"]
    );
    let first: login_attempts::Row = insert_returning(c, &attempt).await;
    let second: login_attempts::Row = insert_returning(c, &login_attempts::Insert::new("eve", false)).await;
    assert_eq!(second.id, first.id + 1, "ids come from the identity");
    assert_eq!((first.user_id, second.user_id), (Some(user.id), None));
    assert_eq!(LoginAttempts::NAME, "login_attempts");
    assert_eq!(Users::INFO.columns.len(), Users::COLUMNS.len());
}

/// INSERT .. RETURNING every column, read as the table's row type (what the builder will do).
async fn insert_returning<I: Insertable + Clone>(c: &Client, insert: &I) -> <I::Table as Table>::Row {
    let values = insert.clone().into_values();
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let columns: Vec<&str> = values.iter().map(|v| v.column).collect();
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values.iter().map(|v| v.value.as_sql()).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
        <I::Table as Table>::NAME,
        columns.join(", "),
        placeholders.join(", "),
        <I::Table as Table>::COLUMNS.join(", ")
    );
    FromRow::from_row(&c.query_one(&sql, &params).await.unwrap()).unwrap()
}

#[tokio::test]
async fn domain_columns_carry_their_base_type_cast() {
    let set = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/hard")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    let c = db.client();
    let email = String::from("someone@example.com");
    // Without the cast tokio-postgres refuses a String for a domain-typed parameter...
    let err = c.execute("INSERT INTO accounts (\"Email\", ratio) VALUES ($1, 1)", &[&email]).await.unwrap_err();
    assert!(err.to_string().contains("error serializing parameter"), "{err}");
    // ...with the cast the marker carries, it is accepted and the domain's CHECK still applies.
    let cast = <hard::accounts::Email as Column>::CAST.unwrap();
    let sql = format!("INSERT INTO accounts (\"Email\", ratio) VALUES ($1::{cast}, 1)");
    assert_eq!(c.execute(&sql, &[&email]).await.unwrap(), 1);
    let bad = c.execute(&sql, &[&"no-at-sign"]).await.unwrap_err();
    assert_eq!(bad.code().map(|s| s.code()), Some("23514"), "check_violation: {bad}");
    // The builder casts for the domain too: compared with a value, and in an `= ANY($1)` list.
    use taulu::prelude::*;
    let found: Vec<(String,)> = select_from::<hard::Accounts>()
        .columns((hard::accounts::Email,))
        .where_(hard::accounts::Email.eq("someone@example.com"))
        .where_(hard::accounts::Email.in_(["someone@example.com", "other@example.com"]))
        .fetch_all(c)
        .await
        .unwrap();
    assert_eq!(found, vec![(email,)]);
}

#[tokio::test]
async fn rows_of_every_mapped_type_read_back_from_postgres() {
    let set = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/hard")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    let c = db.client();
    let select = |table: &str, columns: &[&str]| {
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        format!("SELECT {} FROM {table}", quoted.join(", "))
    };
    c.execute(
        "INSERT INTO accounts (\"Email\", nickname, balance, ratio, tags, matrix, mood, created, kind)
         VALUES ('a@b.c', 'nick', 12.34, 7, '{x,y}', '{1,2}', 'happy', '2026-01-02 03:04:05.678', 'k')",
        &[],
    )
    .await
    .unwrap();
    let rows = c.query(&select("accounts", hard::Accounts::COLUMNS), &[]).await.unwrap();
    let all: Vec<hard::accounts::Row> = rows.iter().map(|r| hard::accounts::Row::from_row(r).unwrap()).collect();
    let seeded = &all[0];
    assert_eq!(seeded.Email, "seed@example.com");
    assert_eq!(seeded.mood, Some(hard::Mood::Meh), "set by the no-transaction migration");
    assert_eq!(seeded.contact, "nobody@example.com", "a NOT NULL domain column is not an Option");
    let a = &all[1];
    assert_eq!(a.balance.to_string(), "12.34");
    assert_eq!(a.ratio.to_string(), "7");
    assert_eq!(a.tags, Some(vec!["x".to_owned(), "y".to_owned()]));
    assert_eq!(a.matrix, Some(vec![1, 2]));
    assert_eq!(a.mood, Some(hard::Mood::Happy));
    assert_eq!(a.points, 0, "the domain's default");
    assert_eq!(a.created.unwrap().to_string(), "2026-01-02 03:04:05.678");
    assert_eq!(a.kind.as_deref(), Some("k"));
    assert_eq!(a.self_, 1, "assigned by the identity added in 000002, which starts at 1");
    assert!(a.doubled.is_none(), "no longer generated after DROP EXPRESSION");

    c.execute(
        "INSERT INTO billing.invoices (account_id, payload, raw, from_ip, issued_on) VALUES ($1, '{\"k\": [1]}', '\\x0102', '10.0.0.1', '2026-03-04')",
        &[&a.id],
    )
    .await
    .unwrap();
    let row = c.query_one(&select("billing.invoices", hard::billing::Invoices::COLUMNS), &[]).await.unwrap();
    let inv = hard::billing::invoices::Row::from_row(&row).unwrap();
    assert_eq!(inv.state, hard::billing::InvoiceState::Draft);
    assert_eq!(inv.payload, Some(serde_json::json!({"k": [1]})));
    assert_eq!(inv.raw, Some(vec![1, 2]));
    assert_eq!(inv.from_ip, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(inv.issued_on.unwrap().to_string(), "2026-03-04");
    assert!(inv.uid.is_some() && inv.number >= 1);
    assert_eq!(inv.amount.map(|d| d.to_string()), Some("0.00".to_owned()), "default 0 in numeric(10,2)");
}

mod unmapped {
    taulu::schema!("tests/fixtures/schema/unmapped");
}

/// Columns of types without a Rust mapping do not reject the schema: they read as `taulu::Raw`
/// (the binary value and its type's name), write back to a column of the same type, and the
/// table's other columns stay typed.
#[tokio::test]
async fn columns_without_a_rust_mapping_read_and_write_raw_values() {
    use taulu::{Raw, prelude::*};
    use unmapped::{Documents, documents};
    let set = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/unmapped")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    let c = db.client();
    c.batch_execute(
        "INSERT INTO documents (title, body, price, pages, flags, feeling)
         VALUES ('Raw values', 'read back as bytes', 12.5, '[1,10)', B'1010', ROW(true, 3))",
    )
    .await
    .unwrap();
    let row: documents::Row = select_from::<Documents>().all().fetch_one(c).await.unwrap();
    assert_eq!(row.title, "Raw values");
    let search: &Raw = &row.search.clone().expect("generated");
    assert_eq!(search.type_name, "tsvector");
    assert!(!search.bytes.is_empty());
    // interval has a mapping of its own: months, days and microseconds.
    assert_eq!(row.kept_for, taulu::Interval::days(30));
    assert_eq!(row.pages.as_ref().map(|r| r.type_name.as_str()), Some("int4range"));
    assert_eq!(row.feeling.as_ref().map(|r| r.type_name.as_str()), Some("mood"));
    // A raw value goes back into a column of its type: copy the range to a new row (with an
    // interval of every part).
    let kept = taulu::Interval { months: 14, days: -3, microseconds: 3_723_000_001 };
    let copy =
        documents::Insert::new("Copy", "of the first").with_kept_for(kept).with_pages(row.pages.clone().unwrap());
    insert_into::<Documents>().values(copy).execute(c).await.unwrap();
    let (kept, pages): (String, String) = select_from::<Documents>()
        .columns((sql::<String>("{}::text").arg(documents::kept_for), sql::<String>("{}::text").arg(documents::pages)))
        .where_(documents::title.eq("Copy"))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!((kept.as_str(), pages.as_str()), ("1 year 2 mons -3 days +01:02:03.000001", "[1,10)"));
    let back: (taulu::Interval,) = select_from::<Documents>()
        .columns((documents::kept_for,))
        .where_(documents::kept_for.eq(taulu::Interval { months: 14, days: -3, microseconds: 3_723_000_001 }))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(back.0.microseconds, 3_723_000_001, "a bound interval compares and reads back exactly");
    assert_no_drift(&db, &unmapped::SCHEMA).await;
}

#[tokio::test]
async fn names_with_capitals_and_quotes_render_as_the_server_reads_them() {
    use hard::reporting::{OddLedger, odd__ledger_ as oddledger};
    use taulu::prelude::*;
    // Quoted once at compile time, as the renderer quotes a name at run time.
    assert_eq!(<OddLedger as Table>::QUOTED, Some(r#""Reporting"."Odd ""Ledger""""#));
    assert_eq!(<oddledger::Entry__Id_ as Column>::QUOTED, Some(r#""Odd ""Ledger"""."Entry ""Id""""#));
    let q = select_from::<OddLedger>()
        .columns((oddledger::Entry__Id_, oddledger::note))
        .where_(oddledger::Entry__Id_.eq(1))
        .order_by(oddledger::note);
    assert_eq!(
        q.to_sql().0,
        r#"SELECT "Odd ""Ledger"""."Entry ""Id""", "Odd ""Ledger"""."note" FROM "Reporting"."Odd ""Ledger""" WHERE "Odd ""Ledger"""."Entry ""Id""" = $1 ORDER BY "Odd ""Ledger"""."note""#
    );
    // And the server reads it so.
    let set = Migrations::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/hard")).unwrap();
    let db = TestDb::new(&set).await.unwrap();
    db.client()
        .execute(r#"INSERT INTO "Reporting"."Odd ""Ledger""" VALUES (1, 'one'), (2, 'two')"#, &[])
        .await
        .unwrap();
    assert_eq!(q.fetch_all(db.client()).await.unwrap(), vec![(1, Some("one".to_owned()))]);
}
