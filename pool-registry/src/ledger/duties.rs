//! Duty performance from the chain: attestation inclusion and timeliness, proposals, sync
//! committee participation, and the EL value of pool blocks.
//!
//! Attestation flags follow Altair's `get_attestation_participation_flag_indices`: with
//! `delay = block.slot − data.slot` (≥ 1), source is timely when `delay ≤
//! integer_sqrt(SLOTS_PER_EPOCH)`; target when the target root is the canonical block root at
//! `start_slot(e)` (or the latest block before it) and, before Deneb, `delay ≤
//! SLOTS_PER_EPOCH`; head when the head vote is the canonical block root at `data.slot` (the
//! latest block at or before it), the target is correct and `delay == 1`. Flags are OR-ed
//! over every inclusion, like participation flags in the state. Only inclusions the state
//! accepts count (the source vote of an included attestation is correct by construction).

use std::collections::HashMap;

use types::{Address, ChainSpec, ForkName, Hash256, Slot};

use super::ValidatorEpoch;
use super::inputs::{BlockFacts, EpochInputs};
use crate::error::{Result, input_error};

/// `integer_sqrt` of the consensus specs.
pub(crate) fn integer_sqrt(n: u64) -> u64 {
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

/// Canonical block roots by slot, answering "latest block at or before slot s".
struct CanonicalRoots<'a> {
    blocks: &'a [BlockFacts],
}

impl CanonicalRoots<'_> {
    /// The root of the latest canonical block at or before `slot`, if the inputs determine it:
    /// from a block at or before `slot`, else from the parent of the first block after it.
    fn at_or_before(&self, slot: Slot) -> Option<Hash256> {
        let after = self.blocks.partition_point(|b| b.slot <= slot);
        if after > 0 {
            Some(self.blocks[after - 1].root)
        } else {
            self.blocks.first().map(|b| b.parent_root)
        }
    }
}

pub(super) fn attestations(
    spec: &ChainSpec,
    inputs: &EpochInputs,
    index_of: &HashMap<u64, usize>,
    records: &mut [ValidatorEpoch],
) -> Result<()> {
    let e = inputs.epoch;
    let spe = spec.slots_per_epoch;
    let roots = CanonicalRoots {
        blocks: &inputs.blocks,
    };
    let target_root = roots.at_or_before(e.start_slot(spe));
    let committees: HashMap<(Slot, u64), &[u64]> = inputs
        .committees
        .iter()
        .map(|c| ((c.slot, c.index), c.validators.as_slice()))
        .collect();
    for c in &inputs.committees {
        for v in &c.validators {
            if let Some(&i) = index_of.get(v) {
                records[i].duties.attestation_duties = 1;
            }
        }
    }
    let sqrt_spe = integer_sqrt(spe);
    let mut members: Vec<u64> = Vec::new();
    for block in &inputs.blocks {
        let deneb = spec.fork_name_at_slot(block.slot) >= ForkName::Deneb;
        for att in block.attestations.iter().filter(|a| a.target_epoch == e) {
            let Some(delay) = block.slot.as_u64().checked_sub(att.slot.as_u64()) else {
                continue;
            };
            // MIN_ATTESTATION_INCLUSION_DELAY = 1; pre-Deneb inclusion window is one epoch.
            if delay < 1 || (!deneb && delay > spe) {
                continue;
            }
            members.clear();
            for ci in &att.committee_indices {
                let committee = committees.get(&(att.slot, *ci)).ok_or_else(|| {
                    input_error(
                        e,
                        format!(
                            "block at slot {} includes an attestation for committee {ci} at slot {} that is not in the committees input",
                            block.slot, att.slot
                        ),
                    )
                })?;
                members.extend_from_slice(committee);
            }
            if members.len() != att.aggregation_bits.len() {
                return Err(input_error(
                    e,
                    format!(
                        "block at slot {}: attestation for slot {} has {} aggregation bits for {} committee members",
                        block.slot,
                        att.slot,
                        att.aggregation_bits.len(),
                        members.len()
                    ),
                ));
            }
            let target_ok = Some(att.target_root) == target_root;
            let head_ok = target_ok && Some(att.head_root) == roots.at_or_before(att.slot);
            let source = delay <= sqrt_spe;
            let target = target_ok && (deneb || delay <= spe);
            let head = head_ok && delay == 1;
            for (bit, v) in att.aggregation_bits.iter().zip(&members) {
                if !bit {
                    continue;
                }
                let Some(&i) = index_of.get(v) else { continue };
                let d = &mut records[i].duties;
                d.attestation_included = 1;
                d.source_timely |= u32::from(source);
                d.target_timely |= u32::from(target);
                d.head_timely |= u32::from(head);
                let delay = u32::try_from(delay).unwrap_or(u32::MAX);
                if d.inclusion_delay == 0 || delay < d.inclusion_delay {
                    d.inclusion_delay = delay;
                }
            }
        }
    }
    Ok(())
}

