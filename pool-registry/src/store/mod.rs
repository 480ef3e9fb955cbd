//! Persistence of the ledger, frame snapshots, reports and EL block values.
//!
//! Invariants shared by both backends (the tests run the same suite on each):
//! - history is never rewritten: storing an epoch, snapshot, report or EL value that already
//!   exists with identical content is a no-op ([`StoreOutcome::Unchanged`]); with different
//!   content it is an error ([`crate::Error::LedgerConflict`] / [`crate::Error::Conflict`])
//!   and the stored row is untouched;
//! - every write is one transaction, durable when the call returns (SQLite WAL with
//!   `synchronous=FULL`; PostgreSQL `synchronous_commit=on`);
//! - a frame's assignment snapshot and its parameters are stored once, when the frame starts,
//!   and later captures return the stored ones ([`LedgerStore::ensure_snapshot`],
//!   [`LedgerStore::ensure_frame_parameters`]);
//! - the one exception to "never rewrite" is adding the signature to a stored final report
//!   whose root is unchanged;
//! - the oracle committee's records follow the same rules ([`OracleStore`]).

mod oracle;
mod postgres;
mod postgres_oracle;
mod sqlite;
mod sqlite_oracle;

use async_trait::async_trait;
use types::{Epoch, Hash256, Slot};

use crate::error::Result;
use crate::ledger::{ElBlockValue, EpochLedger, EpochSummary, ValidatorEpoch};
use crate::registry::{FrameParameters, FrameSnapshot};
use crate::report::ReportEnvelope;

pub use oracle::OracleStore;
pub use postgres::{PostgresConfig, PostgresLedgerStore};
pub use sqlite::SqliteLedgerStore;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// A new row was written.
    Inserted,
    /// The same content was already stored; nothing changed.
    Unchanged,
    /// A stored final report gained its signature.
    Signed,
}

/// Order of a report listing, by frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOrder {
    /// Oldest frame first.
    Ascending,
    /// Newest frame first.
    Descending,
}

/// What a stored epoch holds for one validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatorEpochEntry {
    /// The validator's record.
    Found(Box<ValidatorEpoch>),
    /// The epoch's ledger has no record for the validator (not a pool validator then).
    Absent,
    /// The epoch's per-validator records were pruned.
    Pruned,
}

/// One stored epoch of a validator's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorEpochRow {
    /// The epoch.
    pub epoch: Epoch,
    /// What it holds for the validator.
    pub entry: ValidatorEpochEntry,
}

/// The accounting store (it holds the oracle committee's tables too: [`OracleStore`]).
#[async_trait]
pub trait LedgerStore: OracleStore + Send + Sync {
    /// Stores the ledger of one epoch (idempotent; a different result for a stored epoch is
    /// [`crate::Error::LedgerConflict`]).
    async fn store_epoch(&self, ledger: &EpochLedger) -> Result<StoreOutcome>;

    /// The ledger of one epoch ([`crate::Error::Pruned`] when its records were pruned).
    async fn epoch(&self, epoch: Epoch) -> Result<Option<EpochLedger>>;

    /// Drops the per-validator records of epochs before `before` (≈ 200 bytes per validator
    /// and epoch), keeping each epoch's digest and summary: idempotence checks, catch-up and
    /// the negative-rebase window keep working. Only prune epochs covered by final reports.
    /// Returns the number of epochs pruned.
    async fn prune_records_before(&self, before: Epoch) -> Result<u64>;

    /// Summaries of the stored epochs in `[from, to]`, ascending.
    async fn epoch_summaries(&self, from: Epoch, to: Epoch) -> Result<Vec<EpochSummary>>;

    /// Epochs in `[from, finalized_checkpoint_epoch − 2]` that are accountable (every block of
    /// e+1 final) but not stored: what a node catching up after downtime must process.
    async fn missing_epochs(
        &self,
        from: Epoch,
        finalized_checkpoint_epoch: Epoch,
    ) -> Result<Vec<Epoch>>;

    /// Stores `snapshot` unless its frame already has one; returns the stored snapshot (the
    /// first captured wins, so registry changes apply from the next frame only).
    async fn ensure_snapshot(&self, snapshot: &FrameSnapshot) -> Result<FrameSnapshot>;

    /// The stored snapshot of a frame.
    async fn snapshot(&self, frame: u64) -> Result<Option<FrameSnapshot>>;

    /// Stores `parameters` unless their frame already has some; returns the stored ones (the
    /// first captured wins, like snapshots).
    async fn ensure_frame_parameters(
        &self,
        parameters: &FrameParameters,
    ) -> Result<FrameParameters>;

    /// The stored parameters of a frame.
    async fn frame_parameters(&self, frame: u64) -> Result<Option<FrameParameters>>;

    /// The lowest and highest frames with a stored snapshot (`None` when there is none). The
    /// lowest is where accounting started: its first epoch is where catching up begins.
    async fn snapshot_frames(&self) -> Result<Option<(u64, u64)>>;

    /// Stores a report envelope (canonical JSON, SSZ, root, status, violations). Same root →
    /// unchanged (or signed, when the stored copy lacked the signature); different → conflict.
    async fn store_report(&self, envelope: &ReportEnvelope) -> Result<StoreOutcome>;

    /// The stored report of a frame.
    async fn report(&self, frame: u64) -> Result<Option<ReportEnvelope>>;

