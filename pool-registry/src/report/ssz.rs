//! The SSZ form of a report; its `hash_tree_root` is the report's identity.
//!
//! Signed integers are encoded as `uint64` holding their two's complement (as Solidity's
//! `int64` ABI does); `U256` values as `uint256`; operator entries in a
//! `List[OperatorEntry, MAX_REPORT_OPERATORS]` (2^16) ordered by operator id.

use ssz_derive::{Decode, Encode};
use ssz_types::VariableList;
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;
use types::{Address, Hash256, U256};

use super::model::{FrameReport, OperatorReport, Tally};
use crate::error::{Error, Result};

/// Maximum operators in one report.
pub type MaxReportOperators = typenum::U65536;

/// `Tally` in SSZ.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct TallySsz {
    /// See [`Tally`].
    pub validators_active: u64,
    /// See [`Tally`].
    pub validators_exited: u64,
    /// See [`Tally`].
    pub validators_slashed: u64,
    /// See [`Tally`].
    pub credential_mismatches: u64,
    /// See [`Tally`].
    pub newly_slashed: u64,
    /// See [`Tally`].
    pub cl_rewards_gwei: u64,
    /// See [`Tally`].
    pub penalties_gwei: u64,
    /// See [`Tally`].
    pub slashing_losses_gwei: u64,
    /// See [`Tally`].
    pub withdrawals_gwei: u64,
    /// See [`Tally`] (int64 as two's complement).
    pub deposits_gwei: u64,
    /// See [`Tally`].
    pub el_rewards_gwei: u64,
    /// See [`Tally`] (int64 as two's complement).
    pub net_rewards_gwei: u64,
    /// See [`Tally`].
    pub fee_gwei: u64,
    /// See [`Tally`].
    pub operator_fee_gwei: u64,
    /// See [`Tally`].
    pub protocol_fee_gwei: u64,
    /// See [`Tally`].
    pub attestation_duties: u64,
    /// See [`Tally`].
    pub attestations_missed: u64,
    /// See [`Tally`].
    pub source_timely: u64,
    /// See [`Tally`].
    pub target_timely: u64,
    /// See [`Tally`].
    pub head_timely: u64,
    /// See [`Tally`].
    pub proposals_assigned: u64,
    /// See [`Tally`].
    pub proposals_missed: u64,
    /// See [`Tally`].
    pub sync_expected: u64,
    /// See [`Tally`].
    pub sync_missed: u64,
    /// See [`Tally`].
    pub effectiveness_ppm: u64,
    /// See [`Tally`] (int64 as two's complement).
    pub unexplained_gwei: u64,
    /// See [`Tally`].
    pub breakdown_available: u64,
    /// See [`Tally`].
    pub breakdown_unavailable: u64,
    /// See [`Tally`].
    pub el_values_missing: u64,
    /// See [`Tally`].
    pub fee_recipient_mismatches: u64,
}

/// `OperatorReport` in SSZ.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct OperatorEntrySsz {
    /// Operator id.
    pub operator_id: u64,
    /// Fee rate.
    pub operator_bps: u64,
    /// Reward address.
    pub reward_address: Address,
    /// Cumulative operator fees (wei).
    pub cumulative_fee_wei: U256,
    /// Figures.
    pub tally: TallySsz,
}

/// `FrameReport` in SSZ (the `PoolReport` container).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash)]
pub struct PoolReport {
    /// Format version.
    pub version: u64,
    /// Chain.
    pub genesis_validators_root: Hash256,
    /// Frame.
    pub frame: u64,
    /// First epoch.
    pub first_epoch: u64,
    /// Last epoch.
    pub last_epoch: u64,
    /// Reference slot.
    pub reference_slot: u64,
    /// Duration (s).
    pub duration_seconds: u64,
    /// Previous final report's root.
    pub previous_report_root: Hash256,
    /// Snapshot commitment.
    pub assignments_root: Hash256,
    /// Protocol fee rate.
    pub protocol_bps: u64,
    /// Share supply.
    pub share_supply: U256,
    /// Previous rate.
    pub previous_rate: U256,
    /// New rate.
    pub rate: U256,
    /// Minted shares.
    pub shares_minted: U256,
    /// P0.
    pub pooled_before_wei: U256,
    /// P1.
    pub pooled_after_wei: U256,
    /// APR (int64 as two's complement).
    pub apr_ppm: u64,
    /// CL balance base.
    pub cl_balance_base_gwei: u64,
    /// Totals.
    pub totals: TallySsz,
    /// Operators.
    pub operators: VariableList<OperatorEntrySsz, MaxReportOperators>,
    /// Merkle root.
    pub rewards_root: Hash256,
}

