//! Handlers of `/pool/v1/…`. Each parses its parameters first (400 naming the bad one), then
//! reads the store; unknown items are 404.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pool_registry::report::{ReportEnvelope, ReportStatus};
use pool_registry::{ReportOrder, ValidatorEpochEntry};
use serde::Serialize;
use types::Epoch;

use super::data;
use super::params::{Query, order_name, parse_root, parse_u64};
use super::views::{
    LedgerView, OperatorDetailView, OperatorView, OperatorsView, Page, ProofView, RatePoint,
    ReportDetail, ReportSummary, ValidatorEpochView,
};
use crate::http::error::ApiError;
use crate::http::state::ReportsState;
use crate::http::verify::operator_proof;

/// Default and maximum page sizes.
pub const REPORTS_PAGE: (u64, u64) = (50, 200);
/// Default and maximum exchange-rate points per page.
pub const RATES_PAGE: (u64, u64) = (100, 1000);
/// Default and maximum epochs per validator ledger page.
pub const LEDGER_PAGE: (u64, u64) = (32, 100);

/// Immutable content (addressed by its root): cacheable for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

type ApiResult = Result<Response, ApiError>;

fn json<T: Serialize>(value: &T) -> ApiResult {
    Ok(Json(value).into_response())
}

fn with_cache(mut response: Response, cache: &'static str) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The pool, the chain and the oracle key.
pub(super) async fn pool(State(state): State<ReportsState>, RawQuery(q): RawQuery) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let registry = state.registry().current();
    let pool = registry.pool();
    let latest = data::latest_final(&state).await?;
    let first_frame = state.store().snapshot_frames().await?.map(|(low, _)| low);
    let chain = state.chain();
    json(&serde_json::json!({
        "name": pool.name,
        "genesis_validators_root": chain.genesis_validators_root,
        "genesis_time": chain.genesis_time.to_string(),
        "seconds_per_slot": chain.spec.seconds_per_slot().to_string(),
        "frame_start_epoch": pool.frame.start_epoch.to_string(),
        "frame_epochs": pool.frame.epochs.to_string(),
        "protocol_bps": pool.fees.protocol_bps.to_string(),
        "operator_bps": pool.fees.operator_bps.to_string(),
        "withdrawal_credentials": pool.withdrawal_credentials,
        "el_rewards_vault": pool.el_rewards_vault,
        "operators": registry.operators().len().to_string(),
        "keys": registry.key_count().to_string(),
        "oracle_pubkey": state.oracle(),
        "latest_final_frame": latest.map(|r| r.report.frame.to_string()),
        "first_frame": first_frame.map(|f| f.to_string()),
        "initial_total_shares": pool.initial_total_shares.to_string(),
        "sanity_limits": pool.sanity,
    }))
}

/// Frames `[from, to]`, order and page size of a listing.
struct Range {
    from: u64,
    to: u64,
    order: ReportOrder,
    limit: u64,
}

fn range(q: &Query, default_order: ReportOrder, page: (u64, u64)) -> Result<Range, ApiError> {
    let from = q.u64("from_frame")?.unwrap_or(0);
    let to = q.u64("to_frame")?.unwrap_or(u64::MAX);
    if from > to {
        return Err(ApiError::bad_param(
            "from_frame",
            format!("{from} is after to_frame {to}"),
        ));
    }
    Ok(Range {
        from,
        to,
        order: q.order()?.unwrap_or(default_order),
        limit: q.limit(page.0, page.1)?,
    })
}

/// The link to the page after `last` (a full page), if frames remain.
fn next_frames(path: &str, r: &Range, count: usize, last: Option<u64>) -> Option<String> {
    let last = last.filter(|_| count as u64 == r.limit)?;
    let (from, to) = match r.order {
        ReportOrder::Ascending => (last.checked_add(1).filter(|f| *f <= r.to)?, r.to),
        ReportOrder::Descending => (r.from, last.checked_sub(1).filter(|f| *f >= r.from)?),
    };
    Some(format!(
        "{path}?from_frame={from}&to_frame={to}&order={}&limit={}",
        order_name(r.order),
        r.limit
    ))
}

