//! Bench binary: loading 1,000,000 generated `Insert` rows three ways, on the self-started local
//! PostgreSQL: `Tx::copy_in` (COPY FROM STDIN, binary, streamed from an iterator), multi-row
//! INSERT .. VALUES in batches of 5,000 rows (20,000 parameters, under PostgreSQL's 65,535), and
//! one INSERT .. SELECT FROM UNNEST of one array per column (`values_many` past 50 rows). Each
//! load starts from an empty table and commits; prints rows/s, the ratio to COPY, and how much
//! the process's peak memory grew (VmHWM only grows, so the loads run from the leanest up).
//! Then reads the 1,000,000 rows back as typed rows two ways, three rounds alternated:
//! `fetch_stream` of `.all()` (a SELECT, rows streamed) and raw tokio-postgres's
//! `COPY (SELECT ..) TO STDOUT (FORMAT binary)` decoded into the same Rust types: the
//! lower bound of a typed COPY TO. `cargo bench --bench copy_in`.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::{StreamExt, pin_mut};
use taulu::{Db, LocalCluster, prelude::*};
use taulu_app::schema::{LoginAttempts, login_attempts};
use tokio_postgres::{binary_copy::BinaryCopyOutStream, types::Type};

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
        load(&db).await;
        read(&db).await;
    });
}

async fn load(db: &Db) {
    let mut results = Vec::new();

    empty(db).await;
    let (before, start) = (support::peak_kib(), Instant::now());
    db.transaction(async |tx| tx.copy_in((0..ROWS).map(row)).await).await.unwrap();
    results.push(("COPY FROM STDIN (binary), streamed", start.elapsed(), support::peak_kib() - before));
    assert_eq!(count(db).await, i64::from(ROWS));

    empty(db).await;
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
    assert_eq!(count(db).await, i64::from(ROWS));

    empty(db).await;
    let (before, start) = (support::peak_kib(), Instant::now());
    let all: Vec<_> = (0..ROWS).map(row).collect();
    insert_into::<LoginAttempts>().values_many_as(all, Some(true)).execute(db).await.unwrap();
    results.push(("INSERT .. SELECT FROM UNNEST, one statement", start.elapsed(), support::peak_kib() - before));
    assert_eq!(count(db).await, i64::from(ROWS));

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
}

/// A table's rows, read back typed: a streamed SELECT against a streamed binary COPY TO.
async fn read(db: &Db) {
    let (mut select, mut copy) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..3 {
        let start = Instant::now();
        let rows = select_from::<LoginAttempts>().all().fetch_stream(db).await.unwrap();
        pin_mut!(rows);
        let (mut n, mut sum) = (0u32, 0i64);
        while let Some(row) = rows.next().await {
            let row = row.unwrap();
            (n, sum) = (n + 1, sum + row.id);
        }
        select += start.elapsed();
        assert_eq!(n, ROWS);

        let start = Instant::now();
        let conn = db.get().await.unwrap();
        let types = [Type::INT8, Type::UUID, Type::TEXT, Type::BOOL, Type::INET, Type::TEXT, Type::TIMESTAMPTZ];
        let out = conn
            .client()
            .copy_out("COPY (SELECT id, user_id, identifier, success, ip, user_agent, attempted_at FROM login_attempts) TO STDOUT (FORMAT binary)")
            .await
            .unwrap();
        let rows = BinaryCopyOutStream::new(out, &types);
        pin_mut!(rows);
        let (mut m, mut sum2) = (0u32, 0i64);
        while let Some(row) = rows.next().await {
            let row = row.unwrap();
            let read = login_attempts::Row {
                id: row.try_get(0).unwrap(),
                user_id: row.try_get(1).unwrap(),
                identifier: row.try_get(2).unwrap(),
                success: row.try_get(3).unwrap(),
                ip: row.try_get(4).unwrap(),
                user_agent: row.try_get(5).unwrap(),
                attempted_at: row.try_get(6).unwrap(),
            };
            (m, sum2) = (m + 1, sum2 + read.id);
        }
        copy += start.elapsed();
        assert_eq!((m, sum2), (n, sum));
    }
    let rate = |t: Duration| 3.0 * f64::from(ROWS) / t.as_secs_f64();
    println!("{ROWS} rows of login_attempts read as typed rows (7 columns), 3 rounds alternated");
    println!("  {:<52} {:>12} {:>10}", "", "rows/s", "time/COPY");
    println!(
        "  {:<52} {:>12.0} {:>9.2}x",
        "fetch_stream of .all() (SELECT, streamed)",
        rate(select),
        select.as_secs_f64() / copy.as_secs_f64()
    );
    println!("  {:<52} {:>12.0} {:>9.2}x", "raw COPY TO STDOUT (binary), decoded (lower bound)", rate(copy), 1.0);
}
