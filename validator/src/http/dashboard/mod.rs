//! The auditors' dashboard under `/dashboard/`: plain server-rendered HTML with inline CSS and
//! inline SVG charts; no script and no external asset (the machine may be offline).
//!
//! Pages: overview (`/dashboard/`), operators (`/dashboard/operators`), one operator with its
//! validators and Merkle proof (`/dashboard/operators/{operator_id}`), reports with status and
//! verification (`/dashboard/reports`).
//!
//! Invariants: all text is HTML-escaped; responses carry a Content-Security-Policy that allows
//! no script, no remote resource and no framing, so even an escaping mistake could not run
//! code; numbers are formatted by [`crate::http::format`] (integers only, deterministic).

pub mod html;
pub mod pages;
pub mod svg;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use pool_registry::ReportOrder;

use super::error::ApiError;
use super::reports::data;
use super::reports::params::{Query, parse_u64};
use super::state::ReportsState;

/// Reports drawn in the charts at most (the most recent ones).
pub const CHART_REPORTS: u64 = 500;
/// Reports per page of the report list.
pub const REPORTS_PER_PAGE: u64 = 50;

/// Every dashboard path, in axum syntax.
pub const ROUTES: &[&str] = &[
    "/dashboard",
    "/dashboard/",
    "/dashboard/operators",
    "/dashboard/operators/{operator_id}",
    "/dashboard/reports",
];

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard routes (state is supplied by [`crate::http::reports::router`]).
pub fn routes() -> Router<ReportsState> {
    Router::new()
        .route(
            "/dashboard",
            get(|| async { Redirect::permanent("/dashboard/") }),
        )
        .route("/dashboard/", get(overview))
        .route("/dashboard/operators", get(operators))
        .route("/dashboard/operators/{operator_id}", get(operator))
        .route("/dashboard/reports", get(reports))
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn page_result(result: Result<String, ApiError>) -> Response {
    match result {
        Ok(body) => html(StatusCode::OK, body),
        Err(error) => html(
            error.status,
            html::page(
                "Error",
                html::Section::Overview,
                &format!(
                    "<h1>{}</h1><p data-testid=\"error-message\">{}</p>",
                    error.status.as_u16(),
                    html::escape(&error.message)
                ),
            ),
        ),
    }
}

async fn overview(State(state): State<ReportsState>, RawQuery(q): RawQuery) -> Response {
    page_result(
        async {
            Query::parse(q.as_deref(), &[])?;
            let latest_final = data::latest_final(&state).await?;
            let mut history = state
                .store()
                .reports(0, u64::MAX, ReportOrder::Descending, CHART_REPORTS)
                .await?;
            history.reverse();
            let name = state.registry().current().pool().name.clone();
            Ok(pages::overview(
                &name,
                latest_final.as_ref(),
                &history,
                state.chain(),
            ))
        }
        .await,
    )
}

async fn operators(State(state): State<ReportsState>, RawQuery(q): RawQuery) -> Response {
    page_result(
        async {
            Query::parse(q.as_deref(), &[])?;
            Ok(pages::operators(data::operators(&state).await?.as_ref()))
        }
        .await,
    )
}

async fn operator(
    State(state): State<ReportsState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    page_result(
        async {
            Query::parse(q.as_deref(), &[])?;
            let id = parse_u64("operator_id", &id)?;
            Ok(pages::operator(&data::operator(&state, id).await?))
        }
        .await,
    )
}

async fn reports(State(state): State<ReportsState>, RawQuery(q): RawQuery) -> Response {
    page_result(
        async {
            let q = Query::parse(q.as_deref(), &["to_frame"])?;
            let to = q.u64("to_frame")?.unwrap_or(u64::MAX);
            let envelopes = state
                .store()
                .reports(0, to, ReportOrder::Descending, REPORTS_PER_PAGE)
                .await?;
            let older = envelopes
                .last()
                .filter(|_| envelopes.len() as u64 == REPORTS_PER_PAGE)
                .and_then(|e| e.report.frame.checked_sub(1));
            let verified = state.verify(envelopes).await?;
            Ok(pages::reports(&verified, older, state.chain()))
        }
        .await,
    )
}
