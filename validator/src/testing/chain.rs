//! The mock's deterministic fake chain.
//!
//! Invariants: every slot up to the head has exactly one block — a synthetic `Default` block of
//! the slot's fork (proposer, parent root and a pseudo state root filled in) unless a block was
//! published for it; each block's `parent_root` is the root of the previous slot's block, so
//! roots, headers, attestation data, duties' dependent roots and events all agree. Committees,
//! proposers and sync committees are pure functions of the epoch/period and the validator set
//! (a hash-seeded shuffle, not the spec's swap-or-not: only determinism and plausible shapes
//! matter here).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use types::api::{Validator, ValidatorStatus};

use super::inclusion::{AttestationPool, Included, attach};
use types::{
    BeaconBlock, BlindedBeaconBlock, ChainSpec, Checkpoint, Epoch, EthSpec, ExecutionAddress,
    FAR_FUTURE_EPOCH, ForkName, Graffiti, Hash256, PublicKeyBytes, SignatureBytes,
    SignedBeaconBlock, Slot, empty_signature,
};

/// A validator of the fake registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockValidator {
    /// The registry record.
    pub validator: Validator,
    /// Balance in gwei.
    pub balance: u64,
}

impl MockValidator {
    /// A validator active since genesis with 32 ETH.
    pub fn active(pubkey: PublicKeyBytes) -> Self {
        Self {
            validator: Validator {
                pubkey,
                withdrawal_credentials: Hash256::ZERO,
                effective_balance: 32_000_000_000,
                slashed: false,
                activation_eligibility_epoch: Epoch(0),
                activation_epoch: Epoch(0),
                exit_epoch: FAR_FUTURE_EPOCH,
                withdrawable_epoch: FAR_FUTURE_EPOCH,
            },
            balance: 32_000_000_000,
        }
    }

    /// The API status at `epoch`.
    pub fn status(&self, epoch: Epoch) -> ValidatorStatus {
        ValidatorStatus::compute(&self.validator, self.balance, epoch)
    }
}

/// `sha256(tag || parts...)` as a root.
pub(crate) fn tagged_hash(tag: &str, parts: &[u64]) -> Hash256 {
    let mut preimage = tag.as_bytes().to_vec();
    for part in parts {
        preimage.extend_from_slice(&part.to_le_bytes());
    }
    Hash256::from_slice(&ethereum_hashing::hash(&preimage))
}

fn hash_u64(tag: &str, parts: &[u64]) -> u64 {
    let digest = tagged_hash(tag, parts);
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first8)
}

/// The committees of one epoch.
#[derive(Debug)]
pub(crate) struct Shuffling {
    /// Active validator indices in shuffled order.
    shuffled: Vec<u64>,
    /// Active validator indices in registry order.
    pub(crate) active: Vec<u64>,
    pub(crate) committees_per_slot: u64,
    slots_per_epoch: u64,
}

impl Shuffling {
    /// The committee `index` at the epoch's `slot_in_epoch`-th slot.
    pub(crate) fn committee(&self, slot_in_epoch: u64, index: u64) -> Option<&[u64]> {
        if index >= self.committees_per_slot || slot_in_epoch >= self.slots_per_epoch {
            return None;
        }
        let total = self.committees_per_slot * self.slots_per_epoch;
        let k = slot_in_epoch * self.committees_per_slot + index;
        let n = self.shuffled.len() as u64;
        let start = usize::try_from(n * k / total).ok()?;
        let end = usize::try_from(n * (k + 1) / total).ok()?;
        self.shuffled.get(start..end)
    }
}

/// A block of the fake chain.
#[derive(Debug, Clone)]
pub(crate) struct ChainBlock<E: EthSpec> {
    pub(crate) root: Hash256,
    pub(crate) block: SignedBeaconBlock<E>,
}

