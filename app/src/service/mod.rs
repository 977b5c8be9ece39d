//! The reference app's HTTP service (axum): accounts, sessions and orgs over taulu's builder.
//!
//! | route | what |
//! |---|---|
//! | `POST /signup` | `{username, email, password, display_name?}` -> 201 `{id, username, email, display_name}`; 409 on a taken email (any case) or username |
//! | `POST /login` | `{email, password}` -> 200 `{token, expires_at}`; 401; 429 after too many failures |
//! | `GET /me` | the signed-in account (`Authorization: Bearer <token>`) |
//! | `POST /logout` | revokes the session -> 204 |
//! | `POST /orgs` | `{name, slug}` -> 201; the caller becomes its owner |
//! | `GET /orgs` | the caller's orgs with the caller's role |
//! | `GET /orgs/{slug}/members` | the org's members (members only) |
//! | `POST /orgs/{slug}/members` | `{email, role?}` -> 201 (owners and admins) |
//! | `PATCH /orgs/{slug}/members/{user_id}` | `{role}` -> 204 |
//! | `DELETE /orgs/{slug}/members/{user_id}` | -> 204 (or leave: your own id) |
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 when the database answers and has this binary's schema, else 503 |
//!
//! Errors are JSON `{"error": ...}` with the status from [`error::ApiError`]. Each request runs in
//! a tracing span (`request{method, path}`) in which taulu logs each statement's SQL text and
//! duration at DEBUG (target `taulu::query`): SQL shapes with `$n` placeholders, never values.

pub mod auth;
pub mod error;
pub mod orgs;

use std::{net::SocketAddr, time::Duration};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::Response,
    routing::{get, patch, post},
};
use tracing::Instrument as _;

/// What the handlers share: the pool (cheap to clone: it is a handle) and the limits.
#[derive(Clone)]
pub struct AppState {
    pub db: taulu::Db,
    pub limits: Limits,
}

/// The service's policy knobs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failed logins for one identifier within `lockout_window` that lock it out.
    pub max_failures: i64,
    pub lockout_window: chrono::Duration,
    pub session_lifetime: chrono::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_failures: 5,
            lockout_window: chrono::Duration::minutes(15),
            session_lifetime: chrono::Duration::days(30),
        }
    }
}

/// The routes, over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/signup", post(auth::sign_up))
        .route("/login", post(auth::log_in))
        .route("/logout", post(auth::log_out))
        .route("/me", get(auth::me))
        .route("/me/activity", get(auth::activity))
        .route("/orgs", post(orgs::create).get(orgs::list_mine))
        .route("/orgs/{slug}", get(orgs::show))
        .route("/orgs/{slug}/members", get(orgs::list_members).post(orgs::add_member))
        .route("/orgs/{slug}/members/{user_id}", patch(orgs::change_role).delete(orgs::remove_member))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn(trace_request))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// The pool's figures ([`taulu::PoolStatus`]) as JSON: connections open, idle and in use,
/// callers waiting, checkouts, waits and their total time (`wait_time` in microseconds), and
/// callers that gave up. A Prometheus or OpenTelemetry setup would hand the same snapshot to its
/// exporter with `PoolStatus::record` (taulu's `metrics` feature) instead.
async fn metrics(State(app): State<AppState>) -> Json<taulu::PoolStatus> {
    Json(app.db.status())
}

/// How long `/readyz` waits for the database before saying it is not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: the database answers within [`READY_TIMEOUT`] and has the schema this binary was
/// built for ([`taulu::Db::check_schema`]): a deploy that runs it against a database it was not
/// built for stays out of rotation and says why.
async fn readyz(State(app): State<AppState>) -> (StatusCode, String) {
    match tokio::time::timeout(READY_TIMEOUT, app.db.check_schema(&crate::schema::SCHEMA)).await {
        Ok(Ok(check)) if check.is_ok() => (StatusCode::OK, "ready".into()),
        Ok(Ok(check)) => {
            tracing::warn!(%check, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, check.to_string())
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer".into())
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer".into()),
    }
}

/// A span per request, closed with its status and duration. Statements logged by taulu inside
/// the handler carry the span, so a request's log reads as its list of SQL shapes with timings.
async fn trace_request(request: Request, next: Next) -> Response {
    let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path());
    async move {
        let started = std::time::Instant::now();
        let response = next.run(request).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(status = response.status().as_u16(), elapsed_ms, "response");
        response
    }
    .instrument(span)
    .await
}
