//! Handlers of the recorded accounting inputs that are not on the beacon chain: a frame's
//! assignment snapshot and the EL values recorded at block production. With these and a
//! beacon node, anyone recomputes a report (`poolvc report verify --pool-api`).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use types::Slot;

use super::params::{Query, parse_u64};
use crate::http::error::ApiError;
use crate::http::state::ReportsState;

/// Most slots one EL-values request may span.
pub const EL_VALUES_MAX_SLOTS: u64 = 8192;

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
