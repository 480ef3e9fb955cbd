//! The mock's routes and response builders.

mod blocks;
mod credentials;
mod duties;
pub(crate) mod events;
mod node;
mod pool;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use types::api::{ErrorMessage, IndexedError};
use types::{EthSpec, ForkName, Slot};

use super::{Rejected, Shared, faults};

/// The router with every route and the fault layer.
pub(crate) fn router<E: EthSpec>(shared: Arc<Shared<E>>) -> Router {
    Router::new()
        .route("/eth/v1/beacon/genesis", get(node::genesis::<E>))
        .route("/eth/v1/config/spec", get(node::config_spec::<E>))
        .route(
            "/eth/v1/config/fork_schedule",
            get(node::fork_schedule::<E>),
        )
        .route("/eth/v1/node/syncing", get(node::syncing::<E>))
        .route("/eth/v1/node/version", get(node::version))
        .route("/eth/v1/node/peer_count", get(node::peer_count))
        .route(
            "/eth/v1/beacon/states/{state_id}/validators",
            get(state::validators_get::<E>).post(state::validators_post::<E>),
        )
        .route(
            "/eth/v1/beacon/states/{state_id}/validator_balances",
            get(state::balances_get::<E>).post(state::balances_post::<E>),
        )
        .route(
            "/eth/v1/beacon/states/{state_id}/fork",
            get(state::fork::<E>),
        )
        .route(
            "/eth/v1/beacon/states/{state_id}/finality_checkpoints",
            get(state::finality::<E>),
        )
        .route(
            "/eth/v1/beacon/states/{state_id}/committees",
            get(state::committees::<E>),
        )
        .route(
            "/eth/v1/beacon/states/{state_id}/sync_committees",
            get(state::sync_committees::<E>),
        )
        .route(
            "/eth/v1/beacon/blocks/{block_id}/root",
            get(state::block_root::<E>),
        )
        .route("/eth/v1/beacon/headers", get(state::headers::<E>))
        .route("/eth/v1/beacon/headers/{block_id}", get(state::header::<E>))
        .route("/eth/v2/beacon/blocks/{block_id}", get(state::block::<E>))
        .route("/eth/v2/beacon/blocks", post(blocks::publish_v2::<E>))
        .route("/eth/v1/beacon/blocks", post(blocks::publish_v1::<E>))
        .route(
            "/eth/v2/beacon/blinded_blocks",
            post(blocks::publish_blinded_v2::<E>),
        )
        .route(
            "/eth/v1/beacon/blinded_blocks",
            post(blocks::publish_blinded_v1::<E>),
        )
        .route(
            "/eth/v3/validator/blocks/{slot}",
            get(blocks::produce_v3::<E>),
        )
        .route(
            "/eth/v2/validator/blocks/{slot}",
            get(blocks::produce_v2::<E>),
        )
        .route(
            "/eth/v1/validator/blinded_blocks/{slot}",
            get(blocks::produce_blinded_v1::<E>),
        )
        .route(
            "/eth/v1/validator/duties/attester/{epoch}",
            post(duties::attester::<E>),
        )
        .route(
            "/eth/v1/validator/duties/proposer/{epoch}",
            get(duties::proposer::<E>),
        )
        .route(
            "/eth/v1/validator/duties/sync/{epoch}",
            post(duties::sync::<E>),
        )
        .route(
            "/eth/v1/validator/attestation_data",
            get(duties::attestation_data::<E>),
        )
        .route(
            "/eth/v1/validator/liveness/{epoch}",
            post(duties::liveness::<E>),
        )
        .route(
            "/eth/v1/validator/beacon_committee_subscriptions",
            post(duties::committee_subscriptions::<E>),
        )
        .route(
            "/eth/v1/validator/sync_committee_subscriptions",
            post(duties::sync_subscriptions::<E>),
        )
        .route(
            "/eth/v1/validator/prepare_beacon_proposer",
            post(duties::prepare_proposer::<E>),
        )
        .route(
            "/eth/v1/validator/register_validator",
            post(duties::register_validator::<E>),
        )
        .route(
            "/eth/v2/beacon/pool/attestations",
            post(pool::attestations_v2::<E>),
        )
        .route(
            "/eth/v1/beacon/pool/attestations",
            post(pool::attestations_v1::<E>),
        )
        .route(
            "/eth/v2/validator/aggregate_attestation",
            get(pool::aggregate_v2::<E>),
        )
        .route(
            "/eth/v1/validator/aggregate_attestation",
            get(pool::aggregate_v1::<E>),
        )
        .route(
            "/eth/v2/validator/aggregate_and_proofs",
            post(pool::aggregates_v2::<E>),
        )
        .route(
            "/eth/v1/validator/aggregate_and_proofs",
            post(pool::aggregates_v1::<E>),
        )
        .route(
            "/eth/v1/beacon/pool/sync_committees",
            post(pool::sync_messages::<E>),
        )
        .route(
            "/eth/v1/validator/sync_committee_contribution",
            get(pool::contribution::<E>),
        )
        .route(
            "/eth/v1/validator/contribution_and_proofs",
            post(pool::contributions::<E>),
        )
        .route(
            "/eth/v1/beacon/pool/bls_to_execution_changes",
            get(credentials::pool::<E>).post(credentials::submit::<E>),
        )
        .route("/eth/v1/events", get(events::events::<E>))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::layer::<E>,
        ))
        .with_state(shared)
}

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode: {e}"),
        )
        .into_response(),
    }
}

