//! How the service answers when something fails: every error becomes a status and a JSON body
//! `{"error": "..."}`. Database errors are classified by taulu's [`ErrorKind`], never by message
//! text. A 500's details go to the log, not to the client.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use taulu::ErrorKind;

/// A request that could not be served.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request itself is wrong.
    BadRequest(String),
    /// 401: no valid session, or wrong credentials.
    Unauthorized,
    /// 403: signed in, but not allowed to do this.
    Forbidden(&'static str),
    /// 404: what the request names does not exist (or is not visible to the caller).
    NotFound(&'static str),
    /// 409: the request conflicts with the current state.
    Conflict(String),
    /// 429: too many failed logins; retry after this many seconds.
    TooManyAttempts { retry_after_s: u64 },
    /// From the database: mapped by its kind.
    Db(taulu::Error),
    /// 500: a bug or a failure outside the database; the details are logged.
    Internal(String),
}

impl From<taulu::Error> for ApiError {
    fn from(e: taulu::Error) -> Self {
        ApiError::Db(e)
    }
}

/// Seconds a client is told to wait when the database is unavailable: the pool waits out a
/// restart for up to its connect timeout (5 s by default) before giving up.
const UNAVAILABLE_RETRY_AFTER_S: &str = "5";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message, retry_after) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m, None),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "not signed in, or wrong credentials".into(), None),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.into(), None),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m.into(), None),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m, None),
            ApiError::TooManyAttempts { retry_after_s } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins: try again later".into(),
                Some(HeaderValue::from(retry_after_s)),
            ),
            ApiError::Internal(details) => {
                tracing::error!(%details, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into(), None)
            }
            ApiError::Db(e) => match e.kind() {
                ErrorKind::UniqueViolation => (StatusCode::CONFLICT, conflict_message(&e), None),
                ErrorKind::NoRows => (StatusCode::NOT_FOUND, "not found".into(), None),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation | ErrorKind::DataException => {
                    (StatusCode::BAD_REQUEST, format!("invalid value ({})", e.constraint().unwrap_or("type")), None)
                }
                ErrorKind::ForeignKeyViolation => {
                    (StatusCode::CONFLICT, "it refers to something that no longer exists".into(), None)
                }
                // Nothing was applied: the client may retry, after the pool's connect timeout.
                ErrorKind::Unavailable | ErrorKind::PoolExhausted => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable; retry later".into(),
                    Some(HeaderValue::from_static(UNAVAILABLE_RETRY_AFTER_S)),
                ),
                // It may have been applied: no retry advice (a retry could apply it twice).
                ErrorKind::Ambiguous => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the connection to the database was lost mid-request: the change may or may not have been \
                     applied; check before repeating it"
                        .into(),
                    None,
                ),
                _ => {
                    tracing::error!(error = %e, kind = ?e.kind(), "request failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into(), None)
                }
            },
        };
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        response
    }
}

/// What a unique violation means to the client, by constraint name.
fn conflict_message(e: &taulu::Error) -> String {
    match e.constraint() {
        Some("users_email_lower_key") => "that email is already registered".into(),
        Some("users_username_key") => "that username is taken".into(),
        Some("orgs_slug_key") => "that slug is taken".into(),
        Some("members_pkey") => "already a member".into(),
        _ => "already exists".into(),
    }
}

/// Handler results.
pub type ApiResult<T> = Result<T, ApiError>;
