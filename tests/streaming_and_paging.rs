//! Streaming results row by row, and keyset pagination, on PostgreSQL.

use futures_util::TryStreamExt as _;
use taulu::{Db, DbConfig, prelude::*, testing::TestDb};
use taulu_app::schema::{LoginAttempts, login_attempts};

const ROWS: i64 = 20_000;

async fn seeded() -> (TestDb, Db) {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    test.client()
        .execute(
            "INSERT INTO login_attempts (identifier, success) SELECT 'u' || g, g % 2 = 0 FROM generate_series(1, $1::bigint) g",
            &[&ROWS],
        )
        .await
        .unwrap();
    let db = Db::connect(DbConfig::new(test.url().clone())).await.unwrap();
    (test, db)
}

#[tokio::test]
async fn fetch_stream_yields_every_row_in_order_on_every_executor() {
    let (test, db) = seeded().await;
    let q = select_from::<LoginAttempts>()
        .columns((login_attempts::id, login_attempts::identifier))
        .where_(login_attempts::success.eq(true))
        .order_by(login_attempts::id);
    let check = |rows: Vec<(i64, String)>| {
        assert_eq!(rows.len() as i64, ROWS / 2);
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "in order");
        assert!(rows.iter().all(|(_, id)| id[1..].parse::<i64>().unwrap() % 2 == 0));
    };
    // On the pool, a pooled connection, inside a transaction, and a plain client.
    check(q.fetch_stream(&db).await.unwrap().try_collect().await.unwrap());
    let conn = db.get().await.unwrap();
    check(q.fetch_stream(&conn).await.unwrap().try_collect().await.unwrap());
    drop(conn);
    let in_tx = db.transaction(async |tx| q.fetch_stream(tx).await?.try_collect::<Vec<_>>().await).await.unwrap();
    check(in_tx);
    check(q.fetch_stream(test.client()).await.unwrap().try_collect().await.unwrap());

    // Dropping a stream half-way gives its connection back in a usable state.
    let mut half = q.fetch_stream(&db).await.unwrap();
    for _ in 0..10 {
        half.try_next().await.unwrap().unwrap();
    }
    drop(half);
    let (n,): (i64,) = select_from::<LoginAttempts>().columns((count_all(),)).fetch_one(&db).await.unwrap();
    assert_eq!(n, ROWS);
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once() {
    let (_test, db) = seeded().await;
    let page = |cursor: Option<(bool, i64)>| {
        select_from::<LoginAttempts>()
            .columns((login_attempts::success, login_attempts::id))
            .after((login_attempts::success, login_attempts::id), cursor)
            .limit(1_500)
    };
    let (mut cursor, mut seen, mut pages) = (None, Vec::new(), 0);
    loop {
        let rows = page(cursor).fetch_all(&db).await.unwrap();
        let Some(last) = rows.last() else { break };
        cursor = Some(*last);
        seen.extend(rows.iter().map(|(_, id)| *id));
        pages += 1;
    }
    assert_eq!(pages, (ROWS as usize).div_ceil(1_500));
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (ROWS as usize, ROWS as usize), "every row once");
}
