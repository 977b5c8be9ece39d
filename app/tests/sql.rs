//! Every `sql!` statement of the app, confirmed by PREPARE on a database of its migrations.

#[tokio::test]
async fn every_sql_statement_of_the_app_matches_what_postgresql_prepares() {
    let db = taulu::testing::TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let statements = taulu::sql_statements!("../migrations", "src");
    assert!(!statements.is_empty());
    if let Err(report) = taulu::testing::check_sql(db.client(), statements).await {
        panic!("sql! and PostgreSQL disagree:\n{report}");
    }
}
