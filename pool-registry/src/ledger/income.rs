//! CL income: `balance_end(e) − balance_end(e−1) + withdrawals(e) − deposits(e)`.
//!
//! Deposits are the amounts credited during e. Before Electra: `body.deposits` for the
//! validator's key in e's blocks. From Electra: `pending(end e−1) + new(e) − pending(end e)`
//! where `new(e)` are the deposit requests and bridge deposits for the key in e's blocks (both
//! enter the pending queue) and `pending(·)` sums the key's entries of `pending_deposits`.

use std::collections::{BTreeSet, HashMap};

use types::{ChainSpec, Hash256, PublicKeyBytes, Slot};

use super::inputs::{EpochInputs, ValidatorEntry};
use super::{Duties, ValidatorEpoch};
use crate::error::{Error, Result, input_error};

/// Structural checks on the inputs: slot ranges, ordering, one entry per validator.
pub(super) fn check_inputs(spec: &ChainSpec, inputs: &EpochInputs) -> Result<()> {
    let e = inputs.epoch;
    let spe = spec.slots_per_epoch;
    let first = e.start_slot(spe);
    let last = (e + 1).end_slot(spe);
    let mut previous: Option<Slot> = None;
    for block in &inputs.blocks {
        if block.slot < first || block.slot > last {
            return Err(input_error(
                e,
                format!("block at slot {} is outside [{first}, {last}]", block.slot),
            ));
        }
        if previous.is_some_and(|p| p >= block.slot) {
            return Err(input_error(
                e,
                format!(
                    "blocks are not in ascending slot order at slot {}",
                    block.slot
                ),
            ));
        }
        previous = Some(block.slot);
    }
    for pair in inputs.blocks.windows(2) {
        if pair[1].parent_root != pair[0].root {
            return Err(input_error(
                e,
                format!(
                    "block at slot {} does not build on block at slot {}: the blocks are not one canonical chain (or a block is missing)",
                    pair[1].slot, pair[0].slot
                ),
            ));
        }
    }
    for c in &inputs.committees {
        if c.slot.epoch(spe) != e {
            return Err(input_error(
                e,
                format!("committee at slot {} is not in epoch {e}", c.slot),
            ));
        }
    }
    for d in &inputs.proposer_duties {
        if d.slot.epoch(spe) != e {
            return Err(input_error(
                e,
                format!("proposer duty at slot {} is not in epoch {e}", d.slot),
            ));
        }
    }
    Ok(())
}

fn by_index(
    epoch: types::Epoch,
    entries: &[ValidatorEntry],
    what: &str,
) -> Result<HashMap<u64, usize>> {
    let mut map = HashMap::with_capacity(entries.len());
    for (i, v) in entries.iter().enumerate() {
        if map.insert(v.index, i).is_some() {
            return Err(input_error(
                epoch,
                format!("validator {} appears twice in {what}", v.index),
            ));
        }
    }
    Ok(map)
}

/// Whether credentials pay the pool: same address, 0x01 or 0x02 prefix, zero padding.
pub(crate) fn credentials_match(actual: &Hash256, pool: &Hash256) -> bool {
    matches!(actual[0], 0x01 | 0x02) && actual[1..] == pool[1..]
}

fn to_i64(value: i128, what: &'static str) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Overflow(what))
}

