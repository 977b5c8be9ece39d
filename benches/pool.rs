//! Bench runner: primary-key SELECT throughput with 5 connections, in one run on the same
//! self-started server, over TCP and over the Unix socket, for
//! - raw tokio-postgres, one prepared statement per connection (the reference);
//! - pool only: a bb8 checkout per query and the statement cache, SQL rendered once, no retry
//!   loop (what the pool costs by itself);
//! - taulu on a held connection: the builder and the statement cache on a connection each task
//!   checks out once (what the builder costs without the checkout);
//! - taulu: the typed builder, the pool, the retry layer and the per-connection statement cache;
//! - `pgbench -S -M prepared -c 5` on the same data (pgbench scale 10);
//! - PgBouncer: taulu in PgBouncer mode (statement cache off: unnamed typed statements) directly
//!   and through a real PgBouncer in transaction mode with 5 server connections (what the extra
//!   hop costs), and `pgbench -S -M extended -c 5` the same two ways.
//!
//! `cargo bench --bench pool`. The contenders alternate on the same server for `BENCH_ROUNDS`
//! rounds (default 3) of `BENCH_SECS` seconds (default 3) each, so drift and order effects hit all
//! alike; the totals give the ratios. `BENCH_WORKERS` sets the tokio worker threads (default 2,
//! one per core of the machine this was written on). Also prints each contender's client CPU time
//! per query (from `/proc`): throughput on a 2-core machine shared with the server is bounded by it.
//! `BENCH_INSTRUCTIONS=raw50,mux50` counts the client's instructions per query instead (callgrind):
//! other load on the machine does not move it, though how many answers arrive per wakeup still
//! does, by up to 10% from run to run; compare medians of several runs.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use taulu::{DatabaseUrl, Db, DbConfig, LocalCluster, local::LocalPgBouncer, prelude::*, query::Bind};

mod bench_schema {
    taulu::schema!("benches/pgbench_schema");
}
use bench_schema::{PgbenchAccounts, pgbench_accounts};

#[path = "support/cpu.rs"]
mod cpu;
use cpu::process_cpu;

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

/// One measurement: queries completed, wall time, and the client's CPU time over it.
#[derive(Default, Clone, Copy)]
struct Sample {
    queries: u64,
    wall: Duration,
    cpu: Duration,
}

impl Sample {
    fn qps(&self) -> f64 {
        self.queries as f64 / self.wall.as_secs_f64()
    }
    /// Client CPU per query in µs: the cost a contender adds on top of the server's work.
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.queries as f64
    }
    fn add(&mut self, o: Sample) {
        self.queries += o.queries;
        self.wall += o.wall;
        self.cpu += o.cpu;
    }
}

/// The stop flag and query counter a contender's client tasks share.
#[derive(Clone, Default)]
struct Clients {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
}

impl Clients {
    /// Client `c`'s keys, until stopped; asking for the next key counts the previous query done.
    fn keys(&self, c: usize) -> Keys {
        Keys { clients: self.clone(), seed: 0x9E37_79B9_7F4A_7C15 ^ c as u64, started: false }
    }
}

struct Keys {
    clients: Clients,
    seed: u64,
    started: bool,
}

impl Iterator for Keys {
    type Item = i32;
    fn next(&mut self) -> Option<i32> {
        if std::mem::replace(&mut self.started, true) {
            self.clients.count.fetch_add(1, Ordering::Relaxed);
        }
        (!self.clients.stop.load(Ordering::Relaxed)).then(|| key(&mut self.seed))
    }
}

async fn raw(url: &DatabaseUrl, secs: u64) -> Sample {
    let clients = Clients::default();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, clients) = (taulu::connect(url).await.unwrap(), clients.clone());
        tasks.push(tokio::spawn(async move {
            let stmt = client.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1").await.unwrap();
            for key in clients.keys(c) {
                let row = client.query_one(&stmt, &[&key]).await.unwrap();
                std::hint::black_box(row.get::<_, Option<i32>>(0));
            }
        }));
    }
    measure(secs, &clients, tasks).await
}

