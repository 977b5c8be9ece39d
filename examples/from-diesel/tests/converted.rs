//! The converted blog against a real PostgreSQL, migrated from diesel's directory as it is.

use taulu::{migrate::Layout, testing::TestDb};
use taulu_example_from_diesel::{self as blog, db};

#[test]
fn the_directory_is_read_in_diesel_layout_as_it_is() {
    assert_eq!(db::MIGRATIONS.layout(), Layout::Diesel);
    assert_eq!(db::MIGRATIONS.len(), 3);
    assert!(db::MIGRATIONS.iter().all(|m| m.down().is_some()), "diesel migrations are reversible");
}

#[tokio::test]
async fn the_converted_queries_run() -> taulu::Result<()> {
    let test = TestDb::new(&db::MIGRATIONS).await?;
    let pool = test.pool();
    let hello = blog::create_post(&pool, "Hello", "First post").await?;
    let draft = blog::create_post(&pool, "Draft", "Not yet").await?;
    assert!(!hello.published);
    assert_eq!(blog::publish(&pool, hello.id).await?, 1);
    // The migrations' trigger ran: updated_at moved on the update.
    let published = blog::latest_published(&pool, 10).await?;
    assert_eq!(published.iter().map(|p| p.id).collect::<Vec<_>>(), [hello.id]);
    assert!(published[0].updated_at > hello.updated_at);

    blog::comment(&pool, hello.id, "ann", "Nice").await?;
    blog::comment(&pool, draft.id, "bob", "Early").await?;
    blog::comment(&pool, hello.id, "bob", "Agreed").await?;
    assert_eq!(
        blog::comments_on_published(&pool).await?,
        [("Hello".to_owned(), "ann".to_owned()), ("Hello".to_owned(), "bob".to_owned())]
    );
    assert_eq!(blog::comment_counts(&pool).await?, [(hello.id, 2), (draft.id, 1)]);
    assert_eq!(blog::delete_titled(&pool, "Dr%").await?, 1);
    assert_eq!(blog::comment_counts(&pool).await?, [(hello.id, 2)], "its comments went with it");
    Ok(())
}
