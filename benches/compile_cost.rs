//! Bench binary: what a typed query costs the compiler. It generates a scratch crate with N = 200
//! async functions, each running a typed query over 3 tables (2 joins, 2 predicates, ORDER BY,
//! LIMIT) with `fetch_all` on a `Db`, the same crate with the same statements written in SQL and
//! typed by `sql!`, the same crate with functions running the same SQL as a raw string through
//! the same executor and decoding the rows by hand, and that raw crate plus a named row struct per
//! statement (the lower bound for any typed SQL with named fields), then times the debug build of
//! that crate alone (dependencies already built), and prints the milliseconds per builder query
//! and per `sql!` statement over the raw ones. Every variant's functions have the same shape (run
//! the statement, return how many rows it read), so the differences are the typed layers' own:
//! an earlier raw variant returned its rows where the others counted them, and that alone was
//! 4.5 M instructions per function.
//!
//! sqlx 0.8's `query!` runs beside `sql!` on the same statements, from offline data (`.sqlx/`,
//! recorded once per run against a database the bench migrates, then every timed build offline:
//! no database), its enum column read through sqlx's own override (`"member_role: Role"`).
//!
//! By the clock, each variant is measured twice: a full build of the crate (`CARGO_INCREMENTAL=0`,
//! the crate alone: what CI and a first build pay) and an incremental rebuild after one literal of
//! one function changed (what an edit-compile loop pays: proc macros run again for every statement).
//!
//! ```sh
//! cargo bench --bench compile_cost                       # this checkout
//! TAULU_PATH=/path/to/other/checkout cargo bench --bench compile_cost   # another (before/after)
//! ```
//!
//! ```sh
//! COMPILE_BENCH_INSTRUCTIONS=1 cargo bench --bench compile_cost  # instructions (callgrind), N = 50
//! ```
//!
//! `COMPILE_BENCH_FLOORS=1` adds two cheaper named-row floors (see [`named_floor_min`]).
//! `COMPILE_BENCH_N` (default 200) and `COMPILE_BENCH_RUNS` (default 5) tune it. The fastest build
//! of each variant is kept: on a shared machine, interference only ever adds time, and the medians
//! of 3 moved by 30% between runs.
//! The scratch crate and its target directory live under `target/compile-bench/`.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
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
    let mut src = String::from("use taulu::prelude::*;\nuse schema::{Members, Role, members, orgs, users};\n\n");
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> taulu::Result<usize> {{
    let rows: Vec<(String, String, Role)> = select_from::<Members>()
        .inner_join(orgs::id, members::org_id)
        .inner_join(users::id, members::user_id)
        .where_(members::user_id.eq(user))
        .where_({ft}::{fc}.ne(\"value-{i}\"))
        .columns((orgs::name, users::email, members::member_role))
        .order_by({st}::{sc})
        .limit({i})
        .fetch_all(db)
        .await?;
    Ok(rows.len())
}}\n"
        )
        .unwrap();
    }
    src
}

