//! Criterion: how long `schema!` takes to expand (parse with pg_query, replay, emit tokens), for
//! the app's migrations and a synthetic 200-table schema, split into parsing, replaying and
//! emitting; parse + replay of one file of N statements (linear in N); and what `sql!` adds:
//! parsing the embedded PostgreSQL catalog (once per compilation that uses `sql!`) and typing one
//! 3-table statement. The macro's own
//! source files are compiled in here. The compiler runs proc macros as built in the *dev* profile,
//! so measure that one too:
//!
//! ```sh
//! cargo bench -p taulu-peer-benches --bench expand                # release build of the macro logic
//! cargo bench -p taulu-peer-benches --bench expand --profile dev  # what `cargo build` experiences
//! ```
// The included modules bring items only the proc macro uses, and (built as a test target with
// `--all-targets`) their unit-test helpers.
#![allow(dead_code)]
#![cfg_attr(test, allow(unused_imports))]

#[path = "../../../macros/src/ddl.rs"]
mod ddl;
#[path = "../../../macros/src/emit.rs"]
mod emit;
#[path = "../../../macros/src/files.rs"]
mod files;
#[path = "../../../macros/src/load.rs"]
mod load;
#[path = "../../../macros/src/model.rs"]
mod model;
#[path = "../../../macros/src/split.rs"]
mod split;
#[path = "../../../macros/src/sql/mod.rs"]
mod sql;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// What the macro does: build the model, emit the tokens (the compiler takes the token stream as
/// it is; nothing is printed).
fn expand(files: &[(String, String)]) -> proc_macro2::TokenStream {
    let (schema, errors) = model::build(files);
    assert!(errors.is_empty(), "{errors:?}");
    let paths: Vec<String> = files.iter().map(|(f, _)| format!("/migrations/{f}")).collect();
    let (tokens, errors) = emit::emit(&schema, &paths, &emit::UserAttrs::default());
    assert!(errors.is_empty(), "{errors:?}");
    tokens
}

fn app_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".up.sql"))
        .map(|n| {
            let sql = std::fs::read_to_string(format!("{dir}/{n}")).unwrap();
            (n, sql)
        })
        .collect();
    files.sort();
    files
}

/// 200 tables of 12 columns over 10 files, with enums, foreign keys, indexes and later ALTERs.
fn synthetic_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for f in 0..10 {
        let mut sql = String::new();
        if f == 0 {
            sql.push_str("CREATE TYPE status AS ENUM ('new', 'active', 'archived');\n");
        }
        for t in f * 20..(f + 1) * 20 {
            sql.push_str(&format!(
                "CREATE TABLE table_{t} (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    name text NOT NULL,
                    code varchar(32) NOT NULL UNIQUE,
                    amount numeric(12,2) NOT NULL DEFAULT 0,
                    ratio double precision,
                    active boolean NOT NULL DEFAULT true,
                    status status NOT NULL DEFAULT 'new',
                    tags text[] NOT NULL DEFAULT '{{}}',
                    data jsonb,
                    owner uuid,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    parent_id bigint{}
                );
                CREATE INDEX table_{t}_owner_idx ON table_{t} (owner);\n",
                if t > 0 { format!(" REFERENCES table_{} (id)", t - 1) } else { String::new() }
            ));
        }
        if f > 0 {
            for t in 0..20 {
                sql.push_str(&format!(
                    "ALTER TABLE table_{t} ADD COLUMN note_{f} text, ALTER COLUMN ratio SET NOT NULL;\n"
                ));
            }
        }
        files.push((format!("{:06}_batch_{f}.up.sql", f + 1), sql));
    }
    files
}

fn bench(c: &mut Criterion) {
    let profile = if cfg!(debug_assertions) { "dev" } else { "release" };
    for (name, files) in [("app schema", app_files()), ("200 tables", synthetic_files())] {
        let mut g = c.benchmark_group(format!("schema! {name} ({profile})"));
        g.bench_function("parse", |b| {
            b.iter(|| {
                for (f, sql) in files.iter() {
                    black_box(ddl::parse_file(f, sql).unwrap());
                }
            })
        });
        g.bench_function("parse + replay", |b| b.iter(|| black_box(model::build(black_box(&files)))));
        g.bench_function("parse + replay + emit", |b| b.iter(|| black_box(expand(black_box(&files)))));
        g.finish();
    }
    let mut g = c.benchmark_group(format!("one file of N CREATE TABLEs, parse + replay ({profile})"));
    for n in [1_000u64, 2_000, 4_000] {
        let sql: String = (0..n)
            .map(|t| format!("CREATE TABLE t_{t} (\n  id bigint PRIMARY KEY,\n  name text NOT NULL\n);\n"))
            .collect();
        let files = vec![("000001_many.up.sql".to_owned(), sql)];
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::from_parameter(n), &files, |b, files| {
            b.iter(|| black_box(model::build(black_box(files))))
        });
    }
    g.finish();
    let mut g = c.benchmark_group(format!("sql! ({profile})"));
    g.bench_function("parse the embedded catalog", |b| b.iter(|| black_box(sql::catalog::parse(sql::catalog::DATA))));
    let (schema, _) = model::build(&app_files());
    let _ = sql::catalog::get();
    g.bench_function("type a 3-table statement", |b| {
        b.iter(|| {
            black_box(sql::type_statement(
                &schema,
                black_box(
                    "SELECT orgs.name, users.email, members.member_role FROM members \
                     JOIN orgs ON orgs.id = members.org_id JOIN users ON users.id = members.user_id \
                     WHERE members.user_id = $1 AND orgs.slug <> $2 ORDER BY orgs.name LIMIT $3",
                ),
            ))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = taulu_peer_benches::criterion(std::time::Duration::from_secs(3), 10);
    targets = bench
}
criterion_main!(benches);
