//! The signing seam: the validator asks a [`Signer`] for signatures over signing roots and
//! never sees a secret. Next to each root travels a typed description of the message
//! ([`SignableMessage`]): [`crate::LocalSigner`] ignores it, a remote signer
//! ([`crate::remote`], Web3Signer's API) sends it so the remote can check what it signs.
//!
//! Slashing protection is *not* the signer's job: callers check the slashing-protection store
//! before asking for a signature.
//!
//! Invariant: a description and its root belong together — the root is
//! `compute_signing_root(object, domain)` of the described object, under the domain the
//! described fork gives; a signer that returns a signature has checked it against the root and
//! the key (local keys by construction, remote answers by verification).

use async_trait::async_trait;
use types::{
    AttestationData, BeaconBlockHeader, Epoch, Fork, ForkName, Hash256, PublicKeyBytes,
    SignatureBytes, Slot, SyncAggregatorSelectionData, ValidatorRegistrationV1, VoluntaryExit,
};

use crate::Result;

/// The fork a message is signed under (Web3Signer's `fork_info`): the version that applies to
/// the message's epoch is `fork.previous_version` before `fork.epoch`, else
/// `fork.current_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkInfo {
    /// The fork.
    pub fork: Fork,
    /// The chain.
    pub genesis_validators_root: Hash256,
}

/// A block as a remote signer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockMessage {
    /// Phase0 and Altair: the whole block (Beacon API JSON).
    Full(serde_json::Value),
    /// Bellatrix on: the header (whose root is the block root).
    Header(BeaconBlockHeader),
}

/// What is signed, typed (Web3Signer's request `type` and object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signable {
    /// `BLOCK_V2`.
    Block {
        /// The block's fork.
        fork: ForkName,
        /// The block or its header.
        block: BlockMessage,
    },
    /// `ATTESTATION`.
    Attestation(AttestationData),
    /// `AGGREGATION_SLOT`: an attestation aggregator selection proof.
    AggregationSlot(Slot),
    /// `AGGREGATE_AND_PROOF_V2`.
    AggregateAndProof {
        /// The fork of the aggregate (its shape: phase0 up to Deneb, Electra on).
        fork: ForkName,
        /// The `AggregateAndProof` (Beacon API JSON).
        message: serde_json::Value,
    },
    /// `RANDAO_REVEAL`.
    RandaoReveal(Epoch),
    /// `SYNC_COMMITTEE_MESSAGE`.
    SyncCommitteeMessage {
        /// The block root signed.
        beacon_block_root: Hash256,
        /// The slot.
        slot: Slot,
    },
    /// `SYNC_COMMITTEE_SELECTION_PROOF`.
    SyncCommitteeSelectionProof(SyncAggregatorSelectionData),
    /// `SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF` (the `ContributionAndProof`, Beacon API JSON).
    SyncCommitteeContributionAndProof(serde_json::Value),
    /// `VOLUNTARY_EXIT`.
    VoluntaryExit(VoluntaryExit),
    /// `VALIDATOR_REGISTRATION` (builder domain: no fork information).
    ValidatorRegistration(ValidatorRegistrationV1),
}

impl Signable {
    /// The Web3Signer request `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Signable::Block { .. } => "BLOCK_V2",
            Signable::Attestation(_) => "ATTESTATION",
            Signable::AggregationSlot(_) => "AGGREGATION_SLOT",
            Signable::AggregateAndProof { .. } => "AGGREGATE_AND_PROOF_V2",
            Signable::RandaoReveal(_) => "RANDAO_REVEAL",
            Signable::SyncCommitteeMessage { .. } => "SYNC_COMMITTEE_MESSAGE",
            Signable::SyncCommitteeSelectionProof(_) => "SYNC_COMMITTEE_SELECTION_PROOF",
            Signable::SyncCommitteeContributionAndProof(_) => {
                "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF"
            }
            Signable::VoluntaryExit(_) => "VOLUNTARY_EXIT",
            Signable::ValidatorRegistration(_) => "VALIDATOR_REGISTRATION",
        }
    }
}

/// A typed message with the fork it is signed under (`None` only for builder registrations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignableMessage {
    /// The fork information (absent for `VALIDATOR_REGISTRATION`).
    pub fork_info: Option<ForkInfo>,
    /// The message.
    pub signable: Signable,
}

/// Keys that all sign one signing root (e.g. the attesters of one committee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningGroup {
    /// The 32-byte signing root (`compute_signing_root(object, domain)`).
    pub signing_root: Hash256,
    /// What the root is the signing root of.
    pub message: SignableMessage,
    /// The validators that sign it.
    pub pubkeys: Vec<PublicKeyBytes>,
}

/// One signature, or why this one key could not sign (a remote failure affects its own keys
/// only).
pub type SignatureResult = Result<SignatureBytes>;

/// Produces BLS signatures for the keys it holds. Object-safe: use as `Arc<dyn Signer>`.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Signs every group; the result has one vector per group, one result per pubkey in
    /// order. The outer error fails the whole request (an unknown pubkey, a failed signing
    /// task); an inner error concerns that key alone (a remote signer that failed or answered
    /// an invalid signature) and is never a signature.
    async fn sign_groups(&self, groups: Vec<SigningGroup>) -> Result<Vec<Vec<SignatureResult>>>;

    /// Signs one message with one key.
    async fn sign(
        &self,
        signing_root: Hash256,
        message: SignableMessage,
        pubkey: PublicKeyBytes,
    ) -> Result<SignatureBytes> {
        let group = SigningGroup {
            signing_root,
            message,
            pubkeys: vec![pubkey],
        };
        self.sign_groups(vec![group])
            .await?
            .pop()
            .and_then(|mut g| g.pop())
            .unwrap_or(Err(crate::Error::UnknownPubkey(pubkey)))
    }

    /// The public keys currently held, sorted.
    fn public_keys(&self) -> Vec<PublicKeyBytes>;

    /// Whether `pubkey` is held.
    fn has_key(&self, pubkey: &PublicKeyBytes) -> bool;

    /// Whether `pubkey`'s signatures come from elsewhere (a remote signer): such a key must
    /// only be asked for messages slashing protection already recorded as safe.
    fn is_remote(&self, _pubkey: &PublicKeyBytes) -> bool {
        false
    }
}
