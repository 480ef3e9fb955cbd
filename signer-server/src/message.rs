//! What a signing request asks to sign, typed: one [`Message`] per Web3Signer request type, the
//! hash tree root of its object and the signing domain it is signed under.
//!
//! Invariants: [`Message::object_root`] is `hash_tree_root` of the consensus-spec object the
//! type signs (a block's root is its header's root, equal to the block root; a sync committee
//! message signs the block root itself; an aggregation slot, a RANDAO reveal the `uint64`);
//! [`Message::domain_epoch`] is the epoch `get_domain` is called with in the specs' validator
//! guide (the target epoch of an attestation, the epoch of the slot for slot-based messages,
//! the exit's epoch), `None` for the two fork-independent domains (deposit, builder).

use tree_hash::TreeHash;
use types::{
    AggregateAndProof, AttestationData, BeaconBlock, BeaconBlockHeader, BlindedBeaconBlock,
    ContributionAndProof, DepositMessage, DomainKind, Epoch, EthSpec, ExecutionAddress, ForkName,
    Hash256, Slot, SyncAggregatorSelectionData, ValidatorRegistrationV1, Version, VoluntaryExit,
};

/// The kind of message (the request `type`, BLOCK and BLOCK_V2 as one, the two aggregate
/// versions as one); also the `kind` label of the signer's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// `BLOCK`, `BLOCK_V2`.
    Block,
    /// `ATTESTATION`.
    Attestation,
    /// `AGGREGATION_SLOT`.
    AggregationSlot,
    /// `AGGREGATE_AND_PROOF`, `AGGREGATE_AND_PROOF_V2`.
    AggregateAndProof,
    /// `RANDAO_REVEAL`.
    RandaoReveal,
    /// `VOLUNTARY_EXIT`.
    VoluntaryExit,
    /// `SYNC_COMMITTEE_MESSAGE`.
    SyncCommitteeMessage,
    /// `SYNC_COMMITTEE_SELECTION_PROOF`.
    SyncCommitteeSelectionProof,
    /// `SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF`.
    SyncCommitteeContributionAndProof,
    /// `VALIDATOR_REGISTRATION`.
    ValidatorRegistration,
    /// `DEPOSIT`.
    Deposit,
}

impl MessageKind {
    /// Every kind.
    pub const ALL: [MessageKind; 11] = [
        MessageKind::Block,
        MessageKind::Attestation,
        MessageKind::AggregationSlot,
        MessageKind::AggregateAndProof,
        MessageKind::RandaoReveal,
        MessageKind::VoluntaryExit,
        MessageKind::SyncCommitteeMessage,
        MessageKind::SyncCommitteeSelectionProof,
        MessageKind::SyncCommitteeContributionAndProof,
        MessageKind::ValidatorRegistration,
        MessageKind::Deposit,
    ];

    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageKind::Block => "block",
            MessageKind::Attestation => "attestation",
            MessageKind::AggregationSlot => "aggregation_slot",
            MessageKind::AggregateAndProof => "aggregate_and_proof",
            MessageKind::RandaoReveal => "randao_reveal",
            MessageKind::VoluntaryExit => "voluntary_exit",
            MessageKind::SyncCommitteeMessage => "sync_committee_message",
            MessageKind::SyncCommitteeSelectionProof => "sync_committee_selection_proof",
            MessageKind::SyncCommitteeContributionAndProof => {
                "sync_committee_contribution_and_proof"
            }
            MessageKind::ValidatorRegistration => "validator_registration",
            MessageKind::Deposit => "deposit",
        }
    }

    /// Whether slashing protection checks and records it before it is signed.
    pub const fn is_slashable(self) -> bool {
        matches!(self, MessageKind::Block | MessageKind::Attestation)
    }
}

/// What a block request carries besides the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockBody<E: EthSpec> {
    /// Only the header (`block_header`): the body is known by its root alone.
    HeaderOnly,
    /// The whole block.
    Full(Box<BeaconBlock<E>>),
    /// The whole blinded block (execution payload replaced by its header).
    Blinded(Box<BlindedBeaconBlock<E>>),
}

