//! Bench binary: peak memory of reading 1,000,000 rows with `fetch_stream` against `fetch_all`, on
//! the self-started local PostgreSQL. `cargo bench --bench stream_memory`. Streaming runs first
//! (the peak, VmHWM, only ever grows), so each figure is the growth its own read caused.

#[path = "support/mod.rs"]
mod support;

use futures_util::TryStreamExt as _;
use taulu::{LocalCluster, prelude::*};
use taulu_app::schema::{LoginAttempts, login_attempts};

const ROWS: i64 = 1_000_000;
const DB: &str = "taulu_bench_stream";

fn main() {
    let cluster = LocalCluster::ensure().expect("local PostgreSQL");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = support::fresh_app_db(&cluster, DB).await;
        db.get()
            .await
            .unwrap()
            .client()
            .batch_execute(&format!(
                "INSERT INTO login_attempts (identifier, success) SELECT 'user-' || g || '@example.com', g % 3 = 0 FROM generate_series(1, {ROWS}) g"
            ))
            .await
            .unwrap();
        let q = select_from::<LoginAttempts>().columns((login_attempts::id, login_attempts::identifier, login_attempts::success));

        let before = support::peak_kib();
        let mut stream = q.fetch_stream(&db).await.unwrap();
        let (mut n, mut bytes) = (0u64, 0usize);
        while let Some((_, identifier, _)) = stream.try_next().await.unwrap() {
            n += 1;
            bytes += identifier.len();
        }
        drop(stream);
        let streamed = support::peak_kib() - before;
        assert_eq!(n, ROWS as u64);

        let before = support::peak_kib();
        let all = q.fetch_all(&db).await.unwrap();
        let buffered = support::peak_kib() - before;
        assert_eq!(all.len() as i64, ROWS);
        drop(all);
        println!("{ROWS} rows ({} MB of identifiers)", bytes / 1_000_000);
        println!("  fetch_stream: peak memory grew {:>7} KiB", streamed);
        println!("  fetch_all:    peak memory grew {:>7} KiB", buffered);
    });
}