pub(super) fn proposals_and_el(
    spec: &ChainSpec,
    inputs: &EpochInputs,
    index_of: &HashMap<u64, usize>,
    vault: Address,
    records: &mut [ValidatorEpoch],
) -> Result<()> {
    let e = inputs.epoch;
    let spe = spec.slots_per_epoch;
    let in_epoch: HashMap<Slot, &BlockFacts> = inputs
        .blocks
        .iter()
        .filter(|b| b.slot.epoch(spe) == e)
        .map(|b| (b.slot, b))
        .collect();
    for duty in &inputs.proposer_duties {
        let Some(&i) = index_of.get(&duty.validator_index) else {
            continue;
        };
        records[i].duties.proposals_assigned += 1;
        if in_epoch
            .get(&duty.slot)
            .is_some_and(|b| b.proposer_index == duty.validator_index)
        {
            records[i].duties.proposals_made += 1;
        }
    }
    let values: HashMap<Hash256, &super::ElBlockValue> =
        inputs.el_values.iter().map(|v| (v.block_root, v)).collect();
    for block in in_epoch.values() {
        let Some(&i) = index_of.get(&block.proposer_index) else {
            continue;
        };
        let record = &mut records[i];
        if block.fee_recipient.is_some_and(|r| r != vault) {
            record.fee_recipient_mismatches += 1;
        }
        if block.fee_recipient.is_none() {
            continue; // no execution payload before Bellatrix
        }
        match values.get(&block.root) {
            Some(value)
                if value.slot == block.slot && value.proposer_index == block.proposer_index =>
            {
                let gwei = value.value_wei / types::U256::from(1_000_000_000u64);
                let gwei = u64::try_from(gwei).map_err(|_| {
                    input_error(
                        e,
                        format!(
                            "EL value of block at slot {} is implausibly large",
                            block.slot
                        ),
                    )
                })?;
                record.el_rewards = record
                    .el_rewards
                    .checked_add(gwei)
                    .ok_or(crate::error::Error::Overflow("EL rewards"))?;
            }
            Some(_) => {
                return Err(input_error(
                    e,
                    format!(
                        "EL value for block {} names another slot or proposer",
                        block.root
                    ),
                ));
            }
            None => record.el_values_missing += 1,
        }
    }
    Ok(())
}

pub(super) fn sync_committee(
    spec: &ChainSpec,
    inputs: &EpochInputs,
    index_of: &HashMap<u64, usize>,
    records: &mut [ValidatorEpoch],
) -> Result<()> {
    let e = inputs.epoch;
    let spe = spec.slots_per_epoch;
    let Some(committee) = &inputs.sync_committee else {
        return Err(input_error(e, "sync_committee is required from Altair on"));
    };
    // Positions held by pool validators.
    let mut positions: HashMap<usize, Vec<usize>> = HashMap::new();
    for (pos, v) in committee.validators.iter().enumerate() {
        if let Some(&i) = index_of.get(v) {
            positions.entry(i).or_default().push(pos);
        }
    }
    if positions.is_empty() {
        return Ok(());
    }
    for block in inputs.blocks.iter().filter(|b| b.slot.epoch(spe) == e) {
        if block.sync_committee_bits.len() != committee.validators.len() {
            return Err(input_error(
                e,
                format!(
                    "block at slot {} has {} sync committee bits for a committee of {}",
                    block.slot,
                    block.sync_committee_bits.len(),
                    committee.validators.len()
                ),
            ));
        }
        for (&i, slots) in &positions {
            let d = &mut records[i].duties;
            d.sync_expected += slots.len() as u32;
            d.sync_participated += slots
                .iter()
                .filter(|&&p| block.sync_committee_bits[p])
                .count() as u32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::integer_sqrt;

    #[test]
    fn integer_sqrt_matches_spec_values() {
        assert_eq!(integer_sqrt(32), 5);
        assert_eq!(integer_sqrt(8), 2);
        assert_eq!(integer_sqrt(1), 1);
        assert_eq!(integer_sqrt(0), 0);
        assert_eq!(integer_sqrt(25), 5);
        assert_eq!(integer_sqrt(24), 4);
    }
}
