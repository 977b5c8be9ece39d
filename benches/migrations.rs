//! Bench binary: how long loading the embedded migrations takes (name checks, checksums, statement
//! splitting), which every CLI start and every test process pays once. Prints time per load.
//!
//! `cargo bench --bench migrations`

use std::{hint::black_box, time::Instant};

fn main() {
    let iterations = 2_000;
    // Warm up, then measure.
    for _ in 0..100 {
        black_box(taulu::migrate::Migrations::embedded().unwrap());
    }
    let started = Instant::now();
    for _ in 0..iterations {
        black_box(taulu::migrate::Migrations::embedded().unwrap());
    }
    let per = started.elapsed() / iterations;
    println!("Migrations::embedded(): {per:?} per load ({iterations} loads)");
}
