//! The per-validator, per-epoch accounting ledger (normative definitions in
//! `docs/accounting.md`).
//!
//! [`account_epoch`] is a pure function of [`EpochInputs`] and the frame's key set: the same
//! inputs always give the same [`EpochLedger`], bit for bit. Invariants of its output:
//! - for every validator, `income = balance_end − balance_start + withdrawals − deposits`
//!   exactly (gwei, signed);
//! - when the rewards breakdown is available, `attestation + sync + proposer + unexplained =
//!   income` exactly; `unexplained` is never folded into another component;
//! - records are sorted by validator index and each validator appears once.
//!
//! An epoch may only be accounted once epoch e+1 is finalized (attestations for e can be
//! included until the end of e+1); the caller enforces that when it gathers the inputs.

mod breakdown;
mod codec;
mod duties;
mod income;
pub mod inputs;

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use types::{ChainSpec, Epoch, ForkName, Hash256, PublicKeyBytes};

use crate::error::{Result, input_error};
pub use codec::{decode_records, encode_records, find_record};
pub use inputs::*;

/// How a validator's CL income splits into the rewards endpoints' components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Breakdown {
    /// Attestation rewards applied at the transition into e (for epoch e-2's attestations):
    /// head + target + source + inclusion delay.
    pub attestation: i64,
    /// Inactivity penalty applied at the transition into e (≤ 0).
    pub inactivity: i64,
    /// Sync committee rewards and penalties of epoch e's blocks.
    pub sync_committee: i64,
    /// Proposer rewards of epoch e's blocks proposed by this validator.
    pub proposer: i64,
    /// `income − (attestation + inactivity + sync_committee + proposer)`: what the endpoints do
    /// not explain (e.g. slashing penalties). Stored and reported, never absorbed.
    pub unexplained: i64,
}

/// Duty performance of one validator in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Duties {
    /// 1 when the validator is in a committee of epoch e.
    pub attestation_duties: u32,
    /// 1 when an attestation for its duty was included (in epochs e or e+1).
    pub attestation_included: u32,
    /// Timely source flag earned.
    pub source_timely: u32,
    /// Timely target flag earned.
    pub target_timely: u32,
    /// Timely head flag earned.
    pub head_timely: u32,
    /// Smallest inclusion delay in slots (0 when not included).
    pub inclusion_delay: u32,
    /// Proposer duties in epoch e.
    pub proposals_assigned: u32,
    /// Proposer duties fulfilled by a canonical block.
    pub proposals_made: u32,
    /// Sync committee positions × canonical blocks of epoch e.
    pub sync_expected: u32,
    /// Set sync bits at the validator's positions over the canonical blocks of epoch e.
    pub sync_participated: u32,
}

/// One validator's ledger entry for one epoch (gwei).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorEpoch {
    /// Registry index.
    pub validator_index: u64,
    /// Public key.
    pub pubkey: PublicKeyBytes,
    /// Balance at `end_slot(e-1)` (0 for a validator created during e).
    pub balance_start: u64,
    /// Balance at `end_slot(e)`.
    pub balance_end: u64,
    /// Withdrawals paid in epoch e's blocks.
    pub withdrawals: u64,
    /// Deposits credited in epoch e (may be negative from Electra on: excess balance queued
    /// back as a pending deposit).
    pub deposits: i64,
    /// CL income: `balance_end − balance_start + withdrawals − deposits`.
    pub income: i64,
    /// Effective balance at `end_slot(e)`.
    pub effective_balance: u64,
    /// Status at `end_slot(e)`.
    pub status: ValidatorStatus,
    /// Slashed at `end_slot(e-1)`.
    pub slashed_start: bool,
    /// Slashed at `end_slot(e)`.
    pub slashed_end: bool,
    /// Withdrawal credentials differ from the pool's.
    pub credentials_mismatch: bool,
    /// Duty performance.
    pub duties: Duties,
    /// EL value of canonical blocks proposed in e, in gwei (reported, floored per block).
    pub el_rewards: u64,
    /// Canonical blocks proposed in e whose EL value was not recorded.
    pub el_values_missing: u32,
    /// Canonical blocks proposed in e whose fee recipient is not the pool's vault.
    pub fee_recipient_mismatches: u32,
    /// The rewards breakdown; `None` when the rewards endpoints were not available.
    pub breakdown: Option<Breakdown>,
}

