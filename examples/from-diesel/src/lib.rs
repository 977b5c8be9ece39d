//! A blog first written on diesel, converted to taulu in place.
//!
//! Nothing on disk moved: `migrations/` is the directory `diesel migration generate` made
//! (`<timestamp>_<name>/up.sql` and `down.sql`), read as it is by `schema!` and by the runner;
//! diesel's `schema.rs` (the `table!` macros `diesel print-schema` wrote from a live database) is
//! gone: `schema!` types the same tables from the migrations at build time. Each function shows
//! the diesel query it replaces; the taulu query reads the same way, clause for clause.

use taulu::prelude::*;
use taulu::query::Executor;

/// The schema, typed from diesel's migrations directory, and the same files for the runner.
pub mod db {
    taulu::schema!("migrations", module = crate::db);

    pub static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
}

use db::{Comments, Posts, comments, posts};

/// A post as stored (was `#[derive(Queryable, Selectable)] struct Post`): the generated row.
pub type Post = posts::Row;

/// ```text
/// diesel::insert_into(posts::table)
///     .values(&NewPost { title, body })
///     .returning(Post::as_returning())
///     .get_result(conn)
/// ```
pub async fn create_post(db: &impl Executor, title: &str, body: &str) -> taulu::Result<Post> {
    insert_into::<Posts>().values(posts::Insert::new(title, body)).returning_all().fetch_one(db).await
}

/// ```text
/// diesel::update(posts::table.find(id)).set(posts::published.eq(true)).execute(conn)
/// ```
pub async fn publish(db: &impl Executor, id: i32) -> taulu::Result<u64> {
    update::<Posts>().set(posts::published, true).where_(posts::id.eq(id)).execute(db).await
}

/// ```text
/// posts::table
///     .filter(posts::published.eq(true))
///     .order(posts::id.desc())
///     .limit(limit)
///     .select(Post::as_select())
///     .load(conn)
/// ```
pub async fn latest_published(db: &impl Executor, limit: i64) -> taulu::Result<Vec<Post>> {
    select_from::<Posts>()
        .all()
        .where_(posts::published.eq(true))
        .order_by(posts::id.desc())
        .limit(limit)
        .fetch_all(db)
        .await
}

/// ```text
/// diesel::insert_into(comments::table)
///     .values((comments::post_id.eq(post), comments::author.eq(author), comments::body.eq(body)))
///     .execute(conn)
/// ```
pub async fn comment(db: &impl Executor, post: i32, author: &str, body: &str) -> taulu::Result<u64> {
    insert_into::<Comments>().values(comments::Insert::new(post, author, body)).execute(db).await
}

/// ```text
/// comments::table
///     .inner_join(posts::table)
///     .filter(posts::published.eq(true))
///     .select((posts::title, comments::author))
///     .order(comments::id.asc())
///     .load::<(String, String)>(conn)
/// ```
pub async fn comments_on_published(db: &impl Executor) -> taulu::Result<Vec<(String, String)>> {
    select_from::<Comments>()
        .inner_join(posts::id, comments::post_id)
        .where_(posts::published.eq(true))
        .columns((posts::title, comments::author))
        .order_by(comments::id.asc())
        .fetch_all(db)
        .await
}

/// ```text
/// comments::table
///     .group_by(comments::post_id)
///     .select((comments::post_id, count_star()))
///     .order(comments::post_id)
///     .load::<(i32, i64)>(conn)
/// ```
pub async fn comment_counts(db: &impl Executor) -> taulu::Result<Vec<(i32, i64)>> {
    select_from::<Comments>()
        .group_by((comments::post_id,))
        .columns((comments::post_id, count_all()))
        .order_by(comments::post_id)
        .fetch_all(db)
        .await
}

/// ```text
/// diesel::delete(posts::table.filter(posts::title.like(pattern))).execute(conn)
/// ```
pub async fn delete_titled(db: &impl Executor, pattern: &str) -> taulu::Result<u64> {
    delete_from::<Posts>().where_(posts::title.like(pattern)).execute(db).await
}