/// `GET /pool/v1/reports`.
pub(super) async fn list_reports(
    State(state): State<ReportsState>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = Query::parse(q.as_deref(), &["from_frame", "to_frame", "order", "limit"])?;
    let r = range(&q, ReportOrder::Descending, REPORTS_PAGE)?;
    let envelopes = state
        .store()
        .reports(r.from, r.to, r.order, r.limit)
        .await?;
    let last = envelopes.last().map(|e| e.report.frame);
    let count = envelopes.len();
    let verified = state.verify(envelopes).await?;
    json(&Page {
        data: verified
            .iter()
            .map(|(e, v)| ReportSummary::new(e, *v, state.chain()))
            .collect(),
        next_page: next_frames("/pool/v1/reports", &r, count, last),
    })
}

async fn detail(state: &ReportsState, envelope: ReportEnvelope) -> Result<ReportDetail, ApiError> {
    let canonical = pool_registry::canonical::to_canonical_json(&envelope.report)?;
    // Parsing the canonical text back keeps its key order and quoted integers, so the embedded
    // object serialises to the same bytes (checked by the tests).
    let report = serde_json::from_str(&canonical)
        .map_err(|_| ApiError::internal("canonical report JSON does not parse"))?;
    let (envelope, verification) = state.verify_one(envelope).await?;
    Ok(ReportDetail {
        summary: ReportSummary::new(&envelope, verification, state.chain()),
        signature: envelope.signature,
        signer: envelope.signer,
        proofs: envelope
            .proofs
            .iter()
            .map(|(id, p)| (id.to_string(), p.clone()))
            .collect(),
        parameters: envelope.parameters,
        report,
    })
}

async fn report_of_frame(state: &ReportsState, frame: &str) -> Result<ReportEnvelope, ApiError> {
    let frame = parse_u64("frame", frame)?;
    state
        .store()
        .report(frame)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("report of frame {frame}")))
}

async fn report_of_root(state: &ReportsState, root: &str) -> Result<ReportEnvelope, ApiError> {
    let root = parse_root("root", root)?;
    state
        .store()
        .report_by_root(root)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("report with root {root}")))
}

/// `GET /pool/v1/reports/latest`: the latest final report.
pub(super) async fn latest_report(
    State(state): State<ReportsState>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let envelope = data::latest_final(&state)
        .await?
        .ok_or_else(|| ApiError::not_found("final report"))?;
    json(&detail(&state, envelope).await?)
}

/// `GET /pool/v1/reports/{frame}`.
pub(super) async fn report_by_frame(
    State(state): State<ReportsState>,
    Path(frame): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let envelope = report_of_frame(&state, &frame).await?;
    json(&detail(&state, envelope).await?)
}

/// `GET /pool/v1/reports/by-root/{root}`: immutable once signed (or withheld, never signed).
pub(super) async fn report_by_root(
    State(state): State<ReportsState>,
    Path(root): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let envelope = report_of_root(&state, &root).await?;
    // A final report may still gain its signature; only then is the whole body immutable.
    let settled = envelope.signature.is_some() || envelope.status == ReportStatus::Withheld;
    let response = json(&detail(&state, envelope).await?)?;
    Ok(if settled {
        with_cache(response, IMMUTABLE)
    } else {
        response
    })
}

fn canonical(envelope: &ReportEnvelope, headers: &HeaderMap, immutable: bool) -> ApiResult {
    let etag = format!("\"{}\"", envelope.root);
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = pool_registry::canonical::to_canonical_json(&envelope.report)?;
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(if immutable {
        with_cache(response, IMMUTABLE)
    } else {
        response
    })
}

/// `GET /pool/v1/reports/{frame}/canonical`: the report's canonical JSON bytes.
pub(super) async fn canonical_by_frame(
    State(state): State<ReportsState>,
    Path(frame): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let envelope = report_of_frame(&state, &frame).await?;
    canonical(&envelope, &headers, false)
}

/// `GET /pool/v1/reports/by-root/{root}/canonical`: immutable (the root commits to the bytes).
pub(super) async fn canonical_by_root(
    State(state): State<ReportsState>,
    Path(root): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let envelope = report_of_root(&state, &root).await?;
    canonical(&envelope, &headers, true)
}

