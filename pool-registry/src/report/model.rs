//! The frame report as published: [`FrameReport`] (its canonical JSON is the report's text
//! form; its SSZ twin in [`super::ssz`] gives the root) and the [`ReportEnvelope`] stored and
//! served with status, withheld reasons, Merkle proofs and signature.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use types::{Address, Epoch, Hash256, PublicKeyBytes, SignatureBytes, Slot, U256};

use super::sanity::SanityViolation;
use crate::registry::OperatorId;

/// Current report format version.
pub const REPORT_VERSION: u64 = 1;

/// Figures for one operator or for the whole pool over a report (gwei unless named).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Validators active at the reference slot.
    pub validators_active: u64,
    /// Validators exited (or withdrawable/withdrawn) at the reference slot.
    pub validators_exited: u64,
    /// Validators slashed at the reference slot.
    pub validators_slashed: u64,
    /// Validators whose withdrawal credentials are not the pool's, at the reference slot.
    pub credential_mismatches: u64,
    /// Validators newly slashed during the report.
    pub newly_slashed: u64,
    /// Sum of positive CL income.
    pub cl_rewards_gwei: u64,
    /// Minus the sum of negative CL income of unslashed validators (≥ 0).
    pub penalties_gwei: u64,
    /// Minus the sum of negative CL income of slashed validators, from the epoch they were
    /// slashed (≥ 0).
    pub slashing_losses_gwei: u64,
    /// Withdrawals.
    pub withdrawals_gwei: u64,
    /// Credited deposits (signed).
    pub deposits_gwei: i64,
    /// EL rewards (reported values of canonical pool blocks, floored to gwei per block).
    pub el_rewards_gwei: u64,
    /// Net rewards `R = CL income + EL rewards` (signed).
    pub net_rewards_gwei: i64,
    /// Fees `F`.
    pub fee_gwei: u64,
    /// The operator's part of `F`.
    pub operator_fee_gwei: u64,
    /// The protocol's part of `F`.
    pub protocol_fee_gwei: u64,
    /// Attestation duties.
    pub attestation_duties: u64,
    /// Attestation duties with no included attestation.
    pub attestations_missed: u64,
    /// Duties with the timely-source flag.
    pub source_timely: u64,
    /// Duties with the timely-target flag.
    pub target_timely: u64,
    /// Duties with the timely-head flag.
    pub head_timely: u64,
    /// Proposer duties.
    pub proposals_assigned: u64,
    /// Proposer duties without a canonical block.
    pub proposals_missed: u64,
    /// Sync committee positions × canonical blocks.
    pub sync_expected: u64,
    /// Of those, positions whose bit was not set.
    pub sync_missed: u64,
    /// Duty effectiveness in parts per million (weights 14/26/14 attestation, 8 proposal,
    /// 2 sync; 0 without duties).
    pub effectiveness_ppm: u64,
    /// Income the rewards endpoints did not explain (signed).
    pub unexplained_gwei: i64,
    /// Validator-epochs with a rewards breakdown.
    pub breakdown_available: u64,
    /// Validator-epochs without one.
    pub breakdown_unavailable: u64,
    /// Canonical pool blocks whose EL value was not recorded (counted as 0).
    pub el_values_missing: u64,
    /// Canonical pool blocks whose payload fee recipient is not the pool's vault.
    pub fee_recipient_mismatches: u64,
}

/// One operator's line in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorReport {
    /// Operator id.
    pub operator_id: OperatorId,
    /// Fee rate applied (the report's last frame's terms).
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
    pub version: u64,
    /// The chain.
    pub genesis_validators_root: Hash256,
    /// Frame index.
    pub frame: u64,
    /// First epoch covered (the epoch after the previous final report's last).
    pub first_epoch: Epoch,
    /// Last epoch covered (the frame's last epoch).
    pub last_epoch: Epoch,
    /// Last slot of `last_epoch`.
    pub reference_slot: Slot,
    /// Duration in seconds: slots covered × SECONDS_PER_SLOT.
    pub duration_seconds: u64,
    /// Root of the previous final report (zero for the first).
    pub previous_report_root: Hash256,
    /// keccak256 of the covered frames' snapshot roots, concatenated in frame order.
    pub assignments_root: Hash256,
    /// Protocol fee rate applied.
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
    pub apr_ppm: i64,
    /// CL balance base of the annual-increase check (gwei).
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
}
