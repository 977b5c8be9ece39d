//! What the end-to-end tests share: the service on a free port over a fresh database, and an
//! HTTP/1.1 client (hyper's, already in axum's tree).
#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;

use http_body_util::{BodyExt as _, Full};
use hyper::{Request, StatusCode, body::Bytes, header};
use serde_json::{Value, json};
use taulu::{Db, testing::TestDb};
use taulu_app::service::{AppState, Limits};

/// The service on a free port, over `db`; stops when the test's runtime ends.
pub async fn spawn_app(db: Db) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState { db, limits: Limits::default() };
    tokio::spawn(taulu_app::service::serve(listener, state, std::future::pending()));
    addr
}

/// A response: status, `Retry-After` if any, and the body (JSON, or the text as a JSON string).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<String>,
    pub body: Value,
}

/// One HTTP/1.1 request on a connection of its own.
pub async fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let mut request = Request::builder().method(method).uri(path).header(header::HOST, "localhost");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let bytes = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let response = sender.send_request(request.body(Full::new(bytes)).unwrap()).await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply { status, retry_after, body }
}

pub async fn sign_up(addr: SocketAddr, username: &str, email: &str) -> Reply {
    call(
        addr,
        "POST",
        "/signup",
        None,
        Some(json!({"username": username, "email": email, "password": "correct horse"})),
    )
    .await
}

/// Signs up and logs in; the bearer token.
pub async fn account(addr: SocketAddr, username: &str) -> (String, String) {
    let email = format!("{username}@example.com");
    let made = sign_up(addr, username, &email).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let id = made.body["id"].as_str().unwrap().to_owned();
    let login = call(addr, "POST", "/login", None, Some(json!({"email": email, "password": "correct horse"}))).await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    (login.body["token"].as_str().unwrap().to_owned(), id)
}

pub async fn app_db() -> (TestDb, SocketAddr) {
    let test = TestDb::new(&taulu_app::MIGRATIONS).await.unwrap();
    let addr = spawn_app(test.pool()).await;
    (test, addr)
}