/// `{"data": ...}`.
pub(crate) fn data<T: Serialize>(data: T) -> Response {
    json(StatusCode::OK, &serde_json::json!({ "data": data }))
}

/// `{"execution_optimistic": false, "finalized": .., "data": ...}`.
pub(crate) fn state_data<T: Serialize>(data: T, finalized: bool) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({ "execution_optimistic": false, "finalized": finalized, "data": data }),
    )
}

/// An error answer (a spec error body with the status as code).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json(
            self.status,
            &ErrorMessage {
                code: u64::from(self.status.as_u16()),
                message: self.message,
                failures: None,
                stacktraces: None,
            },
        )
    }
}

/// An error answer with `status`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

/// 400 with the failed items of a batch.
pub(crate) fn indexed_error(failures: Vec<IndexedError>) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &ErrorMessage {
            code: 400,
            message: "some failures".into(),
            failures: Some(failures),
            stacktraces: None,
        },
    )
}

/// The answer to a batch: 200, or 400 naming the rejected items (accepted ones are kept).
pub(crate) fn batch_result<E: EthSpec>(
    shared: &Shared<E>,
    route: &str,
    failures: Vec<(usize, Rejected)>,
) -> Response {
    if failures.is_empty() {
        return StatusCode::OK.into_response();
    }
    let indexed = failures
        .iter()
        .map(|(index, reason)| {
            shared.reject(route, Some(*index), reason);
            IndexedError {
                index: *index as u64,
                message: reason.0.clone(),
            }
        })
        .collect();
    indexed_error(indexed)
}

/// Decodes a JSON body or answers 400.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

/// Query parameters in order (repeated keys kept).
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// The first value of a query parameter.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A required, parsed query parameter or a 400.
pub(crate) fn required<T: std::str::FromStr>(
    pairs: &[(String, String)],
    name: &str,
) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    let value = param(pairs, name).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            format!("missing query parameter {name}"),
        )
    })?;
    value.parse().map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid {name} {value:?}: {e}"),
        )
    })
}

/// A path segment parsed as a number, or a 400.
pub(crate) fn path_u64(value: &str, name: &str) -> Result<u64, ApiError> {
    value.parse().map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid {name} {value:?}: {e}"),
        )
    })
}

/// The `Eth-Consensus-Version` header parsed, or a 400.
pub(crate) fn consensus_version(headers: &axum::http::HeaderMap) -> Result<ForkName, ApiError> {
    let value = headers
        .get("eth-consensus-version")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "missing Eth-Consensus-Version header",
            )
        })?;
    value.parse().map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid Eth-Consensus-Version: {e}"),
        )
    })
}

/// Checks that `fork` is the fork at `slot`.
pub(crate) fn check_fork<E: EthSpec>(
    shared: &Shared<E>,
    fork: ForkName,
    slot: Slot,
) -> Result<(), Rejected> {
    let expected = shared.chain.lock().spec.fork_name_at_slot(slot);
    if fork == expected {
        Ok(())
    } else {
        Err(Rejected::new(format!(
            "consensus version {fork} does not match fork {expected} of slot {slot}"
        )))
    }
}
