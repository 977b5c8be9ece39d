//! `taulu-corpus DIR`: measures taulu on real applications kept on this machine, never in the
//! repository. `DIR` holds one directory per project, each with the project's `migrations/` as
//! it is on disk (any layout taulu reads) and its sqlx offline data: `.sqlx/query-*.json` or an
//! older `sqlx-data.json` (each statement's text, and what the project's PostgreSQL described).
//!
//! For each project it generates a crate (under `target/taulu-corpus/`) that points `schema!`,
//! `migrations!` and the `sql!` typer at those files exactly as an adopting project would, builds
//! it (a migration the model cannot replay fails that build, and is reported), and runs it: the
//! migrations applied by taulu's runner to a fresh database, every statement PREPAREd there and
//! compared with what taulu typed, nullability compared with sqlx's. Then it prints one table.
//!
//! ```text
//! cargo run -p taulu-corpus -- ~/corpus               # every project
//! cargo run -p taulu-corpus -- ~/corpus bors mas      # some of them
//! ```
//!
//! A project whose migrations expect what its platform provides (a schema or role its hosting
//! creates) may have a `prelude.sql` beside `migrations/`: it runs on the fresh database first.
//!
//! Each project's details (every refusal with its reason, every disagreement, every nullability
//! difference with the statement) are in `target/taulu-corpus/<project>/report.txt`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: taulu-corpus DIR [PROJECT..]  (DIR/<project>/migrations and .sqlx/ or sqlx-data.json)");
        std::process::exit(2);
    };
    let only: Vec<String> = args.collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace");
    let out = root.join("target/taulu-corpus");
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("migrations").is_dir())
        .filter(|p| only.is_empty() || only.iter().any(|o| p.file_name().is_some_and(|n| n == o.as_str())))
        .collect();
    projects.sort();
    let mut rows = Vec::new();
    for project in &projects {
        let name = project.file_name().unwrap().to_string_lossy().into_owned();
        eprintln!("== {name}");
        rows.push(measure(&root, &out, &name, project));
    }
    print_table(&rows);
}

/// A statement of the project's offline data: its text and sqlx's nullability per column.
struct Offline {
    query: String,
    nullable: Vec<serde_json::Value>,
}

fn offline_data(project: &Path) -> Vec<Offline> {
    let mut records: Vec<(String, serde_json::Value)> = Vec::new();
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    if let Ok(entries) = std::fs::read_dir(project.join(".sqlx")) {
        for e in entries.flatten() {
            let v = read(&e.path());
            records.push((e.file_name().to_string_lossy().into_owned(), v));
        }
    }
    if project.join("sqlx-data.json").is_file()
        && let serde_json::Value::Object(map) = read(&project.join("sqlx-data.json"))
    {
        records.extend(map.into_iter().filter(|(k, _)| k != "db"));
    }
    records.sort_by(|a, b| a.0.cmp(&b.0));
    records
        .into_iter()
        .filter_map(|(_, v)| {
            let query = v["query"].as_str()?.trim().trim_end_matches(';').trim().to_owned();
            let nullable = v["describe"]["nullable"].as_array().cloned().unwrap_or_default();
            Some(Offline { query, nullable })
        })
        .collect()
}