/// Raw tokio-postgres with `n` client tasks sharing [`CLIENTS`] connections (task `c` on
/// connection `c % CLIENTS`), pipelined by tokio-postgres: the yardstick for multiplexing, what
/// sharing connections gives with nothing of taulu's on top.
async fn raw_shared(url: &DatabaseUrl, n: usize, secs: u64) -> Sample {
    let clients = Clients::default();
    let mut conns = Vec::new();
    for _ in 0..CLIENTS {
        let client = Arc::new(taulu::connect(url).await.unwrap());
        let stmt = client.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1").await.unwrap();
        conns.push((client, stmt));
    }
    let mut tasks = Vec::new();
    for c in 0..n {
        let ((client, stmt), clients) = (conns[c % CLIENTS].clone(), clients.clone());
        tasks.push(tokio::spawn(async move {
            for key in clients.keys(c) {
                let row = client.query_one(&stmt, &[&key]).await.unwrap();
                std::hint::black_box(row.get::<_, Option<i32>>(0));
            }
        }));
    }
    measure(secs, &clients, tasks).await
}

/// The pool alone: a bb8 checkout per query and the per-connection statement cache, with the
/// SQL rendered once and no retry loop. Separates what the checkout costs from what the builder
/// and the retry layer add.
async fn pool_only(db: &Db, secs: u64) -> Sample {
    let clients = Clients::default();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (db, clients) = (db.clone(), clients.clone());
        tasks.push(tokio::spawn(async move {
            let mut q = select_from::<PgbenchAccounts>()
                .columns((pgbench_accounts::abalance,))
                .where_(pgbench_accounts::aid.eq(0))
                .compile();
            for key in clients.keys(c) {
                q.params[0] = Bind::<i32>::bind(key);
                let conn = db.get().await.unwrap();
                let row = conn.query_first(&q).await.unwrap().unwrap();
                std::hint::black_box(row.get::<_, Option<i32>>(0));
            }
        }));
    }
    measure(secs, &clients, tasks).await
}

/// The builder's primary-key select, as every taulu contender runs it.
async fn select_balance(db: &impl Executor, key: i32) {
    let (balance,) = select_from::<PgbenchAccounts>()
        .columns((pgbench_accounts::abalance,))
        .where_(pgbench_accounts::aid.eq(key))
        .fetch_one(db)
        .await
        .unwrap();
    std::hint::black_box(balance);
}

/// taulu on a connection each task checks out once and keeps (`held`), or through the pool with
/// a checkout per query: the builder and the statement cache without and with the checkout (the
/// retry layer works per checkout, so only the pooled variant has it).
async fn taulu(db: &Db, held: bool, secs: u64) -> Sample {
    taulu_tasks(db, held, CLIENTS, secs).await
}

/// [`taulu`] with `n` client tasks.
async fn taulu_tasks(db: &Db, held: bool, n: usize, secs: u64) -> Sample {
    let clients = Clients::default();
    let mut tasks = Vec::new();
    for c in 0..n {
        let (db, clients) = (db.clone(), clients.clone());
        tasks.push(tokio::spawn(async move {
            let conn = if held { Some(db.get().await.unwrap()) } else { None };
            for key in clients.keys(c) {
                match &conn {
                    Some(conn) => select_balance(conn, key).await,
                    None => select_balance(&db, key).await,
                }
            }
        }));
    }
    measure(secs, &clients, tasks).await
}

async fn measure(secs: u64, clients: &Clients, tasks: Vec<tokio::task::JoinHandle<()>>) -> Sample {
    let (stop, count) = (&clients.stop, &clients.count);
    // Warm up for a second, then count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (start, before, cpu) = (Instant::now(), count.load(Ordering::Relaxed), process_cpu());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let sample =
        Sample { queries: count.load(Ordering::Relaxed) - before, wall: start.elapsed(), cpu: process_cpu() - cpu };
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    sample
}

fn pgbench(cluster: &LocalCluster, host: &str, args: &[&str]) -> String {
    pgbench_on(cluster, host, cluster.port(), args)
}

fn pgbench_on(cluster: &LocalCluster, host: &str, port: u16, args: &[&str]) -> String {
    let bindir = taulu::local::find_bindir().unwrap();
    let exe = if bindir.join("pgbench").exists() { bindir.join("pgbench") } else { "pgbench".into() };
    let out = std::process::Command::new(exe)
        .args(["-h", host, "-p", &port.to_string(), "-U", "postgres"])
        .args(args)
        .arg(DB)
        .env("PGPASSWORD", cluster.password())
        .output()
        .expect("run pgbench");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "pgbench failed: {text}");
    text
}

