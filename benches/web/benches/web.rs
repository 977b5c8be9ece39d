//! End-to-end bench: the TechEmpower database tests (single query, 20 queries, 20 updates,
//! fortunes) and a mixed load (one request in 20 runs a 50 ms statement) on axum, written with
//! taulu (with and without multiplexing), sqlx 0.8 and raw tokio-postgres (see `src/lib.rs`),
//! loaded by wrk over loopback.
//!
//! `cargo bench -p taulu-web-bench`. It starts the local PostgreSQL (`LocalCluster`), fills a fresh
//! database (10,000 worlds, 12 fortunes), serves every contender from this process on its own
//! port, checks that they all answer alike (the smoke test: JSON shapes, `?q=` clamping, updates
//! written, the fortunes page byte-equal and escaped), then runs wrk against each in turn for
//! `WEB_BENCH_ROUNDS` rounds (default 2) of `WEB_BENCH_SECS` seconds (default 5), the contenders
//! alternating within each round so drift hits all alike. Settings: `WEB_BENCH_CONNS` (wrk's
//! connections, default 32), `WEB_BENCH_POOL` (every contender's connections, default 8),
//! `WEB_BENCH_TESTS` (comma-separated: db,queries,updates,fortunes,mixed), `WEB_BENCH_ONLY`
//! (comma-separated contenders to load after the smoke test, e.g. `raw,taulu mux`: for profiling
//! one at a time).
//!
//! The server, PostgreSQL and wrk share this machine's cores: compare contenders of one run
//! (the ratios), not the absolute figures with other machines. "app CPU" is the CPU time of this
//! process (axum, the library, the pool) per request: what a contender costs its service.
//! wrk comes from Debian's package; run as root, the bench installs it when missing.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    process::Command,
    time::Duration,
};

use taulu::{Db, DbConfig, LocalCluster};
use taulu_web_bench::{MIGRATION, Raw, Sqlx, Taulu, World, router};

#[path = "../../support/cpu.rs"]
mod cpu;
use cpu::process_cpu;

const DB: &str = "taulu_web_bench";

const FORTUNES: [&str; 12] = [
    "A watched pot never boils; a watched query never plans.",
    "Indexes are cheaper than apologies.",
    "<script>alert(\"escaped, or else\");</script>",
    "Ampersands & angle brackets: < > are text here.",
    "Vacuum early, vacuum often.",
    "One round trip is better than twenty.",
    "Ein Index sagt mehr als tausend Seq Scans.",
    "フォーチュンクッキー: 今日は良い日です。",
    "Quote 'single' and \"double\" alike.",
    "NULL is not equal to NULL, and that is fine.",
    "The plan you expect is not always the plan you get.",
    "Commit often; roll back when you must.",
];

const TESTS: [(&str, &str); 5] = [
    ("db", "/db"),
    ("queries", "/queries?q=20"),
    ("updates", "/updates?q=20"),
    ("fortunes", "/fortunes"),
    ("mixed", "/mixed"),
];

/// One wrk run.
#[derive(Default, Clone, Copy)]
struct Run {
    requests: f64,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu: Duration,
    errors: u64,
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests / self.secs
    }
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.requests.max(1.0)
    }
}

fn ensure_wrk() {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return;
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    assert!(root, "wrk is not installed: `sudo apt-get install -y wrk` (Debian's package), then run the bench again");
    println!("installing wrk (apt-get install -y wrk) ...");
    let apt = |args: &[&str]| {
        Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status().is_ok_and(|s| s.success())
    };
    // The package lists of a fresh machine may be empty: update once if the install fails.
    let ok = apt(&["install", "-y", "-q", "wrk"]) || (apt(&["update", "-q"]) && apt(&["install", "-y", "-q", "wrk"]));
    assert!(ok, "could not install wrk with apt-get");
}

/// wrk's duration text ("812.00us", "1.52ms", "2.01s") in milliseconds.
fn millis(v: &str) -> f64 {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * scale
}

