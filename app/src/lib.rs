//! taulu's reference app: the product brief's accounts service (users, sessions, login attempts,
//! orgs and members) over the migrations in the repository's top-level `migrations/`. It uses only
//! taulu's public API, as any application would.
//!
//! - [`schema`]: the typed schema, generated at build time from the migrations;
//! - [`MIGRATIONS`]: the same files, embedded for the runner and for per-test databases;
//! - [`demo`]: `cargo run -- demo`, the product's flows through the builder;
//! - [`service`]: the HTTP service, `cargo run -p taulu-app -- serve`.

pub mod demo;
pub mod service;

/// The typed schema of `../migrations`: tables, columns, rows, inserts and the `Role` and
/// `Sysrole` enums.
///
/// ```
/// use taulu::{Column, Table};
/// use taulu_app::schema::{Role, Users, users};
/// assert_eq!(Users::NAME, "users");
/// assert_eq!(<users::email as Column>::SQL_TYPE, "text");
/// assert_eq!(Role::Owner.to_string(), "owner");
/// let new_user = users::Insert::new("ann", "ann@example.com", "hash").with_display_name("Ann");
/// assert_eq!(new_user.system_role, None); // defaulted: 'user'
/// ```
pub mod schema {
    taulu::schema!("../migrations", module = crate::schema);
}

/// The migrations, embedded at build time.
pub static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("../migrations");