fn measure(root: &Path, out: &Path, name: &str, project: &Path) -> serde_json::Value {
    let here = out.join(name);
    std::fs::create_dir_all(here.join("src")).unwrap();
    let migrations = project.join("migrations").canonicalize().unwrap();
    // The statements, one after another, each after a comment line; sqlx's record of each, by the
    // line its text starts on (the corpus reader reports that line).
    let (mut text, mut sidecar, mut line) = (String::new(), Vec::new(), 1usize);
    for s in offline_data(project) {
        text.push_str("-- statement\n");
        line += 1;
        sidecar.push(serde_json::json!({ "line": line, "nullable": s.nullable }));
        text.push_str(&s.query);
        text.push_str(";\n\n");
        line += s.query.matches('\n').count() + 2;
    }
    std::fs::write(here.join("statements.sql"), text).unwrap();
    let prelude = project.join("prelude.sql");
    if prelude.is_file() {
        std::fs::copy(&prelude, here.join("prelude.sql")).unwrap();
    }
    std::fs::write(here.join("sqlx.json"), serde_json::Value::Array(sidecar).to_string()).unwrap();
    let (migrations, statements, here_s) = (
        migrations.display().to_string(),
        here.join("statements.sql").display().to_string(),
        here.display().to_string(),
    );
    std::fs::write(
        here.join("Cargo.toml"),
        format!(
            "[package]\nname = \"corpus-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n\
             [dependencies]\ntaulu = {{ path = {root:?}, features = [\"testing\"] }}\n\
             taulu-corpus = {{ path = {tool:?} }}\ntokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n",
            root = root.display().to_string(),
            tool = root.join("tools/corpus").display().to_string(),
        ),
    )
    .unwrap();
    std::fs::write(
        here.join("src/main.rs"),
        format!(
            "// Generated by taulu-corpus: the project's files, pointed at as an adopting project would.\n\
             mod schema {{\n    taulu::schema!({migrations:?});\n}}\n\
             static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!({migrations:?});\n\
             const CORPUS: &[taulu::query::CorpusEntry] = taulu::__private::sql_corpus!({migrations:?}, {statements:?});\n\
             #[tokio::main(flavor = \"current_thread\")]\n\
             async fn main() {{\n    taulu_corpus::run({name:?}, &MIGRATIONS, &schema::SCHEMA, CORPUS, {here_s:?}).await;\n}}\n"
        ),
    )
    .unwrap();
    let target = out.join("target");
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(here.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo");
    if !built.status.success() {
        let errors: Vec<String> = String::from_utf8_lossy(&built.stderr)
            .lines()
            .filter(|l| l.starts_with("error"))
            .map(str::to_owned)
            .collect();
        std::fs::write(here.join("report.txt"), String::from_utf8_lossy(&built.stderr).as_bytes()).unwrap();
        eprintln!("   the build failed: {}", errors.first().map_or("", String::as_str));
        return serde_json::json!({ "project": name, "build_errors": errors });
    }
    let ran = Command::new(target.join(format!("debug/corpus-{name}"))).current_dir(root).output().expect("run");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    match stdout.lines().last().and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
        Some(summary) => {
            eprintln!("   {summary}");
            summary
        }
        None => {
            eprintln!("   the run failed: {}", String::from_utf8_lossy(&ran.stderr));
            serde_json::json!({ "project": name, "run_error": String::from_utf8_lossy(&ran.stderr) })
        }
    }
}

fn print_table(rows: &[serde_json::Value]) {
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    println!(
        "| project | layout | migrations | statements | typed | agree with PREPARE | refused | PostgreSQL refuses here \
         | drift | nullability: same / taulu nullable, sqlx not / taulu NOT NULL, sqlx nullable |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut total = [0u64; 10];
    for r in rows {
        let project = r["project"].as_str().unwrap_or("");
        if let Some(errors) = r["build_errors"].as_array() {
            println!("| {project} | build failed: {} |", errors.first().and_then(|e| e.as_str()).unwrap_or(""));
            continue;
        }
        let nul = &r["nullability"];
        let row = [
            n(r, "migrations"),
            n(r, "statements"),
            n(r, "typed"),
            n(r, "agree"),
            n(r, "refused"),
            n(r, "postgres_refuses"),
            n(r, "drift"),
            n(nul, "same"),
            n(nul, "taulu_nullable_sqlx_not_null"),
            n(nul, "taulu_not_null_sqlx_nullable"),
        ];
        for (t, v) in total.iter_mut().zip(row) {
            *t += v;
        }
        let [m, st, ty, ag, re, pg, dr, same, tn, tnn] = row;
        let layout = r["layout"].as_str().unwrap_or("");
        println!("| {project} | {layout} | {m} | {st} | {ty} | {ag} | {re} | {pg} | {dr} | {same} / {tn} / {tnn} |");
    }
    let [m, st, ty, ag, re, pg, dr, same, tn, tnn] = total;
    println!("| **total** | | {m} | {st} | {ty} | {ag} | {re} | {pg} | {dr} | {same} / {tn} / {tnn} |");
    if ty + re > 0 {
        let share = ty as f64 * 100.0 / (ty + re) as f64;
        println!("\ntyped {ty} of the {} statements PostgreSQL takes on the migrated databases ({share:.1}%)", ty + re);
    }
    let mut reasons = std::collections::BTreeMap::<String, u64>::new();
    for r in rows {
        if let Some(map) = r["reasons"].as_object() {
            for (k, v) in map {
                *reasons.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (k, v) in reasons {
        println!("  {v:4}  {k}");
    }
}
