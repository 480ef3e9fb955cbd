//! The HTTP API (Web3Signer's eth2 API): the axum [`Router`] over a [`SignerApi`].
//!
//! Routes ([`ROUTES`]): `POST /api/v1/eth2/sign/{identifier}`, `GET /api/v1/eth2/publicKeys`,
//! `GET /api/v1/eth2/highWatermark`, `GET|POST /reload`, `GET /upcheck`, `GET /healthcheck`,
//! `GET|POST|DELETE /eth/v1/keystores`. Serve it through the client's hardened accept loop.
//!
//! Invariants:
//! - a signature is answered `200` as `{"signature": "0x…"}`, or as the bare hex string when the
//!   request's `Accept` prefers `text/plain`; every refusal is `{"code", "message"}` with the
//!   status of [`crate::Refusal::status`] and a message naming what was wrong;
//! - with a bearer token configured, every route but `/upcheck` and `/healthcheck` answers 401
//!   (no or malformed `Authorization`) or 403 (another token) before anything else looks at the
//!   request; the keystores routes always need a token (403 when none is configured);
//! - request bodies past [`MAX_BODY_BYTES`] are refused (413) before they are read whole.

mod health;
mod keystores;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use types::EthSpec;

use crate::auth::{BearerToken, TokenProblem};
use crate::reload::Reloader;
use crate::service::SignerService;

/// Every path served, in axum syntax.
pub const ROUTES: &[&str] = &[
    "/api/v1/eth2/sign/{identifier}",
    "/api/v1/eth2/publicKeys",
    "/api/v1/eth2/highWatermark",
    "/reload",
    "/upcheck",
    "/healthcheck",
    "/eth/v1/keystores",
];

/// Request bodies larger than this are refused: a whole block with its execution payload is
/// at most `MAX_PAYLOAD_SIZE` (10 MiB) of SSZ, somewhat more as JSON.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What the routes work on.
pub struct SignerApi<E: EthSpec> {
    /// The signing service.
    pub service: Arc<SignerService<E>>,
    /// The key reloader.
    pub reloader: Arc<Reloader>,
    /// The bearer token, when required.
    pub token: Option<BearerToken>,
}

impl<E: EthSpec> std::fmt::Debug for SignerApi<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerApi")
            .field("service", &self.service)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// An answer `{"code": status, "message": message}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        axum::Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

/// The router over `api`.
pub fn router<E: EthSpec>(api: Arc<SignerApi<E>>) -> Router {
    let protected = Router::new()
        .route("/api/v1/eth2/sign/{identifier}", post(sign::<E>))
        .route("/api/v1/eth2/publicKeys", get(public_keys::<E>))
        .route("/api/v1/eth2/highWatermark", get(high_watermark))
        .route(
            "/reload",
            get(health::reload_status::<E>).post(health::reload::<E>),
        )
        .route(
            "/eth/v1/keystores",
            get(keystores::list::<E>)
                .post(keystores::import::<E>)
                .delete(keystores::delete::<E>),
        )
        .route_layer(middleware::from_fn_with_state(
            api.clone(),
            require_token::<E>,
        ));
    Router::new()
        .route("/upcheck", get(health::upcheck))
        .route("/healthcheck", get(health::healthcheck::<E>))
        .merge(protected)
        .fallback(not_found)
        .with_state(api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Checks the bearer token, when one is configured (the keystores routes need one always).
async fn require_token<E: EthSpec>(
    State(api): State<Arc<SignerApi<E>>>,
    request: Request,
    next: Next,
) -> Response {
    let keystores = request.uri().path() == "/eth/v1/keystores";
    let Some(token) = &api.token else {
        if keystores {
            return error(
                StatusCode::FORBIDDEN,
                "the keystores routes need a bearer token: run the signer with --token-file",
            );
        }
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match token.check_header(presented) {
        Ok(()) => next.run(request).await,
        Err(problem) => {
            let status = match problem {
                TokenProblem::Missing | TokenProblem::Malformed => StatusCode::UNAUTHORIZED,
                TokenProblem::Wrong => StatusCode::FORBIDDEN,
            };
            let mut response = error(status, problem.message());
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not found: see the signer API (Web3Signer eth2 API)",
    )
}

/// Whether `Accept` prefers `text/plain` to `application/json` (JSON on a tie or without
/// `Accept`).
fn prefers_text(headers: &HeaderMap) -> bool {
    let mut json = 0.0f32;
    let mut text = 0.0f32;
    let mut any = false;
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            any = true;
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/json" | "application/*" => json = json.max(q),
                "text/plain" | "text/*" => text = text.max(q),
                "*/*" => {
                    json = json.max(q * 0.999);
                    text = text.max(q * 0.998);
                }
                _ => {}
            }
        }
    }
    any && text > json
}

async fn sign<E: EthSpec>(
    State(api): State<Arc<SignerApi<E>>>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match api.service.sign(&identifier, &body).await {
        Ok(signature) => {
            if prefers_text(&headers) {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    signature.to_string(),
                )
                    .into_response()
            } else {
                axum::Json(json!({"signature": signature})).into_response()
            }
        }
        Err(refusal) => error(
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            refusal.to_string(),
        ),
    }
}

async fn public_keys<E: EthSpec>(State(api): State<Arc<SignerApi<E>>>) -> Response {
    axum::Json(api.service.keys().public_keys()).into_response()
}

/// No high watermark is kept: the specification's answer for that is an empty object.
async fn high_watermark() -> Response {
    axum::Json(json!({})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accept_negotiation() {
        assert!(!prefers_text(&HeaderMap::new()));
        assert!(!prefers_text(&accept("*/*")));
        assert!(!prefers_text(&accept("application/json")));
        assert!(prefers_text(&accept("text/plain")));
        assert!(prefers_text(&accept("text/plain, application/json;q=0.5")));
        assert!(!prefers_text(&accept("text/plain;q=0.4, application/json")));
        assert!(prefers_text(&accept("text/*, */*;q=0.1")));
        assert!(!prefers_text(&accept("text/html")));
    }
}
