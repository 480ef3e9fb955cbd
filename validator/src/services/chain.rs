//! Reading the chain: which validators a canonical block shows live. Used by doppelganger
//! detection on nodes without the liveness endpoint, and by the epoch summary (inclusion,
//! proposals, sync participation).
//!
//! A block shows its proposer, the attesters of every attestation it includes (aggregation
//! bits mapped through the committees of the attestation's slot: one committee per attestation
//! before Electra, the committees named by `committee_bits` with concatenated bits from
//! Electra on) and the sync committee members whose signature its sync aggregate carries (for
//! the previous slot, committee of the block's period).
//!
//! Invariant: each slot is fetched once (one block request per slot, committees once per
//! epoch, sync committees once per period); a slot whose block could not be fetched is retried
//! on the next scan, never skipped silently.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;

use types::api::{BlockId, StateId};
use types::{AttestationData, ChainSpec, Epoch, EthSpec, SignedBeaconBlock, Slot, SyncAggregate};

use crate::beacon_node::{BeaconNodeFallback, Error as NodeError};

/// Votes of one included attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedVotes {
    /// The attestation's data.
    pub data: AttestationData,
    /// The validators whose vote it carries.
    pub attesters: Vec<u64>,
}

/// What one canonical block shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedBlock {
    /// Its slot.
    pub slot: Slot,
    /// Its proposer.
    pub proposer_index: u64,
    /// Its attestations.
    pub attestations: Vec<IncludedVotes>,
    /// Sync committee members whose signature (for `slot - 1`) it includes; a member holding
    /// several positions appears once per set bit.
    pub sync_participants: Vec<u64>,
}

/// An attestation as found in a block, before committees are resolved.
struct RawAttestation {
    data: AttestationData,
    /// Committees covered, in order (one before Electra).
    committees: Vec<u64>,
    bits: Vec<bool>,
}

type Committees = HashMap<(Slot, u64), Vec<u64>>;

/// Scans canonical blocks slot by slot.
pub struct BlockScanner<E: EthSpec> {
    fallback: Arc<BeaconNodeFallback>,
    spec: Arc<ChainSpec>,
    next: Slot,
    /// Attestations with an older target are skipped (their committees are not even fetched:
    /// nodes serve committees of recent epochs only).
    min_target: Epoch,
    committees: BTreeMap<Epoch, Arc<Committees>>,
    sync_committees: BTreeMap<u64, Arc<Vec<u64>>>,
    _preset: PhantomData<E>,
}

fn raw_attestations<E: EthSpec>(block: &SignedBeaconBlock<E>) -> Vec<RawAttestation> {
    macro_rules! phase0 {
        ($b:expr) => {
            $b.message
                .body
                .attestations
                .iter()
                .map(|a| RawAttestation {
                    data: a.data,
                    committees: vec![a.data.index],
                    bits: a.aggregation_bits.iter().collect(),
                })
                .collect()
        };
    }
    macro_rules! electra {
        ($b:expr) => {
            $b.message
                .body
                .attestations
                .iter()
                .map(|a| RawAttestation {
                    data: a.data,
                    committees: a.committee_indices(),
                    bits: a.aggregation_bits.iter().collect(),
                })
                .collect()
        };
    }
    match block {
        SignedBeaconBlock::Phase0(b) => phase0!(b),
        SignedBeaconBlock::Altair(b) => phase0!(b),
        SignedBeaconBlock::Bellatrix(b) => phase0!(b),
        SignedBeaconBlock::Capella(b) => phase0!(b),
        SignedBeaconBlock::Deneb(b) => phase0!(b),
        SignedBeaconBlock::Electra(b) => electra!(b),
        SignedBeaconBlock::Fulu(b) => electra!(b),
    }
}

fn sync_aggregate<E: EthSpec>(block: &SignedBeaconBlock<E>) -> Option<&SyncAggregate<E>> {
    match block {
        SignedBeaconBlock::Phase0(_) => None,
        SignedBeaconBlock::Altair(b) => Some(&b.message.body.sync_aggregate),
        SignedBeaconBlock::Bellatrix(b) => Some(&b.message.body.sync_aggregate),
        SignedBeaconBlock::Capella(b) => Some(&b.message.body.sync_aggregate),
        SignedBeaconBlock::Deneb(b) => Some(&b.message.body.sync_aggregate),
        SignedBeaconBlock::Electra(b) => Some(&b.message.body.sync_aggregate),
        SignedBeaconBlock::Fulu(b) => Some(&b.message.body.sync_aggregate),
    }
}

