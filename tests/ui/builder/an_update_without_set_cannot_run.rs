use taulu::prelude::*;
use taulu_app::schema::{Users, users};

async fn run(db: &taulu::Db) -> taulu::Result<u64> {
    update::<Users>().where_(users::username.eq("ann")).execute(db).await
}

fn main() {
    let _ = run;
}
