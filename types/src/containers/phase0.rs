//! Phase0 containers a validator client signs, hashes or relays.
//!
//! Field order is the spec's (it defines both SSZ layout and Merkle root); JSON follows the
//! Beacon API (integers as quoted strings, bytes as 0x-hex, bitfields as 0x-hex SSZ bytes).

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use ssz_types::{BitList, FixedVector, VariableList};
use tree_hash_derive::TreeHash;

use crate::eth_spec::{DepositProofLength, EthSpec};
use crate::primitives::{Epoch, Hash256, PublicKeyBytes, SignatureBytes, Slot, Version};

/// `Fork`: the fork versions a beacon state is on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Fork {
    /// The version before `epoch`.
    pub previous_version: Version,
    /// The version from `epoch` on.
    pub current_version: Version,
    /// The epoch of the latest fork.
    pub epoch: Epoch,
}

/// `ForkData`: what a domain's fork data root is computed over.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct ForkData {
    /// The fork version.
    pub current_version: Version,
    /// The chain's genesis validators root.
    pub genesis_validators_root: Hash256,
}

/// `SigningData`: what a signing root is computed over.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SigningData {
    /// The hash tree root of the signed object.
    pub object_root: Hash256,
    /// The signing domain.
    pub domain: Hash256,
}

/// `Checkpoint`: an epoch boundary block.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The epoch.
    pub epoch: Epoch,
    /// The block root at the epoch's start.
    pub root: Hash256,
}

/// `AttestationData`: what an attestation votes for (the slashable content).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct AttestationData {
    /// The slot attested to.
    pub slot: Slot,
    /// The committee index (always 0 from Electra on; the committee is in `committee_bits`).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
    /// LMD GHOST vote.
    pub beacon_block_root: Hash256,
    /// FFG source.
    pub source: Checkpoint,
    /// FFG target.
    pub target: Checkpoint,
}

/// `BeaconBlockHeader`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct BeaconBlockHeader {
    /// The block's slot.
    pub slot: Slot,
    /// The proposer's validator index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub proposer_index: u64,
    /// The parent block root.
    pub parent_root: Hash256,
    /// The post-state root.
    pub state_root: Hash256,
    /// The hash tree root of the block body.
    pub body_root: Hash256,
}

/// `SignedBeaconBlockHeader`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SignedBeaconBlockHeader {
    /// The header.
    pub message: BeaconBlockHeader,
    /// The proposer's signature (over the header root, which equals the block root).
    pub signature: SignatureBytes,
}

/// `Eth1Data`: a deposit contract snapshot voted on by proposers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Encode,
    Decode,
    TreeHash,
    Serialize,
    Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Eth1Data {
    /// The deposit tree root.
    pub deposit_root: Hash256,
    /// The number of deposits.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub deposit_count: u64,
    /// The execution block hash.
    pub block_hash: Hash256,
}

/// `ProposerSlashing`: two conflicting headers for one slot.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct ProposerSlashing {
    /// First header.
    pub signed_header_1: SignedBeaconBlockHeader,
    /// Second header.
    pub signed_header_2: SignedBeaconBlockHeader,
}

/// Phase0 `IndexedAttestation` (at most `MAX_VALIDATORS_PER_COMMITTEE` indices).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct IndexedAttestationPhase0<E: EthSpec> {
    /// Sorted attesting validator indices.
    #[serde(with = "ssz_types::serde_utils::quoted_u64_var_list")]
    pub attesting_indices: VariableList<u64, E::MaxValidatorsPerCommittee>,
    /// The vote.
    pub data: AttestationData,
    /// The aggregate signature.
    pub signature: SignatureBytes,
}

/// Phase0 `AttesterSlashing`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct AttesterSlashingPhase0<E: EthSpec> {
    /// First attestation.
    pub attestation_1: IndexedAttestationPhase0<E>,
    /// Second attestation.
    pub attestation_2: IndexedAttestationPhase0<E>,
}

/// Phase0 `Attestation` (one committee; pre-Electra).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct AttestationPhase0<E: EthSpec> {
    /// One bit per committee member.
    pub aggregation_bits: BitList<E::MaxValidatorsPerCommittee>,
    /// The vote.
    pub data: AttestationData,
    /// The aggregate signature.
    pub signature: SignatureBytes,
}

/// `DepositData`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct DepositData {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// Withdrawal credentials (0x00 BLS, 0x01 execution address, 0x02 compounding).
    pub withdrawal_credentials: Hash256,
    /// Amount in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub amount: u64,
    /// Signature over the `DepositMessage` (deposit domain).
    pub signature: SignatureBytes,
}

impl DepositData {
    /// The `DepositMessage` this deposit's signature covers.
    pub fn as_deposit_message(&self) -> DepositMessage {
        DepositMessage {
            pubkey: self.pubkey,
            withdrawal_credentials: self.withdrawal_credentials,
            amount: self.amount,
        }
    }
}

/// `DepositMessage`: the signed part of a deposit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct DepositMessage {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// Withdrawal credentials.
    pub withdrawal_credentials: Hash256,
    /// Amount in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub amount: u64,
}

/// `Deposit`: deposit data with its Merkle proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deposit {
    /// Branch in the deposit tree (plus the length mix-in).
    pub proof: FixedVector<Hash256, DepositProofLength>,
    /// The deposit.
    pub data: DepositData,
}

/// `VoluntaryExit`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct VoluntaryExit {
    /// Earliest epoch at which the exit may be processed.
    pub epoch: Epoch,
    /// The exiting validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
}

/// `SignedVoluntaryExit`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SignedVoluntaryExit {
    /// The exit.
    pub message: VoluntaryExit,
    /// The validator's signature.
    pub signature: SignatureBytes,
}

/// Phase0 `AggregateAndProof`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct AggregateAndProofPhase0<E: EthSpec> {
    /// The aggregator's validator index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub aggregator_index: u64,
    /// The aggregate attestation.
    pub aggregate: AttestationPhase0<E>,
    /// The aggregator's slot signature proving selection.
    pub selection_proof: SignatureBytes,
}

/// Phase0 `SignedAggregateAndProof`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct SignedAggregateAndProofPhase0<E: EthSpec> {
    /// The aggregate and proof.
    pub message: AggregateAndProofPhase0<E>,
    /// The aggregator's signature.
    pub signature: SignatureBytes,
}
