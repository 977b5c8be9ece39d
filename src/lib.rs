//! # taulu
//!
//! A type-safe PostgreSQL data layer for Rust, in the spirit of Kysely + kysely-codegen, built on
//! tokio-postgres. The schema comes from plain SQL migration files (golang-migrate naming); a
//! migration runner applies them; a self-started local PostgreSQL makes development and tests
//! need nothing but the server binaries.
//!
//! What is here today:
//! - [`migrate`]: embedded migrations, the runner (`up`, `down`, `status`, `force`, `verify`).
//! - [`LocalCluster`]: the throwaway local server used when `DATABASE_URL` is unset.
//! - [`testing::TestDb`]: a fresh, migrated database per test.
//! - [`DatabaseUrl`] / [`connect`]: connection strings that never print their password.
//!
//! The typed schema (`schema!`), the query builder and the pooled, retrying client are built on
//! these; see `DESIGN.md` in the repository.

#![warn(missing_docs)]

mod client;
mod error;
pub mod local;
pub mod migrate;
pub mod testing;

pub use client::{DATABASE_URL, DatabaseUrl, connect};
pub use error::{Error, MigrationFailure, Result};
pub use local::LocalCluster;
