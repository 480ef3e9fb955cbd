//! Attestation inclusion in the mock's blocks: every block (synthetic or produced for a
//! proposer) carries the aggregates of the attestations published for the previous slot, one
//! per committee and vote, so that inclusion checks and chain-based liveness detection can be
//! exercised against the mock as against a real node.

use std::collections::BTreeMap;

use ssz::{BitList, BitVector};
use types::{
    AttestationData, AttestationElectra, AttestationPhase0, BeaconBlock, BlindedBeaconBlock,
    EthSpec, SignatureBytes, Slot,
};

use super::PublishedAttestation;
use super::verify::aggregate;

/// Published attestations not yet too old to include (in arrival order, which is slot order
/// up to a slot: pruning from the front is cheap).
#[derive(Debug, Default)]
pub(crate) struct AttestationPool {
    items: std::collections::VecDeque<PublishedAttestation>,
}

/// One aggregate: a committee, its vote, the set positions and the signatures.
struct Aggregate {
    committee_index: u64,
    committee_len: usize,
    data: AttestationData,
    positions: Vec<usize>,
    signatures: Vec<SignatureBytes>,
}

/// Aggregates ready to put in a block of either shape.
pub(crate) enum Included<E: EthSpec> {
    Phase0(Vec<AttestationPhase0<E>>),
    Electra(Vec<AttestationElectra<E>>),
}

impl AttestationPool {
    /// Adds a published attestation; forgets those older than `keep_from`.
    pub(crate) fn add(&mut self, attestation: PublishedAttestation, keep_from: Slot) {
        while self.items.front().is_some_and(|a| a.data.slot < keep_from) {
            self.items.pop_front();
        }
        self.items.push_back(attestation);
    }

    /// The aggregates of the votes for `slot`, using `committee(slot, index)` for positions.
    pub(crate) fn aggregates_for<E: EthSpec>(
        &self,
        slot: Slot,
        electra: bool,
        mut committee: impl FnMut(Slot, u64) -> Option<Vec<u64>>,
    ) -> Included<E> {
        let mut groups: BTreeMap<(u64, [u8; 32]), Aggregate> = BTreeMap::new();
        for item in self.items.iter().filter(|a| a.data.slot == slot) {
            let Some(members) = committee(slot, item.committee_index) else {
                continue;
            };
            let Some(position) = members.iter().position(|m| *m == item.validator_index) else {
                continue;
            };
            let key = (
                item.committee_index,
                tree_hash::TreeHash::tree_hash_root(&item.data).0,
            );
            let group = groups.entry(key).or_insert_with(|| Aggregate {
                committee_index: item.committee_index,
                committee_len: members.len(),
                data: item.data,
                positions: Vec::new(),
                signatures: Vec::new(),
            });
            if !group.positions.contains(&position) {
                group.positions.push(position);
                group.signatures.push(item.signature);
            }
        }
        let built = groups.into_values().filter_map(|g| {
            let signature = aggregate(&g.signatures).ok()?;
            let mut bits: BitList<E::MaxValidatorsPerCommittee> =
                BitList::with_capacity(g.committee_len).ok()?;
            for position in &g.positions {
                bits.set(*position, true).ok()?;
            }
            Some((g, bits, signature))
        });
        if electra {
            Included::Electra(
                built
                    .filter_map(|(g, bits, signature)| {
                        let mut committee_bits = BitVector::new();
                        committee_bits
                            .set(usize::try_from(g.committee_index).ok()?, true)
                            .ok()?;
                        Some(AttestationElectra {
                            aggregation_bits: BitList::from_bytes(bits.into_bytes()).ok()?,
                            data: g.data,
                            signature,
                            committee_bits,
                        })
                    })
                    .collect(),
            )
        } else {
            Included::Phase0(
                built
                    .map(|(g, bits, signature)| AttestationPhase0 {
                        aggregation_bits: bits,
                        data: g.data,
                        signature,
                    })
                    .collect(),
            )
        }
    }
}

/// Puts `included` into the body of `block` (up to the body's limit).
pub(crate) fn attach<E: EthSpec>(block: &mut BeaconBlock<E>, included: Included<E>) {
    macro_rules! set {
        ($b:expr, $list:expr) => {{
            for item in $list {
                if $b.body.attestations.push(item).is_err() {
                    break;
                }
            }
        }};
    }
    match (block, included) {
        (BeaconBlock::Phase0(b), Included::Phase0(list)) => set!(b, list),
        (BeaconBlock::Altair(b), Included::Phase0(list)) => set!(b, list),
        (BeaconBlock::Bellatrix(b), Included::Phase0(list)) => set!(b, list),
        (BeaconBlock::Capella(b), Included::Phase0(list)) => set!(b, list),
        (BeaconBlock::Deneb(b), Included::Phase0(list)) => set!(b, list),
        (BeaconBlock::Electra(b), Included::Electra(list)) => set!(b, list),
        (BeaconBlock::Fulu(b), Included::Electra(list)) => set!(b, list),
        _ => {}
    }
}

/// Puts `included` into the body of a blinded `block`.
pub(crate) fn attach_blinded<E: EthSpec>(block: &mut BlindedBeaconBlock<E>, included: Included<E>) {
    macro_rules! set {
        ($b:expr, $list:expr) => {{
            for item in $list {
                if $b.body.attestations.push(item).is_err() {
                    break;
                }
            }
        }};
    }
    match (block, included) {
        (BlindedBeaconBlock::Phase0(b), Included::Phase0(list)) => set!(b, list),
        (BlindedBeaconBlock::Altair(b), Included::Phase0(list)) => set!(b, list),
        (BlindedBeaconBlock::Bellatrix(b), Included::Phase0(list)) => set!(b, list),
        (BlindedBeaconBlock::Capella(b), Included::Phase0(list)) => set!(b, list),
        (BlindedBeaconBlock::Deneb(b), Included::Phase0(list)) => set!(b, list),
        (BlindedBeaconBlock::Electra(b), Included::Electra(list)) => set!(b, list),
        (BlindedBeaconBlock::Fulu(b), Included::Electra(list)) => set!(b, list),
        _ => {}
    }
}