/// Undoes a defect of some beacon nodes (Lodestar 1.5.1) that label epoch committees with the
/// slot's position in the epoch as `index` and the committee index as `slot`. The spec's form
/// has every slot in the epoch and `SLOTS_PER_EPOCH` distinct slots; the defective form has
/// relative slots. (At epoch 0 with as many committees per slot as slots per epoch the two
/// cannot be told apart; the spec's form is assumed.)
pub fn normalize_committees(
    epoch: Epoch,
    slots_per_epoch: u64,
    committees: Vec<types::api::Committee>,
) -> Vec<types::api::Committee> {
    let start = epoch.as_u64().saturating_mul(slots_per_epoch);
    let in_epoch = |slot: u64| (start..start + slots_per_epoch).contains(&slot);
    let distinct = |f: fn(&types::api::Committee) -> u64| {
        committees
            .iter()
            .map(f)
            .collect::<std::collections::BTreeSet<u64>>()
            .len() as u64
    };
    let spec_form = committees.iter().all(|c| in_epoch(c.slot.as_u64()))
        && (epoch.as_u64() > 0 || distinct(|c| c.slot.as_u64()) == slots_per_epoch);
    let swapped_form = committees
        .iter()
        .all(|c| c.index < slots_per_epoch && c.slot.as_u64() < slots_per_epoch)
        && distinct(|c| c.index) == slots_per_epoch;
    if spec_form || !swapped_form {
        return committees;
    }
    tracing::debug!(%epoch, "beacon node labels committees (index, slot) swapped; correcting");
    committees
        .into_iter()
        .map(|c| types::api::Committee {
            index: c.slot.as_u64(),
            slot: Slot(start + c.index),
            validators: c.validators,
        })
        .collect()
}

impl<E: EthSpec> BlockScanner<E> {
    /// A scanner whose first slot is `from`; attestations targeting epochs before `from`'s are
    /// skipped.
    pub fn new(fallback: Arc<BeaconNodeFallback>, spec: Arc<ChainSpec>, from: Slot) -> Self {
        Self {
            min_target: spec.compute_epoch_at_slot(from),
            fallback,
            spec,
            next: from,
            committees: BTreeMap::new(),
            sync_committees: BTreeMap::new(),
            _preset: PhantomData,
        }
    }

    /// The next slot to scan.
    pub fn next_slot(&self) -> Slot {
        self.next
    }

    /// Scans every slot from the next one up to `last` (inclusive). When more than `max_slots`
    /// are pending, the oldest are skipped (logged). On a failure, what was scanned is returned
    /// with the error's description, and the failed slot is retried next time.
    pub async fn scan_until(
        &mut self,
        last: Slot,
        max_slots: u64,
    ) -> (Vec<ScannedBlock>, Option<NodeError>) {
        let mut scanned = Vec::new();
        if last < self.next {
            return (scanned, None);
        }
        let earliest = Slot(last.as_u64().saturating_sub(max_slots.saturating_sub(1)));
        if self.next < earliest {
            tracing::warn!(from = %self.next, to = %earliest, "skipping old slots in the block scan");
            self.next = earliest;
        }
        while self.next <= last {
            match self.scan_slot(self.next).await {
                Ok(Some(block)) => scanned.push(block),
                Ok(None) => {}
                Err(error) => return (scanned, Some(error)),
            }
            self.next += 1;
        }
        self.prune();
        (scanned, None)
    }

    async fn scan_slot(&mut self, slot: Slot) -> Result<Option<ScannedBlock>, NodeError> {
        let block = self
            .fallback
            .first_success("block", |client| async move {
                client.get_block::<E>(BlockId::Slot(slot)).await
            })
            .await?;
        let Some(block) = block else {
            return Ok(None);
        };
        let block = block.data;
        // A block id by slot may answer the last block before an empty slot.
        if block.slot() != slot {
            return Ok(None);
        }
        let mut attestations = Vec::new();
        for raw in raw_attestations(&block) {
            if raw.data.target.epoch < self.min_target {
                continue;
            }
            let epoch = self.spec.compute_epoch_at_slot(raw.data.slot);
            let committees = self.committees(epoch).await?;
            let mut offset = 0;
            let mut attesters = Vec::new();
            for committee_index in &raw.committees {
                let Some(members) = committees.get(&(raw.data.slot, *committee_index)) else {
                    tracing::warn!(slot = %raw.data.slot, committee_index, "attestation for an unknown committee");
                    break;
                };
                let bits = raw.bits.get(offset..offset + members.len()).unwrap_or(&[]);
                attesters.extend(
                    members
                        .iter()
                        .zip(bits)
                        .filter(|(_, set)| **set)
                        .map(|(index, _)| *index),
                );
                offset += members.len();
            }
            attestations.push(IncludedVotes {
                data: raw.data,
                attesters,
            });
        }
        let mut sync_participants = Vec::new();
        if let Some(aggregate) = sync_aggregate(&block) {
            // Best effort: nodes serve the sync committees of the head's period and the next
            // only, and participation is information, not a duty.
            let epoch = self.spec.compute_epoch_at_slot(slot);
            match self.sync_committee(epoch).await {
                Ok(members) => sync_participants.extend(
                    members
                        .iter()
                        .zip(aggregate.sync_committee_bits.iter())
                        .filter(|(_, set)| *set)
                        .map(|(index, _)| *index),
                ),
                Err(error) => {
                    tracing::debug!(%slot, %error, "sync committee unknown; participation of this block not counted");
                }
            }
        }
        Ok(Some(ScannedBlock {
            slot,
            proposer_index: block.proposer_index(),
            attestations,
            sync_participants,
        }))
    }

