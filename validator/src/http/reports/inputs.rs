//! Handlers of the accounting inputs that are not on the beacon chain: a frame's assignment
//! snapshot and parameters, the EL values recorded at block production, and the stored epoch
//! summaries the negative-rebase check sums. With these, the published reports (which carry
//! their sanity limits) and a beacon node, anyone recomputes a report and its status (`poolvc
//! report verify --pool-api`).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use types::{Epoch, Slot};

use super::params::{Query, parse_u64};
use crate::http::error::ApiError;
use crate::http::state::ReportsState;

/// Most slots one EL-values request may span.
pub const EL_VALUES_MAX_SLOTS: u64 = 8192;
/// Most epochs one epoch-summaries request may span (more than Lido's default
/// negative-rebase window of 8100 epochs).
pub const EPOCHS_MAX: u64 = 8192;

/// `GET /pool/v1/frames/{frame}/snapshot`: the stored assignment snapshot of a frame and its
/// root (the report's `assignments_root` commits to the roots of its frames' snapshots).
pub(super) async fn snapshot(
    State(state): State<ReportsState>,
    Path(frame): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    Query::parse(q.as_deref(), &[])?;
    let frame = parse_u64("frame", &frame)?;
    let snapshot = state
        .store()
        .snapshot(frame)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("snapshot of frame {frame}")))?;
    let root = snapshot.root()?;
    Ok(Json(serde_json::json!({
        "data": { "frame": frame.to_string(), "root": root, "snapshot": snapshot }
    }))
    .into_response())
}

/// `GET /pool/v1/el-values?from_slot=&to_slot=`: the EL values recorded for produced pool
/// blocks with slots in the range (at most [`EL_VALUES_MAX_SLOTS`] slots).
pub(super) async fn el_values(
    State(state): State<ReportsState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["from_slot", "to_slot"])?;
    let from = q
        .u64("from_slot")?
        .ok_or_else(|| ApiError::bad_param("from_slot", "is required"))?;
    let to = q
        .u64("to_slot")?
        .ok_or_else(|| ApiError::bad_param("to_slot", "is required"))?;
    if to < from {
        return Err(ApiError::bad_param("to_slot", "is before from_slot"));
    }
    if to - from >= EL_VALUES_MAX_SLOTS {
        return Err(ApiError::bad_param(
            "to_slot",
            format!("the range spans more than {EL_VALUES_MAX_SLOTS} slots"),
        ));
    }
    let values = state.store().el_values(Slot(from), Slot(to)).await?;
    Ok(Json(serde_json::json!({ "data": values })).into_response())
}

/// `GET /pool/v1/frames/{frame}/parameters`: the pool parameters every epoch of the frame was
/// accounted with, captured when the frame started.
pub(super) async fn frame_parameters(
    State(state): State<ReportsState>,
    Path(frame): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    Query::parse(q.as_deref(), &[])?;
    let frame = parse_u64("frame", &frame)?;
    let parameters = state
        .store()
        .frame_parameters(frame)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("parameters of frame {frame}")))?;
    let frames = parameters.frames();
    Ok(Json(serde_json::json!({
        "data": {
            "frame": frame.to_string(),
            "first_epoch": frames.first_epoch(frame).as_u64().to_string(),
            "last_epoch": frames.last_epoch(frame).as_u64().to_string(),
            "frame_start_epoch": parameters.frame_start_epoch.to_string(),
            "frame_epochs": parameters.frame_epochs.to_string(),
            "withdrawal_credentials": parameters.withdrawal_credentials,
            "pool_address": parameters.pool_address(),
            "el_rewards_vault": parameters.el_rewards_vault,
        }
    }))
    .into_response())
}

/// `GET /pool/v1/epochs?from_epoch=&to_epoch=`: the stored ledger epochs' summaries in the
/// range (at most [`EPOCHS_MAX`] epochs), ascending.
pub(super) async fn epochs(
    State(state): State<ReportsState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["from_epoch", "to_epoch"])?;
    let from = q
        .u64("from_epoch")?
        .ok_or_else(|| ApiError::bad_param("from_epoch", "is required"))?;
    let to = q
        .u64("to_epoch")?
        .ok_or_else(|| ApiError::bad_param("to_epoch", "is required"))?;
    if to < from {
        return Err(ApiError::bad_param("to_epoch", "is before from_epoch"));
    }
    if to - from >= EPOCHS_MAX {
        return Err(ApiError::bad_param(
            "to_epoch",
            format!("the range spans more than {EPOCHS_MAX} epochs"),
        ));
    }
    let summaries = state
        .store()
        .epoch_summaries(Epoch(from), Epoch(to))
        .await?;
    let data: Vec<serde_json::Value> = summaries
        .iter()
        .map(|s| {
            serde_json::json!({
                "epoch": s.epoch.as_u64().to_string(),
                "validators": s.validators.to_string(),
                "cl_income_gwei": s.cl_income.to_string(),
                "newly_slashed": s.newly_slashed.to_string(),
                "unexplained_gwei": s.unexplained.to_string(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "data": data })).into_response())
}
