//! The TechEmpower Framework Benchmarks' database tests as one axum service, written three ways
//! over the same routes, pool size and data: taulu's builder (with and without multiplexing), sqlx
//! 0.8 (`query_as`, its own pool), and raw tokio-postgres as the TechEmpower axum entries write
//! it (prepared statements on a set of clients, pipelined). `benches/web.rs` loads them with wrk.
//!
//! Every contender runs the same program: the 20 reads of `/queries` and `/updates` are issued
//! together (`try_join_all`), and each library does with them what it does (separate pool
//! checkouts, or statements pipelined on shared connections); the update is one statement,
//! `UPDATE .. FROM` over two UNNEST arrays, as the leading entries write it.

use std::{
    cell::Cell,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};

/// The bench's schema, typed from `migrations/` at build time.
pub mod schema {
    taulu::schema!("migrations");
}

/// The migration that creates the tables (the runner applies it to a fresh database).
pub const MIGRATION: &str = include_str!("../migrations/000001_techempower.up.sql");

/// A row of `world`, as the tests' JSON names it.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct World {
    /// 1 to 10,000.
    pub id: i32,
    /// 1 to 10,000.
    #[serde(rename = "randomNumber")]
    pub random_number: i32,
}

/// A contender: the three statements of the tests, and the slow one of the mixed test.
pub trait Store: Clone + Send + Sync + 'static {
    /// `SELECT id, randomnumber FROM world WHERE id = $1`.
    fn world(&self, id: i32) -> impl Future<Output = Result<World, String>> + Send;
    /// `SELECT id, message FROM fortune`.
    fn fortunes(&self) -> impl Future<Output = Result<Vec<(i32, String)>, String>> + Send;
    /// One statement writing every world's new number (ids sorted, so concurrent updates lock
    /// rows in one order).
    fn update(&self, worlds: Vec<World>) -> impl Future<Output = Result<(), String>> + Send;
    /// A 50 ms statement (`pg_sleep(0.05)`), for the mixed load.
    fn slow(&self) -> impl Future<Output = Result<(), String>> + Send;
}

thread_local! {
    static SEED: Cell<u64> = Cell::new({
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (t.as_nanos() as u64) | 1
    });
}

/// A random number in 1..=10,000 (xorshift per thread: cheap, and the same for every contender).
pub fn random_id() -> i32 {
    SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x % 10_000) as i32 + 1
    })
}

#[derive(Deserialize)]
struct Count {
    q: Option<String>,
}

/// The tests' rule for `?q=`: a number clamped to 1..=500, 1 when missing or not a number.
fn count(q: &Count) -> usize {
    q.q.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(1).clamp(1, 500) as usize
}

fn fail(e: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e).into_response()
}

async fn db<S: Store>(State(s): State<S>) -> Response {
    match s.world(random_id()).await {
        Ok(w) => Json(w).into_response(),
        Err(e) => fail(e),
    }
}

async fn queries<S: Store>(State(s): State<S>, Query(q): Query<Count>) -> Response {
    match try_join_all((0..count(&q)).map(|_| s.world(random_id()))).await {
        Ok(w) => Json(w).into_response(),
        Err(e) => fail(e),
    }
}

async fn updates<S: Store>(State(s): State<S>, Query(q): Query<Count>) -> Response {
    let mut worlds = match try_join_all((0..count(&q)).map(|_| s.world(random_id()))).await {
        Ok(w) => w,
        Err(e) => return fail(e),
    };
    for w in &mut worlds {
        w.random_number = random_id();
    }
    match s.update(worlds.clone()).await {
        Ok(()) => Json(worlds).into_response(),
        Err(e) => fail(e),
    }
}

async fn fortunes<S: Store>(State(s): State<S>) -> Response {
    let mut rows = match s.fortunes().await {
        Ok(rows) => rows,
        Err(e) => return fail(e),
    };
    rows.push((0, "A fortune added while the request ran.".to_owned()));
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], fortunes_html(&rows)).into_response()
}

/// One request in 20 runs a 50 ms statement, the others a single-row read: what a service with a
/// few slow endpoints looks like to its pool.
async fn mixed<S: Store>(State(s): State<S>) -> Response {
    static N: AtomicUsize = AtomicUsize::new(0);
    let r = if N.fetch_add(1, Ordering::Relaxed).is_multiple_of(20) {
        s.slow().await.map(|()| World { id: 0, random_number: 0 })
    } else {
        s.world(random_id()).await
    };
    match r {
        Ok(w) => Json(w).into_response(),
        Err(e) => fail(e),
    }
}

