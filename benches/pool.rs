//! Bench runner: primary-key SELECT throughput with 5 connections, in one run on the same
//! self-started server, over TCP and over the Unix socket, for
//! - raw tokio-postgres, one prepared statement per connection (the reference);
//! - taulu: the typed builder, the pool, the retry layer and the per-connection statement cache;
//! - `pgbench -S -M prepared -c 5` on the same data (pgbench scale 10).
//!
//! `cargo bench --bench pool` (set `BENCH_SECS` to change the 5 s per measurement).
//! Prints queries per second and the ratios.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use taulu::{DatabaseUrl, Db, DbConfig, LocalCluster, prelude::*};

mod bench_schema {
    taulu::schema!("benches/pgbench_schema");
}
use bench_schema::{PgbenchAccounts, pgbench_accounts};

const CLIENTS: usize = 5;
const SCALE: i32 = 10;
const DB: &str = "taulu_bench";

fn key(seed: &mut u64) -> i32 {
    // xorshift: cheap, and the same distribution for every contender.
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed % (100_000 * SCALE as u64)) as i32 + 1
}

async fn raw(url: &DatabaseUrl, secs: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = taulu::connect(url).await.unwrap();
        let (stop, count) = (stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let stmt = client.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1").await.unwrap();
            let mut seed = 0x9E37_79B9_7F4A_7C15 ^ c as u64;
            while !stop.load(Ordering::Relaxed) {
                let row = client.query_one(&stmt, &[&key(&mut seed)]).await.unwrap();
                std::hint::black_box(row.get::<_, Option<i32>>(0));
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    measure(secs, &stop, &count, tasks).await
}

async fn taulu(url: &DatabaseUrl, secs: u64) -> f64 {
    let mut cfg = DbConfig::new(url.clone());
    cfg.max_size = CLIENTS as u32;
    cfg.min_idle = CLIENTS as u32;
    let db = Db::connect(cfg).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (db, stop, count) = (db.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = 0x9E37_79B9_7F4A_7C15 ^ c as u64;
            while !stop.load(Ordering::Relaxed) {
                let (balance,) = select_from::<PgbenchAccounts>()
                    .columns((pgbench_accounts::abalance,))
                    .where_(pgbench_accounts::aid.eq(key(&mut seed)))
                    .fetch_one(&db)
                    .await
                    .unwrap();
                std::hint::black_box(balance);
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    measure(secs, &stop, &count, tasks).await
}

async fn measure(secs: u64, stop: &AtomicBool, count: &AtomicU64, tasks: Vec<tokio::task::JoinHandle<()>>) -> f64 {
    // Warm up for a second, then count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (start, before) = (Instant::now(), count.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let qps = (count.load(Ordering::Relaxed) - before) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    qps
}

fn pgbench(cluster: &LocalCluster, host: &str, args: &[&str]) -> String {
    let bindir = taulu::local::find_bindir().unwrap();
    let exe = if bindir.join("pgbench").exists() { bindir.join("pgbench") } else { "pgbench".into() };
    let out = std::process::Command::new(exe)
        .args(["-h", host, "-p", &cluster.port().to_string(), "-U", "postgres"])
        .args(args)
        .arg(DB)
        .env("PGPASSWORD", cluster.password())
        .output()
        .expect("run pgbench");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "pgbench failed: {text}");
    text
}

fn pgbench_tps(cluster: &LocalCluster, host: &str, secs: u64) -> f64 {
    let text = pgbench(cluster, host, &["-S", "-M", "prepared", "-c", "5", "-j", "2", "-T", &secs.to_string()]);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench output: {text}"))
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let cluster = LocalCluster::ensure().expect("local PostgreSQL");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)")).await.unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {DB}")).await.unwrap();
    });
    println!("initialising pgbench data (scale {SCALE}) ...");
    pgbench(&cluster, "127.0.0.1", &["-i", "-q", "-s", &SCALE.to_string()]);

    let mut transports = vec![("TCP 127.0.0.1", cluster.url(DB), "127.0.0.1".to_owned())];
    if let (Some(sock), Some(dir)) = (cluster.socket_url(DB), cluster.socket_dir()) {
        transports.push(("Unix socket", sock, dir.display().to_string()));
    }
    println!("{CLIENTS} clients, {secs} s per measurement, primary-key SELECT on pgbench_accounts\n");
    println!(
        "{:<14} {:>14} {:>14} {:>14} {:>12} {:>12}",
        "transport", "raw tokio-pg", "taulu", "pgbench", "taulu/raw", "taulu/pgb"
    );
    for (name, url, host) in transports {
        let raw_qps = rt.block_on(raw(&url, secs));
        let taulu_qps = rt.block_on(taulu(&url, secs));
        let pgb = pgbench_tps(&cluster, &host, secs);
        println!(
            "{name:<14} {raw_qps:>14.0} {taulu_qps:>14.0} {pgb:>14.0} {:>11.1}% {:>11.1}%",
            100.0 * taulu_qps / raw_qps,
            100.0 * taulu_qps / pgb
        );
    }
    rt.block_on(async {
        let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)")).await.unwrap();
    });
}
