//! Block bodies for every fork, full and blinded.
//!
//! Fulu did not change the body: `BeaconBlockBodyFulu` is Electra's. Blinded bodies replace the
//! execution payload with its header and have the same hash tree root as the full body.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use ssz_types::VariableList;
use tree_hash_derive::TreeHash;

use crate::containers::{
    AttestationElectra, AttestationPhase0, AttesterSlashingElectra, AttesterSlashingPhase0,
    Deposit, Eth1Data, ExecutionPayloadBellatrix, ExecutionPayloadCapella, ExecutionPayloadDeneb,
    ExecutionPayloadHeaderBellatrix, ExecutionPayloadHeaderCapella, ExecutionPayloadHeaderDeneb,
    ExecutionRequests, ProposerSlashing, SignedBlsToExecutionChange, SignedVoluntaryExit,
    SyncAggregate,
};
use crate::eth_spec::EthSpec;
use crate::primitives::{Graffiti, KzgCommitment, SignatureBytes};

/// Phase0 `BeaconBlockBody`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BeaconBlockBodyPhase0<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
}

/// Altair `BeaconBlockBody`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BeaconBlockBodyAltair<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
}

/// Bellatrix `BeaconBlockBody`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BeaconBlockBodyBellatrix<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload.
    pub execution_payload: ExecutionPayloadBellatrix<E>,
}

/// Bellatrix blinded `BeaconBlockBody` (payload replaced by its header).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BlindedBeaconBlockBodyBellatrix<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload header (blinded block).
    pub execution_payload_header: ExecutionPayloadHeaderBellatrix<E>,
}

/// Capella `BeaconBlockBody`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BeaconBlockBodyCapella<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload.
    pub execution_payload: ExecutionPayloadCapella<E>,
    /// BLS-to-execution credential changes.
    pub bls_to_execution_changes:
        VariableList<SignedBlsToExecutionChange, E::MaxBlsToExecutionChanges>,
}

/// Capella blinded `BeaconBlockBody` (payload replaced by its header).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BlindedBeaconBlockBodyCapella<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload header (blinded block).
    pub execution_payload_header: ExecutionPayloadHeaderCapella<E>,
    /// BLS-to-execution credential changes.
    pub bls_to_execution_changes:
        VariableList<SignedBlsToExecutionChange, E::MaxBlsToExecutionChanges>,
}

/// Deneb `BeaconBlockBody`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BeaconBlockBodyDeneb<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload.
    pub execution_payload: ExecutionPayloadDeneb<E>,
    /// BLS-to-execution credential changes.
    pub bls_to_execution_changes:
        VariableList<SignedBlsToExecutionChange, E::MaxBlsToExecutionChanges>,
    /// KZG commitments of the block's blobs.
    pub blob_kzg_commitments: VariableList<KzgCommitment, E::MaxBlobCommitmentsPerBlock>,
}

/// Deneb blinded `BeaconBlockBody` (payload replaced by its header).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BlindedBeaconBlockBodyDeneb<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings.
    pub attester_slashings: VariableList<AttesterSlashingPhase0<E>, E::MaxAttesterSlashings>,
    /// Attestations.
    pub attestations: VariableList<AttestationPhase0<E>, E::MaxAttestations>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload header (blinded block).
    pub execution_payload_header: ExecutionPayloadHeaderDeneb<E>,
    /// BLS-to-execution credential changes.
    pub bls_to_execution_changes:
        VariableList<SignedBlsToExecutionChange, E::MaxBlsToExecutionChanges>,
    /// KZG commitments of the block's blobs.
    pub blob_kzg_commitments: VariableList<KzgCommitment, E::MaxBlobCommitmentsPerBlock>,
}

/// Electra `BeaconBlockBody`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BeaconBlockBodyElectra<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings (Electra format).
    pub attester_slashings:
        VariableList<AttesterSlashingElectra<E>, E::MaxAttesterSlashingsElectra>,
    /// Attestations (Electra format, with committee bits).
    pub attestations: VariableList<AttestationElectra<E>, E::MaxAttestationsElectra>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload.
    pub execution_payload: ExecutionPayloadDeneb<E>,
    /// BLS-to-execution credential changes.
    pub bls_to_execution_changes:
        VariableList<SignedBlsToExecutionChange, E::MaxBlsToExecutionChanges>,
    /// KZG commitments of the block's blobs.
    pub blob_kzg_commitments: VariableList<KzgCommitment, E::MaxBlobCommitmentsPerBlock>,
    /// Execution-layer requests.
    pub execution_requests: ExecutionRequests<E>,
}

/// Electra blinded `BeaconBlockBody` (payload replaced by its header).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct BlindedBeaconBlockBodyElectra<E: EthSpec> {
    /// The proposer's RANDAO reveal (signature over the epoch).
    pub randao_reveal: SignatureBytes,
    /// The proposer's deposit contract vote.
    pub eth1_data: Eth1Data,
    /// Free proposer bytes.
    pub graffiti: Graffiti,
    /// Proposer slashings.
    pub proposer_slashings: VariableList<ProposerSlashing, E::MaxProposerSlashings>,
    /// Attester slashings (Electra format).
    pub attester_slashings:
        VariableList<AttesterSlashingElectra<E>, E::MaxAttesterSlashingsElectra>,
    /// Attestations (Electra format, with committee bits).
    pub attestations: VariableList<AttestationElectra<E>, E::MaxAttestationsElectra>,
    /// Deposits.
    pub deposits: VariableList<Deposit, E::MaxDeposits>,
    /// Voluntary exits.
    pub voluntary_exits: VariableList<SignedVoluntaryExit, E::MaxVoluntaryExits>,
    /// The sync committee aggregate.
    pub sync_aggregate: SyncAggregate<E>,
    /// The execution payload header (blinded block).
    pub execution_payload_header: ExecutionPayloadHeaderDeneb<E>,
    /// BLS-to-execution credential changes.
    pub bls_to_execution_changes:
        VariableList<SignedBlsToExecutionChange, E::MaxBlsToExecutionChanges>,
    /// KZG commitments of the block's blobs.
    pub blob_kzg_commitments: VariableList<KzgCommitment, E::MaxBlobCommitmentsPerBlock>,
    /// Execution-layer requests.
    pub execution_requests: ExecutionRequests<E>,
}

/// Fulu `BeaconBlockBody` (unchanged from Electra).
pub type BeaconBlockBodyFulu<E> = BeaconBlockBodyElectra<E>;
/// Fulu blinded `BeaconBlockBody` (unchanged from Electra).
pub type BlindedBeaconBlockBodyFulu<E> = BlindedBeaconBlockBodyElectra<E>;
