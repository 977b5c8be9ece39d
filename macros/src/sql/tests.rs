use super::*;

fn app() -> Schema {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let sources = crate::load::up_sources(&dir, None).unwrap();
    let (schema, errors) = crate::model::build(&sources);
    assert!(errors.is_empty(), "{errors:?}");
    schema
}

fn typed(sql: &str) -> (Vec<String>, Vec<(String, String, bool)>) {
    let schema = app();
    let t = type_statement(&schema, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let env = Env { cat: catalog::get(), schema: &schema };
    (
        t.params.iter().map(|&p| env.name(p)).collect(),
        t.columns.iter().map(|c| (c.name.clone(), env.name(c.ty), c.nullable)).collect(),
    )
}

/// The model of one migration (a schema of the test's own).
fn model_of(migration: &str) -> Schema {
    let (schema, errors) = crate::model::build(&[("000001_test.up.sql".to_owned(), migration.to_owned())]);
    assert!(errors.is_empty(), "{errors:?}");
    schema
}

fn refused(sql: &str) -> String {
    let schema = app();
    match type_statement(&schema, sql) {
        Ok(t) => panic!("{sql}: typed as {t:?}"),
        Err(e) => e.message,
    }
}

#[test]
fn a_select_types_its_parameters_by_comparison_and_its_columns_from_the_schema() {
    let (params, cols) = typed("SELECT u.id, u.email FROM users u WHERE u.email = $1 LIMIT $2");
    assert_eq!(params, ["text", "int8"]);
    assert_eq!(cols, [("id".into(), "uuid".into(), false), ("email".into(), "text".into(), false)]);
}

#[test]
fn outer_joined_columns_are_nullable_and_strict_where_conjuncts_make_them_non_null() {
    let (_, cols) = typed("SELECT o.name, m.user_id FROM orgs o LEFT JOIN members m ON m.org_id = o.id");
    assert_eq!(cols[1], ("user_id".into(), "uuid".into(), true));
    let (_, cols) =
        typed("SELECT o.name, m.user_id FROM orgs o LEFT JOIN members m ON m.org_id = o.id WHERE m.user_id = $1");
    assert_eq!(cols[1], ("user_id".into(), "uuid".into(), false));
}

#[test]
fn aggregates_operators_and_functions_resolve_through_the_catalog() {
    let (params, cols) = typed("SELECT count(*), max(created_at), now() - $1 AS age, round(1.5, 1) FROM users");
    assert_eq!(params, ["timestamptz"]);
    assert_eq!(cols[0], ("count".into(), "int8".into(), false));
    assert_eq!(cols[1].1, "timestamptz");
    assert!(cols[1].2);
    assert_eq!(cols[2].1, "interval");
    assert_eq!(cols[3].1, "numeric");
}

#[test]
fn the_spike_traps_give_postgresqls_answers() {
    // An enum compared with a parameter, and IN lists.
    let (params, _) = typed("SELECT 1 FROM members WHERE member_role = $1");
    assert_eq!(params, ["role"]);
    let (params, _) = typed("SELECT id FROM users WHERE id = ANY($1)");
    assert_eq!(params, ["_uuid"]);
    let (params, cols) = typed("SELECT $1");
    assert_eq!((params[0].as_str(), cols[0].1.as_str()), ("text", "text"));
    assert!(refused("SELECT 1 FROM users WHERE created_at::date + $1 > now()").contains("not unique"));
}

#[test]
fn dml_types_values_by_their_target_columns_and_returning_by_the_table() {
    let (params, cols) = typed("INSERT INTO members (org_id, user_id, member_role) VALUES ($1, $2, $3) RETURNING *");
    assert_eq!(params, ["uuid", "uuid", "role"]);
    assert_eq!(cols.len(), 4.min(cols.len()).max(3));
    let (params, cols) = typed("UPDATE users SET email = $1 WHERE id = $2 RETURNING id");
    assert_eq!(params, ["text", "uuid"]);
    assert_eq!(cols, [("id".into(), "uuid".into(), false)]);
    let (params, _) = typed("DELETE FROM sessions WHERE expires_at < $1");
    assert_eq!(params, ["timestamptz"]);
}

#[test]
fn misspelled_names_are_refused_with_a_suggestion() {
    let e = refused("SELECT emial FROM users");
    assert!(e.contains("did you mean \"email\""), "{e}");
    assert!(refused("SELECT id FROM user_s").contains("did you mean \"users\""));
    assert!(refused("SELECT id FROM users u JOIN sessions s ON s.user_id = u.id").contains("ambiguous"));
    assert!(refused("SELECT $1 IS NULL").contains("$1"));
}

#[test]
fn procedures_are_typed_by_call_and_only_by_call() {
    let schema = model_of(
        "CREATE TABLE t (id int8 PRIMARY KEY, n int4 NOT NULL DEFAULT 0);
         CREATE PROCEDURE bump(target int8, by int4 DEFAULT 1) LANGUAGE sql
             AS $$ UPDATE t SET n = n + by WHERE id = target $$;
         CREATE PROCEDURE counted(target int8, INOUT total int8, OUT at timestamptz) LANGUAGE plpgsql
             AS $$ BEGIN SELECT count(*) INTO total FROM t; at := now(); END $$;
         CREATE PROCEDURE gone() LANGUAGE sql AS $$ SELECT 1 $$;
         DROP PROCEDURE gone();
         CREATE FUNCTION f(a int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$ SELECT a $$;",
    );
    let env = Env { cat: catalog::get(), schema: &schema };
    let names = |ts: &[u32]| ts.iter().map(|&t| env.name(t)).collect::<Vec<_>>();
    // No OUT arguments: no row; the default argument may be left out; always a write.
    for sql in ["CALL bump($1, $2)", "CALL bump($1)", "CALL bump(by => $2, target => $1)"] {
        let t = type_statement(&schema, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert!(t.columns.is_empty() && !t.read_only, "{sql}");
        assert_eq!(names(&t.params)[0], "int8", "{sql}");
    }
    // INOUT and OUT arguments are passed (NULL for OUT) and come back as one row's columns.
    let t = type_statement(&schema, "CALL counted($1, $2, NULL)").unwrap();
    assert_eq!(names(&t.params), ["int8", "int8"]);
    let cols: Vec<_> = t.columns.iter().map(|c| (c.name.clone(), env.name(c.ty), c.nullable)).collect();
    assert_eq!(cols, [("total".into(), "int8".into(), true), ("at".into(), "timestamptz".into(), true)]);
    // A procedure is not a function and the other way round; a dropped one is gone.
    let e = |sql: &str| type_statement(&schema, sql).unwrap_err().message;
    assert!(e("SELECT bump(1) AS x").contains("is a procedure: run it with CALL"));
    assert!(e("CALL f(1)").contains("is a function, not a procedure"));
    assert!(e("CALL gone()").contains("procedure gone does not exist"));
    assert!(e("CALL bumb(1)").contains("did you mean \"bump\""));
}

#[test]
fn records_are_refused_not_guessed_and_void_is_typed() {
    assert!(refused("SELECT jsonb_each('{}'::jsonb) AS e").contains("belongs in FROM"));
    // `void` is typed (it reads as `taulu::Raw`); a strict built-in of a non-null argument is
    // non-null.
    assert_eq!(typed("SELECT pg_sleep(1) AS s").1, [("s".into(), "void".into(), false)]);
    let (_, cols) = typed("SELECT key, value FROM jsonb_each_text('{}'::jsonb)");
    assert_eq!(cols, [("key".into(), "text".into(), false), ("value".into(), "text".into(), true)]);
}

#[test]
fn functions_of_the_migrations_are_typed_as_created_replaced_and_dropped() {
    let schema = model_of(
        "CREATE TABLE t (id int8 PRIMARY KEY);
         CREATE FUNCTION f(a int8) RETURNS int4 LANGUAGE sql STRICT AS $$ SELECT 1 $$;
         CREATE OR REPLACE FUNCTION f(a int8) RETURNS text LANGUAGE sql STRICT AS $$ SELECT 'x' $$;
         CREATE FUNCTION gone(a int8) RETURNS int8 LANGUAGE sql AS $$ SELECT a $$;
         DROP FUNCTION gone(int8);
         CREATE FUNCTION tr() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE FUNCTION old_name(a int8) RETURNS int8 LANGUAGE sql AS $$ SELECT a $$;
         ALTER FUNCTION old_name(int8) RENAME TO new_name;
         CREATE FUNCTION pure(a int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$ SELECT a $$;
         CREATE FUNCTION stable_f(a int8) RETURNS int8 LANGUAGE sql STABLE AS $$ SELECT a $$;",
    );
    let env = Env { cat: catalog::get(), schema: &schema };
    let t = type_statement(&schema, "SELECT f(id) AS v FROM t WHERE id = $1").unwrap();
    // The replacement's result; nullable although strict (its body may return NULL).
    assert_eq!((env.name(t.columns[0].ty), t.columns[0].nullable), ("text".into(), true));
    // Volatile (the default) may write: the statement is never retried. IMMUTABLE and STABLE
    // functions leave it a read.
    assert!(!t.read_only, "a volatile function makes the statement a write");
    for f in ["pure", "stable_f"] {
        let t = type_statement(&schema, &format!("SELECT {f}(id) AS v FROM t")).unwrap();
        assert!(t.read_only, "{f}: not volatile, still a read");
    }
    // Dropped, a trigger function, and renamed (forgotten: never a wrong type).
    let calls = ["gone(id)", "tr()", "old_name(id)", "new_name(id)"].map(|c| format!("SELECT {c} AS v FROM t"));
    for gone in &calls {
        let e = type_statement(&schema, gone).unwrap_err();
        assert!(e.message.contains("does not exist"), "{gone}: {}", e.message);
    }
}

#[test]
fn row_values_are_typed_in_in_lists_subqueries_and_null_tests() {
    // Each parameter takes the type of the field it stands beside.
    let (params, _) = typed("SELECT id FROM users WHERE (id, username) IN (($1, $2), ($3, $4))");
    assert_eq!(params, ["uuid", "text", "uuid", "text"]);
    let (params, _) = typed("SELECT id FROM users WHERE (id, username) NOT IN (($1, $2))");
    assert_eq!(params, ["uuid", "text"]);
    typed("SELECT id FROM users WHERE (id, username) IN (SELECT user_id, user_agent FROM sessions)");
    typed("SELECT id FROM users WHERE (id, username) = ANY (SELECT user_id, user_agent FROM sessions)");
    typed("SELECT id FROM users WHERE ROW(id, display_name) IS NOT NULL");
    assert!(refused("SELECT id FROM users WHERE (id, username) IN (SELECT user_id FROM sessions)").contains("unequal"));
    assert!(refused("SELECT id FROM users WHERE (id, username) IN (($1, $2), $3)").contains("each item is a row"));
    assert!(refused("SELECT id FROM users WHERE (id, username) IN ((1, $1))").contains("operator"));
    assert!(refused("SELECT id FROM users WHERE ROW($1, id) IS NULL").contains("$1"));
}

#[test]
fn fields_of_composite_types_are_typed_until_the_type_is_altered() {
    let schema = model_of(
        "CREATE TYPE address AS (street text, city text, zip varchar(10));
         CREATE TYPE point3 AS (x float8, y float8, z float8);
         ALTER TYPE point3 ADD ATTRIBUTE w float8;
         CREATE TABLE sites (id int8 PRIMARY KEY, addr address NOT NULL, at point3);",
    );
    let env = Env { cat: catalog::get(), schema: &schema };
    let t =
        type_statement(&schema, "SELECT (addr).city, (s.addr).zip AS z FROM sites s WHERE (addr).street = $1").unwrap();
    let cols: Vec<_> = t.columns.iter().map(|c| (c.name.clone(), env.name(c.ty), c.nullable)).collect();
    // Named after the field; nullable, since a NOT NULL composite may still hold NULL fields.
    assert_eq!(cols, [("city".into(), "text".into(), true), ("z".into(), "varchar".into(), true)]);
    assert_eq!(t.params.iter().map(|&p| env.name(p)).collect::<Vec<_>>(), ["text"]);
    let e = |sql: &str| type_statement(&schema, sql).unwrap_err().message;
    assert!(e("SELECT (addr).cty FROM sites").contains("did you mean \"city\""));
    // ALTERed since its creation: its fields are forgotten, never typed from stale ones.
    assert!(e("SELECT (at).x FROM sites").contains("ALTERed since"));
    assert!(e("SELECT (id).x FROM sites").contains("not on int8"));
}

/// `unknown = unknown` resolves as text, as PostgreSQL's unknown-category rule has it (a
/// conflict between categories is forgiven when the string category is among them), and a
/// parameter left untyped by `IS NULL` is typed by its other occurrence.
#[test]
fn untyped_sides_and_parameters_typed_elsewhere_resolve_as_postgresql_does() {
    let (params, cols) =
        typed("SELECT u.id, $1 <> '' AS set FROM users u WHERE CASE WHEN $2 = 'newest' THEN true ELSE false END");
    assert_eq!(params, ["text", "text"]);
    assert_eq!(cols[1], ("set".into(), "bool".into(), true));
    let (params, _) = typed("SELECT id FROM users WHERE (display_name = $1 OR display_name IS NULL AND $1 IS NULL)");
    assert_eq!(params, ["text"]);
    assert!(refused("SELECT id FROM users WHERE $1 IS NULL").starts_with("cannot infer the type of $1"));
}

/// GROUP BY an output column's name, a set-returning function grouped by or cast in the select
/// list: as PostgreSQL takes them.
#[test]
fn group_by_output_names_and_set_returning_functions_where_postgresql_allows_them() {
    let (_, cols) = typed("SELECT lower(email) AS domain, count(*) AS n FROM users GROUP BY domain");
    assert_eq!(cols[0].0, "domain");
    let (_, cols) = typed(
        "SELECT unnest(string_to_array(email, '@')) AS part, count(*) AS n FROM users \
         GROUP BY unnest(string_to_array(email, '@'))",
    );
    assert_eq!(cols[0].1, "text");
    let (_, cols) = typed("SELECT generate_series(now() - interval '2 days', now(), '1 day')::date AS day");
    assert_eq!(cols, [("day".into(), "date".into(), false)]);
    assert!(refused("SELECT count(*) AS n FROM users GROUP BY nope").starts_with("column \"nope\" does not exist"));
}

/// Statements with no parameters and no rows (TRUNCATE, LOCK, VACUUM, NOTIFY, REFRESH
/// MATERIALIZED VIEW, ..) run with `execute`, the tables they name checked; transaction control is
/// refused, saying what to use.
#[test]
fn other_statements_run_with_execute_and_name_real_tables() {
    for sql in
        ["TRUNCATE sessions, login_attempts", "LOCK TABLE users IN SHARE MODE", "VACUUM ANALYZE users", "NOTIFY jobs"]
    {
        let (params, cols) = typed(sql);
        assert!(params.is_empty() && cols.is_empty(), "{sql}");
    }
    assert!(refused("TRUNCATE sesions").starts_with("relation \"sesions\" does not exist"));
    assert!(refused("BEGIN").contains("db.transaction"));
    assert!(refused("CREATE TEMP TABLE x AS SELECT $1::int AS a").starts_with("PostgreSQL takes parameters only in"));
}

/// `unnest` of several arrays in FROM: one column each, NULL-padded (sqlx's bulk-insert idiom).
#[test]
fn unnest_of_several_arrays_in_from_is_rows_from_of_each() {
    let (params, cols) = typed("SELECT * FROM unnest($1::int8[], $2::text[])");
    assert_eq!(params, ["_int8", "_text"]);
    assert_eq!(cols, [("unnest".into(), "int8".into(), true), ("unnest".into(), "text".into(), true)]);
    let (params, _) = typed(
        "INSERT INTO login_attempts (identifier, success) SELECT * FROM UNNEST($1::text[], $2::bool[]) RETURNING id",
    );
    assert_eq!(params, ["_text", "_bool"]);
    let (_, cols) = typed("SELECT u.a, u.b FROM unnest($1::int4[], $2::uuid[]) AS u(a, b)");
    assert_eq!(cols, [("a".into(), "int4".into(), true), ("b".into(), "uuid".into(), true)]);
}

/// Records and whole-row references, as PostgreSQL types them: a row constructor is a `record`, a
/// table's whole row is of the table's row type (NULL when an outer join found no row), and it goes
/// where a record or any value goes.
#[test]
fn records_and_whole_row_references_are_typed() {
    let (_, cols) = typed(
        "SELECT (u.id, u.email) AS pair, u AS whole, to_jsonb(u) AS j, row_to_json(u) AS r, (u).email, \
         s AS session FROM users u LEFT JOIN sessions s ON s.user_id = u.id",
    );
    assert_eq!(
        cols,
        [
            ("pair".into(), "record".into(), false),
            ("whole".into(), "users".into(), false),
            ("j".into(), "jsonb".into(), false),
            ("r".into(), "json".into(), false),
            ("email".into(), "text".into(), true),
            ("session".into(), "sessions".into(), true),
        ]
    );
    let (_, cols) = typed("SELECT array_agg(ROW(u.id, u.email)) AS a FROM users u");
    assert_eq!(cols[0].1, "_record");
    assert!(refused("SELECT (u).emial FROM users u").contains("column \"emial\" of relation \"users\" does not exist"));
}

/// The system catalogs and information_schema are relations like any other (pg_catalog's first on
/// the search path, information_schema's qualified), their domains read as their base types.
#[test]
fn catalog_relations_are_typed_from_postgresqls_own_columns() {
    let (params, cols) = typed("SELECT relname, reltuples FROM pg_class WHERE relname = $1");
    assert_eq!(params, ["name"]);
    assert_eq!(cols, [("relname".into(), "name".into(), false), ("reltuples".into(), "float4".into(), false)]);
    let (_, cols) = typed(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'users') AS present, \
         (SELECT column_name FROM information_schema.columns LIMIT 1) AS first",
    );
    assert_eq!(cols[0].1, "bool");
    assert_eq!(cols[1], ("first".into(), "name".into(), true));
    assert!(refused("SELECT 1 FROM tables").starts_with("relation \"tables\" does not exist"));
}

/// Every table has system columns (`xmax = 0` tells an upsert's insert from its update); views have
/// none, and two tables make an unqualified one ambiguous.
#[test]
fn system_columns_of_tables_are_typed() {
    let (_, cols) = typed(
        "INSERT INTO orgs (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO UPDATE SET name = excluded.name \
         RETURNING id, (xmax = 0) AS inserted",
    );
    assert_eq!(cols[1], ("inserted".into(), "bool".into(), false));
    let (_, cols) = typed("SELECT u.ctid, u.tableoid FROM users u");
    assert_eq!(cols, [("ctid".into(), "tid".into(), false), ("tableoid".into(), "oid".into(), false)]);
    assert!(refused("SELECT xmin FROM users u JOIN sessions s ON s.user_id = u.id").contains("ambiguous"));
}

/// What a contrib extension adds is typed once the migrations create it (in its schema, when the
/// call names one), and only then; operators that return NULL for a missing key are nullable.
#[test]
fn extensions_functions_and_operators_are_typed_once_created() {
    let schema = model_of(
        "CREATE SCHEMA ext; CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"; CREATE EXTENSION citext;
         CREATE EXTENSION pgcrypto WITH SCHEMA ext; CREATE EXTENSION pg_trgm; CREATE EXTENSION hstore;
         CREATE TABLE a (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), email citext NOT NULL, pw text NOT NULL,
                         attrs hstore NOT NULL, doc jsonb NOT NULL);",
    );
    let env = Env { cat: catalog::get(), schema: &schema };
    let typed = |sql: &str| {
        let t = type_statement(&schema, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        let names = |ts: &mut dyn Iterator<Item = u32>| ts.map(|t| env.name(t)).collect::<Vec<_>>();
        (names(&mut t.params.iter().copied()), names(&mut t.columns.iter().map(|c| c.ty)), t.columns)
    };
    // (PREPARE on PostgreSQL 15 gives these parameter types.)
    assert_eq!(typed("SELECT uuid_generate_v4() AS u").1, ["uuid"]);
    assert_eq!(typed("SELECT email FROM a WHERE email = $1").0, ["citext"]);
    assert_eq!(typed("SELECT ext.crypt($1, ext.gen_salt('bf')) AS h").0, ["text"]);
    assert_eq!(typed("SELECT crypt($1, gen_salt('bf')) AS h").0, ["text"]);
    let (params, cols, _) = typed("SELECT similarity(pw, $1) AS s FROM a WHERE pw % $1");
    assert_eq!((params, cols), (vec!["text".to_owned()], vec!["float4".to_owned()]));
    assert_eq!(typed("SELECT ext.digest($1, 'sha256') AS d").1, ["bytea"]);
    let (_, cols, c) = typed("SELECT attrs -> 'k' AS k, doc ->> 'k' AS j, doc -> 'k' AS o, doc @> '{}' AS has FROM a");
    assert_eq!(cols, ["text", "text", "jsonb", "bool"]);
    assert_eq!(c.iter().map(|c| c.nullable).collect::<Vec<_>>(), [true, true, true, false]);
    // Qualified with a schema it is not in, or never created: PostgreSQL's error.
    let refused = |sql: &str| type_statement(&schema, sql).map(|_| ()).unwrap_err().message;
    assert!(refused("SELECT public.crypt('a', 'b') AS h").starts_with("function public.crypt does not exist"));
    assert_eq!(
        refused("SELECT levenshtein('a', 'b') AS d"),
        "function levenshtein does not exist: extension fuzzystrmatch has it, and the migrations do not create it \
         (CREATE EXTENSION \"fuzzystrmatch\")"
    );
    let dropped = model_of("CREATE EXTENSION pgcrypto; DROP EXTENSION pgcrypto;");
    assert!(type_statement(&dropped, "SELECT gen_salt('bf') AS s").is_err());
    let (_, errors) = crate::model::build(&[(
        "000001_x.up.sql".to_owned(),
        "CREATE EXTENSION hstore; CREATE TABLE t (h hstore); DROP EXTENSION hstore;".to_owned(),
    )]);
    assert!(errors.iter().any(|e| e.message.contains("column h of table t is of its type")), "{errors:?}");
}

/// A string literal read as an enum must be one of its labels, as PostgreSQL checks while it
/// parses: in comparisons, IN lists, casts, stored values, function arguments and set operations.
#[test]
fn an_enum_label_that_does_not_exist_is_refused_with_a_suggestion() {
    let schema = model_of(
        "CREATE TYPE role AS ENUM ('owner', 'admin', 'member');
         CREATE TABLE m (id int8 PRIMARY KEY, role role NOT NULL);
         ALTER TYPE role ADD VALUE 'guest';
         CREATE FUNCTION rank_of(r role) RETURNS int4 LANGUAGE sql AS 'SELECT 1';",
    );
    let refused = |sql: &str| match type_statement(&schema, sql) {
        Ok(_) => panic!("{sql}: typed"),
        Err(e) => (e.message, e.at),
    };
    for sql in [
        "SELECT id FROM m WHERE role = 'ownr'",
        "SELECT id FROM m WHERE role IN ('admin', 'ownr')",
        "SELECT 'ownr'::role AS r",
        "INSERT INTO m (id, role) VALUES (1, 'ownr')",
        "UPDATE m SET role = 'ownr' WHERE id = $1",
        "SELECT rank_of('ownr') AS n",
        "SELECT role FROM m UNION SELECT 'ownr'",
        "SELECT coalesce(role, 'ownr') AS r FROM m",
    ] {
        let (message, at) = refused(sql);
        assert_eq!(message, "invalid input value for enum role: \"ownr\" (did you mean \"owner\"?)", "{sql}");
        assert_eq!(at, sql.find("'ownr'"), "{sql}");
    }
    for sql in [
        "SELECT id FROM m WHERE role = 'owner' OR role IN ('admin', 'guest')",
        "INSERT INTO m (id, role) VALUES (1, 'guest')",
        "SELECT id FROM m WHERE role::text = 'ownr'",
    ] {
        type_statement(&schema, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
}

/// PostgreSQL 15 names a boolean constant like any other constant: `?column?` (sql! then asks
/// for a name).
#[test]
fn a_boolean_constant_has_no_column_name() {
    let (_, cols) = typed("SELECT TRUE, false AS b");
    assert_eq!(cols, [("?column?".into(), "bool".into(), false), ("b".into(), "bool".into(), false)]);
}

/// A scalar subquery is NULL when it finds no row, except an aggregate without GROUP BY, HAVING or
/// LIMIT, which always makes one.
#[test]
fn a_scalar_subquery_of_an_ungrouped_aggregate_makes_one_row() {
    let (_, cols) = typed(
        "SELECT (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) AS a, \
         (SELECT max(s.created_at) FROM sessions s) AS b, \
         (SELECT count(*) FROM sessions s GROUP BY s.user_id LIMIT 1) AS c, \
         (SELECT s.id FROM sessions s LIMIT 1) AS d FROM users u",
    );
    assert_eq!(cols.iter().map(|c| c.2).collect::<Vec<_>>(), [false, true, true, true]);
}

#[test]
fn a_sequence_reads_as_a_relation_and_cannot_be_changed() {
    let schema = model_of(
        "CREATE SCHEMA billing;
         CREATE SEQUENCE billing.invoice_numbers;
         CREATE TABLE parcels (id bigserial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY);",
    );
    let env = Env { cat: catalog::get(), schema: &schema };
    for sql in
        ["SELECT last_value, is_called, log_cnt FROM parcels_id_seq", "SELECT s.* FROM billing.invoice_numbers s"]
    {
        let t = type_statement(&schema, sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        let cols: Vec<(String, String, bool)> =
            t.columns.iter().map(|c| (c.name.clone(), env.name(c.ty), c.nullable)).collect();
        let mut expected = vec![("last_value", "int8"), ("is_called", "bool"), ("log_cnt", "int8")];
        if sql.contains("s.*") {
            expected.swap(1, 2);
        }
        let expected: Vec<(String, String, bool)> =
            expected.into_iter().map(|(n, t)| (n.to_owned(), t.to_owned(), false)).collect();
        assert_eq!(cols, expected, "{sql}");
    }
    assert!(type_statement(&schema, "SELECT last_value FROM parcels_n_seq").is_ok(), "an identity column's sequence");
    let e = type_statement(&schema, "UPDATE parcels_id_seq SET last_value = 1").unwrap_err();
    assert_eq!(e.message, "cannot change sequence \"parcels_id_seq\"");
    let e = type_statement(&schema, "SELECT last_value FROM parcels_id_sq").unwrap_err();
    assert!(e.message.contains("did you mean \"parcels_id_seq\""), "{}", e.message);

    // nextval / currval / setval name a sequence of the model, read as regclass input reads it.
    for sql in [
        "SELECT nextval('parcels_id_seq')",
        "SELECT currval('billing.invoice_numbers')",
        "SELECT setval(' Parcels_ID_seq ', $1)",
        "SELECT nextval('\"billing\".\"invoice_numbers\"')",
    ] {
        assert!(type_statement(&schema, sql).is_ok(), "{sql}: {:?}", type_statement(&schema, sql).err());
    }
    let e = type_statement(&schema, "SELECT nextval('parcels_id_sq')").unwrap_err();
    assert_eq!(e.message, "relation \"parcels_id_sq\" does not exist (did you mean \"parcels_id_seq\"?)");
    let e = type_statement(&schema, "SELECT nextval('\"Parcels_id_seq\"')").unwrap_err();
    assert!(e.message.starts_with("relation \"\"Parcels_id_seq\"\" does not exist"), "{}", e.message);
    let e = type_statement(&schema, "SELECT nextval('parcels')").unwrap_err();
    assert_eq!(e.message, "\"parcels\" is not a sequence");
}

#[test]
fn a_relation_name_in_a_string_is_read_as_regclass_reads_it() {
    use crate::ddl::relation_name;
    let name = |s: &str| relation_name(s).map(|q| (q.schema, q.name));
    assert_eq!(name("users_id_seq"), Some((None, "users_id_seq".into())));
    assert_eq!(name(" Billing . Invoices "), Some((Some("billing".into()), "invoices".into())));
    assert_eq!(name("\"Mixed\".\"a \"\"b\"\"\""), Some((Some("Mixed".into()), "a \"b\"".into())));
    assert_eq!(name("db.public.t"), Some((Some("public".into()), "t".into())));
    for bad in ["", "a..b", "\"open", "a.b.c.d", "\"a\"b"] {
        assert_eq!(name(bad), None, "{bad}");
    }
}
