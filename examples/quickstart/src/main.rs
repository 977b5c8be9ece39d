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
        Ok(())
    }
}