fn pgbench_tps(cluster: &LocalCluster, host: &str, clients: usize, secs: u64) -> f64 {
    pgbench_tps_on(cluster, host, cluster.port(), "prepared", clients, secs)
}

fn pgbench_tps_on(cluster: &LocalCluster, host: &str, port: u16, mode: &str, clients: usize, secs: u64) -> f64 {
    let c = clients.to_string();
    let text = pgbench_on(cluster, host, port, &["-S", "-M", mode, "-c", &c, "-j", "2", "-T", &secs.to_string()]);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench output: {text}"))
}

fn main() {
    let env = |key: &str, default: u64| std::env::var(key).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let (secs, rounds, workers) = (env("BENCH_SECS", 3), env("BENCH_ROUNDS", 3), env("BENCH_WORKERS", 2));
    if let Ok(list) = std::env::var("BENCH_INSTRUCTIONS") {
        instructions(&list);
        return;
    }
    let cluster = LocalCluster::ensure().expect("local PostgreSQL");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers as usize).enable_all().build().unwrap();
    rt.block_on(async {
        let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)")).await.unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {DB}")).await.unwrap();
    });
    println!("initialising pgbench data (scale {SCALE}) ...");
    pgbench(&cluster, "127.0.0.1", &["-i", "-q", "-s", &SCALE.to_string()]);

    if let Ok(which) = std::env::var("BENCH_PROFILE") {
        profile(&rt, &cluster.url(DB), &which, secs);
        return;
    }
    let mut transports = vec![("TCP 127.0.0.1", cluster.url(DB), "127.0.0.1".to_owned())];
    if let (Some(sock), Some(dir)) = (cluster.socket_url(DB), cluster.socket_dir()) {
        transports.push(("Unix socket", sock, dir.display().to_string()));
    }
    println!(
        "{CLIENTS} clients, primary-key SELECT on pgbench_accounts; the contenders alternate for {rounds} rounds of {secs} s\n"
    );
    let mut summary = Vec::new();
    for (name, url, host) in transports {
        println!("{name}");
        let mut cfg = DbConfig::new(url.clone());
        cfg.max_size = CLIENTS as u32;
        cfg.min_idle = CLIENTS as u32;
        let db = rt.block_on(Db::connect(cfg.clone())).unwrap();
        // Multiplexed: single statements share the pool's connections (all but one).
        cfg.multiplex = CLIENTS as u32;
        let mux = rt.block_on(Db::connect(cfg)).unwrap();
        let mut all = [Sample::default(); 7];
        // pgbench runs in every round too, so drift hits it like the others; its tps are averaged.
        let (mut pgb, mut pgb50) = (0.0, 0.0);
        for round in 1..=rounds {
            let r = rt.block_on(raw(&url, secs));
            let p = rt.block_on(pool_only(&db, secs));
            let h = rt.block_on(taulu(&db, true, secs));
            let t = rt.block_on(taulu(&db, false, secs));
            let m = rt.block_on(taulu(&mux, false, secs));
            let m50 = rt.block_on(taulu_tasks(&mux, false, 10 * CLIENTS, secs));
            let r50 = rt.block_on(raw_shared(&url, 10 * CLIENTS, secs));
            let (b, b50) =
                (pgbench_tps(&cluster, &host, CLIENTS, secs), pgbench_tps(&cluster, &host, 10 * CLIENTS, secs));
            let show = |s: Sample| format!("{:>6.0} q/s {:>5.2} µs", s.qps(), s.cpu_us());
            println!(
                "  round {round}: raw {}  pool only {}  taulu held {}  taulu {}  mux {}  taulu/raw {:.1}%  mux/raw {:.1}%\n  \
                 round {round}, 50 tasks: mux {}  raw shared {}  pgbench -c 5 {b:.0}  -c 50 {b50:.0}  mux/pgbench -c 5 {:.2}x",
                show(r),
                show(p),
                show(h),
                show(t),
                show(m),
                100.0 * t.qps() / r.qps(),
                100.0 * m.qps() / r.qps(),
                show(m50),
                show(r50),
                m50.qps() / b
            );
            for (acc, s) in all.iter_mut().zip([r, p, h, t, m, m50, r50]) {
                acc.add(s);
            }
            pgb += b / rounds as f64;
            pgb50 += b50 / rounds as f64;
        }
        summary.push((name, all, pgb, pgb50));
    }
    println!("\nqueries per second (client CPU per query) and % of raw, totals over the rounds:");
    println!(
        "{:<14} {:>18} {:>25} {:>25} {:>25} {:>25} {:>9} {:>10}",
        "transport",
        "raw tokio-pg",
        "pool only",
        "taulu, held conn",
        "taulu",
        "taulu multiplexed",
        "pgbench",
        "taulu/pgb"
    );
    for (name, [r, p, h, t, m, m50, r50], pgb, pgb50) in &summary {
        let show = |s: Sample| format!("{:.0} ({:.2} µs) {:.1}%", s.qps(), s.cpu_us(), 100.0 * s.qps() / r.qps());
        println!(
            "{name:<14} {:>18} {:>25} {:>25} {:>25} {:>25} {pgb:>9.0} {:>9.1}%",
            format!("{:.0} ({:.2} µs)", r.qps(), r.cpu_us()),
            show(*p),
            show(*h),
            show(*t),
            show(*m),
            100.0 * t.qps() / pgb
        );
        let _ = (m50, r50, pgb50);
    }
    println!(
        "\n50 client tasks on 5 connections: taulu multiplexed, raw tokio-postgres sharing 5 clients (pipelined), \
         pgbench -S -M prepared -c 5 and -c 50 (averaged over the rounds):"
    );
    for (name, [_, _, _, _, _, m50, r50], pgb, pgb50) in &summary {
        println!(
            "{name:<14} taulu multiplexed {:.0} q/s ({:.2} µs)  raw shared {:.0} q/s ({:.2} µs)  pgbench -c 5 {pgb:.0}  -c 50 {pgb50:.0}  \
             taulu/raw shared {:.1}%  taulu/pgbench -c 5 {:.2}x  raw shared/pgbench -c 5 {:.2}x",
            m50.qps(),
            m50.cpu_us(),
            r50.qps(),
            r50.cpu_us(),
            100.0 * m50.qps() / r50.qps(),
            m50.qps() / pgb,
            r50.qps() / pgb
        );
    }
    pgbouncer(&rt, &cluster, secs, rounds);
    rt.block_on(async {
        let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)")).await.unwrap();
    });
}

