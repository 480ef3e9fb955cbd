//! The Prometheus endpoint: `GET /metrics` answers every metric of [`crate::metrics::Metrics`]
//! in the text exposition format 0.0.4; anything else is 404 (405 for another method on
//! `/metrics`).
//!
//! Invariants: read-only (gathering never changes a metric); request bodies are refused past
//! a small limit; served by [`super::serve_named`] on its own listener, so a scrape never
//! competes with the reports API for connections.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;

use crate::metrics::Metrics;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Request bodies past this size are refused (the only route is a GET).
const MAX_BODY_BYTES: usize = 1024;

/// The `/metrics` router over `metrics`. Serve it with [`super::serve_named`].
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(not_found)
        .with_state(metrics)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    let mut response = metrics.gather().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: the only route is GET /metrics\n",
    )
        .into_response()
}
