//! Errors: [`Error`] for running the server, [`ApiError`] for what a request gets back
//! (`{"code": <status>, "message": "…"}`, Beacon-API style).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What can stop the HTTP server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener's address could not be read.
    #[error("reports server: cannot read the listening address: {0}")]
    LocalAddr(std::io::Error),
}

/// `Result` with the HTTP module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// An error answered to a request: the status and a message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What was wrong (a bad parameter is named).
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
}

impl ApiError {
    /// 400 for a bad query or path parameter, naming it.
    pub fn bad_param(name: &str, detail: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: format!("invalid parameter `{name}`: {detail}"),
        }
    }

    /// 404 for an unknown item.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("{what} not found"),
        }
    }

    /// 500 for a store failure: logged in full, answered without internal details.
    pub fn store(error: &pool_registry::Error) -> Self {
        tracing::error!(%error, "reports API: store read failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error reading the accounting store".to_owned(),
        }
    }

    /// 500 for a failed blocking task.
    pub fn task(error: &tokio::task::JoinError) -> Self {
        tracing::error!(%error, "reports API: verification task failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error verifying reports".to_owned(),
        }
    }

    /// 500 for a broken internal invariant (logged).
    pub fn internal(what: &str) -> Self {
        tracing::error!(what, "reports API: internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("internal error: {what}"),
        }
    }

    /// 503 when a request took too long.
    pub fn timeout(after: std::time::Duration) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("request timed out after {} ms", after.as_millis()),
        }
    }

    /// 503 when every request slot is busy for too long.
    pub fn busy() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "server busy: too many concurrent requests".to_owned(),
        }
    }
}

impl From<pool_registry::Error> for ApiError {
    fn from(error: pool_registry::Error) -> Self {
        Self::store(&error)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: self.status.as_u16(),
            message: &self.message,
        })
        .unwrap_or_else(|_| b"{\"code\":500,\"message\":\"error encoding failed\"}".to_vec());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
