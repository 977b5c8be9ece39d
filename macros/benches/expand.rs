//! Bench binary: how long `schema!` takes to expand (parse with pg_query, replay, emit tokens),
//! for the app's migrations and for a synthetic 200-table schema. Prints the median of repeated
//! runs. The compiler runs proc macros as built in the *dev* profile, so measure both:
//!
//! ```sh
//! cargo bench -p taulu-macros --bench expand                # release build of the macro logic
//! cargo bench -p taulu-macros --bench expand --profile dev  # what `cargo build` experiences
//! ```
// Built as a test target (`--all-targets`), the included modules bring their unit-test helpers,
// which this binary does not run.
#![cfg_attr(test, allow(dead_code, unused_imports))]

#[path = "../src/ddl.rs"]
mod ddl;
#[path = "../src/emit.rs"]
mod emit;
#[path = "../src/model.rs"]
mod model;
#[path = "../src/split.rs"]
mod split;

use std::{hint::black_box, time::Instant};

/// What the macro does: build the model, emit the tokens (the compiler takes the token stream as
/// it is; printing it to text is only for counting its size, outside the timed part).
fn expand(files: &[(String, String)]) -> proc_macro2::TokenStream {
    let (schema, errors) = model::build(files);
    assert!(errors.is_empty(), "{errors:?}");
    let paths: Vec<String> = files.iter().map(|(f, _)| format!("/migrations/{f}")).collect();
    let (tokens, errors) = emit::emit(&schema, &paths);
    assert!(errors.is_empty(), "{errors:?}");
    tokens
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn app_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
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

fn main() {
    let profile = if cfg!(debug_assertions) { "dev (unoptimized, as in `cargo build`)" } else { "release" };
    println!("schema! expansion, {profile} build, median of the runs");
    let app = app_files();
    let synthetic = synthetic_files();
    for (name, files, runs) in [("app schema (5 tables)", &app, 50), ("synthetic 200 tables", &synthetic, 11)] {
        let bytes = expand(files).to_string().len();
        let total = median_ms(runs, || {
            black_box(expand(black_box(files)));
        });
        let parse = median_ms(runs, || {
            for (f, sql) in files.iter() {
                black_box(ddl::parse_file(f, sql).unwrap());
            }
        });
        let model = median_ms(runs, || {
            black_box(model::build(black_box(files)));
        });
        println!(
            "  {name:<24} {total:>8.2} ms total: {parse:.2} ms parsing, {:.2} ms replaying, {:.2} ms emitting; {bytes} bytes of tokens",
            model - parse,
            total - model
        );
    }
    // One large file: parsing and replaying must stay linear in the number of statements (the
    // time per statement flat as the file doubles).
    println!("one file of N small CREATE TABLE statements (parse + replay, no emit)");
    for n in [2_500, 5_000, 10_000] {
        let sql: String = (0..n)
            .map(|t| format!("CREATE TABLE t_{t} (\n  id bigint PRIMARY KEY,\n  name text NOT NULL\n);\n"))
            .collect();
        let files = vec![("000001_many.up.sql".to_owned(), sql)];
        let started = Instant::now();
        let (schema, errors) = model::build(&files);
        let took = started.elapsed();
        assert!(errors.is_empty(), "{errors:?}");
        black_box(schema);
        println!(
            "  N = {n:>6}: {:>8.1} ms, {:.1} µs per statement",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / n as f64
        );
    }
}