/// `BENCH_PROFILE=mux5|raw5|mux50|raw50|checkout50`: one contender alone over TCP (5 tasks, or 50
/// tasks on 5 connections; taulu multiplexed or with a checkout per statement, or raw
/// tokio-postgres with a client per task or sharing its 5), for a profiler (`perf record`) to see
/// where the client's time goes.
fn profile(rt: &tokio::runtime::Runtime, url: &DatabaseUrl, which: &str, secs: u64) {
    let pool = |tasks: usize, multiplex: u32| {
        let mut cfg = DbConfig::new(url.clone());
        (cfg.max_size, cfg.min_idle, cfg.multiplex) = (CLIENTS as u32, CLIENTS as u32, multiplex);
        let db = rt.block_on(Db::connect(cfg)).unwrap();
        rt.block_on(taulu_tasks(&db, false, tasks, secs))
    };
    let sample = match which {
        "mux5" => pool(CLIENTS, CLIENTS as u32),
        "raw5" => rt.block_on(raw(url, secs)),
        "mux50" => pool(10 * CLIENTS, CLIENTS as u32),
        "raw50" => rt.block_on(raw_shared(url, 10 * CLIENTS, secs)),
        "checkout50" => pool(10 * CLIENTS, 0),
        other => panic!("BENCH_PROFILE: mux5, raw5, mux50, raw50 or checkout50, not {other}"),
    };
    println!(
        "{which}: {:.0} q/s, {:.2} µs client CPU per query, {} queries",
        sample.qps(),
        sample.cpu_us(),
        sample.queries
    );
}

