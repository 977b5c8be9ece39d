use taulu::prelude::*;
use taulu_app::schema::{Users, sessions, users};

#[derive(taulu::FromRow)]
struct Account {
    username: String,
    revoked: chrono::DateTime<chrono::Utc>, // left-joined and nullable: Option<..>
}

async fn f(db: &taulu::Db) -> taulu::Result<Vec<Account>> {
    select_from::<Users>()
        .left_join(sessions::user_id, users::id)
        .columns((users::username, sessions::revoked_at))
        .fetch_all_as::<Account>(db)
        .await
}

fn main() {
    let _ = f;
}
