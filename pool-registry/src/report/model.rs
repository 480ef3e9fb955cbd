//! The frame report as published: [`FrameReport`] (its canonical JSON is the report's text
//! form; its SSZ twin in [`super::ssz`] gives the root) and the [`ReportEnvelope`] stored and
//! served with status, withheld reasons, Merkle proofs and signature.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use types::{Address, Epoch, Hash256, PublicKeyBytes, SignatureBytes, Slot, U256};

use super::sanity::SanityViolation;
use crate::registry::{OperatorId, SanityLimits};

/// Current report format version.
pub const REPORT_VERSION: u64 = 1;

/// Figures for one operator or for the whole pool over a report (gwei unless named).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Validators active at the reference slot.
    #[serde(with = "serde_utils::quoted_u64")]
    pub validators_active: u64,
    /// Validators exited (or withdrawable/withdrawn) at the reference slot.
    #[serde(with = "serde_utils::quoted_u64")]
    pub validators_exited: u64,
    /// Validators slashed at the reference slot.
    #[serde(with = "serde_utils::quoted_u64")]
    pub validators_slashed: u64,
    /// Validators whose withdrawal credentials are not the pool's, at the reference slot.
    #[serde(with = "serde_utils::quoted_u64")]
    pub credential_mismatches: u64,
    /// Validators newly slashed during the report.
    #[serde(with = "serde_utils::quoted_u64")]
    pub newly_slashed: u64,
    /// Sum of positive CL income.
    #[serde(with = "serde_utils::quoted_u64")]
    pub cl_rewards_gwei: u64,
    /// Minus the sum of negative CL income of unslashed validators (≥ 0).
    #[serde(with = "serde_utils::quoted_u64")]
    pub penalties_gwei: u64,
    /// Minus the sum of negative CL income of slashed validators, from the epoch they were
    /// slashed (≥ 0).
    #[serde(with = "serde_utils::quoted_u64")]
    pub slashing_losses_gwei: u64,
    /// Withdrawals.
    #[serde(with = "serde_utils::quoted_u64")]
    pub withdrawals_gwei: u64,
    /// Credited deposits (signed).
    #[serde(with = "serde_utils::quoted_i64")]
    pub deposits_gwei: i64,
    /// EL rewards (reported values of canonical pool blocks, floored to gwei per block).
    #[serde(with = "serde_utils::quoted_u64")]
    pub el_rewards_gwei: u64,
    /// Net rewards `R = CL income + EL rewards` (signed).
    #[serde(with = "serde_utils::quoted_i64")]
    pub net_rewards_gwei: i64,
    /// Fees `F`.
    #[serde(with = "serde_utils::quoted_u64")]
    pub fee_gwei: u64,
    /// The operator's part of `F`.
    #[serde(with = "serde_utils::quoted_u64")]
    pub operator_fee_gwei: u64,
    /// The protocol's part of `F`.
    #[serde(with = "serde_utils::quoted_u64")]
    pub protocol_fee_gwei: u64,
    /// Attestation duties.
    #[serde(with = "serde_utils::quoted_u64")]
    pub attestation_duties: u64,
    /// Attestation duties with no included attestation.
    #[serde(with = "serde_utils::quoted_u64")]
    pub attestations_missed: u64,
    /// Duties with the timely-source flag.
    #[serde(with = "serde_utils::quoted_u64")]
    pub source_timely: u64,
    /// Duties with the timely-target flag.
    #[serde(with = "serde_utils::quoted_u64")]
    pub target_timely: u64,
    /// Duties with the timely-head flag.
    #[serde(with = "serde_utils::quoted_u64")]
    pub head_timely: u64,
    /// Proposer duties.
    #[serde(with = "serde_utils::quoted_u64")]
    pub proposals_assigned: u64,
    /// Proposer duties without a canonical block.
    #[serde(with = "serde_utils::quoted_u64")]
    pub proposals_missed: u64,
    /// Sync committee positions × canonical blocks.
    #[serde(with = "serde_utils::quoted_u64")]
    pub sync_expected: u64,
    /// Of those, positions whose bit was not set.
    #[serde(with = "serde_utils::quoted_u64")]
    pub sync_missed: u64,
    /// Duty effectiveness in parts per million (weights 14/26/14 attestation, 8 proposal,
    /// 2 sync; 0 without duties).
    #[serde(with = "serde_utils::quoted_u64")]
    pub effectiveness_ppm: u64,
    /// Income the rewards endpoints did not explain (signed).
    #[serde(with = "serde_utils::quoted_i64")]
    pub unexplained_gwei: i64,
    /// Validator-epochs with a rewards breakdown.
    #[serde(with = "serde_utils::quoted_u64")]
    pub breakdown_available: u64,
    /// Validator-epochs without one.
    #[serde(with = "serde_utils::quoted_u64")]
    pub breakdown_unavailable: u64,
    /// Canonical pool blocks whose EL value was not recorded (counted as 0).
    #[serde(with = "serde_utils::quoted_u64")]
    pub el_values_missing: u64,
    /// Canonical pool blocks whose payload fee recipient is not the pool's vault.
    #[serde(with = "serde_utils::quoted_u64")]
    pub fee_recipient_mismatches: u64,
}

