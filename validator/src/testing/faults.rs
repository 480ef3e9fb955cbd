//! The request-recording and fault-injection middleware, applied to every route.
//!
//! Order: record → down (503) → latency → legacy 415/404 → per-route failure → syncing 503 →
//! handler → malformed body.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use types::EthSpec;

use super::routes::error;
use super::{ApiMode, DownMode, Malformed, RecordedRequest, Shared, SyncState};

/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Routes Lodestar 1.5.1 does not have (method, template).
const LEGACY_MISSING: &[(&str, &str)] = &[
    ("GET", "/eth/v3/validator/blocks/{slot}"),
    ("POST", "/eth/v2/beacon/pool/attestations"),
    ("GET", "/eth/v2/validator/aggregate_attestation"),
    ("POST", "/eth/v2/validator/aggregate_and_proofs"),
    ("POST", "/eth/v2/beacon/blocks"),
    ("POST", "/eth/v2/beacon/blinded_blocks"),
    ("POST", "/eth/v1/validator/liveness/{epoch}"),
    ("POST", "/eth/v1/beacon/states/{state_id}/validators"),
    (
        "POST",
        "/eth/v1/beacon/states/{state_id}/validator_balances",
    ),
];

/// Routes a syncing node refuses with 503 (validator duties, pools, block publication).
fn is_duty_route(route: &str) -> bool {
    let publishes_block = route.ends_with("/blocks") || route.ends_with("/blinded_blocks");
    route.contains("/validator/") || route.contains("/beacon/pool/") || publishes_block
}

/// The 404 body of Lodestar's router for a missing route.
fn route_not_found(method: &Method, path: &str) -> Response {
    let body = serde_json::json!({
        "message": format!("Route {method}:{path} not found"),
        "error": "Not Found",
        "statusCode": 404,
    });
    (
        StatusCode::NOT_FOUND,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) async fn layer<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(
        || request.uri().path().to_owned(),
        |m| m.as_str().to_owned(),
    );
    let method = request.method().clone();
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
            .into_response();
        }
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    shared.records.lock().requests.push(RecordedRequest {
        method: method.to_string(),
        route: route.clone(),
        uri: parts.uri.to_string(),
        body: body.clone(),
        consensus_version: header("eth-consensus-version"),
        content_type: header("content-type"),
        slot: shared.head_slot(),
    });
    let faults = shared.faults.lock().clone();
    if faults.down == Some(DownMode::Unavailable) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "beacon node unavailable (injected)",
        )
        .into_response();
    }
    if let Some(latency) = faults.latency {
        tokio::time::sleep(latency).await;
    }
    if faults.api == ApiMode::Legacy
        && LEGACY_MISSING
            .iter()
            .any(|(m, r)| *m == method.as_str() && *r == route)
    {
        // Lodestar 1.5.1's server rejects an SSZ body (415) before it looks for the route.
        if parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/octet-stream"))
        {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type: application/octet-stream",
            )
            .into_response();
        }
        return route_not_found(&method, parts.uri.path());
    }
    if let Some(status) = faults
        .route_failures
        .get(&(method.to_string(), route.clone()))
    {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "failure injected by the mock").into_response();
    }
    if matches!(faults.sync, SyncState::Syncing { .. }) && is_duty_route(&route) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Beacon node is currently syncing and not serving request on that endpoint",
        )
        .into_response();
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let malformed = match &faults.malformed {
        Malformed::Off => false,
        Malformed::All => route != "/eth/v1/events",
        Malformed::Route(target) => *target == route,
    };
    if malformed {
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        parts
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Response::from_parts(parts, Body::from(r#"{"data": {"head_slot": "1", "oops"#));
    }
    response
}
