//! The JSON bodies of the reports API. Integers are decimal strings (as in the Beacon API and
//! the reports' canonical JSON), roots and keys `0x` hex; ledger rows keep the ledger's own
//! serde form.

use std::collections::BTreeMap;

use pool_registry::ledger::ValidatorEpoch;
use pool_registry::report::{
    ReportEnvelope, ReportParameters, ReportStatus, SanityViolation, Tally,
};
use serde::Serialize;
use types::{Address, Hash256, PublicKeyBytes, SignatureBytes};

use super::data::{LedgerRecords, OperatorDetail, OperatorRow, ValidatorRow, ValidatorsSource};
use crate::http::state::ChainInfo;
use crate::http::verify::{OperatorProof, Verification};

/// A page of items with the link to the next page (absent on the last page).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub data: Vec<T>,
    /// Path and query of the next page.
    pub next_page: Option<String>,
}

/// A violated sanity limit with its explanation.
#[derive(Debug, Serialize)]
pub struct WithheldReason {
    /// The limit and its measured values (`limit` names it).
    #[serde(flatten)]
    pub violation: SanityViolation,
    /// Human-readable explanation.
    pub message: String,
}

/// A report in listings.
#[derive(Debug, Serialize)]
pub struct ReportSummary {
    /// Frame index.
    pub frame: String,
    /// First epoch covered.
    pub first_epoch: String,
    /// Last epoch covered.
    pub last_epoch: String,
    /// Reference slot.
    pub reference_slot: String,
    /// Unix time of the reference slot.
    pub reference_time: String,
    /// `final` or `withheld`.
    pub status: ReportStatus,
    /// Why it was withheld (empty when final).
    pub withheld_reasons: Vec<WithheldReason>,
    /// The report's root.
    pub root: Hash256,
    /// Merkle root of cumulative operator fees.
    pub rewards_root: Hash256,
    /// Root of the previous final report.
    pub previous_report_root: Hash256,
    /// Exchange rate (wei per 1e18 shares).
    pub rate: String,
    /// Annualised rate change (ppm).
    pub apr_ppm: String,
    /// Whether the oracle's signature is attached.
    pub signature_present: bool,
    /// Independent checks.
    pub verification: Verification,
}

impl ReportSummary {
    /// The summary of a verified report.
    pub fn new(envelope: &ReportEnvelope, verification: Verification, chain: &ChainInfo) -> Self {
        let r = &envelope.report;
        Self {
            frame: r.frame.to_string(),
            first_epoch: r.first_epoch.as_u64().to_string(),
            last_epoch: r.last_epoch.as_u64().to_string(),
            reference_slot: r.reference_slot.as_u64().to_string(),
            reference_time: chain.slot_time(r.reference_slot.as_u64()).to_string(),
            status: envelope.status,
            withheld_reasons: reasons(&envelope.violations),
            root: envelope.root,
            rewards_root: r.rewards_root,
            previous_report_root: r.previous_report_root,
            rate: r.rate.to_string(),
            apr_ppm: r.apr_ppm.to_string(),
            signature_present: envelope.signature.is_some(),
            verification,
        }
    }
}

/// The withheld reasons of a report.
pub fn reasons(violations: &[SanityViolation]) -> Vec<WithheldReason> {
    violations
        .iter()
        .map(|v| WithheldReason {
            message: v.to_string(),
            violation: v.clone(),
        })
        .collect()
}

/// One report in full: its summary, signature, proofs and the report itself, whose JSON is
/// exactly the report's canonical encoding.
#[derive(Debug, Serialize)]
pub struct ReportDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// The oracle's signature.
    pub signature: Option<SignatureBytes>,
    /// The signer the report names.
    pub signer: Option<PublicKeyBytes>,
    /// Merkle proof per operator id.
    pub proofs: BTreeMap<String, Vec<Hash256>>,
    /// The parameters the report was built with (frame geometry, sanity limits, the
    /// negative-rebase window it summed); `null` for reports stored before they were recorded.
    pub parameters: Option<ReportParameters>,
    /// The report (canonical JSON).
    pub report: serde_json::Value,
}

/// One point of the exchange-rate history.
#[derive(Debug, Serialize)]
pub struct RatePoint {
    /// Frame index.
    pub frame: String,
    /// Last epoch covered.
    pub last_epoch: String,
    /// Reference slot.
    pub reference_slot: String,
    /// Unix time of the reference slot.
    pub reference_time: String,
    /// `final` or `withheld` (a withheld report's rate was never applied).
    pub status: ReportStatus,
    /// Rate before the report.
    pub previous_rate: String,
    /// Rate after the report.
    pub rate: String,
    /// Annualised change (ppm).
    pub apr_ppm: String,
    /// The report's root.
    pub root: Hash256,
}

impl RatePoint {
    /// The point of a report.
    pub fn new(envelope: &ReportEnvelope, chain: &ChainInfo) -> Self {
        let r = &envelope.report;
        Self {
            frame: r.frame.to_string(),
            last_epoch: r.last_epoch.as_u64().to_string(),
            reference_slot: r.reference_slot.as_u64().to_string(),
            reference_time: chain.slot_time(r.reference_slot.as_u64()).to_string(),
            status: envelope.status,
            previous_rate: r.previous_rate.to_string(),
            rate: r.rate.to_string(),
            apr_ppm: r.apr_ppm.to_string(),
            root: envelope.root,
        }
    }
}

