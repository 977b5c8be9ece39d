//! A bookmarks service first written on sqlx, converted to taulu in place.
//!
//! Nothing on disk moved: `migrations/` is the directory `sqlx migrate add` made (one-way
//! `<version>_<description>.sql` files, one of them `-- no-transaction`), read as it is by
//! `schema!` and by the runner. Each statement is the text sqlx's macro had, column overrides
//! included; what changed is the macro's name, shown above each function. The structs sqlx read
//! rows into derive `taulu::FromRow` instead of `sqlx::FromRow`, and the `Plan` enum is generated
//! from the migrations (sqlx needed a hand-written `#[derive(sqlx::Type)]` copy of it).

use taulu::query::Executor;

/// The schema, typed from sqlx's migrations directory, and the same files for the runner.
pub mod db {
    taulu::schema!("migrations", module = crate::db);

    pub static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
}

pub use db::Plan;

/// A bookmark as the service returns it (was `#[derive(sqlx::FromRow)]`).
#[derive(Debug, Clone, PartialEq, taulu::FromRow)]
pub struct Bookmark {
    pub id: i64,
    pub url: String,
    pub title: Option<String>,
    pub tags: Vec<String>,
}

/// Was `sqlx::query_scalar!("INSERT INTO users (email) VALUES ($1) RETURNING id", email)`.
pub async fn create_user(db: &impl Executor, email: &str) -> taulu::Result<i64> {
    db::sql!(scalar, "INSERT INTO users (email) VALUES ($1) RETURNING id", email).fetch_one(db).await
}

/// Was `sqlx::query!("UPDATE users SET plan = 'pro' WHERE id = $1", user)`.
pub async fn upgrade(db: &impl Executor, user: i64) -> taulu::Result<u64> {
    db::sql!("UPDATE users SET plan = 'pro' WHERE id = $1", user).execute(db).await
}

/// Was `sqlx::query_scalar!(r#"INSERT INTO bookmarks (user_id, url, title, tags) VALUES ($1, $2, $3, $4) RETURNING id AS "id!""#, ..)`.
pub async fn add_bookmark(
    db: &impl Executor,
    user: i64,
    url: &str,
    title: Option<&str>,
    tags: &[String],
) -> taulu::Result<i64> {
    db::sql!(
        scalar,
        r#"INSERT INTO bookmarks (user_id, url, title, tags) VALUES ($1, $2, $3, $4) RETURNING id AS "id!""#,
        user,
        url,
        title,
        tags.to_vec()
    )
    .fetch_one(db)
    .await
}

/// sqlx's bulk insert: one statement for many rows, the columns as arrays.
/// Was `sqlx::query!("INSERT INTO bookmarks (user_id, url) SELECT $1, * FROM UNNEST($2::text[])", ..)`.
pub async fn import(db: &impl Executor, user: i64, urls: &[String]) -> taulu::Result<u64> {
    db::sql!("INSERT INTO bookmarks (user_id, url) SELECT $1, * FROM UNNEST($2::text[])", user, urls.to_vec())
        .execute(db)
        .await
}

/// Was `sqlx::query_as!(Bookmark, "SELECT id, url, title, tags FROM bookmarks WHERE user_id = $1 ORDER BY id", user)`.
pub async fn bookmarks_of(db: &impl Executor, user: i64) -> taulu::Result<Vec<Bookmark>> {
    db::sql!(as Bookmark, "SELECT id, url, title, tags FROM bookmarks WHERE user_id = $1 ORDER BY id", user)
        .fetch_all(db)
        .await
}

/// Was `sqlx::query_as!(Bookmark, "SELECT .. FROM bookmarks WHERE $1 = ANY(tags) ..", tag)`.
pub async fn tagged(db: &impl Executor, tag: &str) -> taulu::Result<Vec<Bookmark>> {
    db::sql!(as Bookmark, "SELECT id, url, title, tags FROM bookmarks WHERE $1 = ANY(tags) ORDER BY id", tag)
        .fetch_all(db)
        .await
}

/// One line of the users report.
#[derive(Debug, Clone, PartialEq)]
pub struct UserReport {
    pub email: String,
    pub plan: Plan,
    pub bookmarks: i64,
    pub last_title: Option<String>,
}

/// sqlx's overrides mean what they meant: `"plan: Plan"` names the Rust type, `"bookmarks!"`
/// asserts NOT NULL, `"last_title?"` makes the field an `Option`.
pub async fn report(db: &impl Executor) -> taulu::Result<Vec<UserReport>> {
    // Was `sqlx::query!(r#"..."#)`, the text unchanged.
    let rows = db::sql!(
        r#"SELECT u.email, u.plan AS "plan: Plan", count(b.id) AS "bookmarks!",
                  (SELECT b2.title FROM bookmarks b2 WHERE b2.user_id = u.id ORDER BY b2.id DESC LIMIT 1) AS "last_title?"
           FROM users u LEFT JOIN bookmarks b ON b.user_id = u.id
           GROUP BY u.id
           ORDER BY u.email"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UserReport { email: r.email, plan: r.plan, bookmarks: r.bookmarks, last_title: r.last_title })
        .collect())
}
