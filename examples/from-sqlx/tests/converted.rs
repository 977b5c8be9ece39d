//! The converted service against a real PostgreSQL, migrated from sqlx's directory as it is.

use taulu::{migrate::Layout, testing::TestDb};
use taulu_example_from_sqlx::{self as app, Bookmark, Plan, db};

#[test]
fn the_directory_is_read_in_sqlx_layout_as_it_is() {
    assert_eq!(db::MIGRATIONS.layout(), Layout::Sqlx);
    assert_eq!(db::MIGRATIONS.len(), 3);
    // One-way migrations: no down file, and `-- no-transaction` honoured.
    assert!(db::MIGRATIONS.iter().all(|m| m.down().is_none()));
}

#[tokio::test]
async fn the_converted_statements_run() -> taulu::Result<()> {
    let test = TestDb::new(&db::MIGRATIONS).await?;
    let pool = test.pool();
    let ann = app::create_user(&pool, "ann@example.com").await?;
    let bob = app::create_user(&pool, "bob@example.com").await?;
    app::upgrade(&pool, bob).await?;
    let first = app::add_bookmark(&pool, ann, "https://example.com/a", Some("A"), &["rust".into()]).await?;
    assert_eq!(app::import(&pool, ann, &["https://example.com/b".into(), "https://example.com/c".into()]).await?, 2);

    let mine = app::bookmarks_of(&pool, ann).await?;
    assert_eq!(mine.len(), 3);
    assert_eq!(
        mine[0],
        Bookmark { id: first, url: "https://example.com/a".into(), title: Some("A".into()), tags: vec!["rust".into()] }
    );
    assert_eq!(mine[1].title, None);
    assert_eq!(app::tagged(&pool, "rust").await?.len(), 1);

    let report = app::report(&pool).await?;
    assert_eq!(report.len(), 2);
    assert_eq!((report[0].plan, report[0].bookmarks, report[0].last_title.as_deref()), (Plan::Free, 3, None));
    assert_eq!((report[1].plan, report[1].bookmarks, report[1].last_title.as_deref()), (Plan::Pro, 0, None));
    Ok(())
}
