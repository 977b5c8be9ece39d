// `#[taulu::test]` hands the test its database: it needs an `async fn` taking one argument.
use taulu::testing::TestDb;

#[taulu::test(migrations = "../../../migrations")]
fn not_async(db: TestDb) {
    let _ = db;
}

#[taulu::test(migrations = "../../../migrations")]
async fn no_database() {}

#[taulu::test(dir = "migrations")]
async fn unknown_argument(db: TestDb) {
    let _ = db;
}

fn main() {}
