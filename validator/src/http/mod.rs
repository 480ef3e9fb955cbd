//! HTTP servers of the client: the read-only reports API (`/pool/v1/…`) and the auditors'
//! dashboard (`/dashboard/…`), served together on one listener; the Prometheus endpoint
//! (`/metrics`, [`metrics::router`]) on its own; the Keymanager API ([`keymanager`], bearer
//! token, its own listener).
//!
//! Invariants:
//! - the reports API and the dashboard are read-only: handlers read the
//!   [`pool_registry::LedgerStore`] and the registry and never write (the Keymanager API, which
//!   does change keys and settings, states its own invariants);
//! - every response is bounded: request bodies are refused past a small limit, requests time
//!   out, list endpoints page with a maximum page size, connections are capped and a client
//!   that does not finish sending its headers in time is dropped;
//! - report bytes are served as stored: the canonical JSON of a report is exactly
//!   [`pool_registry::canonical::to_canonical_json`] of it, whose SSZ twin gives its root.
//!
//! The binary builds a [`ReportsState`], then `serve(listener, reports::router(state),
//! shutdown)`.

pub mod dashboard;
mod error;
pub mod format;
pub mod keymanager;
pub mod metrics;
pub mod reports;
mod server;
mod state;
pub mod verify;

pub use error::{ApiError, Error, Result};
pub use server::{ServerLimits, serve, serve_named, serve_with_limits};
pub use state::{ChainInfo, ReportsState, RequestLimits};
