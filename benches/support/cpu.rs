//! The CPU time this process has used, for benches that report CPU per operation.

use std::time::Duration;

/// CPU time used so far by every thread of this process (the client side only: the server is
/// other processes), from `/proc/self/task/*/schedstat`; zero where that does not exist.
pub fn process_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Duration::ZERO };
    let ns: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}
