//! Bench binary: loading 1,000,000 generated `Insert` rows three ways, on the self-started local
//! PostgreSQL: `Tx::copy_in` (COPY FROM STDIN, binary, streamed from an iterator), multi-row
//! INSERT .. VALUES in batches of 5,000 rows (20,000 parameters, under PostgreSQL's 65,535), and
//! one INSERT .. SELECT FROM UNNEST of one array per column (`values_many` past 50 rows). Each
//! load starts from an empty table and commits; prints rows/s, the ratio to COPY, and how much
//! the process's peak memory grew (VmHWM only grows, so the loads run from the leanest up).
//! `cargo bench --bench copy_in`.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use taulu::{Db, LocalCluster, prelude::*};
use taulu_app::schema::{LoginAttempts, login_attempts};

const ROWS: u32 = 1_000_000;
const BATCH: u32 = 5_000;
const DB: &str = "taulu_bench_copy";

fn row(i: u32) -> login_attempts::Insert {
    login_attempts::Insert::new(format!("user-{i}@example.com"), i.is_multiple_of(3)).with_user_agent("bench/1.0")
}

async fn empty(db: &Db) {
    db.get().await.unwrap().client().batch_execute("TRUNCATE login_attempts").await.unwrap();
}

async fn count(db: &Db) -> i64 {
    select_from::<LoginAttempts>().columns((count_all(),)).fetch_one(db).await.unwrap().0
}

fn main() {
    let cluster = LocalCluster::ensure().expect("local PostgreSQL");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = support::fresh_app_db(&cluster, DB).await;
        let mut results = Vec::new();

        empty(&db).await;
        let (before, start) = (support::peak_kib(), Instant::now());
        db.transaction(async |tx| tx.copy_in((0..ROWS).map(row)).await).await.unwrap();
        results.push(("COPY FROM STDIN (binary), streamed", start.elapsed(), support::peak_kib() - before));
        assert_eq!(count(&db).await, i64::from(ROWS));

        empty(&db).await;
        let (before, start) = (support::peak_kib(), Instant::now());
        db.transaction(async |tx| {
            for b in 0..ROWS / BATCH {
                let batch: Vec<_> = (b * BATCH..(b + 1) * BATCH).map(row).collect();
                insert_into::<LoginAttempts>().values_many_as(batch, Some(false)).execute(tx).await?;
            }
            Ok(())
        })
        .await
        .unwrap();
        results.push(("INSERT .. VALUES, 5,000 rows a statement", start.elapsed(), support::peak_kib() - before));
        assert_eq!(count(&db).await, i64::from(ROWS));

        empty(&db).await;
        let (before, start) = (support::peak_kib(), Instant::now());
        let all: Vec<_> = (0..ROWS).map(row).collect();
        insert_into::<LoginAttempts>().values_many_as(all, Some(true)).execute(&db).await.unwrap();
        results.push(("INSERT .. SELECT FROM UNNEST, one statement", start.elapsed(), support::peak_kib() - before));
        assert_eq!(count(&db).await, i64::from(ROWS));

        let copy = results[0].1.as_secs_f64();
        println!("{ROWS} rows into login_attempts (3 columns given, 4 defaulted)");
        println!("  {:<44} {:>12} {:>10} {:>18}", "", "rows/s", "time/COPY", "peak memory grew");
        for (name, took, grew) in results {
            println!(
                "  {name:<44} {:>12.0} {:>9.2}x {:>14} KiB",
                f64::from(ROWS) / took.as_secs_f64(),
                took.as_secs_f64() / copy,
                grew
            );
        }
    });
}