    /// The final report with the highest frame: the base of the next report.
    async fn latest_final_report(&self) -> Result<Option<ReportEnvelope>>;

    /// Stored reports with frames in `[from, to]`, at most `limit` of them, in `order` (the
    /// reports API pages through history with this).
    async fn reports(
        &self,
        from: u64,
        to: u64,
        order: ReportOrder,
        limit: u64,
    ) -> Result<Vec<ReportEnvelope>>;

    /// The stored report whose root (SSZ hash tree root) is `root`.
    async fn report_by_root(&self, root: Hash256) -> Result<Option<ReportEnvelope>>;

    /// One validator's entries in the stored epochs of `[from, to]`, ascending, at most `limit`
    /// epochs. Only that validator's record is decoded from each epoch ([`find_record`]).
    ///
    /// [`find_record`]: crate::ledger::find_record
    async fn validator_epochs(
        &self,
        validator_index: u64,
        from: Epoch,
        to: Epoch,
        limit: u64,
    ) -> Result<Vec<ValidatorEpochRow>>;

    /// Records the EL value reported for a produced block (idempotent per block root).
    async fn record_el_value(&self, value: &ElBlockValue) -> Result<StoreOutcome>;

    /// Recorded EL values with slots in `[from, to]`, ascending by slot.
    async fn el_values(&self, from: Slot, to: Slot) -> Result<Vec<ElBlockValue>>;
}

/// Serialises an envelope for storage (lossless serde JSON; the published canonical form of
/// the report is stored beside it).
pub(crate) fn envelope_json(envelope: &ReportEnvelope) -> Result<String> {
    serde_json::to_string(envelope).map_err(|source| crate::Error::Json {
        what: "report envelope".to_owned(),
        source,
    })
}

pub(crate) fn envelope_from_json(text: &str) -> Result<ReportEnvelope> {
    serde_json::from_str(text).map_err(|source| crate::Error::Json {
        what: "stored report".to_owned(),
        source,
    })
}

pub(crate) fn snapshot_json(snapshot: &FrameSnapshot) -> Result<String> {
    serde_json::to_string(snapshot).map_err(|source| crate::Error::Json {
        what: "frame snapshot".to_owned(),
        source,
    })
}

pub(crate) fn snapshot_from_json(text: &str) -> Result<FrameSnapshot> {
    serde_json::from_str(text).map_err(|source| crate::Error::Json {
        what: "stored snapshot".to_owned(),
        source,
    })
}

pub(crate) fn parameters_json(parameters: &FrameParameters) -> Result<String> {
    serde_json::to_string(parameters).map_err(|source| crate::Error::Json {
        what: "frame parameters".to_owned(),
        source,
    })
}

pub(crate) fn parameters_from_json(text: &str) -> Result<FrameParameters> {
    serde_json::from_str(text).map_err(|source| crate::Error::Json {
        what: "stored frame parameters".to_owned(),
        source,
    })
}

/// Decides a report write against the stored copy.
pub(crate) enum ReportWrite {
    Insert,
    Unchanged,
    AddSignature,
}

pub(crate) fn plan_report_write(
    stored: Option<&ReportEnvelope>,
    new: &ReportEnvelope,
) -> Result<ReportWrite> {
    let Some(stored) = stored else {
        return Ok(ReportWrite::Insert);
    };
    // Reports stored before their parameters were recorded keep none.
    let parameters_differ = stored.parameters.is_some() && stored.parameters != new.parameters;
    if stored.root != new.root
        || stored.status != new.status
        || stored.violations != new.violations
        || parameters_differ
    {
        return Err(crate::Error::Conflict {
            what: format!(
                "report of frame {} (stored root {}, new root {})",
                new.report.frame, stored.root, new.root
            ),
        });
    }
    match (&stored.signature, &new.signature) {
        (None, Some(_)) => Ok(ReportWrite::AddSignature),
        (Some(a), Some(b)) if a != b || stored.signer != new.signer => {
            Err(crate::Error::Conflict {
                what: format!("signature of the report of frame {}", new.report.frame),
            })
        }
        _ => Ok(ReportWrite::Unchanged),
    }
}

/// A range bound or limit as a SQL integer: values past `i64::MAX` select everything anyway.
pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The entry of one validator in a stored epoch's records (`None`: pruned).
pub(crate) fn entry_of(
    records: Option<&[u8]>,
    validator_index: u64,
) -> Result<ValidatorEpochEntry> {
    Ok(match records {
        None => ValidatorEpochEntry::Pruned,
        Some(bytes) => match crate::ledger::find_record(bytes, validator_index)? {
            Some(record) => ValidatorEpochEntry::Found(Box::new(record)),
            None => ValidatorEpochEntry::Absent,
        },
    })
}

/// Accountable epochs in `[from, finalized − 2]` absent from `stored` (ascending).
pub(crate) fn missing_between(from: Epoch, finalized: Epoch, stored: &[u64]) -> Vec<Epoch> {
    let Some(last) = finalized.as_u64().checked_sub(2) else {
        return Vec::new();
    };
    let mut have = stored.iter().copied().peekable();
    let mut out = Vec::new();
    for e in from.as_u64()..=last {
        while have.peek().is_some_and(|&s| s < e) {
            have.next();
        }
        if have.peek() != Some(&e) {
            out.push(Epoch(e));
        }
    }
    out
}
