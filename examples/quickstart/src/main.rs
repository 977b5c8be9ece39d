//! The README's quick start: a service with its own migrations, typed queries, and (in
//! `tests/`) a fresh database per test.

mod db;

use db::{Notes, notes};
use taulu::prelude::*;

/// The pinned notes' titles, newest first.
pub async fn pinned_titles(db: &impl taulu::query::Executor) -> taulu::Result<Vec<String>> {
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
pub async fn recent(
    db: &impl taulu::query::Executor,
    since: chrono::DateTime<chrono::Utc>,
) -> taulu::Result<Vec<(String, i64)>> {
    let rows = db::sql!("SELECT title, count(*) OVER () AS total FROM notes WHERE created_at > $1", since)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.title, r.total)).collect())
}

#[tokio::main]
async fn main() -> taulu::Result<()> {
    // DATABASE_URL, or a local PostgreSQL started on first use (database `quickstart`).
    let url = taulu::local::url_or_local("quickstart").await?;
    let pool = taulu::Db::new(taulu::DbConfig::from_env_for(url)?);
    taulu::migrate::Migrator::new(&db::MIGRATIONS).up(pool.get().await?.client(), None).await?;

    let (id,) = insert_into::<Notes>()
        .values(notes::Insert::new("Hello, taulu").with_pinned(true))
        .returning((notes::id,))
        .fetch_one(&pool)
        .await?;
    println!("note {id}; pinned: {:?}", pinned_titles(&pool).await?);
    println!("written today: {:?}", recent(&pool, chrono::Utc::now() - chrono::Duration::days(1)).await?);
    delete_from::<Notes>().where_(notes::id.eq(id)).execute(&pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use taulu::{prelude::*, testing::TestDb};

    use super::{db, db::notes};

    #[taulu::test(migrations = db::MIGRATIONS)]
    async fn only_pinned_notes_are_listed(db: TestDb) -> taulu::Result<()> {
        insert_into::<db::Notes>()
            .values_many([notes::Insert::new("pinned").with_pinned(true), notes::Insert::new("not pinned")])
            .execute(db.client())
            .await?;
        assert_eq!(super::pinned_titles(db.client()).await?, ["pinned"]);
        let since = chrono::Utc::now() - chrono::Duration::hours(1);
        let recent = super::recent(db.client(), since).await?;
        assert_eq!(recent.len(), 2);
        assert!(recent.iter().all(|(_, total)| *total == 2));
        Ok(())
    }
}
