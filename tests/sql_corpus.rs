//! `sql!`'s accuracy, measured: every statement of `tests/fixtures/sql_corpus/corpus.sql` (an
//! auth/orgs service, a job queue, reporting, a type-rich catalog) is typed by the macro's typer
//! at build time and PREPAREd on PostgreSQL here. Every type the typer gives must be PostgreSQL's;
//! the share it refuses is reported and bounded; nullability is compared on the hand-checked
//! subset (`-- nullable:` lines).
//!
//! `cargo test --test sql_corpus -- --nocapture` prints the report.

use taulu::{query::CorpusEntry, testing::TestDb};

static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("tests/fixtures/sql_corpus/migrations");
const CORPUS: &[CorpusEntry] =
    taulu::__private::sql_corpus!("tests/fixtures/sql_corpus/migrations", "tests/fixtures/sql_corpus/corpus.sql");

#[tokio::test]
async fn the_typer_agrees_with_postgresql_on_every_statement_it_types() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let mut wrong = String::new();
    let mut refused = Vec::new();
    let (mut checked_columns, mut nullability_right) = (0, 0);
    let mut nullability_misses = Vec::new();
    for e in CORPUS {
        let prepared = db.client().prepare(e.sql).await;
        match (&e.typed, prepared) {
            (_, Err(err)) => wrong.push_str(&format!(
                "line {}: PostgreSQL refuses a corpus statement: {}\n  {}\n",
                e.line,
                taulu::Error::Db(err),
                e.sql
            )),
            (Err(reason), Ok(_)) => refused.push(format!("line {}: {reason}\n  {}", e.line, e.sql)),
            (Ok(shape), Ok(_)) => {
                if let Err(diff) = taulu::testing::check_sql(db.client(), std::slice::from_ref(shape)).await {
                    wrong.push_str(&format!("line {}: {diff}", e.line));
                }
                if let Some(expected) = e.nullable {
                    let inferred: Vec<bool> = shape.columns.iter().map(|c| c.2).collect();
                    assert_eq!(inferred.len(), expected.len(), "line {}: `-- nullable:` lists every column", e.line);
                    checked_columns += expected.len();
                    let right = inferred.iter().zip(expected).filter(|(a, b)| a == b).count();
                    nullability_right += right;
                    if right != expected.len() {
                        nullability_misses
                            .push(format!("line {}: inferred {inferred:?}, hand-checked {expected:?}", e.line));
                    }
                }
            }
        }
    }
    let total = CORPUS.len();
    let share = refused.len() as f64 * 100.0 / total as f64;
    println!(
        "sql! corpus: {total} statements, {} typed (all agree with PREPARE), {} refused ({share:.1}%); \
         nullability on the hand-checked subset: {nullability_right}/{checked_columns} columns",
        total - refused.len(),
        refused.len()
    );
    for r in &refused {
        println!("refused: {r}");
    }
    for m in &nullability_misses {
        println!("nullability: {m}");
    }
    assert!(wrong.is_empty(), "the typer disagrees with PostgreSQL:\n{wrong}");
    assert!(total >= 150, "the corpus has {total} statements");
    assert!(share < 5.0, "{share:.1}% refused (goal: under 5%)");
    assert!(nullability_misses.is_empty(), "nullability differs from the hand-checked answers");
}

/// The corpus schema, typed, for `sql!` statements of its own (domains, type-rich columns).
mod corpus {
    taulu::schema!("tests/fixtures/sql_corpus/migrations", module = crate::corpus);
}

#[tokio::test]
async fn a_domain_typed_parameter_is_sent_as_its_base_type_and_the_domain_still_checks() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    // Through the pool: the statement is prepared by name, so the server types $1 as the domain.
    let pool = db.pool();
    let user = corpus::sql!(
        "INSERT INTO users (email, name, tags) VALUES ($1, $2, $3) RETURNING id, email, tags",
        "ann@example.com",
        "Ann",
        vec!["a".to_owned()]
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((user.email.as_str(), user.tags.as_slice()), ("ann@example.com", ["a".to_owned()].as_slice()));
    let refused = corpus::sql!("UPDATE users SET email = $1 WHERE id = $2", "no at sign", user.id)
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), taulu::ErrorKind::CheckViolation, "{refused}");
    // numeric, char(n), smallint[] and a domain over integer, both ways.
    let sku = "SKU00001";
    corpus::sql!(
        "INSERT INTO products (sku, title, price, qty_step, dims) VALUES ($1, $2, $3, $4, $5)",
        sku,
        "Lamp",
        rust_decimal::Decimal::new(1999, 2),
        6,
        vec![10_i16, 20]
    )
    .execute(&pool)
    .await
    .unwrap();
    let p = corpus::sql!("SELECT price * 2 AS double, qty_step, dims[2] AS depth FROM products WHERE sku = $1", sku)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((p.double, p.qty_step, p.depth), (rust_decimal::Decimal::new(3998, 2), Some(6), Some(20)));
}

#[tokio::test]
async fn a_procedure_runs_by_call_and_its_out_arguments_come_back_as_a_row() {
    let db = TestDb::new(&MIGRATIONS).await.unwrap();
    let pool = db.pool();
    let job =
        corpus::sql!("INSERT INTO jobs (queue, payload) VALUES ($1, $2) RETURNING id", "mail", serde_json::json!({}))
            .fetch_one(&pool)
            .await
            .unwrap()
            .id;
    // INOUT `claimed` goes in and comes back; OUT `job` is passed as NULL and comes back set.
    let first = corpus::sql!("CALL claim_next($1, $2, NULL, $3)", "mail", "w1", 5).fetch_one(&pool).await.unwrap();
    assert_eq!((first.job, first.claimed), (Some(job), Some(6)));
    let none = corpus::sql!("CALL claim_next($1, $2, NULL, $3)", "mail", "w1", 0).fetch_one(&pool).await.unwrap();
    assert_eq!((none.job, none.claimed), (None, Some(0)), "nothing left to claim");
    // Without OUT arguments a CALL is executed; the default argument may be left out.
    assert_eq!(corpus::sql!("CALL requeue($1)", job).shape().columns.len(), 0);
    corpus::sql!("CALL requeue($1)", job).execute(&pool).await.unwrap();
    let state =
        corpus::sql!("SELECT state::text AS s, locked_by FROM jobs WHERE id = $1", job).fetch_one(&pool).await.unwrap();
    assert_eq!((state.s.as_str(), state.locked_by), ("queued", None));
    // A CALL may write: never retried.
    assert!(!corpus::sql!("CALL requeue($1)", job).shape().read_only);
}