/// The fake chain.
#[derive(Debug)]
pub(crate) struct MockChain<E: EthSpec> {
    pub(crate) spec: ChainSpec,
    pub(crate) genesis_time: u64,
    pub(crate) genesis_validators_root: Hash256,
    pub(crate) validators: Vec<MockValidator>,
    /// Fee recipient of synthetic blocks and of produced blocks for unprepared proposers.
    pub(crate) default_fee_recipient: ExecutionAddress,
    blocks: Vec<ChainBlock<E>>,
    published: BTreeMap<Slot, (SignedBeaconBlock<E>, Hash256)>,
    roots: HashMap<Hash256, Slot>,
    shufflings: HashMap<Epoch, Arc<Shuffling>>,
    /// Published attestations, included in the next slot's block.
    pub(crate) pool: AttestationPool,
    /// Whether slots without a published block stay empty (instead of getting a synthetic
    /// block by their proposer).
    pub(crate) empty_unpublished: bool,
}

/// Fills the fields every fork's block shares.
macro_rules! fill_common {
    ($b:ident, $slot:expr, $proposer:expr, $parent:expr, $state:expr, $randao:expr, $graffiti:expr) => {{
        $b.slot = $slot;
        $b.proposer_index = $proposer;
        $b.parent_root = $parent;
        $b.state_root = $state;
        $b.body.randao_reveal = $randao;
        $b.body.graffiti = $graffiti;
    }};
}

/// The contents of a block to build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockTemplate {
    pub(crate) slot: Slot,
    pub(crate) proposer: u64,
    pub(crate) parent_root: Hash256,
    pub(crate) randao_reveal: SignatureBytes,
    pub(crate) graffiti: Graffiti,
    pub(crate) fee_recipient: ExecutionAddress,
    pub(crate) gas_limit: u64,
}

impl BlockTemplate {
    fn state_root(&self) -> Hash256 {
        tagged_hash("state", &[self.slot.as_u64()])
    }

    /// A full block of `fork`.
    pub(crate) fn full<E: EthSpec>(&self, fork: ForkName) -> BeaconBlock<E> {
        let t = self;
        let state = t.state_root();
        let mut block = match fork {
            ForkName::Phase0 => BeaconBlock::Phase0(Default::default()),
            ForkName::Altair => BeaconBlock::Altair(Default::default()),
            ForkName::Bellatrix => BeaconBlock::Bellatrix(Default::default()),
            ForkName::Capella => BeaconBlock::Capella(Default::default()),
            ForkName::Deneb => BeaconBlock::Deneb(Default::default()),
            ForkName::Electra => BeaconBlock::Electra(Default::default()),
            ForkName::Fulu => BeaconBlock::Fulu(Default::default()),
        };
        macro_rules! payload {
            ($b:ident) => {{
                fill_common!(
                    $b,
                    t.slot,
                    t.proposer,
                    t.parent_root,
                    state,
                    t.randao_reveal,
                    t.graffiti
                );
                $b.body.execution_payload.fee_recipient = t.fee_recipient;
                $b.body.execution_payload.gas_limit = t.gas_limit;
            }};
        }
        match &mut block {
            BeaconBlock::Phase0(b) => fill_common!(
                b,
                t.slot,
                t.proposer,
                t.parent_root,
                state,
                t.randao_reveal,
                t.graffiti
            ),
            BeaconBlock::Altair(b) => fill_common!(
                b,
                t.slot,
                t.proposer,
                t.parent_root,
                state,
                t.randao_reveal,
                t.graffiti
            ),
            BeaconBlock::Bellatrix(b) => payload!(b),
            BeaconBlock::Capella(b) => payload!(b),
            BeaconBlock::Deneb(b) => payload!(b),
            BeaconBlock::Electra(b) => payload!(b),
            BeaconBlock::Fulu(b) => payload!(b),
        }
        block
    }

