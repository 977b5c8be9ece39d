//! The quick start's service: migrate at startup, write a note, then serve `GET /notes` on
//! 127.0.0.1:3000 (with `--once`, print the notes and exit).

use taulu::prelude::*;
use taulu_quickstart::db::{self, Notes, notes};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // DATABASE_URL, or a local PostgreSQL started on first use (database `quickstart`).
    let url = taulu::local::url_or_local("quickstart").await?;
    let pool = taulu::Db::new(taulu::DbConfig::from_env_for(url)?);
    taulu::migrate::Migrator::new(&db::MIGRATIONS).up(pool.get().await?.client(), None).await?;

    insert_into::<Notes>().values(notes::Insert::new("Hello, taulu").with_pinned(true)).execute(&pool).await?;
    println!("pinned: {:?}", taulu_quickstart::pinned_titles(&pool).await?);
    if std::env::args().any(|a| a == "--once") {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("serving http://127.0.0.1:3000/notes");
    axum::serve(listener, taulu_quickstart::router(pool)).await?;
    Ok(())
}