impl From<&Tally> for TallySsz {
    fn from(t: &Tally) -> Self {
        Self {
            validators_active: t.validators_active,
            validators_exited: t.validators_exited,
            validators_slashed: t.validators_slashed,
            credential_mismatches: t.credential_mismatches,
            newly_slashed: t.newly_slashed,
            cl_rewards_gwei: t.cl_rewards_gwei,
            penalties_gwei: t.penalties_gwei,
            slashing_losses_gwei: t.slashing_losses_gwei,
            withdrawals_gwei: t.withdrawals_gwei,
            deposits_gwei: t.deposits_gwei as u64,
            el_rewards_gwei: t.el_rewards_gwei,
            net_rewards_gwei: t.net_rewards_gwei as u64,
            fee_gwei: t.fee_gwei,
            operator_fee_gwei: t.operator_fee_gwei,
            protocol_fee_gwei: t.protocol_fee_gwei,
            attestation_duties: t.attestation_duties,
            attestations_missed: t.attestations_missed,
            source_timely: t.source_timely,
            target_timely: t.target_timely,
            head_timely: t.head_timely,
            proposals_assigned: t.proposals_assigned,
            proposals_missed: t.proposals_missed,
            sync_expected: t.sync_expected,
            sync_missed: t.sync_missed,
            effectiveness_ppm: t.effectiveness_ppm,
            unexplained_gwei: t.unexplained_gwei as u64,
            breakdown_available: t.breakdown_available,
            breakdown_unavailable: t.breakdown_unavailable,
            el_values_missing: t.el_values_missing,
            fee_recipient_mismatches: t.fee_recipient_mismatches,
        }
    }
}

impl From<&OperatorReport> for OperatorEntrySsz {
    fn from(o: &OperatorReport) -> Self {
        Self {
            operator_id: o.operator_id,
            operator_bps: o.operator_bps,
            reward_address: o.reward_address,
            cumulative_fee_wei: o.cumulative_fee_wei,
            tally: TallySsz::from(&o.tally),
        }
    }
}

impl PoolReport {
    /// The SSZ form of a report.
    pub fn from_report(r: &FrameReport) -> Result<Self> {
        let operators: Vec<OperatorEntrySsz> =
            r.operators.iter().map(OperatorEntrySsz::from).collect();
        let count = operators.len();
        Ok(Self {
            version: r.version,
            genesis_validators_root: r.genesis_validators_root,
            frame: r.frame,
            first_epoch: r.first_epoch.as_u64(),
            last_epoch: r.last_epoch.as_u64(),
            reference_slot: r.reference_slot.as_u64(),
            duration_seconds: r.duration_seconds,
            previous_report_root: r.previous_report_root,
            assignments_root: r.assignments_root,
            protocol_bps: r.protocol_bps,
            share_supply: r.share_supply,
            previous_rate: r.previous_rate,
            rate: r.rate,
            shares_minted: r.shares_minted,
            pooled_before_wei: r.pooled_before_wei,
            pooled_after_wei: r.pooled_after_wei,
            apr_ppm: r.apr_ppm as u64,
            cl_balance_base_gwei: r.cl_balance_base_gwei,
            totals: TallySsz::from(&r.totals),
            operators: VariableList::new(operators).map_err(|_| Error::Report {
                frame: r.frame,
                message: format!("{count} operators exceed the report limit of 65536"),
            })?,
            rewards_root: r.rewards_root,
        })
    }
}

impl FrameReport {
    /// The report's identity: `hash_tree_root(PoolReport)`.
    pub fn root(&self) -> Result<Hash256> {
        Ok(PoolReport::from_report(self)?.tree_hash_root())
    }

    /// The SSZ encoding of the report.
    pub fn to_ssz(&self) -> Result<Vec<u8>> {
        Ok(ssz::Encode::as_ssz_bytes(&PoolReport::from_report(self)?))
    }
}