    /// A blinded block of `fork`.
    pub(crate) fn blinded<E: EthSpec>(&self, fork: ForkName) -> BlindedBeaconBlock<E> {
        let t = self;
        let state = t.state_root();
        let mut block = match fork {
            ForkName::Phase0 => BlindedBeaconBlock::Phase0(Default::default()),
            ForkName::Altair => BlindedBeaconBlock::Altair(Default::default()),
            ForkName::Bellatrix => BlindedBeaconBlock::Bellatrix(Default::default()),
            ForkName::Capella => BlindedBeaconBlock::Capella(Default::default()),
            ForkName::Deneb => BlindedBeaconBlock::Deneb(Default::default()),
            ForkName::Electra => BlindedBeaconBlock::Electra(Default::default()),
            ForkName::Fulu => BlindedBeaconBlock::Fulu(Default::default()),
        };
        macro_rules! header {
            ($b:ident) => {{
                fill_common!(
                    $b,
                    t.slot,
                    t.proposer,
                    t.parent_root,
                    state,
                    t.randao_reveal,
                    t.graffiti
                );
                $b.body.execution_payload_header.fee_recipient = t.fee_recipient;
                $b.body.execution_payload_header.gas_limit = t.gas_limit;
            }};
        }
        match &mut block {
            BlindedBeaconBlock::Phase0(b) => fill_common!(
                b,
                t.slot,
                t.proposer,
                t.parent_root,
                state,
                t.randao_reveal,
                t.graffiti
            ),
            BlindedBeaconBlock::Altair(b) => fill_common!(
                b,
                t.slot,
                t.proposer,
                t.parent_root,
                state,
                t.randao_reveal,
                t.graffiti
            ),
            BlindedBeaconBlock::Bellatrix(b) => header!(b),
            BlindedBeaconBlock::Capella(b) => header!(b),
            BlindedBeaconBlock::Deneb(b) => header!(b),
            BlindedBeaconBlock::Electra(b) => header!(b),
            BlindedBeaconBlock::Fulu(b) => header!(b),
        }
        block
    }
}

/// The gas limit of blocks the mock builds.
pub(crate) const GAS_LIMIT: u64 = 36_000_000;

impl<E: EthSpec> MockChain<E> {
    pub(crate) fn new(
        spec: ChainSpec,
        genesis_time: u64,
        genesis_validators_root: Hash256,
        validators: Vec<MockValidator>,
        default_fee_recipient: ExecutionAddress,
    ) -> Self {
        Self {
            spec,
            genesis_time,
            genesis_validators_root,
            validators,
            default_fee_recipient,
            blocks: Vec::new(),
            published: BTreeMap::new(),
            roots: HashMap::new(),
            shufflings: HashMap::new(),
            pool: AttestationPool::default(),
            empty_unpublished: false,
        }
    }

    /// The aggregates a block at `slot` includes (the previous slot's published votes).
    pub(crate) fn included_for(&mut self, slot: Slot) -> Included<E> {
        let electra = self.spec.fork_name_at_slot(slot).is_electra_or_later();
        let pool = std::mem::take(&mut self.pool);
        let included = match slot.as_u64().checked_sub(1) {
            Some(previous) => {
                pool.aggregates_for(Slot(previous), electra, |s, i| self.committee(s, i))
            }
            None if electra => Included::Electra(Vec::new()),
            None => Included::Phase0(Vec::new()),
        };
        self.pool = pool;
        included
    }

    pub(crate) fn epoch_of(&self, slot: Slot) -> Epoch {
        self.spec.compute_epoch_at_slot(slot)
    }

    /// The committees of `epoch` (cached).
    pub(crate) fn shuffling(&mut self, epoch: Epoch) -> Arc<Shuffling> {
        if let Some(shuffling) = self.shufflings.get(&epoch) {
            return shuffling.clone();
        }
        let active: Vec<u64> = self
            .validators
            .iter()
            .enumerate()
            .filter(|(_, v)| v.status(epoch).is_active())
            .map(|(i, _)| i as u64)
            .collect();
        let mut shuffled = active.clone();
        // Fisher-Yates with hash-derived randomness per position.
        for i in (1..shuffled.len()).rev() {
            let j =
                usize::try_from(hash_u64("shuffle", &[epoch.as_u64(), i as u64]) % (i as u64 + 1))
                    .unwrap_or(0);
            shuffled.swap(i, j);
        }
        let spe = self.spec.slots_per_epoch;
        let committees_per_slot = (active.len() as u64 / spe / E::TARGET_COMMITTEE_SIZE)
            .clamp(1, <E::MaxCommitteesPerSlot as typenum::Unsigned>::to_u64());
        let shuffling = Arc::new(Shuffling {
            shuffled,
            active,
            committees_per_slot,
            slots_per_epoch: spe,
        });
        self.shufflings.insert(epoch, shuffling.clone());
        shuffling
    }