/// An operator's line.
#[derive(Debug, Serialize)]
pub struct OperatorView {
    /// Operator id.
    pub operator_id: String,
    /// Name in the live registry (`null` when no longer registered).
    pub name: Option<String>,
    /// Fee address.
    pub reward_address: Address,
    /// Fee rate applied (bps).
    pub operator_bps: String,
    /// Keys the live registry assigns to it.
    pub registry_keys: String,
    /// Cumulative operator fees (wei): the Merkle leaf value.
    pub cumulative_fee_wei: String,
    /// The report's figures (gwei; `effectiveness_ppm` in parts per million).
    pub performance: Tally,
}

impl From<&OperatorRow> for OperatorView {
    fn from(row: &OperatorRow) -> Self {
        Self {
            operator_id: row.id.to_string(),
            name: row.name.clone(),
            reward_address: row.reward_address,
            operator_bps: row.operator_bps.to_string(),
            registry_keys: row.registry_keys.to_string(),
            cumulative_fee_wei: row.cumulative_fee_wei.to_string(),
            performance: row.tally,
        }
    }
}

/// Operators of the latest final report.
#[derive(Debug, Serialize)]
pub struct OperatorsView {
    /// The report's frame.
    pub frame: String,
    /// The report's root.
    pub report_root: Hash256,
    /// One line per operator.
    pub data: Vec<OperatorView>,
}

/// A Merkle proof.
#[derive(Debug, Serialize)]
pub struct ProofView {
    /// Report frame.
    pub frame: String,
    /// Report root.
    pub report_root: Hash256,
    /// Operator id (the leaf's first value).
    pub operator_id: String,
    /// Cumulative fees in wei (the leaf's second value).
    pub cumulative_fee_wei: String,
    /// The leaf hash.
    pub leaf_hash: Hash256,
    /// Siblings from the leaf up.
    pub proof: Vec<Hash256>,
    /// The report's rewards root.
    pub rewards_root: Hash256,
    /// Whether `proof` verifies (`MerkleProof.verify`).
    pub verifies: bool,
}

impl ProofView {
    /// The view of `proof` in `envelope`.
    pub fn new(envelope: &ReportEnvelope, proof: &OperatorProof) -> Self {
        Self {
            frame: envelope.report.frame.to_string(),
            report_root: envelope.root,
            operator_id: proof.operator_id.to_string(),
            cumulative_fee_wei: proof.cumulative_fee_wei.to_string(),
            leaf_hash: proof.leaf_hash,
            proof: proof.proof.clone(),
            rewards_root: proof.rewards_root,
            verifies: proof.verifies,
        }
    }
}

/// A validator of an operator.
#[derive(Debug, Serialize)]
pub struct ValidatorView {
    /// Key.
    pub pubkey: PublicKeyBytes,
    /// Its ledger record at the epoch, when available.
    pub record: Option<ValidatorEpoch>,
}

impl From<&ValidatorRow> for ValidatorView {
    fn from(row: &ValidatorRow) -> Self {
        Self {
            pubkey: row.pubkey,
            record: row.record.clone(),
        }
    }
}

/// One operator with validators and proof.
#[derive(Debug, Serialize)]
pub struct OperatorDetailView {
    /// The operator's line.
    #[serde(flatten)]
    pub operator: OperatorView,
    /// The report's frame.
    pub frame: String,
    /// The report's root.
    pub report_root: Hash256,
    /// Whether the report includes the operator.
    pub in_report: bool,
    /// Epoch of the validators' records.
    pub validators_epoch: String,
    /// `snapshot` (the frame's assignments) or `registry` (the live registry).
    pub validators_source: &'static str,
    /// `available`, `pruned` or `missing`.
    pub records: &'static str,
    /// Validators.
    pub validators: Vec<ValidatorView>,
    /// The Merkle proof (absent when not in the report).
    pub proof: Option<ProofView>,
}

impl From<&OperatorDetail> for OperatorDetailView {
    fn from(d: &OperatorDetail) -> Self {
        Self {
            operator: OperatorView::from(&d.row),
            frame: d.report.report.frame.to_string(),
            report_root: d.report.root,
            in_report: d.in_report,
            validators_epoch: d.epoch.as_u64().to_string(),
            validators_source: match d.source {
                ValidatorsSource::Snapshot => "snapshot",
                ValidatorsSource::Registry => "registry",
            },
            records: match d.records {
                LedgerRecords::Available => "available",
                LedgerRecords::Pruned => "pruned",
                LedgerRecords::Missing => "missing",
            },
            validators: d.validators.iter().map(ValidatorView::from).collect(),
            proof: d.proof.as_ref().map(|p| ProofView::new(&d.report, p)),
        }
    }
}

/// A validator's ledger over a range of epochs.
#[derive(Debug, Serialize)]
pub struct LedgerView {
    /// The validator.
    pub validator_index: String,
    /// Records, ascending by epoch.
    pub data: Vec<ValidatorEpochView>,
    /// Stored epochs of the page whose records were pruned.
    pub pruned_epochs: Vec<String>,
    /// Path and query of the next page.
    pub next_page: Option<String>,
}

/// One ledger row.
#[derive(Debug, Serialize)]
pub struct ValidatorEpochView {
    /// The epoch.
    pub epoch: String,
    /// The record.
    pub record: ValidatorEpoch,
}
