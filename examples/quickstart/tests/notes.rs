//! Integration tests use the library's typed `db` module and queries; each `#[taulu::test]` gets
//! a fresh database of the schema (so each sees only its own rows).

use axum::{Json, extract::State};
use taulu::{prelude::*, testing::TestDb, types::Utc};
use taulu_quickstart::db::{Notes, notes};

#[taulu::test]
async fn only_pinned_notes_are_listed(db: TestDb) -> taulu::Result<()> {
    insert_into::<Notes>()
        .values_many([notes::Insert::new("pinned").with_pinned(true), notes::Insert::new("not pinned")])
        .execute(db.client())
        .await?;
    assert_eq!(taulu_quickstart::pinned_titles(db.client()).await?, ["pinned"]);
    let since = Utc::now() - taulu::types::chrono::Duration::hours(1);
    let recent = taulu_quickstart::recent(db.client(), since).await?;
    assert_eq!(recent.len(), 2);
    assert!(recent.iter().all(|(_, total)| *total == 2));
    Ok(())
}

#[taulu::test]
async fn the_handler_returns_rows_as_json(db: TestDb) -> taulu::Result<()> {
    insert_into::<Notes>().values(notes::Insert::new("one").with_body("text")).execute(db.client()).await?;
    let Json(rows) = taulu_quickstart::list_notes(State(db.pool())).await.unwrap();
    let json = taulu::types::serde_json::to_value(&rows).unwrap();
    assert_eq!(json[0]["title"], "one");
    assert_eq!(json[0]["body"], "text");
    assert_eq!(json[0]["pinned"], false);
    assert_eq!(json[0]["id"], rows[0].id);
    assert!(json[0]["created_at"].is_string());
    Ok(())
}

/// The database is each test's own: another test's note is not here.
#[taulu::test]
async fn another_test_starts_empty(db: TestDb) -> taulu::Result<()> {
    let (n,) = select_from::<Notes>().columns((count_all(),)).fetch_one(db.client()).await?;
    assert_eq!(n, 0);
    insert_into::<Notes>().values(notes::Insert::new("another")).execute(db.client()).await?;
    Ok(())
}
