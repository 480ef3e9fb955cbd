//! `/upcheck`, `/healthcheck` and `/reload`.
//!
//! The health check has two checks: `keys` (down when the last reload failed) and
//! `slashing-protection` (down when the database does not answer a read); the outcome is down
//! (503) when either is.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use types::{EthSpec, PublicKeyBytes};

use super::{SignerApi, error};
use crate::reload::{ReloadState, rfc3339};

pub(super) async fn upcheck() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "OK").into_response()
}

fn status(up: bool) -> &'static str {
    if up { "UP" } else { "DOWN" }
}

pub(super) async fn healthcheck<E: EthSpec>(State(api): State<Arc<SignerApi<E>>>) -> Response {
    let keys_up = api.reloader.status().state != ReloadState::Failed;
    // A read of a key that is never registered: it exercises the connection and the schema.
    let database_up = api
        .service
        .slashing_protection()
        .validator_state(&PublicKeyBytes::ZERO)
        .await
        .inspect_err(|error| tracing::warn!(%error, "health check: slashing protection database unavailable"))
        .is_ok();
    let up = keys_up && database_up;
    let body = json!({
        "status": status(up),
        "checks": [
            {"id": "keys", "status": status(keys_up)},
            {"id": "slashing-protection", "status": status(database_up)},
        ],
        "outcome": status(up),
    });
    let code = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

pub(super) async fn reload_status<E: EthSpec>(State(api): State<Arc<SignerApi<E>>>) -> Response {
    let status = api.reloader.status();
    let mut body = json!({"status": status.state.as_str()});
    if let Some(at) = status.last_operation {
        body["lastOperationTime"] = Value::String(rfc3339(at));
    }
    if let Some(message) = status.last_error {
        body["lastError"] = Value::String(message);
    }
    axum::Json(body).into_response()
}

pub(super) async fn reload<E: EthSpec>(State(api): State<Arc<SignerApi<E>>>) -> Response {
    if api.service.keys().source().is_none() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this signer's keys do not come from a keystores directory: nothing to reload",
        );
    }
    match api.reloader.request() {
        Ok(()) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "status": "accepted",
                "message": "Reload operation accepted and is running in the background. Use GET /reload to check status.",
            })),
        )
            .into_response(),
        Err(_) => (
            StatusCode::CONFLICT,
            axum::Json(json!({
                "status": "error",
                "message": "A reload operation is already in progress. Please try again later.",
            })),
        )
            .into_response(),
    }
}