/// One operator's line in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorReport {
    /// Operator id.
    #[serde(with = "serde_utils::quoted_u64")]
    pub operator_id: OperatorId,
    /// Fee rate applied (the report's last frame's terms).
    #[serde(with = "serde_utils::quoted_u64")]
    pub operator_bps: u64,
    /// Where the operator's fees are paid.
    pub reward_address: Address,
    /// Operator fees over all final reports including this one (wei): the Merkle leaf value.
    #[serde(with = "serde_utils::quoted_u256")]
    pub cumulative_fee_wei: U256,
    /// The figures.
    pub tally: Tally,
}

/// A frame report: everything its root commits to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameReport {
    /// Format version ([`REPORT_VERSION`]).
    #[serde(with = "serde_utils::quoted_u64")]
    pub version: u64,
    /// The chain.
    pub genesis_validators_root: Hash256,
    /// Frame index.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame: u64,
    /// First epoch covered (the epoch after the previous final report's last).
    pub first_epoch: Epoch,
    /// Last epoch covered (the frame's last epoch).
    pub last_epoch: Epoch,
    /// Last slot of `last_epoch`.
    pub reference_slot: Slot,
    /// Duration in seconds: slots covered × SECONDS_PER_SLOT.
    #[serde(with = "serde_utils::quoted_u64")]
    pub duration_seconds: u64,
    /// Root of the previous final report (zero for the first).
    pub previous_report_root: Hash256,
    /// keccak256 of the covered frames' snapshot roots, concatenated in frame order.
    pub assignments_root: Hash256,
    /// Protocol fee rate applied.
    #[serde(with = "serde_utils::quoted_u64")]
    pub protocol_bps: u64,
    /// Share supply `S`.
    #[serde(with = "serde_utils::quoted_u256")]
    pub share_supply: U256,
    /// Previous rate.
    #[serde(with = "serde_utils::quoted_u256")]
    pub previous_rate: U256,
    /// New rate.
    #[serde(with = "serde_utils::quoted_u256")]
    pub rate: U256,
    /// Shares minted for fees.
    #[serde(with = "serde_utils::quoted_u256")]
    pub shares_minted: U256,
    /// `P0` (wei).
    #[serde(with = "serde_utils::quoted_u256")]
    pub pooled_before_wei: U256,
    /// `P1` (wei).
    #[serde(with = "serde_utils::quoted_u256")]
    pub pooled_after_wei: U256,
    /// Annualised rate change (ppm, signed).
    #[serde(with = "serde_utils::quoted_i64")]
    pub apr_ppm: i64,
    /// CL balance base of the annual-increase check (gwei).
    #[serde(with = "serde_utils::quoted_u64")]
    pub cl_balance_base_gwei: u64,
    /// Pool totals.
    pub totals: Tally,
    /// Per operator, by id.
    pub operators: Vec<OperatorReport>,
    /// Merkle root of `(operator_id, cumulative_fee_wei)`.
    pub rewards_root: Hash256,
}

/// Whether a report may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Passed every sanity limit: published, signed, the base of the next report.
    Final,
    /// Over a sanity limit: stored for review, never published as final.
    Withheld,
}

impl ReportStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Final => "final",
            Self::Withheld => "withheld",
        }
    }
}

/// The ledger epochs the negative-rebase check summed, and their sums (what the check compared
/// with its allowance; `docs/accounting.md` §3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebaseWindow {
    /// First ledger epoch summed.
    pub first_epoch: Epoch,
    /// Last ledger epoch summed (the report's last epoch).
    pub last_epoch: Epoch,
    /// Ledger epochs summed.
    #[serde(with = "serde_utils::quoted_u64")]
    pub epochs: u64,
    /// Their CL income (gwei, signed).
    #[serde(with = "crate::serde_num::i128_dec")]
    pub cl_income_gwei: i128,
    /// Validators newly slashed in them.
    #[serde(with = "serde_utils::quoted_u64")]
    pub newly_slashed: u64,
}

/// The pool parameters a report was built with besides its snapshots (which the report commits
/// to): published with it so that its status can be checked without the registry file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportParameters {
    /// First epoch of frame 0.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame_start_epoch: u64,
    /// Epochs per frame.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame_epochs: u64,
    /// The sanity limits applied.
    pub sanity_limits: SanityLimits,
    /// The negative-rebase window as summed.
    pub negative_rebase_window: RebaseWindow,
}

/// A report with its identity, status and proofs, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEnvelope {
    /// The report.
    pub report: FrameReport,
    /// Its SSZ hash tree root.
    pub root: Hash256,
    /// Final or withheld.
    pub status: ReportStatus,
    /// Violated limits (empty when final).
    pub violations: Vec<SanityViolation>,
    /// Merkle proof per operator id.
    pub proofs: BTreeMap<OperatorId, Vec<Hash256>>,
    /// The oracle's BLS signature over the report's signing root (final reports).
    pub signature: Option<SignatureBytes>,
    /// The oracle's public key.
    pub signer: Option<PublicKeyBytes>,
    /// The parameters the report was built with (absent in reports stored before they were
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ReportParameters>,
}
