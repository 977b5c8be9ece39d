//! The schema, typed at build time from `migrations/`, and the same files embedded for the runner.

taulu::schema!("migrations");

pub static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