impl ValidatorEpoch {
    /// Whether this validator was newly slashed during the epoch.
    pub fn newly_slashed(&self) -> bool {
        self.slashed_end && !self.slashed_start
    }
}

/// Pool-level aggregates of one epoch, kept for the negative-rebase window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EpochSummary {
    /// The epoch.
    pub epoch: Epoch,
    /// Validators accounted.
    pub validators: u64,
    /// Sum of CL income (gwei).
    pub cl_income: i64,
    /// Validators newly slashed in the epoch.
    pub newly_slashed: u64,
    /// Sum of unexplained income over validators with a breakdown (gwei).
    pub unexplained: i64,
}

/// The ledger of one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochLedger {
    /// The epoch.
    pub epoch: Epoch,
    /// The fork at the epoch.
    pub fork: ForkName,
    /// One record per pool validator known at `end_slot(e)`, by index.
    pub records: Vec<ValidatorEpoch>,
}

impl EpochLedger {
    /// Pool-level aggregates.
    pub fn summary(&self) -> EpochSummary {
        let mut s = EpochSummary {
            epoch: self.epoch,
            validators: self.records.len() as u64,
            ..EpochSummary::default()
        };
        for r in &self.records {
            s.cl_income += r.income;
            s.newly_slashed += u64::from(r.newly_slashed());
            if let Some(b) = &r.breakdown {
                s.unexplained += b.unexplained;
            }
        }
        s
    }

    /// `keccak256` of the stored encoding: equal digests mean identical ledgers.
    pub fn digest(&self) -> Hash256 {
        alloy_primitives::keccak256(encode_records(self))
    }
}

/// Accounts epoch `inputs.epoch` for the validators whose keys are in `keys` (the frame's
/// assignment snapshot). `pool_credentials` are the pool's withdrawal credentials;
/// `el_rewards_vault` the fee recipient pool blocks must pay.
pub fn account_epoch(
    spec: &ChainSpec,
    keys: &BTreeSet<PublicKeyBytes>,
    pool_credentials: Hash256,
    el_rewards_vault: types::Address,
    inputs: &EpochInputs,
) -> Result<EpochLedger> {
    let epoch = inputs.epoch;
    let fork = spec.fork_name_at_epoch(epoch);
    if fork == ForkName::Phase0 {
        return Err(input_error(
            epoch,
            "phase0 epochs are not supported (Altair participation flags are required)",
        ));
    }
    if epoch.as_u64() == 0 {
        return Err(input_error(
            epoch,
            "epoch 0 has no previous state to start from",
        ));
    }
    income::check_inputs(spec, inputs)?;
    let mut records = income::cl_income(spec, keys, pool_credentials, inputs)?;
    let index_of: HashMap<u64, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.validator_index, i))
        .collect();
    duties::attestations(spec, inputs, &index_of, &mut records)?;
    duties::proposals_and_el(spec, inputs, &index_of, el_rewards_vault, &mut records)?;
    duties::sync_committee(spec, inputs, &index_of, &mut records)?;
    if let Some(rewards) = &inputs.rewards {
        breakdown::apply(spec, inputs, rewards, &index_of, &mut records)?;
    }
    Ok(EpochLedger {
        epoch,
        fork,
        records,
    })
}

/// Whether epoch `epoch` may be accounted given the finalized checkpoint's epoch: every block
/// of e+1 must be final, i.e. `finalized_checkpoint_epoch ≥ e + 2` (a checkpoint at epoch F
/// finalizes every slot before `start_slot(F)`).
pub fn is_accountable(epoch: Epoch, finalized_checkpoint_epoch: Epoch) -> bool {
    epoch.as_u64().saturating_add(2) <= finalized_checkpoint_epoch.as_u64()
}