/// A block to sign: its header (whose root is the block root) and what was sent of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockToSign<E: EthSpec> {
    /// The fork the request declares (`version`, or phase0 for `BLOCK`).
    pub declared_fork: ForkName,
    /// The header; for a whole block, computed from it.
    pub header: BeaconBlockHeader,
    /// The body, when sent.
    pub body: BlockBody<E>,
}

impl<E: EthSpec> BlockToSign<E> {
    /// The execution payload's fee recipient, when the body was sent and has a payload.
    pub fn fee_recipient(&self) -> Option<ExecutionAddress> {
        match &self.body {
            BlockBody::HeaderOnly => None,
            BlockBody::Full(block) => block.fee_recipient(),
            BlockBody::Blinded(block) => block.fee_recipient(),
        }
    }
}

/// A typed signing request's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<E: EthSpec> {
    /// A block proposal.
    Block(BlockToSign<E>),
    /// An attestation's data.
    Attestation(AttestationData),
    /// An attestation aggregator selection proof (the slot).
    AggregationSlot(Slot),
    /// An aggregate and proof.
    AggregateAndProof(Box<AggregateAndProof<E>>),
    /// A RANDAO reveal (the epoch).
    RandaoReveal(Epoch),
    /// A voluntary exit.
    VoluntaryExit(VoluntaryExit),
    /// A sync committee message: the block root, signed at `slot`.
    SyncCommitteeMessage {
        /// The block root signed.
        beacon_block_root: Hash256,
        /// The slot.
        slot: Slot,
    },
    /// A sync committee aggregator selection proof.
    SyncCommitteeSelectionProof(SyncAggregatorSelectionData),
    /// A sync committee contribution and proof.
    ContributionAndProof(Box<ContributionAndProof<E>>),
    /// A builder validator registration.
    ValidatorRegistration(ValidatorRegistrationV1),
    /// A deposit message, with the fork version the request says it is for.
    Deposit {
        /// The message.
        message: DepositMessage,
        /// The network's genesis fork version the deposit is signed for.
        genesis_fork_version: Version,
    },
}

impl<E: EthSpec> Message<E> {
    /// The kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Block(_) => MessageKind::Block,
            Message::Attestation(_) => MessageKind::Attestation,
            Message::AggregationSlot(_) => MessageKind::AggregationSlot,
            Message::AggregateAndProof(_) => MessageKind::AggregateAndProof,
            Message::RandaoReveal(_) => MessageKind::RandaoReveal,
            Message::VoluntaryExit(_) => MessageKind::VoluntaryExit,
            Message::SyncCommitteeMessage { .. } => MessageKind::SyncCommitteeMessage,
            Message::SyncCommitteeSelectionProof(_) => MessageKind::SyncCommitteeSelectionProof,
            Message::ContributionAndProof(_) => MessageKind::SyncCommitteeContributionAndProof,
            Message::ValidatorRegistration(_) => MessageKind::ValidatorRegistration,
            Message::Deposit { .. } => MessageKind::Deposit,
        }
    }

    /// The signing purpose.
    pub fn domain_kind(&self) -> DomainKind {
        match self {
            Message::Block(_) => DomainKind::BeaconProposer,
            Message::Attestation(_) => DomainKind::BeaconAttester,
            Message::AggregationSlot(_) => DomainKind::SelectionProof,
            Message::AggregateAndProof(_) => DomainKind::AggregateAndProof,
            Message::RandaoReveal(_) => DomainKind::Randao,
            Message::VoluntaryExit(_) => DomainKind::VoluntaryExit,
            Message::SyncCommitteeMessage { .. } => DomainKind::SyncCommittee,
            Message::SyncCommitteeSelectionProof(_) => DomainKind::SyncCommitteeSelectionProof,
            Message::ContributionAndProof(_) => DomainKind::ContributionAndProof,
            Message::ValidatorRegistration(_) => DomainKind::ApplicationBuilder,
            Message::Deposit { .. } => DomainKind::Deposit,
        }
    }

    /// The epoch the domain is taken at (`None` for deposits and builder registrations, whose
    /// domains do not depend on the fork).
    pub fn domain_epoch(&self, slots_per_epoch: u64) -> Option<Epoch> {
        let at = |slot: Slot| Some(slot.epoch(slots_per_epoch));
        match self {
            Message::Block(block) => at(block.header.slot),
            Message::Attestation(data) => Some(data.target.epoch),
            Message::AggregationSlot(slot) => at(*slot),
            Message::AggregateAndProof(aggregate) => at(aggregate_slot(aggregate)),
            Message::RandaoReveal(epoch) => Some(*epoch),
            Message::VoluntaryExit(exit) => Some(exit.epoch),
            Message::SyncCommitteeMessage { slot, .. } => at(*slot),
            Message::SyncCommitteeSelectionProof(data) => at(data.slot),
            Message::ContributionAndProof(message) => at(message.contribution.slot),
            Message::ValidatorRegistration(_) | Message::Deposit { .. } => None,
        }
    }

    /// `hash_tree_root` of the signed object.
    pub fn object_root(&self) -> Hash256 {
        match self {
            Message::Block(block) => block.header.tree_hash_root(),
            Message::Attestation(data) => data.tree_hash_root(),
            Message::AggregationSlot(slot) => slot.tree_hash_root(),
            Message::AggregateAndProof(aggregate) => aggregate.tree_hash_root(),
            Message::RandaoReveal(epoch) => epoch.tree_hash_root(),
            Message::VoluntaryExit(exit) => exit.tree_hash_root(),
            Message::SyncCommitteeMessage {
                beacon_block_root, ..
            } => *beacon_block_root,
            Message::SyncCommitteeSelectionProof(data) => data.tree_hash_root(),
            Message::ContributionAndProof(message) => message.tree_hash_root(),
            Message::ValidatorRegistration(registration) => registration.tree_hash_root(),
            Message::Deposit { message, .. } => message.tree_hash_root(),
        }
    }
}

