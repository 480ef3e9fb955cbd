//! The reports API (`/pool/v1/…`, JSON, read-only) and the router that serves it together with
//! the dashboard.
//!
//! Routes (documented in `docs/api.md` and `docs/openapi/pool-v1.yaml`; a test checks that
//! every documented path is routed):
//! - `GET /pool/v1/pool`: pool, chain and oracle key;
//! - `GET /pool/v1/reports` (paged), `/reports/latest`, `/reports/{frame}`,
//!   `/reports/{frame}/canonical`, `/reports/by-root/{root}`, `/reports/by-root/{root}/canonical`,
//!   `/reports/{frame}/proofs/{operator_id}`;
//! - `GET /pool/v1/exchange-rate` (paged);
//! - `GET /pool/v1/operators`, `/operators/{operator_id}`;
//! - `GET /pool/v1/validators/{validator_index}/ledger` (paged);
//! - `GET /pool/v1/frames/{frame}/snapshot`, `/frames/{frame}/parameters`, `/el-values`,
//!   `/epochs`: the recorded inputs a report recomputation needs besides a beacon node.
//!
//! Invariants: errors are `{"code", "message"}` JSON (400 naming the bad parameter, 404 for
//! unknown items); every response carries `Cache-Control` (`no-cache` unless the handler
//! marked it immutable); requests are bounded in body size, time and concurrency.

pub mod data;
mod handlers;
mod inputs;
pub mod params;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;

pub use handlers::{LEDGER_PAGE, RATES_PAGE, REPORTS_PAGE};
pub use inputs::{EL_VALUES_MAX_SLOTS, EPOCHS_MAX};

use super::error::ApiError;
use super::state::{ReportsState, RequestLimits};

/// Every path the router serves, in axum syntax (the OpenAPI test compares against these).
pub const ROUTES: &[&str] = &[
    "/pool/v1/pool",
    "/pool/v1/reports",
    "/pool/v1/reports/latest",
    "/pool/v1/reports/{frame}",
    "/pool/v1/reports/{frame}/canonical",
    "/pool/v1/reports/{frame}/proofs/{operator_id}",
    "/pool/v1/reports/by-root/{root}",
    "/pool/v1/reports/by-root/{root}/canonical",
    "/pool/v1/exchange-rate",
    "/pool/v1/operators",
    "/pool/v1/operators/{operator_id}",
    "/pool/v1/validators/{validator_index}/ledger",
    "/pool/v1/frames/{frame}/snapshot",
    "/pool/v1/frames/{frame}/parameters",
    "/pool/v1/el-values",
    "/pool/v1/epochs",
];

/// The reports API routes (without state or limits).
fn api_routes() -> Router<ReportsState> {
    Router::new()
        .route("/pool/v1/pool", get(handlers::pool))
        .route("/pool/v1/reports", get(handlers::list_reports))
        .route("/pool/v1/reports/latest", get(handlers::latest_report))
        .route("/pool/v1/reports/{frame}", get(handlers::report_by_frame))
        .route(
            "/pool/v1/reports/{frame}/canonical",
            get(handlers::canonical_by_frame),
        )
        .route(
            "/pool/v1/reports/{frame}/proofs/{operator_id}",
            get(handlers::proof),
        )
        .route(
            "/pool/v1/reports/by-root/{root}",
            get(handlers::report_by_root),
        )
        .route(
            "/pool/v1/reports/by-root/{root}/canonical",
            get(handlers::canonical_by_root),
        )
        .route("/pool/v1/exchange-rate", get(handlers::exchange_rate))
        .route("/pool/v1/operators", get(handlers::operators))
        .route("/pool/v1/operators/{operator_id}", get(handlers::operator))
        .route(
            "/pool/v1/validators/{validator_index}/ledger",
            get(handlers::validator_ledger),
        )
        .route("/pool/v1/frames/{frame}/snapshot", get(inputs::snapshot))
        .route(
            "/pool/v1/frames/{frame}/parameters",
            get(inputs::frame_parameters),
        )
        .route("/pool/v1/el-values", get(inputs::el_values))
        .route("/pool/v1/epochs", get(inputs::epochs))
}

/// The reports API under `/pool/v1/` and the dashboard under `/dashboard/`, with request
/// limits; `/` redirects to the dashboard. Serve it with [`crate::http::serve`].
pub fn router(state: ReportsState) -> Router {
    let limits = state.limits();
    let guard = Guard {
        limits,
        slots: Arc::new(Semaphore::new(limits.max_concurrent.max(1))),
    };
    api_routes()
        .merge(super::dashboard::routes())
        .route("/", get(|| async { Redirect::permanent("/dashboard/") }))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(guard, limit_request))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!("route {}", request.uri().path()))
}

#[derive(Clone)]
struct Guard {
    limits: RequestLimits,
    slots: Arc<Semaphore>,
}

/// Bounds concurrency and time, and marks responses `no-cache` unless a handler chose.
async fn limit_request(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let work = async {
        let Ok(_permit) = guard.slots.acquire().await else {
            return ApiError::busy().into_response();
        };
        next.run(request).await
    };
    let mut response = match tokio::time::timeout(guard.limits.timeout, work).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(guard.limits.timeout).into_response(),
    };
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    response
        .headers_mut()
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}
