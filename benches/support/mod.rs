//! What the database benches share: a fresh database of the reference app's schema on the
//! self-started local PostgreSQL, and the process's peak memory.

use taulu::{Db, DbConfig, LocalCluster};

/// Drops and recreates database `name`, applies the reference app's migrations, and returns a
/// pool on it.
pub async fn fresh_app_db(cluster: &LocalCluster, name: &str) -> Db {
    let admin = taulu::connect(&cluster.url("postgres")).await.unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let client = taulu::connect(&cluster.url(name)).await.unwrap();
    taulu::migrate::Migrator::new(&taulu_app::MIGRATIONS).up(&client, None).await.unwrap();
    Db::connect(DbConfig::new(cluster.url(name))).await.unwrap()
}

/// The process's peak resident set, in KiB (Linux's `VmHWM`; 0 where there is none).
#[allow(dead_code)] // not every bench that includes this module measures memory
pub fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
