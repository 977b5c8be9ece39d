use taulu::prelude::*;
use taulu::query::derived;
use taulu_app::schema::{LoginAttempts, Users, login_attempts, users};

taulu::alias!(Failed);

async fn run(db: &taulu::Db) -> taulu::Result<()> {
    let failed = derived(
        Failed,
        select_from::<LoginAttempts>().columns((login_attempts::identifier,)).where_(login_attempts::success.eq(false)),
    );
    // Joined, but the statement does not start with `with(&failed)`.
    let _ = select_from::<Users>()
        .inner_join_cte(&failed, failed.col::<0>().eq(users::username))
        .columns((users::id,))
        .fetch_optional(db)
        .await?;
    Ok(())
}

fn main() {
    let _ = run;
}