fn wrk(addr: SocketAddr, path: &str, conns: u64, secs: u64) -> Run {
    let cpu = process_cpu();
    let out = Command::new("wrk")
        .args(["-t", "1", "-c", &conns.to_string(), "-d", &format!("{secs}s"), "--timeout", "10s", "--latency"])
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("run wrk");
    let cpu = process_cpu() - cpu;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let mut run = Run { secs: secs as f64, cpu, ..Run::default() };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => run.p50_ms = millis(v),
            ["99%", v] => run.p99_ms = millis(v),
            [n, "requests", "in", t, ..] => {
                run.requests = n.parse().unwrap_or(0.0);
                run.secs = millis(t.trim_end_matches(',')) / 1000.0;
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => run.errors += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                run.errors += rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>()
            }
            _ => {}
        }
    }
    assert!(run.requests > 0.0, "no requests counted in wrk's output: {text}");
    run
}

/// A GET over a fresh connection: the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, body.to_owned())
}

fn worlds(addr: SocketAddr, path: &str) -> Vec<World> {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// The smoke test: every contender answers every test, alike.
fn check(rt: &tokio::runtime::Runtime, admin: &tokio_postgres::Client, servers: &[(&str, SocketAddr)]) {
    let stored = |id: i32| -> i32 {
        rt.block_on(admin.query_one("SELECT randomnumber FROM world WHERE id = $1", &[&id])).unwrap().get(0)
    };
    let mut pages = Vec::new();
    for &(name, addr) in servers {
        let (status, body) = get(addr, "/db");
        assert_eq!(status, 200, "{name} /db: {body}");
        let w: World = serde_json::from_str(&body).unwrap();
        assert!((1..=10_000).contains(&w.id) && w.random_number == stored(w.id), "{name} /db: {body}");
        for (q, n) in [("20", 20), ("0", 1), ("x", 1), ("501", 500)] {
            let got = worlds(addr, &format!("/queries?q={q}"));
            assert_eq!(got.len(), n, "{name} /queries?q={q}");
            assert!(got.iter().all(|w| w.random_number == stored(w.id)), "{name} /queries?q={q}");
        }
        let updated = worlds(addr, "/updates?q=20");
        assert_eq!(updated.len(), 20, "{name} /updates");
        for w in &updated {
            if updated.iter().filter(|o| o.id == w.id).count() == 1 {
                assert_eq!(stored(w.id), w.random_number, "{name} /updates did not write world {}", w.id);
            }
        }
        let (status, page) = get(addr, "/fortunes");
        assert_eq!(status, 200, "{name} /fortunes: {page}");
        assert!(page.contains("&lt;script&gt;alert(&quot;escaped, or else&quot;);&lt;/script&gt;"), "{name}: {page}");
        assert!(page.contains("<td>0</td><td>A fortune added while the request ran.</td>"), "{name}: {page}");
        pages.push((name, page));
        let (status, body) = get(addr, "/mixed");
        assert_eq!(status, 200, "{name} /mixed: {body}");
    }
    for (name, page) in &pages[1..] {
        assert_eq!(page, &pages[0].1, "{name}'s fortunes page differs from {}'s", pages[0].0);
    }
}

fn main() {
    let env = |key: &str, default: u64| std::env::var(key).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    let (secs, rounds, conns, pool) =
        (env("WEB_BENCH_SECS", 5), env("WEB_BENCH_ROUNDS", 2), env("WEB_BENCH_CONNS", 32), env("WEB_BENCH_POOL", 8));
    let tests: Vec<(&str, &str)> = match std::env::var("WEB_BENCH_TESTS") {
        Ok(list) => TESTS.iter().copied().filter(|(t, _)| list.split(',').any(|w| w.trim() == *t)).collect(),
        Err(_) => TESTS.to_vec(),
    };
    ensure_wrk();
    let cluster = LocalCluster::ensure().expect("local PostgreSQL");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = cluster.url(DB);
    let admin = rt.block_on(async {
        let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)")).await.unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {DB}")).await.unwrap();
        let c = taulu::connect(&url).await.unwrap();
        c.batch_execute(MIGRATION).await.unwrap();
        c.batch_execute(
            "INSERT INTO world SELECT i, 1 + (random() * 9999)::int FROM generate_series(1, 10000) i; ANALYZE world;",
        )
        .await
        .unwrap();
        for (i, m) in FORTUNES.iter().enumerate() {
            c.execute("INSERT INTO fortune VALUES ($1, $2)", &[&(i as i32 + 1), m]).await.unwrap();
        }
        c
    });

    let mut servers: Vec<(&str, SocketAddr)> = rt.block_on(async {
        let mut cfg = DbConfig::new(url.clone());
        (cfg.max_size, cfg.min_idle) = (pool as u32, pool as u32);
        let taulu = Db::connect(cfg.clone()).await.unwrap();
        cfg.multiplex = pool as u32 - 1;
        let mux = Db::connect(cfg).await.unwrap();
        let sqlx = sqlx::postgres::PgPoolOptions::new()
            .max_connections(pool as u32)
            .min_connections(pool as u32)
            .connect(&url.to_url_with_password())
            .await
            .unwrap();
        let raw = Raw::connect(&url, pool as usize).await.unwrap();
        let routers = [
            ("raw", router(raw)),
            ("sqlx", router(Sqlx(sqlx))),
            ("taulu", router(Taulu(taulu))),
            ("taulu mux", router(Taulu(mux))),
        ];
        let mut servers = Vec::new();
        for (name, app) in routers {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            servers.push((name, listener.local_addr().unwrap()));
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        }
        servers
    });
    check(&rt, &admin, &servers);
    if let Ok(only) = std::env::var("WEB_BENCH_ONLY") {
        servers.retain(|(name, _)| only.split(',').any(|w| w.trim() == *name));
    }
    println!(
        "smoke test passed: {} contenders answer alike\n\nwrk: {conns} connections, 1 thread; pool {pool} connections each; \
         {rounds} rounds of {secs} s, contenders alternating\n",
        servers.len()
    );

    // Warm-up: a second of each test on each contender (pools full, statements prepared).
    for &(_, path) in &tests {
        for &(_, addr) in &servers {
            wrk(addr, path, conns, 1);
        }
    }
    let mut totals = vec![vec![Vec::<Run>::new(); servers.len()]; tests.len()];
    for round in 1..=rounds {
        for (t, &(test, path)) in tests.iter().enumerate() {
            let mut line = format!("round {round} {test:<9}");
            for (c, &(name, addr)) in servers.iter().enumerate() {
                let run = wrk(addr, path, conns, secs);
                line += &format!("  {name} {:.0}/s p99 {:.1} ms", run.rps(), run.p99_ms);
                totals[t][c].push(run);
            }
            println!("{line}");
        }
    }

    println!(
        "\n| test | contender | requests/s | p50 ms | p99 ms | app CPU µs/req | errors | vs sqlx | vs raw |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (t, &(test, _)) in tests.iter().enumerate() {
        let sum = |runs: &[Run]| {
            let n = runs.len() as f64;
            let mut s = runs.iter().fold(Run::default(), |mut a, r| {
                a.requests += r.requests;
                a.secs += r.secs;
                a.cpu += r.cpu;
                a.errors += r.errors;
                a.p50_ms += r.p50_ms / n;
                a.p99_ms += r.p99_ms / n;
                a
            });
            s.secs = s.secs.max(1e-9);
            s
        };
        let all: Vec<Run> = totals[t].iter().map(|r| sum(r)).collect();
        // Ratios to the peers of this run (absent when `WEB_BENCH_ONLY` left them out).
        let rate_of = |peer: &str| servers.iter().position(|(n, _)| *n == peer).map(|i| all[i].rps());
        let ratio = |r: f64, peer: Option<f64>| peer.map_or("-".to_owned(), |p| format!("{:.2}x", r / p));
        for (c, &(name, _)) in servers.iter().enumerate() {
            let r = all[c];
            println!(
                "| {test} | {name} | {:.0} | {:.2} | {:.2} | {:.0} | {} | {} | {} |",
                r.rps(),
                r.p50_ms,
                r.p99_ms,
                r.cpu_us(),
                r.errors,
                ratio(r.rps(), rate_of("sqlx")),
                ratio(r.rps(), rate_of("raw"))
            );
        }
    }
}
