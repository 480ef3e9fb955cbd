//! Electra containers: multi-committee attestations (EIP-7549), single attestations, and the
//! execution requests carried in blocks (EIP-6110 deposits, EIP-7002 withdrawals, EIP-7251
//! consolidations).

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use ssz_types::{BitList, BitVector, VariableList};
use tree_hash_derive::TreeHash;

use crate::containers::phase0::AttestationData;
use crate::eth_spec::EthSpec;
use crate::primitives::{ExecutionAddress, Hash256, PublicKeyBytes, SignatureBytes};

/// Electra `IndexedAttestation` (indices from up to `MAX_COMMITTEES_PER_SLOT` committees).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct IndexedAttestationElectra<E: EthSpec> {
    /// Sorted attesting validator indices.
    #[serde(with = "ssz_types::serde_utils::quoted_u64_var_list")]
    pub attesting_indices: VariableList<u64, E::MaxValidatorsPerSlot>,
    /// The vote.
    pub data: AttestationData,
    /// The aggregate signature.
    pub signature: SignatureBytes,
}

/// Electra `AttesterSlashing`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct AttesterSlashingElectra<E: EthSpec> {
    /// First attestation.
    pub attestation_1: IndexedAttestationElectra<E>,
    /// Second attestation.
    pub attestation_2: IndexedAttestationElectra<E>,
}

/// Electra `Attestation`: aggregation bits over the concatenation of the committees flagged in
/// `committee_bits`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct AttestationElectra<E: EthSpec> {
    /// One bit per member of the included committees, in committee order.
    pub aggregation_bits: BitList<E::MaxValidatorsPerSlot>,
    /// The vote (`data.index` is 0).
    pub data: AttestationData,
    /// The aggregate signature.
    pub signature: SignatureBytes,
    /// One bit per committee of the slot.
    pub committee_bits: BitVector<E::MaxCommitteesPerSlot>,
}

impl<E: EthSpec> AttestationElectra<E> {
    /// The indices of the committees this attestation covers.
    pub fn committee_indices(&self) -> Vec<u64> {
        self.committee_bits
            .iter()
            .enumerate()
            .filter_map(|(i, set)| set.then_some(i as u64))
            .collect()
    }
}

/// `SingleAttestation`: one validator's attestation as published from Electra on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SingleAttestation {
    /// The attester's committee.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub committee_index: u64,
    /// The attester.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub attester_index: u64,
    /// The vote (`data.index` is 0).
    pub data: AttestationData,
    /// The attester's signature.
    pub signature: SignatureBytes,
}

/// Electra `AggregateAndProof`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct AggregateAndProofElectra<E: EthSpec> {
    /// The aggregator's validator index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub aggregator_index: u64,
    /// The aggregate attestation.
    pub aggregate: AttestationElectra<E>,
    /// The aggregator's slot signature proving selection.
    pub selection_proof: SignatureBytes,
}

/// Electra `SignedAggregateAndProof`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct SignedAggregateAndProofElectra<E: EthSpec> {
    /// The aggregate and proof.
    pub message: AggregateAndProofElectra<E>,
    /// The aggregator's signature.
    pub signature: SignatureBytes,
}

/// `DepositRequest` (EIP-6110): a deposit observed by the execution layer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// Withdrawal credentials.
    pub withdrawal_credentials: Hash256,
    /// Amount in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub amount: u64,
    /// Deposit signature.
    pub signature: SignatureBytes,
    /// Deposit index in the contract.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
}

/// `WithdrawalRequest` (EIP-7002): an execution-triggered exit or partial withdrawal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalRequest {
    /// The requesting withdrawal address.
    pub source_address: ExecutionAddress,
    /// The validator.
    pub validator_pubkey: PublicKeyBytes,
    /// Amount in gwei (0 means full exit).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub amount: u64,
}

/// `ConsolidationRequest` (EIP-7251).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct ConsolidationRequest {
    /// The requesting withdrawal address.
    pub source_address: ExecutionAddress,
    /// The validator consolidated from.
    pub source_pubkey: PublicKeyBytes,
    /// The validator consolidated into.
    pub target_pubkey: PublicKeyBytes,
}

/// `ExecutionRequests`: requests from the execution layer carried by an Electra+ block body.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionRequests<E: EthSpec> {
    /// Deposits.
    pub deposits: VariableList<DepositRequest, E::MaxDepositRequestsPerPayload>,
    /// Withdrawal requests.
    pub withdrawals: VariableList<WithdrawalRequest, E::MaxWithdrawalRequestsPerPayload>,
    /// Consolidation requests.
    pub consolidations: VariableList<ConsolidationRequest, E::MaxConsolidationRequestsPerPayload>,
}