/// The slot of an aggregate's attestation data.
fn aggregate_slot<E: EthSpec>(aggregate: &AggregateAndProof<E>) -> Slot {
    match aggregate {
        AggregateAndProof::Phase0(inner) => inner.aggregate.data.slot,
        AggregateAndProof::Electra(inner) => inner.aggregate.data.slot,
    }
}

#[cfg(test)]
mod tests {
    use types::{Checkpoint, MinimalEthSpec};

    use super::*;

    #[test]
    fn labels_are_distinct_and_only_blocks_and_attestations_are_slashable() {
        let labels: std::collections::BTreeSet<&str> =
            MessageKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels.len(), MessageKind::ALL.len());
        let slashable: Vec<MessageKind> = MessageKind::ALL
            .into_iter()
            .filter(|k| k.is_slashable())
            .collect();
        assert_eq!(slashable, [MessageKind::Block, MessageKind::Attestation]);
    }

    #[test]
    fn domain_epochs_follow_the_validator_guide() {
        let data = AttestationData {
            slot: Slot(17),
            index: 0,
            beacon_block_root: Hash256::ZERO,
            source: Checkpoint::default(),
            target: Checkpoint {
                epoch: Epoch(5),
                root: Hash256::ZERO,
            },
        };
        let attestation: Message<MinimalEthSpec> = Message::Attestation(data);
        assert_eq!(attestation.domain_epoch(8), Some(Epoch(5)), "target epoch");
        let slot: Message<MinimalEthSpec> = Message::AggregationSlot(Slot(17));
        assert_eq!(slot.domain_epoch(8), Some(Epoch(2)));
        let sync: Message<MinimalEthSpec> = Message::SyncCommitteeMessage {
            beacon_block_root: Hash256::repeat_byte(3),
            slot: Slot(16),
        };
        assert_eq!(sync.domain_epoch(8), Some(Epoch(2)));
        assert_eq!(sync.object_root(), Hash256::repeat_byte(3));
        let deposit: Message<MinimalEthSpec> = Message::Deposit {
            message: DepositMessage {
                pubkey: Default::default(),
                withdrawal_credentials: Hash256::ZERO,
                amount: 1,
            },
            genesis_fork_version: Version::ZERO,
        };
        assert_eq!(deposit.domain_epoch(8), None);
    }
}
