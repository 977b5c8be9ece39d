//! Bench binary: what a typed query costs the compiler. It generates a scratch crate with N = 200
//! async functions, each running a typed query over 3 tables (2 joins, 2 predicates, ORDER BY,
//! LIMIT) with `fetch_all` on a `Db`, the same crate with the same statements written in SQL and
//! typed by `sql!`, and the same crate with functions running the same SQL as a raw string through
//! the same executor and decoding the rows by hand, then times the debug build of that crate alone
//! (dependencies already built), and prints the milliseconds per builder query and per `sql!`
//! statement over the raw ones.
//!
//! ```sh
//! cargo bench --bench compile_cost                       # this checkout
//! TAULU_PATH=/path/to/other/checkout cargo bench --bench compile_cost   # another (before/after)
//! ```
//!
//! `COMPILE_BENCH_N` (default 200) and `COMPILE_BENCH_RUNS` (default 3, the median is kept) tune it.
//! The scratch crate and its target directory live under `target/compile-bench/`.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The i-th query's varying parts: the second predicate's column and the sort column (so the
/// queries have 16 different types, as an application's would, instead of one shared type).
fn shape(i: usize) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    const FILTERS: [(&str, &str); 4] = [("orgs", "slug"), ("orgs", "name"), ("users", "username"), ("users", "email")];
    const SORTS: [(&str, &str); 4] =
        [("orgs", "name"), ("users", "email"), ("orgs", "slug"), ("members", "created_at")];
    (FILTERS[i % 4], SORTS[(i / 4) % 4])
}

fn typed(n: usize) -> String {
    let mut src = String::from(
        "use taulu::prelude::*;\nuse schema::{Members, Role, members, orgs, users};\n\n\
         pub type Rows = taulu::Result<Vec<(String, String, Role)>>;\n\n",
    );
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> Rows {{
    select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .inner_join(users::id, members::user_id)
        .where_(members::user_id.eq(user))
        .where_({ft}::{fc}.ne(\"value-{i}\"))
        .columns((orgs::name, users::email, members::member_role))
        .order_by({st}::{sc})
        .limit({i})
        .fetch_all(db)
        .await
}}\n"
        )
        .unwrap();
    }
    src
}

fn typed_sql(n: usize) -> String {
    // Each statement reads into a row struct of its own: the functions return how many rows they
    // read (mapping each struct to the shared tuple would time 200 iterator chains of this file,
    // not sql!).
    let mut src = String::new();
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> taulu::Result<usize> {{
    let rows = schema::sql!(
        \"SELECT orgs.name, users.email, members.member_role FROM members JOIN orgs ON orgs.id = members.org_id JOIN users ON users.id = members.user_id WHERE members.user_id = $1 AND {ft}.{fc} <> $2 ORDER BY {st}.{sc} LIMIT $3\",
        user,
        \"value-{i}\",
        {i}i64
    )
    .fetch_all(db)
    .await?;
    Ok(rows.len())
}}\n"
        )
        .unwrap();
    }
    src
}