/// `GET /pool/v1/reports/{frame}/proofs/{operator_id}`.
pub(super) async fn proof(
    State(state): State<ReportsState>,
    Path((frame, operator)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let operator = parse_u64("operator_id", &operator)?;
    let envelope = report_of_frame(&state, &frame).await?;
    let proof = operator_proof(&envelope, operator).ok_or_else(|| {
        ApiError::not_found(format!(
            "operator {operator} in the report of frame {}",
            envelope.report.frame
        ))
    })?;
    json(&ProofView::new(&envelope, &proof))
}

/// `GET /pool/v1/exchange-rate`: rate history (final and withheld reports).
pub(super) async fn exchange_rate(
    State(state): State<ReportsState>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = Query::parse(q.as_deref(), &["from_frame", "to_frame", "order", "limit"])?;
    let r = range(&q, ReportOrder::Ascending, RATES_PAGE)?;
    let envelopes = state
        .store()
        .reports(r.from, r.to, r.order, r.limit)
        .await?;
    json(&Page {
        data: envelopes
            .iter()
            .map(|e| RatePoint::new(e, state.chain()))
            .collect(),
        next_page: next_frames(
            "/pool/v1/exchange-rate",
            &r,
            envelopes.len(),
            envelopes.last().map(|e| e.report.frame),
        ),
    })
}

/// `GET /pool/v1/operators`: operators of the latest final report.
pub(super) async fn operators(
    State(state): State<ReportsState>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let data = data::operators(&state)
        .await?
        .ok_or_else(|| ApiError::not_found("final report"))?;
    json(&OperatorsView {
        frame: data.report.report.frame.to_string(),
        report_root: data.report.root,
        data: data.rows.iter().map(OperatorView::from).collect(),
    })
}

/// `GET /pool/v1/operators/{operator_id}`: one operator with validators and proof.
pub(super) async fn operator(
    State(state): State<ReportsState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Query::parse(q.as_deref(), &[])?;
    let id = parse_u64("operator_id", &id)?;
    let detail = data::operator(&state, id).await?;
    json(&OperatorDetailView::from(&detail))
}

/// `GET /pool/v1/validators/{validator_index}/ledger`: per-epoch rows over a range.
pub(super) async fn validator_ledger(
    State(state): State<ReportsState>,
    Path(index): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = Query::parse(q.as_deref(), &["from_epoch", "to_epoch", "limit"])?;
    let index = parse_u64("validator_index", &index)?;
    let from = q.u64("from_epoch")?.unwrap_or(0);
    let to = q.u64("to_epoch")?.unwrap_or(u64::MAX);
    if from > to {
        return Err(ApiError::bad_param(
            "from_epoch",
            format!("{from} is after to_epoch {to}"),
        ));
    }
    let limit = q.limit(LEDGER_PAGE.0, LEDGER_PAGE.1)?;
    let rows = state
        .store()
        .validator_epochs(index, Epoch(from), Epoch(to), limit)
        .await?;
    let next_page = rows
        .last()
        .filter(|_| rows.len() as u64 == limit)
        .and_then(|last| last.epoch.as_u64().checked_add(1))
        .filter(|next| *next <= to)
        .map(|next| {
            format!(
                "/pool/v1/validators/{index}/ledger?from_epoch={next}&to_epoch={to}&limit={limit}"
            )
        });
    let mut view = LedgerView {
        validator_index: index.to_string(),
        data: Vec::new(),
        pruned_epochs: Vec::new(),
        next_page,
    };
    let mut seen = false;
    for row in rows {
        match row.entry {
            ValidatorEpochEntry::Found(record) => {
                seen = true;
                view.data.push(ValidatorEpochView {
                    epoch: row.epoch.as_u64().to_string(),
                    record: *record,
                });
            }
            ValidatorEpochEntry::Pruned => view.pruned_epochs.push(row.epoch.as_u64().to_string()),
            ValidatorEpochEntry::Absent => {}
        }
    }
    if !seen && view.pruned_epochs.is_empty() && view.next_page.is_none() {
        return Err(ApiError::not_found(format!(
            "ledger records of validator {index} in epochs {from}..={to}"
        )));
    }
    json(&view)
}