fn typed_sql(n: usize) -> String {
    // Each statement reads into a row struct of its own: the functions return how many rows they
    // read (mapping each struct to the shared tuple would time 200 iterator chains of this file,
    // not sql!), as every variant's functions do, so they compare like with like.
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

/// The same statements through sqlx's `query!` (anonymous record per statement), with the enum
/// column read through sqlx's override and a `sqlx::Type` enum, as an sqlx project writes it.
fn sqlx_query(n: usize) -> String {
    let mut src = String::from(
        "#[derive(Debug, Clone, Copy, sqlx::Type)]\n#[sqlx(type_name = \"role\", rename_all = \"lowercase\")]\n\
         pub enum SqlxRole { Owner, Admin, Member }\n\n",
    );
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub async fn q{i}(db: &sqlx::PgPool, user: uuid::Uuid) -> Result<usize, sqlx::Error> {{
    let rows = sqlx::query!(
        \"SELECT orgs.name, users.email, members.member_role AS \\\"member_role: SqlxRole\\\" FROM members JOIN orgs ON orgs.id = members.org_id JOIN users ON users.id = members.user_id WHERE members.user_id = $1 AND {ft}.{fc} <> $2 ORDER BY {st}.{sc} LIMIT $3\",
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
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> taulu::Result<usize> {{
    let q = Compiled {{
        sql: String::from(\"SELECT \\\"orgs\\\".\\\"name\\\", \\\"users\\\".\\\"email\\\", \\\"members\\\".\\\"member_role\\\" FROM \\\"members\\\" INNER JOIN \\\"orgs\\\" ON \\\"orgs\\\".\\\"id\\\" = \\\"members\\\".\\\"org_id\\\" INNER JOIN \\\"users\\\" ON \\\"users\\\".\\\"id\\\" = \\\"members\\\".\\\"user_id\\\" WHERE \\\"members\\\".\\\"user_id\\\" = $1 AND \\\"{ft}\\\".\\\"{fc}\\\" <> $2 ORDER BY \\\"{st}\\\".\\\"{sc}\\\" LIMIT $3\"),
        params: vec![Param::new(user), Param::new(String::from(\"value-{i}\")), Param::new({i}i64)],
        read_only: true,
    }};
    let rows = decode(db.query_rows(&q).await?)?;
    Ok(rows.len())
}}\n"
        )
        .unwrap();
    }
    src
}

/// The raw variant plus what any named row type per statement costs the compiler, however it is
/// filled: a struct with the derives `sql!`'s rows have, held in a `Vec` whose length is returned.
/// The `Vec` stays empty (filling it could only add), so this is a lower bound for typed SQL with
/// named fields, which is what `sql!` (and sqlx's `query!`) generate.
fn named_floor(n: usize) -> String {
    let mut src = raw(0);
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        writeln!(
            src,
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> taulu::Result<usize> {{
    #[derive(Debug, Clone)]
    pub struct Row {{ pub name: String, pub email: String, pub member_role: Role }}
    let q = Compiled {{
        sql: String::from(\"SELECT orgs.name, users.email, members.member_role FROM members JOIN orgs ON orgs.id = members.org_id JOIN users ON users.id = members.user_id WHERE members.user_id = $1 AND {ft}.{fc} <> $2 ORDER BY {st}.{sc} LIMIT $3\"),
        params: vec![Param::new(user), Param::new(String::from(\"value-{i}\")), Param::new({i}i64)],
        read_only: true,
    }};
    let rows = decode(db.query_rows(&q).await?)?;
    let named: Vec<Row> = Vec::new();
    Ok(rows.len() + named.len())
}}\n"
        )
        .unwrap();
    }
    src
}

/// The cheapest named row per statement we know how to write (`COMPILE_BENCH_FLOORS=1`): the
/// struct with no derives, `Debug` and `Clone` written as one-line calls into code shared by every
/// statement with the same column types, and the rows held in a wrapper over the shared tuple's
/// `Vec` that derefs to `[Row]` (so no `Vec<Row>` is ever instantiated). With `impls` false, the
/// bare struct in that wrapper: what no named-row design can go under.
fn named_floor_min(n: usize, impls: bool) -> String {
    let mut src = raw(0);
    src.push_str(
        "pub struct Named<R> { inner: Vec<(String, String, Role)>, _r: std::marker::PhantomData<R> }\n\
         impl<R> std::ops::Deref for Named<R> {\n    type Target = [R];\n    \
         fn deref(&self) -> &[R] { unsafe { std::slice::from_raw_parts(self.inner.as_ptr().cast(), self.inner.len()) } }\n}\n\
         pub fn shared_debug<T: std::fmt::Debug>(v: &T, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { v.fmt(f) }\n\n",
    );
    for i in 0..n {
        let ((ft, fc), (st, sc)) = shape(i);
        let impls = if impls {
            "    impl std::fmt::Debug for Row {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            shared_debug(unsafe { &*(self as *const Row).cast::<(String, String, Role)>() }, f)
        }
    }
    impl Clone for Row {
        fn clone(&self) -> Self {
            let c = unsafe { &*(self as *const Row).cast::<(String, String, Role)>() }.clone();
            unsafe { std::mem::transmute(c) }
        }
    }
"
        } else {
            ""
        };
        writeln!(
            src,
            "pub async fn q{i}(db: &taulu::Db, user: uuid::Uuid) -> taulu::Result<usize> {{
    #[repr(C)]
    pub struct Row {{ pub name: String, pub email: String, pub member_role: Role }}
{impls}    let q = Compiled {{
        sql: String::from(\"SELECT orgs.name, users.email, members.member_role FROM members JOIN orgs ON orgs.id = members.org_id JOIN users ON users.id = members.user_id WHERE members.user_id = $1 AND {ft}.{fc} <> $2 ORDER BY {st}.{sc} LIMIT $3\"),
        params: vec![Param::new(user), Param::new(String::from(\"value-{i}\")), Param::new({i}i64)],
        read_only: true,
    }};
    let rows = decode(db.query_rows(&q).await?)?;
    let named: Named<Row> = Named {{ inner: Vec::new(), _r: std::marker::PhantomData }};
    Ok(rows.len() + named.len())
}}\n"
        )
        .unwrap();
    }
    src
}

/// What a build is measured in.
#[derive(Clone, Copy, PartialEq)]
enum Meter {
    /// Wall-clock milliseconds of a full build of the crate (`CARGO_INCREMENTAL=0`).
    Full,
    /// Wall-clock milliseconds of an incremental rebuild after one literal changed.
    Rebuild,
    /// Millions of instructions rustc executes for the scratch crate, counted by callgrind
    /// (`COMPILE_BENCH_INSTRUCTIONS=1`): deterministic, where the clock on a shared machine moves
    /// by 30% between runs. Non-incremental, so every variant is compiled from scratch.
    Instructions,
}

impl Meter {
    fn unit(self) -> &'static str {
        match self {
            Meter::Full | Meter::Rebuild => "ms",
            Meter::Instructions => "M instructions",
        }
    }
}

/// Where the wrapper (see `main`) leaves callgrind's output for the scratch crate.
const CALLGRIND_OUT: &str = "COMPILE_BENCH_CALLGRIND_OUT";

/// How the scratch crate's sqlx statements are described: recorded from a live database into
/// `.sqlx/` (the first build), or read from there (every timed build).
enum Sqlx<'a> {
    Record(&'a str),
    Offline,
}

/// Builds the scratch crate once with `src`: how long it took, or how many instructions rustc
/// executed for it.
fn build(dir: &Path, src: &str, meter: Meter) -> f64 {
    build_with(dir, src, meter, &Sqlx::Offline)
}

fn build_with(dir: &Path, src: &str, meter: Meter, sqlx: &Sqlx) -> f64 {
    // Both crates type the reference app's schema themselves (so any taulu checkout works).
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    // `sql!` names the generated enums through the module path (taulu after issue 15); the other
    // variants leave it out so an older checkout builds them too.
    let module = if src.contains("sql!") { ", module = crate::schema" } else { "" };
    let schema = format!("mod schema {{\n    taulu::schema!({:?}{module});\n}}\n\n", migrations.display().to_string());
    std::fs::write(dir.join("src/lib.rs"), schema + src).unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "--quiet", "--lib"]).current_dir(dir).env_remove("RUSTFLAGS");
    // A user's default debug profile (full debug info everywhere), not this repository's
    // `.cargo/config.toml`, which the scratch crate under target/ would otherwise pick up.
    cargo.args(["--config", "profile.dev.debug=true", "--config", "profile.dev.package.\"*\".debug=true"]);
    cargo.env("SQLX_OFFLINE_DIR", dir.join(".sqlx")).env_remove("DATABASE_URL");
    match sqlx {
        Sqlx::Record(url) => cargo.env("DATABASE_URL", url).env("SQLX_OFFLINE", "false"),
        Sqlx::Offline => cargo.env("SQLX_OFFLINE", "true"),
    };
    let counted = dir.join("callgrind.out");
    if meter == Meter::Instructions {
        let _ = std::fs::remove_file(&counted);
        cargo
            .env("CARGO_TARGET_DIR", dir.join("target-instructions"))
            .env("CARGO_INCREMENTAL", "0")
            .env("RUSTC_WRAPPER", std::env::current_exe().unwrap())
            .env(CALLGRIND_OUT, &counted);
    } else if meter == Meter::Full {
        cargo.env("CARGO_TARGET_DIR", dir.join("target-full")).env("CARGO_INCREMENTAL", "0");
    } else {
        cargo.env("CARGO_TARGET_DIR", dir.join("target")).env("CARGO_INCREMENTAL", "1");
    }
    let started = Instant::now();
    let out = cargo.output().expect("run cargo");
    let took = started.elapsed();
    assert!(out.status.success(), "scratch build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    match meter {
        Meter::Full | Meter::Rebuild => took.as_secs_f64() * 1e3,
        Meter::Instructions => {
            let text = std::fs::read_to_string(&counted).unwrap_or_default();
            let total =
                text.lines().find_map(|l| l.strip_prefix("summary: ")).and_then(|v| v.trim().parse::<f64>().ok());
            total.expect("callgrind counted the scratch crate's build (is valgrind installed?)") / 1e6
        }
    }
}

/// As cargo's `RUSTC_WRAPPER` (instruction counting): runs rustc, under callgrind for the scratch
/// crate only.
fn wrap_rustc(out: &std::ffi::OsStr) -> ! {
    let mut args = std::env::args_os().skip(1);
    let rustc = args.next().expect("cargo passes rustc's path");
    let args: Vec<_> = args.collect();
    let ours = args.windows(2).any(|w| w[0] == "--crate-name" && w[1] == "compile_bench");
    let mut cmd = if ours {
        let mut c = Command::new("valgrind");
        c.arg("--tool=callgrind").arg("--quiet").arg(format!("--callgrind-out-file={}", out.to_string_lossy()));
        c.arg(&rustc);
        c
    } else {
        Command::new(&rustc)
    };
    let status = cmd.args(&args).status().expect("run rustc");
    std::process::exit(status.code().unwrap_or(1));
}

/// Migrates a fresh database for sqlx's recording build; the returned guard keeps it.
fn sqlx_database(rt: &tokio::runtime::Runtime) -> taulu::testing::TestDb {
    let migrations = taulu::migrate::Migrations::from_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
        .expect("the reference app's migrations");
    rt.block_on(taulu::testing::TestDb::new(&migrations)).expect("a database for sqlx's offline data")
}

fn main() {
    if let Some(out) = std::env::var_os(CALLGRIND_OUT) {
        wrap_rustc(&out);
    }
    let meters = if std::env::var_os("COMPILE_BENCH_INSTRUCTIONS").is_some() {
        vec![Meter::Instructions]
    } else {
        vec![Meter::Full, Meter::Rebuild]
    };
    let clock = meters[0] != Meter::Instructions;
    let n = env_usize("COMPILE_BENCH_N", if clock { 200 } else { 50 });
    let runs = if clock { env_usize("COMPILE_BENCH_RUNS", 5) } else { 1 };
    let taulu = std::env::var_os("TAULU_PATH").map(PathBuf::from).unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let with_sql = std::env::var_os("TAULU_PATH").is_none();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/compile-bench");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let sqlx = if with_sql {
        "sqlx = { version = \"0.8\", default-features = false, features = [\"postgres\", \"macros\", \"uuid\", \"runtime-tokio\"] }\n"
    } else {
        ""
    };
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"compile-bench\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ntaulu = {{ path = {:?} }}\nuuid = \"1\"\ntokio-postgres = \"0.7\"\n{sqlx}\n[workspace]\n",
            taulu.display().to_string()
        ),
    )
    .unwrap();
    println!(
        "compile cost of {n} typed queries (3 tables, 2 joins, 2 predicates, order, limit), debug build of the query crate only"
    );
    println!("taulu at {}", taulu.display());
    // Dependencies first (not measured).
    for &meter in &meters {
        build(&dir, &raw(1), meter);
    }
    let mut variants = vec![("builder", typed(n)), ("raw", raw(n))];
    if with_sql {
        variants.push(("sql!", typed_sql(n)));
        variants.push(("floor", named_floor(n)));
        // sqlx's offline data, recorded once from a migrated database; every timed build reads it.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let db = sqlx_database(&rt);
        let _ = std::fs::remove_dir_all(dir.join(".sqlx"));
        std::fs::create_dir_all(dir.join(".sqlx")).unwrap();
        build_with(&dir, &sqlx_query(n), Meter::Rebuild, &Sqlx::Record(&db.url().to_url_with_password()));
        drop(db);
        variants.push(("sqlx query!", sqlx_query(n)));
    }
    let floors = with_sql && std::env::var_os("COMPILE_BENCH_FLOORS").is_some();
    if floors {
        variants.push(("floor, shared impls", named_floor_min(n, true)));
        variants.push(("floor, bare struct", named_floor_min(n, false)));
    }
    // `COMPILE_BENCH_WRITE=<variant>`: leave that variant's crate in place, unbuilt, to look into
    // (`cargo rustc --lib -- -Ztime-passes` with RUSTC_BOOTSTRAP=1, say).
    if let Some(only) = std::env::var_os("COMPILE_BENCH_WRITE") {
        let (_, src) = variants.iter().find(|(v, _)| *v == only.to_string_lossy()).expect("a variant's name");
        let module = if src.contains("sql!") { ", module = crate::schema" } else { "" };
        let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").display().to_string();
        let schema = format!("mod schema {{\n    taulu::schema!({migrations:?}{module});\n}}\n\n");
        std::fs::write(dir.join("src/lib.rs"), schema + src).unwrap();
        return;
    }
    let index = |name: &str| variants.iter().position(|(v, _)| *v == name);
    for &meter in &meters {
        // Alternate the sources so drift hits all alike; keep each variant's fastest build.
        let mut best = vec![f64::INFINITY; variants.len()];
        for _ in 0..runs {
            for (i, (_, src)) in variants.iter().enumerate() {
                let took = if meter == Meter::Rebuild {
                    // Built as it is (not timed), then one literal of one function changed.
                    build(&dir, src, meter);
                    build(&dir, &src.replacen("value-0", "value-0-edited", 1), meter)
                } else {
                    build(&dir, src, meter)
                };
                best[i] = best[i].min(took);
            }
        }
        let unit = meter.unit();
        let over = |i: usize, base: usize| (best[i] - best[base]) / n as f64;
        let (raw_i, builder_i) = (index("raw").unwrap(), index("builder").unwrap());
        let what = match meter {
            Meter::Full => format!("full build of the crate (CARGO_INCREMENTAL=0), fastest of {runs}"),
            Meter::Rebuild => format!("incremental rebuild after one literal changed, fastest of {runs}"),
            Meter::Instructions => "callgrind, full build".to_owned(),
        };
        println!("{what}:");
        println!("  builder: {:.0} {unit}, raw strings: {:.0} {unit}", best[builder_i], best[raw_i]);
        println!("  {:.2} {unit} per typed query over a raw one", over(builder_i, raw_i));
        if let (Some(sql), Some(floor)) = (index("sql!"), index("floor")) {
            println!(
                "  sql!: {:.0} {unit}, {:.2} {unit} per sql! statement over a raw one",
                best[sql],
                over(sql, raw_i)
            );
            println!(
                "  lower bound for a named row type per statement (raw, plus a struct and a Vec of it): {:.0} {unit}, \
                 {:.2} {unit} per statement over a raw one; sql! over it: {:.2} {unit}",
                best[floor],
                over(floor, raw_i),
                over(sql, floor)
            );
        }
        if let (Some(sql), Some(sqlx)) = (index("sql!"), index("sqlx query!")) {
            println!(
                "  sqlx query! (offline data): {:.0} {unit}, {:.2} {unit} per statement over a raw one; \
                 sql! / sqlx per statement: {:.2}x (goal <= 0.25x)",
                best[sqlx],
                over(sqlx, raw_i),
                over(sql, raw_i) / over(sqlx, raw_i)
            );
        }
        if floors {
            let (shared, bare) = (index("floor, shared impls").unwrap(), index("floor, bare struct").unwrap());
            println!(
                "  the cheapest named row we know (no derives; Debug and Clone through shared code; rows in a \
                 wrapper that derefs to [Row]): {:.2} {unit} per statement over a raw one; the bare struct in \
                 that wrapper: {:.2} {unit}",
                over(shared, raw_i),
                over(bare, raw_i)
            );
        }
    }
}