    /// Committee `index` at `slot`.
    pub(crate) fn committee(&mut self, slot: Slot, index: u64) -> Option<Vec<u64>> {
        let shuffling = self.shuffling(self.epoch_of(slot));
        shuffling
            .committee(slot.as_u64() % self.spec.slots_per_epoch, index)
            .map(<[u64]>::to_vec)
    }

    /// The number of committees per slot at `slot`'s epoch.
    pub(crate) fn committees_per_slot(&mut self, slot: Slot) -> u64 {
        self.shuffling(self.epoch_of(slot)).committees_per_slot
    }

    /// The proposer of `slot` (`None` when no validator is active).
    pub(crate) fn proposer(&mut self, slot: Slot) -> Option<u64> {
        let shuffling = self.shuffling(self.epoch_of(slot));
        let n = shuffling.active.len() as u64;
        if n == 0 {
            return None;
        }
        let pick = usize::try_from(hash_u64("proposer", &[slot.as_u64()]) % n).ok()?;
        shuffling.active.get(pick).copied()
    }

    /// The sync committee (positions → validator indices) of the period of `epoch`.
    pub(crate) fn sync_committee(&mut self, epoch: Epoch) -> Vec<u64> {
        let period = self.spec.sync_committee_period(epoch);
        let start = self.spec.sync_committee_period_start_epoch(period);
        let active = self.shuffling(start).active.clone();
        if active.is_empty() {
            return Vec::new();
        }
        (0..E::sync_committee_size())
            .filter_map(|position| {
                let pick = hash_u64("sync", &[period, position]) % active.len() as u64;
                usize::try_from(pick)
                    .ok()
                    .and_then(|i| active.get(i).copied())
            })
            .collect()
    }

    fn synthetic_block(&mut self, slot: Slot, parent_root: Hash256) -> SignedBeaconBlock<E> {
        let template = BlockTemplate {
            slot,
            proposer: self.proposer(slot).unwrap_or(0),
            parent_root,
            randao_reveal: SignatureBytes::ZERO,
            graffiti: Graffiti::ZERO,
            fee_recipient: self.default_fee_recipient,
            gas_limit: GAS_LIMIT,
        };
        let mut block = template.full::<E>(self.spec.fork_name_at_slot(slot));
        let included = self.included_for(slot);
        attach(&mut block, included);
        block.into_signed(empty_signature())
    }

    /// The block at `slot` (computing the chain up to it on first use).
    pub(crate) fn block_at(&mut self, slot: Slot) -> ChainBlock<E> {
        let target = usize::try_from(slot.as_u64()).unwrap_or(usize::MAX);
        while self.blocks.len() <= target {
            let next = Slot(self.blocks.len() as u64);
            let parent_root = self.blocks.last().map_or(Hash256::ZERO, |b| b.root);
            let previous = self.blocks.last().cloned();
            let (block, root) = match (self.published.get(&next), previous) {
                (Some((block, root)), _) => (block.clone(), *root),
                // An empty slot: the chain's block at this slot is still the previous one.
                (None, Some(previous)) if self.empty_unpublished => (previous.block, previous.root),
                (None, _) => {
                    let block = self.synthetic_block(next, parent_root);
                    let root = block.block_root();
                    (block, root)
                }
            };
            self.roots.entry(root).or_insert(next);
            self.blocks.push(ChainBlock { root, block });
        }
        self.blocks[target].clone()
    }

    /// The root of the block at `slot`.
    pub(crate) fn root_at(&mut self, slot: Slot) -> Hash256 {
        self.block_at(slot).root
    }

