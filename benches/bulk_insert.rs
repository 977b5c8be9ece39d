//! Bench binary: a many-row INSERT as a VALUES list against one array per column through UNNEST,
//! for growing row counts, on the self-started local PostgreSQL through the pool (each insert in
//! a transaction rolled back, so the table stays the same size). Prints the median time per
//! statement and the ratio; `values_many` switches to UNNEST at `UNNEST_FROM_ROWS`.
//! `cargo bench --bench bulk_insert`.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use taulu::{Db, LocalCluster, prelude::*};
use taulu_app::schema::{LoginAttempts, login_attempts};

const DB: &str = "taulu_bench_bulk";

fn rows(n: usize) -> Vec<login_attempts::Insert> {
    (0..n)
        .map(|i| login_attempts::Insert::new(format!("user-{i}@example.com"), i % 3 == 0).with_user_agent("bench/1.0"))
        .collect()
}

/// The median time of `rounds` inserts of `n` rows (`n + round` when `vary`, so every VALUES
/// statement has a text the statement cache has not seen, as in a service inserting batches of
/// whatever size arrives).
async fn median(db: &Db, n: usize, unnest: bool, rounds: usize, vary: bool) -> Duration {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let batch = rows(if vary { n + round } else { n });
        let start = Instant::now();
        let inserted = db
            .transaction(async |tx| {
                let n = insert_into::<LoginAttempts>().values_many_as(batch, Some(unnest)).execute(tx).await?;
                Err::<u64, _>(taulu::Error::Config { reason: format!("rolled back after {n} rows") })
            })
            .await;
        times.push(start.elapsed());
        assert!(matches!(inserted, Err(taulu::Error::Config { .. })));
    }
    times.sort();
    times[rounds / 2]
}

fn main() {
    let cluster = LocalCluster::ensure().expect("local PostgreSQL");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = support::fresh_app_db(&cluster, DB).await;
        for (title, vary) in [
            ("same row count every time (statements cached)", false),
            ("row counts that vary (a new VALUES text each time)", true),
        ] {
            println!("{title}\n  rows     VALUES       UNNEST   UNNEST/VALUES");
            for n in [1usize, 5, 10, 20, 50, 100, 500, 2_000, 10_000] {
                let rounds = if n >= 2_000 { 7 } else { 31 };
                // Warm both forms (and, for the same-count runs, the statement cache) first.
                median(&db, n, false, 3, vary).await;
                median(&db, n, true, 3, vary).await;
                let values = median(&db, n, false, rounds, vary).await;
                let unnest = median(&db, n, true, rounds, vary).await;
                println!(
                    "  {n:>6} {:>9.0} µs {:>9.0} µs     {:.2}",
                    values.as_secs_f64() * 1e6,
                    unnest.as_secs_f64() * 1e6,
                    unnest.as_secs_f64() / values.as_secs_f64()
                );
            }
        }
    });
}
