//! The criterion settings the benches of this package share. The package exists for its benches
//! (`benches/build.rs`, `render.rs`, `expand.rs`), so their peers and tools (diesel, sea-query,
//! criterion, pg_query) are built only by `cargo bench -p taulu-peer-benches`, never by
//! `cargo test`.

use std::time::Duration;

/// Criterion with a short warm-up, `measurement` per benchmark and `samples` samples: every bench
/// of this package finishes in a minute or two on a 2-core machine.
pub fn criterion(measurement: Duration, samples: usize) -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measurement)
        .sample_size(samples)
}