    /// The slot of a known block root.
    pub(crate) fn slot_of_root(&self, root: &Hash256) -> Option<Slot> {
        self.roots.get(root).copied()
    }

    /// Makes `block` the chain's block at its slot; later synthetic blocks are rebuilt on top.
    pub(crate) fn insert_published(&mut self, block: SignedBeaconBlock<E>) -> Hash256 {
        let slot = block.slot();
        let root = block.block_root();
        self.published.insert(slot, (block, root));
        let keep = usize::try_from(slot.as_u64()).unwrap_or(usize::MAX);
        if self.blocks.len() > keep {
            for dropped in self.blocks.drain(keep..) {
                // Empty slots repeat an earlier block's root: keep that block's entry.
                if self.roots.get(&dropped.root).is_some_and(|s| *s >= slot) {
                    self.roots.remove(&dropped.root);
                }
            }
        }
        root
    }

    /// The checkpoint of `epoch` (root of its first slot's block).
    pub(crate) fn checkpoint(&mut self, epoch: Epoch) -> Checkpoint {
        let root = self.root_at(self.spec.compute_start_slot_at_epoch(epoch));
        Checkpoint { epoch, root }
    }

    /// `get_block_root_at_slot(start_slot(epoch) - 1)`, or the genesis block root at underflow:
    /// the root duties of `epoch + 1` (attester) / `epoch` (proposer) depend on.
    pub(crate) fn dependent_root(&mut self, epoch: Epoch) -> Hash256 {
        let start = self.spec.compute_start_slot_at_epoch(epoch);
        match start.as_u64().checked_sub(1) {
            Some(slot) => self.root_at(Slot(slot)),
            None => self.root_at(Slot(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use types::MinimalEthSpec;

    use super::*;

    fn chain(n: u64) -> MockChain<MinimalEthSpec> {
        let validators = (0..n)
            .map(|i| MockValidator::active(PublicKeyBytes::left_padding_from(&i.to_be_bytes())))
            .collect();
        MockChain::new(
            ChainSpec::minimal(),
            0,
            Hash256::repeat_byte(7),
            validators,
            ExecutionAddress::ZERO,
        )
    }

    #[test]
    fn committees_partition_the_active_set() {
        let mut chain = chain(64);
        let cps = chain.committees_per_slot(Slot(8));
        assert_eq!(cps, 2, "64 / 8 slots / target 4 = 2");
        let mut seen = Vec::new();
        for slot in 8..16 {
            for index in 0..cps {
                let committee = chain.committee(Slot(slot), index).unwrap();
                assert_eq!(committee.len(), 4);
                seen.extend(committee);
            }
            assert!(chain.committee(Slot(slot), cps).is_none());
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..64).collect::<Vec<u64>>());
        assert_ne!(
            chain.committee(Slot(8), 0),
            chain.committee(Slot(16), 0),
            "epochs differ"
        );
    }

    #[test]
    fn blocks_chain_by_parent_root() {
        let mut chain = chain(16);
        let b3 = chain.block_at(Slot(3));
        assert_eq!(b3.block.parent_root(), chain.root_at(Slot(2)));
        assert_eq!(chain.slot_of_root(&b3.root), Some(Slot(3)));
        assert_eq!(b3.block.proposer_index(), chain.proposer(Slot(3)).unwrap());
        assert_eq!(chain.sync_committee(Epoch(0)).len(), 32);
        // Publishing a block at slot 2 rebuilds slot 3 on top of it.
        let mut replacement = chain.block_at(Slot(2)).block;
        if let SignedBeaconBlock::Phase0(b) = &mut replacement {
            b.message.body.graffiti = Graffiti::repeat_byte(1);
        }
        let root = chain.insert_published(replacement);
        assert_eq!(chain.root_at(Slot(2)), root);
        assert_eq!(chain.block_at(Slot(3)).block.parent_root(), root);
        assert_ne!(chain.root_at(Slot(3)), b3.root);
        assert_eq!(chain.slot_of_root(&b3.root), None);
    }
}
