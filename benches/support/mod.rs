//! What the database benches share: a fresh database of the reference app's schema on the
//! self-started local PostgreSQL.

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