/// Computes balances, withdrawals, deposits and income for every pool validator in the end
/// state; duty fields are left empty.
pub(super) fn cl_income(
    spec: &ChainSpec,
    keys: &BTreeSet<PublicKeyBytes>,
    pool_credentials: Hash256,
    inputs: &EpochInputs,
) -> Result<Vec<ValidatorEpoch>> {
    let e = inputs.epoch;
    let spe = spec.slots_per_epoch;
    let start = by_index(e, &inputs.validators_start, "validators_start")?;
    let end = by_index(e, &inputs.validators_end, "validators_end")?;
    for v in &inputs.validators_start {
        if keys.contains(&v.validator.pubkey) && !end.contains_key(&v.index) {
            return Err(input_error(
                e,
                format!(
                    "validator {} is in validators_start but missing from validators_end",
                    v.index
                ),
            ));
        }
    }

    // Amounts by key and by index from e's blocks only (e+1's blocks are for attestations).
    let mut withdrawals: HashMap<u64, u64> = HashMap::new();
    let mut bridge_deposits: HashMap<PublicKeyBytes, u64> = HashMap::new();
    let mut request_deposits: HashMap<PublicKeyBytes, u64> = HashMap::new();
    fn add_to<K: std::hash::Hash + Eq>(
        map: &mut HashMap<K, u64>,
        key: K,
        amount: u64,
    ) -> Result<()> {
        let slot = map.entry(key).or_default();
        *slot = slot
            .checked_add(amount)
            .ok_or(Error::Overflow("per-validator amounts of one epoch"))?;
        Ok(())
    }
    for block in inputs.blocks.iter().filter(|b| b.slot.epoch(spe) == e) {
        for (index, amount) in &block.withdrawals {
            add_to(&mut withdrawals, *index, *amount)?;
        }
        for (pubkey, amount) in &block.deposits {
            add_to(&mut bridge_deposits, *pubkey, *amount)?;
        }
        for (pubkey, amount) in &block.deposit_requests {
            add_to(&mut request_deposits, *pubkey, *amount)?;
        }
    }
    let electra = spec.fork_name_at_epoch(e).is_electra_or_later();
    let pending_sum =
        |list: &Option<Vec<super::PendingDeposit>>| -> Result<HashMap<PublicKeyBytes, u64>> {
            let mut sums: HashMap<PublicKeyBytes, u64> = HashMap::new();
            for d in list.iter().flatten() {
                add_to(&mut sums, d.pubkey, d.amount)?;
            }
            Ok(sums)
        };
    if electra && inputs.pending_deposits_end.is_none() {
        return Err(input_error(
            e,
            "pending_deposits_end is required from Electra on",
        ));
    }
    let pending_start = pending_sum(&inputs.pending_deposits_start)?;
    let pending_end = pending_sum(&inputs.pending_deposits_end)?;

    let mut records = Vec::new();
    for v in &inputs.validators_end {
        let pubkey = v.validator.pubkey;
        if !keys.contains(&pubkey) {
            continue;
        }
        let before = start.get(&v.index).map(|&i| &inputs.validators_start[i]);
        if before.is_some_and(|b| b.validator.pubkey != pubkey) {
            return Err(input_error(
                e,
                format!(
                    "validator {} has different keys in validators_start and validators_end",
                    v.index
                ),
            ));
        }
        let balance_start = before.map_or(0, |b| b.balance);
        let withdrawn = withdrawals.get(&v.index).copied().unwrap_or(0);
        let deposits: i128 = if electra {
            i128::from(pending_start.get(&pubkey).copied().unwrap_or(0))
                + i128::from(request_deposits.get(&pubkey).copied().unwrap_or(0))
                + i128::from(bridge_deposits.get(&pubkey).copied().unwrap_or(0))
                - i128::from(pending_end.get(&pubkey).copied().unwrap_or(0))
        } else {
            i128::from(bridge_deposits.get(&pubkey).copied().unwrap_or(0))
        };
        let income =
            i128::from(v.balance) - i128::from(balance_start) + i128::from(withdrawn) - deposits;
        records.push(ValidatorEpoch {
            validator_index: v.index,
            pubkey,
            balance_start,
            balance_end: v.balance,
            withdrawals: withdrawn,
            deposits: to_i64(deposits, "credited deposits")?,
            income: to_i64(income, "CL income")?,
            effective_balance: v.validator.effective_balance,
            status: v.status,
            slashed_start: before.is_some_and(|b| b.validator.slashed),
            slashed_end: v.validator.slashed,
            credentials_mismatch: !credentials_match(
                &v.validator.withdrawal_credentials,
                &pool_credentials,
            ),
            duties: Duties::default(),
            el_rewards: 0,
            el_values_missing: 0,
            fee_recipient_mismatches: 0,
            breakdown: None,
        });
    }
    records.sort_by_key(|r| r.validator_index);
    Ok(records)
}