fn raw(n: usize) -> String {
    let mut src = String::from(
        "use taulu::query::{Compiled, Executor, Param};\nuse schema::Role;\n\n\
         pub type Rows = taulu::Result<Vec<(String, String, Role)>>;\n\n\
         fn decode(rows: Vec<tokio_postgres::Row>) -> Rows {\n    \
             rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()\n}\n\n",
    );
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> Rows {{
    let q = Compiled {{
        sql: String::from(\"SELECT \\\"orgs\\\".\\\"name\\\", \\\"users\\\".\\\"email\\\", \\\"members\\\".\\\"member_role\\\" FROM \\\"members\\\" INNER JOIN \\\"orgs\\\" ON \\\"orgs\\\".\\\"id\\\" = \\\"members\\\".\\\"org_id\\\" INNER JOIN \\\"users\\\" ON \\\"users\\\".\\\"id\\\" = \\\"members\\\".\\\"user_id\\\" WHERE \\\"members\\\".\\\"user_id\\\" = $1 AND \\\"{ft}\\\".\\\"{fc}\\\" <> $2 ORDER BY \\\"{st}\\\".\\\"{sc}\\\" LIMIT $3\"),
        params: vec![Param::new(user), Param::new(String::from(\"value-{i}\")), Param::new({i}i64)],
        read_only: true,
    }};
    decode(db.query_rows(&q).await?)
}}\n"
        )
        .unwrap();
    }
    src
}

/// The raw variant with what `sql!` adds by nature: a named struct per statement, decoded by hand
/// (the lower bound for typed SQL with named fields, as sqlx's `query!` also generates).
fn raw_structs(n: usize) -> String {
    let mut src = String::from("use taulu::query::{Compiled, Executor, Param};\nuse schema::Role;\n\n");
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub struct Row{i} {{ pub name: String, pub email: String, pub member_role: Role }}

pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> taulu::Result<usize> {{
    let q = Compiled {{
        sql: String::from(\"SELECT orgs.name, users.email, members.member_role FROM members JOIN orgs ON orgs.id = members.org_id JOIN users ON users.id = members.user_id WHERE members.user_id = $1 AND {ft}.{fc} <> $2 ORDER BY {st}.{sc} LIMIT $3\"),
        params: vec![Param::new(user), Param::new(String::from(\"value-{i}\")), Param::new({i}i64)],
        read_only: true,
    }};
    let mut rows = Vec::new();
    for r in db.query_rows(&q).await? {{
        rows.push(Row{i} {{ name: r.try_get(0)?, email: r.try_get(1)?, member_role: r.try_get(2)? }});
    }}
    Ok(rows.len())
}}\n"
        )
        .unwrap();
    }
    src
}

/// Builds the scratch crate once with `src`, returning how long rustc took for it.
fn build(dir: &Path, src: &str) -> Duration {
    // Both crates type the reference app's schema themselves (so any taulu checkout works).
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    // `sql!` names the generated enums through the module path (taulu after issue 15); the other
    // variants leave it out so an older checkout builds them too.
    let module = if src.contains("sql!") { ", module = crate::schema" } else { "" };
    let schema = format!("mod schema {{\n    taulu::schema!({:?}{module});\n}}\n\n", migrations.display().to_string());
    std::fs::write(dir.join("src/lib.rs"), schema + src).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--lib"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let took = started.elapsed();
    assert!(out.status.success(), "scratch build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n = env_usize("COMPILE_BENCH_N", 200);
    let runs = env_usize("COMPILE_BENCH_RUNS", 3);
    let taulu = std::env::var_os("TAULU_PATH").map(PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/compile-bench");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"compile-bench\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ntaulu = {{ path = {:?} }}\nuuid = \"1\"\ntokio-postgres = \"0.7\"\n\n[workspace]\n",
            taulu.display().to_string()
        ),
    )
    .unwrap();
    println!(
        "compile cost of {n} typed queries (3 tables, 2 joins, 2 predicates, order, limit), debug build of the query crate only"
    );
    println!("taulu at {}", taulu.display());
    // Dependencies first (not measured), then alternate the two sources so drift hits both.
    build(&dir, &raw(1));
    let with_sql = std::env::var_os("TAULU_PATH").is_none();
    let (mut typed_times, mut sql_times, mut raw_times, mut struct_times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (typed_src, sql_src, raw_src, struct_src) = (typed(n), typed_sql(n), raw(n), raw_structs(n));
    for _ in 0..runs {
        typed_times.push(build(&dir, &typed_src));
        if with_sql {
            sql_times.push(build(&dir, &sql_src));
            struct_times.push(build(&dir, &struct_src));
        }
        raw_times.push(build(&dir, &raw_src));
    }
    let (t, r) = (median(typed_times), median(raw_times));
    let per = (t.as_secs_f64() - r.as_secs_f64()) * 1e3 / n as f64;
    println!("  typed: {:.2} s, raw strings: {:.2} s (medians of {runs})", t.as_secs_f64(), r.as_secs_f64());
    println!("  {per:.2} ms per typed query over a raw one");
    if with_sql {
        let (q, st) = (median(sql_times), median(struct_times));
        let per = (q.as_secs_f64() - r.as_secs_f64()) * 1e3 / n as f64;
        println!("  sql!: {:.2} s, {per:.2} ms per sql! statement over a raw one", q.as_secs_f64());
        let per_struct = (st.as_secs_f64() - r.as_secs_f64()) * 1e3 / n as f64;
        let over_struct = (q.as_secs_f64() - st.as_secs_f64()) * 1e3 / n as f64;
        println!(
            "  raw strings with a hand-decoded struct per statement: {:.2} s, {per_struct:.2} ms per statement over a raw one; \
             sql! over it: {over_struct:.2} ms",
            st.as_secs_f64()
        );
    }
}
