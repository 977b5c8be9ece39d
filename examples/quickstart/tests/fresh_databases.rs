//! `#[taulu::test]` with the default migrations directory (`migrations`, relative to this crate):
//! each test gets a database of its own, so each sees only its own row (in one shared database,
//! one of them would count two).

use taulu::testing::TestDb;

async fn count(db: &TestDb) -> i64 {
    db.client().query_one("SELECT count(*) FROM notes", &[]).await.unwrap().get(0)
}

#[taulu::test]
async fn one_test_writes(db: TestDb) {
    assert_eq!(count(&db).await, 0);
    db.client().execute("INSERT INTO notes (title) VALUES ('one')", &[]).await.unwrap();
    assert_eq!(count(&db).await, 1);
}

#[taulu::test]
async fn another_test_writes(db: TestDb) {
    assert_eq!(count(&db).await, 0);
    db.client().execute("INSERT INTO notes (title) VALUES ('another')", &[]).await.unwrap();
    assert_eq!(count(&db).await, 1);
}
