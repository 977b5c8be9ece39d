//! The README's quick start as a user lays out a service: this library holds the schema and the
//! queries (so `tests/` can use them), `main.rs` serves them.

pub mod db;

/// The README's Rust examples, run as doc tests of this crate: its quick start is this crate, so
/// `taulu::schema!("migrations")` there reads this crate's migrations.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

use axum::{Json, Router, extract::State, routing::get};
use db::{Notes, notes};
use taulu::prelude::*;
use taulu::types::{DateTime, Utc};

/// The pinned notes' titles, newest first.
pub async fn pinned_titles(db: &impl Executor) -> taulu::Result<Vec<String>> {
    let rows = select_from::<Notes>()
        .columns((notes::title,))
        .where_(notes::pinned.eq(true))
        .order_by(notes::created_at.desc())
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|(title,)| title).collect())
}

/// Notes written since `since`, each with how many there are: written in SQL (a window function)
/// and typed at build time by `sql!`, like the builder's queries.
pub async fn recent(db: &impl Executor, since: DateTime<Utc>) -> taulu::Result<Vec<(String, i64)>> {
    let rows = db::sql!("SELECT title, count(*) OVER () AS total FROM notes WHERE created_at > $1", since)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.title, r.total)).collect())
}

/// `GET /notes`: every note, newest first, as JSON (a generated `Row` serializes as it is).
pub async fn list_notes(State(pool): State<taulu::Db>) -> Result<Json<Vec<notes::Row>>, String> {
    let rows = select_from::<Notes>().all().order_by(notes::created_at.desc()).fetch_all(&pool).await;
    rows.map(Json).map_err(|e| e.to_string())
}

/// The service's routes.
pub fn router(pool: taulu::Db) -> Router {
    Router::new().route("/notes", get(list_notes)).with_state(pool)
}
