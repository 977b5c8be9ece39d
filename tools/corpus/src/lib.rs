//! The measuring half of `taulu-corpus`, run inside the crate it generates for each project: the
//! project's migrations applied by taulu's runner to a fresh database, every statement taulu typed
//! at build time PREPAREd there and compared (parameter and column types and names), nullability
//! compared with what sqlx recorded, and the compiled schema checked against the migrated catalog.
//! Prints one JSON summary line; writes the details (every refusal, disagreement and nullability
//! difference, with the statement) to `report.txt` beside the statements, for reading by hand.

use std::fmt::Write as _;

use taulu::{meta::Schema, migrate::Embedded, query::CorpusEntry, testing::TestDb};

/// One statement's sqlx record: the line of `statements.sql` it starts on, and the nullability
/// sqlx's offline data gives each column (`None`: sqlx did not know).
struct Recorded {
    line: usize,
    nullable: Vec<Option<bool>>,
}

/// A fresh database with the migrations applied, after the project's `prelude.sql` if it has one.
async fn fresh_database(migrations: &Embedded, dir: &str) -> taulu::Result<TestDb> {
    let Ok(prelude) = std::fs::read_to_string(format!("{dir}/prelude.sql")) else {
        return TestDb::new(migrations).await;
    };
    let db = TestDb::empty().await?;
    db.client().batch_execute(&prelude).await?;
    taulu::migrate::Migrator::new(migrations).up(db.client(), None).await?;
    Ok(db)
}

/// Measures one project and prints its summary as one JSON line on stdout.
pub async fn run(project: &str, migrations: &Embedded, schema: &Schema, corpus: &[CorpusEntry], dir: &str) {
    let recorded: Vec<Recorded> = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(format!("{dir}/sqlx.json")).expect("sqlx.json"),
    )
    .expect("sqlx.json is JSON")
    .as_array()
    .expect("an array")
    .iter()
    .map(|r| Recorded {
        line: r["line"].as_u64().expect("line") as usize,
        nullable: r["nullable"].as_array().map(|a| a.iter().map(|v| v.as_bool()).collect()).unwrap_or_default(),
    })
    .collect();
    let mut report = String::new();
    let mut summary = serde_json::json!({
        "project": project,
        "layout": migrations.layout().name(),
        "migrations": migrations.len(),
        "statements": corpus.len(),
    });
    let db = match fresh_database(migrations, dir).await {
        Ok(db) => db,
        Err(e) => {
            let _ = writeln!(report, "the runner could not apply the migrations: {e}");
            summary["runner_error"] = e.to_string().into();
            summary["typed"] = corpus.iter().filter(|e| e.typed.is_ok()).count().into();
            finish(dir, &report, &summary);
            return;
        }
    };
    let mut drift = taulu::meta::check(db.client(), schema).await.expect("the catalog is readable");
    if !drift.is_ok() {
        let _ = writeln!(report, "drift between the compiled schema and the migrated catalog:\n{drift}\n");
    }
    // The drift check asks only for what the code knows; sequences are compared both ways, so a
    // sequence the migrations made and the model lacks counts too.
    let live: std::collections::BTreeSet<(String, String)> = db
        .client()
        .query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'S' AND n.nspname NOT LIKE 'pg\\_%' AND c.relname <> 'taulu_schema_migrations_id_seq'",
            &[],
        )
        .await
        .expect("the catalog is readable")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (schema_name, name) in &live {
        if !schema.sequences.iter().any(|s| s.schema == schema_name && s.name == name) {
            let _ = writeln!(report, "sequence {schema_name}.{name} is in the database, not in the model");
            drift
                .drifts
                .push(taulu::meta::Drift::MissingSequence { name: format!("{schema_name}.{name} (not modelled)") });
        }
    }
    summary["sequences"] = live.len().into();
    let (mut typed, mut agree, mut postgres_refuses) = (0, 0, 0);
    let mut refused: Vec<String> = Vec::new();
    let (mut same, mut we_nullable, mut we_not_null, mut sqlx_unknown) = (0, 0, 0, 0);
    for e in corpus {
        let prepared = db.client().prepare(e.sql).await;
        let shape = match (&e.typed, prepared) {
            (_, Err(err)) => {
                postgres_refuses += 1;
                let _ = writeln!(
                    report,
                    "line {}: PostgreSQL refuses it here: {}\n  {}\n",
                    e.line,
                    taulu::Error::from(err),
                    e.sql
                );
                continue;
            }
            (Err(reason), Ok(_)) => {
                refused.push(reason.to_string());
                let _ = writeln!(report, "line {}: refused: {reason}\n  {}\n", e.line, e.sql);
                continue;
            }
            (Ok(shape), Ok(_)) => shape,
        };
        typed += 1;
        match taulu::testing::check_sql(db.client(), std::slice::from_ref(shape)).await {
            Ok(()) => agree += 1,
            Err(diff) => {
                let _ = writeln!(report, "line {}: DISAGREES with PREPARE: {diff}", e.line);
            }
        }
        let Some(sqlx) = recorded.iter().find(|r| r.line == e.line) else { continue };
        for (i, &(name, _, ours)) in shape.columns.iter().enumerate() {
            match sqlx.nullable.get(i).copied().flatten() {
                None => sqlx_unknown += 1,
                Some(theirs) if theirs == ours => same += 1,
                Some(theirs) => {
                    if ours {
                        we_nullable += 1;
                    } else {
                        we_not_null += 1;
                    }
                    let _ = writeln!(
                        report,
                        "line {}: nullability of {name:?}: taulu {}, sqlx {}\n  {}\n",
                        e.line,
                        if ours { "nullable" } else { "NOT NULL" },
                        if theirs { "nullable" } else { "NOT NULL" },
                        e.sql
                    );
                }
            }
        }
    }
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for r in &refused {
        // The reason's kind: its words up to the first quote or parenthesis.
        let kind: String = r.split(['"', '(', ':', '`']).next().unwrap_or(r).trim().chars().take(70).collect();
        *reasons.entry(kind).or_default() += 1;
    }
    summary["typed"] = typed.into();
    summary["agree"] = agree.into();
    summary["refused"] = refused.len().into();
    summary["postgres_refuses"] = postgres_refuses.into();
    summary["drift"] = drift.drifts.len().into();
    summary["nullability"] = serde_json::json!({
        "same": same, "taulu_nullable_sqlx_not_null": we_nullable,
        "taulu_not_null_sqlx_nullable": we_not_null, "sqlx_unknown": sqlx_unknown,
    });
    summary["reasons"] = serde_json::json!(reasons);
    finish(dir, &report, &summary);
}

fn finish(dir: &str, report: &str, summary: &serde_json::Value) {
    std::fs::write(format!("{dir}/report.txt"), report).expect("report.txt");
    println!("{summary}");
}