/// The fortunes page: a table of id and message, the messages escaped.
pub fn fortunes_html(rows: &[(i32, String)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(2048);
    out.push_str(
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>",
    );
    for (id, message) in rows {
        let _ = write!(out, "<tr><td>{id}</td><td>");
        for c in message.chars() {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                c => out.push(c),
            }
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table></body></html>");
    out
}

/// The routes, over one contender.
pub fn router<S: Store>(store: S) -> Router {
    Router::new()
        .route("/db", get(db::<S>))
        .route("/queries", get(queries::<S>))
        .route("/updates", get(updates::<S>))
        .route("/fortunes", get(fortunes::<S>))
        .route("/mixed", get(mixed::<S>))
        .with_state(store)
}

fn ids_and_numbers(mut worlds: Vec<World>) -> (Vec<i32>, Vec<i32>) {
    worlds.sort_by_key(|w| w.id);
    worlds.dedup_by_key(|w| w.id);
    worlds.into_iter().map(|w| (w.id, w.random_number)).unzip()
}

/// taulu: the builder, the pool, the retry layer.
#[derive(Clone)]
pub struct Taulu(pub taulu::Db);

mod taulu_store {
    use taulu::prelude::*;
    use taulu::query::{derived, select_no_from, sql, unnest, with};

    use super::{
        World, ids_and_numbers,
        schema::{Fortune, World as WorldTable, fortune, world},
    };

    taulu::alias!(New);

    impl super::Store for super::Taulu {
        async fn world(&self, id: i32) -> Result<World, String> {
            let (id, random_number) = select_from::<WorldTable>()
                .columns((world::id, world::randomnumber))
                .where_(world::id.eq(id))
                .fetch_one(&self.0)
                .await
                .map_err(|e| e.to_string())?;
            Ok(World { id, random_number })
        }

        async fn fortunes(&self) -> Result<Vec<(i32, String)>, String> {
            select_from::<Fortune>()
                .columns((fortune::id, fortune::message))
                .fetch_all(&self.0)
                .await
                .map_err(|e| e.to_string())
        }

        async fn update(&self, worlds: Vec<World>) -> Result<(), String> {
            let (ids, numbers) = ids_and_numbers(worlds);
            let new = derived(New, select_no_from().columns((unnest(ids), unnest(numbers))));
            with(&new)
                .update::<WorldTable>()
                .from_cte(&new)
                .set(world::randomnumber, new.col::<1>())
                .where_(world::id.eq(new.col::<0>()))
                .execute(&self.0)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }

        async fn slow(&self) -> Result<(), String> {
            select_no_from()
                .columns((sql::<String>("pg_sleep(0.05)::text"),))
                .fetch_one(&self.0)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    }
}

/// sqlx 0.8: `query_as` with tuples, on its own pool.
#[derive(Clone)]
pub struct Sqlx(pub sqlx::PgPool);

impl Store for Sqlx {
    async fn world(&self, id: i32) -> Result<World, String> {
        let (id, random_number): (i32, i32) = sqlx::query_as("SELECT id, randomnumber FROM world WHERE id = $1")
            .bind(id)
            .fetch_one(&self.0)
            .await
            .map_err(|e| e.to_string())?;
        Ok(World { id, random_number })
    }

    async fn fortunes(&self) -> Result<Vec<(i32, String)>, String> {
        sqlx::query_as("SELECT id, message FROM fortune").fetch_all(&self.0).await.map_err(|e| e.to_string())
    }

    async fn update(&self, worlds: Vec<World>) -> Result<(), String> {
        let (ids, numbers) = ids_and_numbers(worlds);
        sqlx::query(UPDATE).bind(ids).bind(numbers).execute(&self.0).await.map(drop).map_err(|e| e.to_string())
    }

    async fn slow(&self) -> Result<(), String> {
        sqlx::query("SELECT pg_sleep(0.05)::text").execute(&self.0).await.map(drop).map_err(|e| e.to_string())
    }
}

const UPDATE: &str = "UPDATE world SET randomnumber = new.rn \
                      FROM (SELECT unnest($1::int4[]) AS id, unnest($2::int4[]) AS rn) AS new WHERE world.id = new.id";

/// Raw tokio-postgres as the TechEmpower axum entries write it: a fixed set of clients, each with
/// its statements prepared once, picked round-robin per statement (so statements pipeline).
#[derive(Clone)]
pub struct Raw(Arc<RawClients>);

struct RawClients {
    clients: Vec<RawClient>,
    next: AtomicUsize,
}

struct RawClient {
    client: tokio_postgres::Client,
    world: tokio_postgres::Statement,
    fortunes: tokio_postgres::Statement,
    update: tokio_postgres::Statement,
    slow: tokio_postgres::Statement,
}

impl Raw {
    /// `n` clients connected to `url`, their statements prepared.
    pub async fn connect(url: &taulu::DatabaseUrl, n: usize) -> Result<Raw, String> {
        let mut clients = Vec::with_capacity(n);
        for _ in 0..n {
            let client = taulu::connect(url).await.map_err(|e| e.to_string())?;
            let prepare = async |q: &str| client.prepare(q).await.map_err(|e| e.to_string());
            let (world, fortunes, update, slow) = (
                prepare("SELECT id, randomnumber FROM world WHERE id = $1").await?,
                prepare("SELECT id, message FROM fortune").await?,
                prepare(UPDATE).await?,
                prepare("SELECT pg_sleep(0.05)::text").await?,
            );
            clients.push(RawClient { client, world, fortunes, update, slow });
        }
        Ok(Raw(Arc::new(RawClients { clients, next: AtomicUsize::new(0) })))
    }

    fn client(&self) -> &RawClient {
        let n = self.0.next.fetch_add(1, Ordering::Relaxed);
        &self.0.clients[n % self.0.clients.len()]
    }
}

impl Store for Raw {
    async fn world(&self, id: i32) -> Result<World, String> {
        let c = self.client();
        let row = c.client.query_one(&c.world, &[&id]).await.map_err(|e| e.to_string())?;
        Ok(World { id: row.get(0), random_number: row.get(1) })
    }

    async fn fortunes(&self) -> Result<Vec<(i32, String)>, String> {
        let c = self.client();
        let rows = c.client.query(&c.fortunes, &[]).await.map_err(|e| e.to_string())?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn update(&self, worlds: Vec<World>) -> Result<(), String> {
        let (ids, numbers) = ids_and_numbers(worlds);
        let c = self.client();
        c.client.execute(&c.update, &[&ids, &numbers]).await.map(drop).map_err(|e| e.to_string())
    }

    async fn slow(&self) -> Result<(), String> {
        let c = self.client();
        c.client.query_one(&c.slow, &[]).await.map(drop).map_err(|e| e.to_string())
    }
}
