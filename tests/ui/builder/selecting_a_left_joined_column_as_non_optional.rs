use taulu::prelude::*;
use taulu_app::schema::{Users, sessions, users};

async fn run(c: &tokio_postgres::Client) -> Result<(), taulu::Error> {
    let rows: Vec<(String, uuid::Uuid)> = select_from::<Users>()
        .left_join(sessions::user_id, users::id)
        .columns((users::username, sessions::id))
        .fetch_all(c)
        .await?;
    drop(rows);
    Ok(())
}

fn main() {
    let _ = run;
}
