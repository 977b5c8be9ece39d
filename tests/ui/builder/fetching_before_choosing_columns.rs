use taulu::prelude::*;
use taulu_app::schema::Users;

async fn run(c: &tokio_postgres::Client) {
    let _ = select_from::<Users>().fetch_all(c).await;
}

fn main() {
    let _ = run;
}
