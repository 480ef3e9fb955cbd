//! The rewards breakdown and its conservation check.
//!
//! Components (gwei): attestation rewards for epoch e−2's attestations
//! (`head + target + source + inclusion_delay`) and the `inactivity` penalty, both applied by the transition into e
//! (`process_epoch` runs on the state at `end_slot(e−1)`, whose *previous* epoch is e−2); sync
//! committee rewards of every canonical block of e; proposer rewards (`total`) of e's blocks
//! proposed by the validator. `unexplained = income − Σ components`, exactly; a non-zero value
//! is logged at warn level and kept, never spread over the other components.

use std::collections::{HashMap, HashSet};

use types::{ChainSpec, Slot};

use super::inputs::{EpochInputs, RewardsInputs};
use super::{Breakdown, ValidatorEpoch};
use crate::error::{Error, Result, input_error};

fn add(a: i64, b: i64) -> Result<i64> {
    a.checked_add(b).ok_or(Error::Overflow("rewards breakdown"))
}

pub(super) fn apply(
    spec: &ChainSpec,
    inputs: &EpochInputs,
    rewards: &RewardsInputs,
    index_of: &HashMap<u64, usize>,
    records: &mut [ValidatorEpoch],
) -> Result<()> {
    let e = inputs.epoch;
    let spe = spec.slots_per_epoch;
    let block_slots: HashSet<Slot> = inputs
        .blocks
        .iter()
        .filter(|b| b.slot.epoch(spe) == e)
        .map(|b| b.slot)
        .collect();
    // Incomplete rewards would make every missing component "unexplained": refuse instead.
    let check_slots = |slots: Vec<Slot>, what: &str| -> Result<()> {
        let given: HashSet<Slot> = slots.iter().copied().collect();
        if given.len() != slots.len() {
            return Err(input_error(e, format!("{what} rewards list a block twice")));
        }
        if given != block_slots {
            let mut missing: Vec<_> = block_slots.difference(&given).collect();
            let mut extra: Vec<_> = given.difference(&block_slots).collect();
            missing.sort();
            extra.sort();
            return Err(input_error(
                e,
                format!(
                    "{what} rewards do not match epoch {e}'s canonical blocks: missing slots {missing:?}, extra slots {extra:?}"
                ),
            ));
        }
        Ok(())
    };
    check_slots(rewards.blocks.iter().map(|b| b.slot).collect(), "block")?;
    check_slots(
        rewards.sync_committee.iter().map(|b| b.slot).collect(),
        "sync committee",
    )?;
    let proposer_of: HashMap<Slot, u64> = inputs
        .blocks
        .iter()
        .map(|b| (b.slot, b.proposer_index))
        .collect();

    let mut parts: Vec<Breakdown> = vec![Breakdown::default(); records.len()];
    for r in &rewards.attestations.total_rewards {
        let Some(&i) = index_of.get(&r.validator_index) else {
            continue;
        };
        let inclusion = i64::try_from(r.inclusion_delay)
            .map_err(|_| Error::Overflow("inclusion delay reward"))?;
        parts[i].attestation = add(
            parts[i].attestation,
            add(add(r.head, r.target)?, add(r.source, inclusion)?)?,
        )?;
        parts[i].inactivity = add(parts[i].inactivity, r.inactivity)?;
    }
    for block in &rewards.sync_committee {
        for r in &block.data {
            if let Some(&i) = index_of.get(&r.validator_index) {
                parts[i].sync_committee = add(parts[i].sync_committee, r.reward)?;
            }
        }
    }
    for block in &rewards.blocks {
        if proposer_of.get(&block.slot) != Some(&block.data.proposer_index) {
            return Err(input_error(
                e,
                format!(
                    "block rewards for slot {} name proposer {}, the canonical block's proposer is {:?}",
                    block.slot,
                    block.data.proposer_index,
                    proposer_of.get(&block.slot)
                ),
            ));
        }
        if let Some(&i) = index_of.get(&block.data.proposer_index) {
            let total =
                i64::try_from(block.data.total).map_err(|_| Error::Overflow("block reward"))?;
            parts[i].proposer = add(parts[i].proposer, total)?;
        }
    }
    for (record, mut b) in records.iter_mut().zip(parts) {
        let explained = add(
            add(b.attestation, b.inactivity)?,
            add(b.sync_committee, b.proposer)?,
        )?;
        b.unexplained = record
            .income
            .checked_sub(explained)
            .ok_or(Error::Overflow("unexplained income"))?;
        if b.unexplained != 0 {
            tracing::warn!(
                epoch = %e,
                validator_index = record.validator_index,
                income = record.income,
                explained,
                unexplained = b.unexplained,
                slashed = record.slashed_end,
                "CL income not explained by the rewards endpoints"
            );
        }
        record.breakdown = Some(b);
    }
    Ok(())
}