    async fn committees(&mut self, epoch: Epoch) -> Result<Arc<Committees>, NodeError> {
        if let Some(committees) = self.committees.get(&epoch) {
            return Ok(committees.clone());
        }
        let response = self
            .fallback
            .first_success("committees", |client| async move {
                match client
                    .get_committees(StateId::Head, Some(epoch), None, None)
                    .await
                {
                    Ok(response) => Ok(response),
                    // The head state may not serve an old epoch (Lodestar answers 500): ask
                    // the epoch's own state.
                    Err(NodeError::Status { .. }) => {
                        let slot = epoch.start_slot(E::SLOTS_PER_EPOCH);
                        client
                            .get_committees(StateId::Slot(slot), Some(epoch), None, None)
                            .await
                    }
                    Err(error) => Err(error),
                }
            })
            .await?;
        let committees: Committees =
            normalize_committees(epoch, self.spec.slots_per_epoch, response.data)
                .into_iter()
                .map(|c| ((c.slot, c.index), c.validators))
                .collect();
        let committees = Arc::new(committees);
        self.committees.insert(epoch, committees.clone());
        Ok(committees)
    }

    async fn sync_committee(&mut self, epoch: Epoch) -> Result<Arc<Vec<u64>>, NodeError> {
        let period = self.spec.sync_committee_period(epoch);
        if let Some(members) = self.sync_committees.get(&period) {
            return Ok(members.clone());
        }
        let response = self
            .fallback
            .first_success("sync committee", |client| async move {
                client.get_sync_committees(StateId::Head, Some(epoch)).await
            })
            .await?;
        let members = Arc::new(response.data.validators);
        self.sync_committees.insert(period, members.clone());
        Ok(members)
    }

    fn prune(&mut self) {
        let epoch = self.spec.compute_epoch_at_slot(self.next);
        let floor = epoch.saturating_sub(2);
        self.committees.retain(|e, _| *e >= floor);
        let period_floor = self.spec.sync_committee_period(floor);
        self.sync_committees.retain(|p, _| *p >= period_floor);
    }
}

#[cfg(test)]
mod tests {
    use types::api::Committee;

    use super::*;

    fn committee(slot: u64, index: u64) -> Committee {
        Committee {
            index,
            slot: Slot(slot),
            validators: vec![slot * 10 + index],
        }
    }

    #[test]
    fn swapped_committee_labels_are_corrected() {
        // Epoch 3 of 8 slots, 2 committees per slot, as the spec says...
        let spec_form: Vec<Committee> = (24..32)
            .flat_map(|slot| (0..2).map(move |index| committee(slot, index)))
            .collect();
        assert_eq!(
            normalize_committees(Epoch(3), 8, spec_form.clone()),
            spec_form
        );
        // ... and as Lodestar 1.5.1 labels them.
        let swapped: Vec<Committee> = spec_form
            .iter()
            .map(|c| Committee {
                index: c.slot.as_u64() - 24,
                slot: Slot(c.index),
                validators: c.validators.clone(),
            })
            .collect();
        let mut fixed = normalize_committees(Epoch(3), 8, swapped);
        fixed.sort_by_key(|c| (c.slot, c.index));
        assert_eq!(fixed, spec_form);
        // Epoch 0: told apart by which label takes every slot of the epoch.
        let genesis: Vec<Committee> = (0..8)
            .flat_map(|slot| (0..2).map(move |index| committee(slot, index)))
            .collect();
        assert_eq!(normalize_committees(Epoch(0), 8, genesis.clone()), genesis);
        let swapped: Vec<Committee> = genesis
            .iter()
            .map(|c| Committee {
                index: c.slot.as_u64(),
                slot: Slot(c.index),
                validators: c.validators.clone(),
            })
            .collect();
        let mut fixed = normalize_committees(Epoch(0), 8, swapped);
        fixed.sort_by_key(|c| (c.slot, c.index));
        assert_eq!(fixed, genesis);
    }
}