/// `BENCH_INSTRUCTIONS=raw50,mux50`: the client's instructions per query for each profile (see
/// [`profile`]), counted by callgrind: this bench runs itself under callgrind for 2 s and for 6 s,
/// and divides the difference in instructions by the difference in queries, so that starting up
/// (connecting, SCRAM, the pool) cancels out. Needs valgrind.
fn instructions(list: &str) {
    let exe = std::env::current_exe().unwrap();
    let run = |which: &str, secs: u64| -> (f64, f64) {
        let out = std::env::temp_dir().join(format!("taulu-pool-callgrind-{}.out", std::process::id()));
        let done = std::process::Command::new("valgrind")
            .args(["--tool=callgrind", &format!("--callgrind-out-file={}", out.display())])
            .arg(&exe)
            .arg("--bench")
            .env_remove("BENCH_INSTRUCTIONS")
            .env("BENCH_PROFILE", which)
            .env("BENCH_SECS", secs.to_string())
            .output()
            .expect("valgrind (apt-get install valgrind)");
        let _ = std::fs::remove_file(&out);
        let (stdout, stderr) = (String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr));
        let number = |text: &str, after: &str, before: &str| -> Option<f64> {
            let rest = &text[text.find(after)? + after.len()..];
            rest[..rest.find(before)?].trim().replace(',', "").parse().ok()
        };
        let queries = number(&stdout, "per query, ", " queries").expect("the profile's query count");
        let collected = number(&stderr, "Collected : ", "\n").expect("callgrind's instruction count");
        (collected, queries)
    };
    println!("client instructions per query (callgrind: 6 s run minus 2 s run, per query between them)");
    let mut first = None;
    for which in list.split(',').map(str::trim) {
        let ((i2, q2), (i6, q6)) = (run(which, 2), run(which, 6));
        let per_query = (i6 - i2) / (q6 - q2);
        let ratio = first.get_or_insert((which.to_owned(), per_query));
        println!("  {which:<8} {per_query:>8.0}  ({:.2}x {})", per_query / ratio.1, ratio.0);
    }
}

/// PgBouncer mode directly and through a PgBouncer (transaction pooling, 5 server connections),
/// alternating, over TCP.
fn pgbouncer(rt: &tokio::runtime::Runtime, cluster: &LocalCluster, secs: u64, rounds: u64) {
    let bouncer = LocalPgBouncer::ensure(cluster, CLIENTS as u32).expect("pgbouncer (apt-get install pgbouncer)");
    let pool = |url: DatabaseUrl| {
        let mut cfg = DbConfig::new(url);
        cfg.max_size = CLIENTS as u32;
        cfg.min_idle = CLIENTS as u32;
        cfg.statement_cache_size = 0;
        rt.block_on(Db::connect(cfg)).unwrap()
    };
    let (direct, via) = (pool(cluster.url(DB)), pool(bouncer.url(DB)));
    println!("\nPgBouncer mode (statement cache off), TCP: directly and through PgBouncer (transaction mode)");
    let (mut d_all, mut b_all) = (Sample::default(), Sample::default());
    for round in 1..=rounds {
        let d = rt.block_on(taulu(&direct, false, secs));
        let b = rt.block_on(taulu(&via, false, secs));
        println!(
            "  round {round}: direct {:>6.0} q/s {:>5.2} µs  via PgBouncer {:>6.0} q/s {:>5.2} µs  via/direct {:.1}%",
            d.qps(),
            d.cpu_us(),
            b.qps(),
            b.cpu_us(),
            100.0 * b.qps() / d.qps()
        );
        d_all.add(d);
        b_all.add(b);
    }
    let pgb_direct = pgbench_tps_on(cluster, "127.0.0.1", cluster.port(), "extended", CLIENTS, secs);
    let pgb_via = pgbench_tps_on(cluster, "127.0.0.1", bouncer.port(), "extended", CLIENTS, secs);
    println!(
        "{:<30} {:>12} {:>14} {:>9}\n{:<30} {:>12.0} {:>14.0} {:>8.1}%\n{:<30} {:>12.0} {:>14.0} {:>8.1}%",
        "",
        "direct",
        "via PgBouncer",
        "via/dir",
        "taulu, cache off (q/s)",
        d_all.qps(),
        b_all.qps(),
        100.0 * b_all.qps() / d_all.qps(),
        "pgbench -S -M extended (tps)",
        pgb_direct,
        pgb_via,
        100.0 * pgb_via / pgb_direct
    );
}
