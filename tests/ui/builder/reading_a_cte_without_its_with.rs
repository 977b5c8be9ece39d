use taulu::prelude::*;
use taulu::query::{derived, select_from_cte};
use taulu_app::schema::{LoginAttempts, login_attempts};

taulu::alias!(Failed);

async fn run(db: &taulu::Db) -> taulu::Result<()> {
    let failed = derived(
        Failed,
        select_from::<LoginAttempts>().columns((login_attempts::identifier,)).where_(login_attempts::success.eq(false)),
    );
    // The CTE is read, but no `with(&failed)` defines it: "relation "Failed" does not exist".
    let _ = select_from_cte(&failed).columns((failed.col::<0>(),)).fetch_all(db).await?;
    Ok(())
}

fn main() {
    let _ = run;
}
