//! Domains and signing roots (phase0 `compute_fork_data_root`, `compute_domain`,
//! `compute_signing_root`).
//!
//! Every signature a validator makes is over `hash_tree_root(SigningData(object_root, domain))`;
//! the domain binds the signature to a purpose ([`DomainKind`]), a fork version and a chain
//! (genesis validators root). [`crate::ChainSpec::get_domain`] picks the right fork version,
//! including the special cases of deposits, builder registrations, BLS-to-execution changes and
//! Deneb+ voluntary exits.

use tree_hash::TreeHash;

use crate::containers::{ForkData, SigningData};
use crate::primitives::{Domain, DomainType, Hash256, Version};

/// What a signature is for; each maps to one `DOMAIN_*` constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainKind {
    /// `DOMAIN_BEACON_PROPOSER`: blocks.
    BeaconProposer,
    /// `DOMAIN_BEACON_ATTESTER`: attestations.
    BeaconAttester,
    /// `DOMAIN_RANDAO`: the RANDAO reveal (an epoch).
    Randao,
    /// `DOMAIN_DEPOSIT`: deposit messages (genesis fork version, zero genesis root).
    Deposit,
    /// `DOMAIN_VOLUNTARY_EXIT`: voluntary exits (Capella version from Deneb on, EIP-7044).
    VoluntaryExit,
    /// `DOMAIN_SELECTION_PROOF`: attestation aggregator selection (a slot).
    SelectionProof,
    /// `DOMAIN_AGGREGATE_AND_PROOF`: aggregates.
    AggregateAndProof,
    /// `DOMAIN_SYNC_COMMITTEE`: sync committee messages (a block root).
    SyncCommittee,
    /// `DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF`: sync aggregator selection.
    SyncCommitteeSelectionProof,
    /// `DOMAIN_CONTRIBUTION_AND_PROOF`: sync contributions.
    ContributionAndProof,
    /// `DOMAIN_BLS_TO_EXECUTION_CHANGE`: withdrawal credential changes (genesis fork version,
    /// real genesis root).
    BlsToExecutionChange,
    /// `DOMAIN_APPLICATION_BUILDER`: builder (MEV-boost) validator registrations (genesis fork
    /// version, zero genesis root).
    ApplicationBuilder,
}

/// `compute_fork_data_root(current_version, genesis_validators_root)`.
pub fn compute_fork_data_root(
    current_version: Version,
    genesis_validators_root: Hash256,
) -> Hash256 {
    ForkData {
        current_version,
        genesis_validators_root,
    }
    .tree_hash_root()
}

/// `compute_domain(domain_type, fork_version, genesis_validators_root)`: the domain type followed
/// by the first 28 bytes of the fork data root.
pub fn compute_domain(
    domain_type: DomainType,
    fork_version: Version,
    genesis_validators_root: Hash256,
) -> Domain {
    let fork_data_root = compute_fork_data_root(fork_version, genesis_validators_root);
    let mut domain = [0u8; 32];
    domain[..4].copy_from_slice(domain_type.as_slice());
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    Domain::from(domain)
}

/// `compute_signing_root(object, domain)` given the object's hash tree root.
pub fn compute_signing_root(object_root: Hash256, domain: Domain) -> Hash256 {
    SigningData {
        object_root,
        domain,
    }
    .tree_hash_root()
}

/// The signing root of any SSZ object: `hash_tree_root(SigningData(hash_tree_root(self), domain))`.
pub trait SignedRoot: TreeHash {
    /// The root a validator signs for this object under `domain`.
    fn signing_root(&self, domain: Domain) -> Hash256 {
        compute_signing_root(self.tree_hash_root(), domain)
    }
}

impl<T: TreeHash + ?Sized> SignedRoot for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::{Epoch, Slot};

    #[test]
    fn domain_layout() {
        let domain_type = DomainType::from([1, 2, 3, 4]);
        let version = Version::from([0, 0, 0, 1]);
        let gvr = Hash256::repeat_byte(7);
        let domain = compute_domain(domain_type, version, gvr);
        assert_eq!(&domain[..4], &[1, 2, 3, 4]);
        assert_eq!(&domain[4..], &compute_fork_data_root(version, gvr)[..28]);
    }

    #[test]
    fn signing_root_of_scalars_uses_their_tree_hash() {
        let domain = Domain::repeat_byte(9);
        assert_eq!(
            Slot(5).signing_root(domain),
            compute_signing_root(5u64.tree_hash_root(), domain)
        );
        assert_eq!(
            Epoch(5).signing_root(domain),
            Slot(5).signing_root(domain),
            "epoch and slot are both uint64"
        );
        assert_ne!(Epoch(6).signing_root(domain), Epoch(5).signing_root(domain));
    }
}
