//! Frame reports: per-operator and pool figures over a frame, fees, the exchange rate, sanity
//! limits, deterministic encodings (canonical JSON, SSZ root), signing and comparison.
//!
//! Invariants: a report is a pure function of its ledger epochs, snapshots, the previous final
//! report and the share supply; its identity is `hash_tree_root(PoolReport)`; only final
//! reports are signed and only final reports become the base of the next one.

mod build;
mod diff;
mod fees;
mod model;
mod rate;
mod sanity;
mod signing;
mod ssz;

pub use build::{ReportBuilder, ReportParams};
pub use diff::{FieldDiff, diff_reports};
pub use fees::{FeeSplit, split_fees};
pub use model::{
    FrameReport, OperatorReport, REPORT_VERSION, RebaseWindow, ReportEnvelope, ReportParameters,
    ReportStatus, Tally,
};
pub use rate::{
    INITIAL_RATE, RateInputs, RateOutcome, SECONDS_PER_YEAR, apr_ppm, compute_rate, pooled,
};
pub use sanity::{SanityInputs, SanityViolation, check as check_sanity};
pub use signing::{
    DOMAIN_POOL_REPORT, ReportSigner, report_domain, report_signing_root, sign_report,
};
pub use ssz::{MaxReportOperators, OperatorEntrySsz, PoolReport, TallySsz};
