//! Bench binary: how long loading migrations takes (name checks, checksums, statement splitting).
//! Every process pays it once for an embedded set, on first use; a large seed file
//! pays it in proportion to its size, which must stay linear.
//!
//! `cargo bench --bench migrations`

use std::{hint::black_box, time::Instant};

use taulu::migrate::Migrations;

const EMBEDDED: &[(&str, &str)] = &[
    ("000001_create_initial_tables.up.sql", include_str!("../migrations/000001_create_initial_tables.up.sql")),
    ("000001_create_initial_tables.down.sql", include_str!("../migrations/000001_create_initial_tables.down.sql")),
    ("000002_add_session_revocation.up.sql", include_str!("../migrations/000002_add_session_revocation.up.sql")),
    ("000002_add_session_revocation.down.sql", include_str!("../migrations/000002_add_session_revocation.down.sql")),
    ("000003_add_users_display_name.up.sql", include_str!("../migrations/000003_add_users_display_name.up.sql")),
    ("000003_add_users_display_name.down.sql", include_str!("../migrations/000003_add_users_display_name.down.sql")),
];

fn main() {
    let iterations = 2_000;
    // Warm up, then measure.
    for _ in 0..100 {
        black_box(Migrations::from_files(EMBEDDED.iter().copied()).unwrap());
    }
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(Migrations::from_files(EMBEDDED.iter().copied()).unwrap());
    }
    let per = started.elapsed() / iterations;
    println!("the reference app's set: {per:?} per load ({iterations} loads)");

    // Seed files of growing size: 100,000 statements of ~500 bytes is 50 MB. Linear loading
    // keeps the time per MB flat from one size to the next.
    for statements in [25_000, 50_000, 100_000] {
        let mut seed = String::new();
        for i in 0..statements {
            seed.push_str(&format!(
                "INSERT INTO events (id, kind, payload) VALUES ({i}, 'kind-{}', '{}');\n",
                i % 97,
                "x".repeat(420)
            ));
        }
        let mb = seed.len() as f64 / 1e6;
        let started = Instant::now();
        let set =
            Migrations::from_files([("000001_seed.up.sql", seed.as_str()), ("000001_seed.down.sql", "")]).unwrap();
        let took = started.elapsed();
        black_box(set);
        println!(
            "a {mb:.0} MB file of {statements} statements: loaded in {took:?} ({:.1} ms per MB)",
            took.as_secs_f64() * 1e3 / mb
        );
    }
}
