//! Altair sync committee containers.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use ssz_types::BitVector;
use tree_hash_derive::TreeHash;

use crate::eth_spec::EthSpec;
use crate::primitives::{Hash256, SignatureBytes, Slot};

/// `SyncAggregate`: the sync committee's aggregate signature included in a block.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct SyncAggregate<E: EthSpec> {
    /// One bit per sync committee member.
    pub sync_committee_bits: BitVector<E::SyncCommitteeSize>,
    /// The aggregate signature over the parent block root.
    pub sync_committee_signature: SignatureBytes,
}

/// `SyncCommitteeMessage`: one member's signature over the head block root.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SyncCommitteeMessage {
    /// The slot.
    pub slot: Slot,
    /// The block root signed.
    pub beacon_block_root: Hash256,
    /// The signer.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The signature (sync committee domain, over `beacon_block_root`).
    pub signature: SignatureBytes,
}

/// `SyncCommitteeContribution`: an aggregate of one subcommittee's messages.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct SyncCommitteeContribution<E: EthSpec> {
    /// The slot.
    pub slot: Slot,
    /// The block root signed.
    pub beacon_block_root: Hash256,
    /// The subcommittee (0..SYNC_COMMITTEE_SUBNET_COUNT).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub subcommittee_index: u64,
    /// One bit per subcommittee member.
    pub aggregation_bits: BitVector<E::SyncSubcommitteeSize>,
    /// The aggregate signature.
    pub signature: SignatureBytes,
}

/// `ContributionAndProof`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ContributionAndProof<E: EthSpec> {
    /// The aggregator's validator index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub aggregator_index: u64,
    /// The contribution.
    pub contribution: SyncCommitteeContribution<E>,
    /// Signature over `SyncAggregatorSelectionData` proving selection.
    pub selection_proof: SignatureBytes,
}

/// `SignedContributionAndProof`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct SignedContributionAndProof<E: EthSpec> {
    /// The contribution and proof.
    pub message: ContributionAndProof<E>,
    /// The aggregator's signature.
    pub signature: SignatureBytes,
}

/// `SyncAggregatorSelectionData`: what a sync aggregator selection proof signs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SyncAggregatorSelectionData {
    /// The slot.
    pub slot: Slot,
    /// The subcommittee.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub subcommittee_index: u64,
}
