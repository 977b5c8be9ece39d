//! Accounts and sessions: sign up, log in (every attempt recorded, lock-out after repeated
//! failures), the bearer-token extractor, `GET /me`, log out.

use std::net::SocketAddr;

use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _, password_hash::SaltString};
use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use taulu::prelude::*;
use uuid::Uuid;

use super::{
    AppState,
    error::{ApiError, ApiResult},
};
use crate::schema::{LoginAttempts, Sessions, Users, login_attempts, sessions, users};

#[derive(Deserialize)]
pub struct SignUp {
    pub username: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
}

/// `POST /signup`: 201 with the new account; 409 when the email (in any case) or the username is
/// taken, from the unique index's violation (no check-then-insert race).
pub async fn sign_up(State(app): State<AppState>, Json(req): Json<SignUp>) -> ApiResult<(StatusCode, Json<Me>)> {
    let (username, email) = (req.username.trim().to_owned(), req.email.trim().to_owned());
    if username.is_empty() || !email.contains('@') {
        return Err(ApiError::BadRequest("a username and an email address are required".into()));
    }
    if req.password.chars().count() < 8 {
        return Err(ApiError::BadRequest("the password needs at least 8 characters".into()));
    }
    let hash = hash_password(req.password).await?;
    let mut insert = users::Insert::new(username, email, hash);
    if let Some(name) = req.display_name {
        insert = insert.with_display_name(name);
    }
    let (id, username, email, display_name) = insert_into::<Users>()
        .values(insert)
        .returning((users::id, users::username, users::email, users::display_name))
        .fetch_one(&app.db)
        .await?;
    Ok((StatusCode::CREATED, Json(Me { id, username, email, display_name })))
}

#[derive(Deserialize)]
pub struct LogIn {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct NewSession {
    /// The bearer token: shown once, stored only as its SHA-256.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /login`: a session token, or 401. Every attempt is recorded in `login_attempts`; after
/// `max_failures` failures for an identifier within `lockout_window`, further attempts get 429
/// without the password being checked.
pub async fn log_in(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<LogIn>,
) -> ApiResult<Json<NewSession>> {
    let identifier = req.email.trim().to_owned();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let record = |user_id: Option<Uuid>, success: bool| {
        let mut attempt = login_attempts::Insert::new(identifier.clone(), success).with_ip(peer.ip());
        if let Some(id) = user_id {
            attempt = attempt.with_user_id(id);
        }
        if let Some(agent) = &user_agent {
            attempt = attempt.with_user_agent(agent.clone());
        }
        insert_into::<LoginAttempts>().values(attempt)
    };

    let since = Utc::now() - app.limits.lockout_window;
    let (failures,) = select_from::<LoginAttempts>()
        .columns((count_all(),))
        .where_(lower(login_attempts::identifier).eq(identifier.to_lowercase()))
        .where_(login_attempts::success.eq(false))
        .where_(login_attempts::attempted_at.gt(since))
        .fetch_one(&app.db)
        .await?;
    if failures >= app.limits.max_failures {
        record(None, false).execute(&app.db).await?;
        return Err(ApiError::TooManyAttempts { retry_after_s: app.limits.lockout_window.num_seconds() as u64 });
    }

    let account = select_from::<Users>()
        .columns((users::id, users::password_hash))
        .where_(lower(users::email).eq(identifier.to_lowercase()))
        .fetch_optional(&app.db)
        .await?;
    let verified = match &account {
        Some((_, hash)) => verify_password(req.password, hash.clone()).await?,
        None => false,
    };
    let user_id = account.map(|(id, _)| id);
    record(user_id, verified).execute(&app.db).await?;
    let (Some(user_id), true) = (user_id, verified) else { return Err(ApiError::Unauthorized) };

    let token: [u8; 32] = rand::random();
    let expires_at = Utc::now() + app.limits.session_lifetime;
    let mut session = sessions::Insert::new(user_id, token_hash(&token), expires_at).with_ip(peer.ip());
    if let Some(agent) = user_agent {
        session = session.with_user_agent(agent);
    }
    insert_into::<Sessions>().values(session).execute(&app.db).await?;
    Ok(Json(NewSession { token: hex(&token), expires_at }))
}

/// Sign-in attempts on the caller's account over the last 30 days.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub successes: i64,
    pub failures: i64,
    pub last_success: Option<DateTime<Utc>>,
}

/// `GET /me/activity`: how many sign-ins on the caller's account succeeded and failed in the last
/// 30 days, and when the last one succeeded. Written in SQL with `sql!` (aggregates with
/// `FILTER`, which the builder does not express), typed at build time like the rest.
pub async fn activity(State(app): State<AppState>, user: CurrentUser) -> ApiResult<Json<Activity>> {
    let since = Utc::now() - chrono::Duration::days(30);
    let row = crate::schema::sql!(
        "SELECT count(*) FILTER (WHERE success) AS successes,
                count(*) FILTER (WHERE NOT success) AS failures,
                max(attempted_at) FILTER (WHERE success) AS last_success
         FROM login_attempts
         WHERE user_id = $1 AND attempted_at > $2",
        user.me.id,
        since
    )
    .fetch_one(&app.db)
    .await?;
    Ok(Json(Activity { successes: row.successes, failures: row.failures, last_success: row.last_success }))
}

/// The signed-in caller, from `Authorization: Bearer <token>`: a session that exists, is not
/// revoked and has not expired. Anything else is 401.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub session_id: Uuid,
    pub me: Me,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).and_then(unhex).ok_or(ApiError::Unauthorized)?;
        let found = select_from::<Sessions>()
            .inner_join(users::id, sessions::user_id)
            .columns((sessions::id, users::id, users::username, users::email, users::display_name))
            .where_(sessions::token_hash.eq(token_hash(&token)))
            .where_(sessions::revoked_at.is_null())
            .where_(sessions::expires_at.gt(now()))
            .fetch_optional(&app.db)
            .await?;
        let (session_id, id, username, email, display_name) = found.ok_or(ApiError::Unauthorized)?;
        Ok(CurrentUser { session_id, me: Me { id, username, email, display_name } })
    }
}

/// `GET /me`.
pub async fn me(user: CurrentUser) -> Json<Me> {
    Json(user.me)
}

/// `POST /logout`: revokes the session (the row stays, for the audit); 204.
pub async fn log_out(State(app): State<AppState>, user: CurrentUser) -> ApiResult<StatusCode> {
    update::<Sessions>()
        .set(sessions::revoked_at, now())
        .where_(sessions::id.eq(user.session_id))
        .execute(&app.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Argon2id with the crate's defaults (RFC 9106's second recommended setting), off the async
/// runtime: a hash takes tens of milliseconds of CPU on purpose.
async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password hashing task: {e}")))?
    .map_err(|e| ApiError::Internal(format!("password hashing: {e}")))
}

async fn verify_password(password: String, stored: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password verifying task: {e}")))
}

fn token_hash(token: &[u8]) -> Vec<u8> {
    Sha256::digest(token).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}
