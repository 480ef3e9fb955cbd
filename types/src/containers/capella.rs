//! Capella containers: withdrawals and BLS-to-execution credential changes.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use tree_hash_derive::TreeHash;

use crate::chain_spec::ChainSpec;
use crate::primitives::{Epoch, ExecutionAddress, Hash256, PublicKeyBytes, SignatureBytes};
use crate::signing::{DomainKind, SignedRoot};

/// `Withdrawal`: a balance sweep to an execution address.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// Global withdrawal index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
    /// The withdrawing validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// Where the amount goes.
    pub address: ExecutionAddress,
    /// Amount in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub amount: u64,
}

/// `BLSToExecutionChange`: switch 0x00 credentials to an execution address.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct BlsToExecutionChange {
    /// The validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The BLS withdrawal key whose hash is in the current credentials.
    pub from_bls_pubkey: PublicKeyBytes,
    /// The new withdrawal address.
    pub to_execution_address: ExecutionAddress,
}

/// `SignedBLSToExecutionChange`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SignedBlsToExecutionChange {
    /// The change.
    pub message: BlsToExecutionChange,
    /// Signature by the BLS withdrawal key (genesis fork version domain).
    pub signature: SignatureBytes,
}

/// `BLS_WITHDRAWAL_PREFIX`: credentials `0x00 ‖ sha256(withdrawal_pubkey)[1..]`.
pub const BLS_WITHDRAWAL_PREFIX: u8 = 0x00;
/// `ETH1_ADDRESS_WITHDRAWAL_PREFIX`: credentials `0x01 ‖ 11 zero bytes ‖ address`.
pub const ETH1_ADDRESS_WITHDRAWAL_PREFIX: u8 = 0x01;
/// `COMPOUNDING_WITHDRAWAL_PREFIX` (Electra): credentials `0x02 ‖ 11 zero bytes ‖ address`.
pub const COMPOUNDING_WITHDRAWAL_PREFIX: u8 = 0x02;

/// The BLS withdrawal credentials of a withdrawal public key: `0x00 ‖ sha256(pubkey)[1..]`.
pub fn bls_withdrawal_credentials(withdrawal_pubkey: &PublicKeyBytes) -> Hash256 {
    let mut credentials = ethereum_hashing::hash_fixed(withdrawal_pubkey.as_slice());
    credentials[0] = BLS_WITHDRAWAL_PREFIX;
    Hash256::from(credentials)
}

/// Execution-address withdrawal credentials: `0x01 ‖ 11 zero bytes ‖ address`.
pub fn eth1_withdrawal_credentials(address: ExecutionAddress) -> Hash256 {
    let mut credentials = [0u8; 32];
    credentials[0] = ETH1_ADDRESS_WITHDRAWAL_PREFIX;
    credentials[12..].copy_from_slice(address.as_slice());
    Hash256::from(credentials)
}

/// The execution address of `0x01` or `0x02` credentials (its last 20 bytes); `None` for BLS
/// (or unknown-prefix) credentials.
pub fn withdrawal_address(credentials: &Hash256) -> Option<ExecutionAddress> {
    matches!(
        credentials[0],
        ETH1_ADDRESS_WITHDRAWAL_PREFIX | COMPOUNDING_WITHDRAWAL_PREFIX
    )
    .then(|| ExecutionAddress::from_slice(&credentials[12..]))
}

impl BlsToExecutionChange {
    /// The root the withdrawal key signs. The domain is always built from the **genesis** fork
    /// version and the chain's genesis validators root (Capella `process_bls_to_execution_change`),
    /// so a change signed once stays valid on every later fork.
    pub fn signing_root_for(&self, spec: &ChainSpec, genesis_validators_root: Hash256) -> Hash256 {
        // The epoch is irrelevant for this domain: `get_domain` pins the genesis fork version.
        let domain = spec.get_domain(
            DomainKind::BlsToExecutionChange,
            Epoch(0),
            genesis_validators_root,
        );
        SignedRoot::signing_root(self, domain)
    }
}

#[cfg(test)]
mod tests {
    use tree_hash::TreeHash;

    use super::*;
    use crate::ForkName;
    use crate::chain_spec::DomainTypes;
    use crate::signing::{compute_domain, compute_signing_root};

    fn change() -> BlsToExecutionChange {
        BlsToExecutionChange {
            validator_index: 7,
            from_bls_pubkey: PublicKeyBytes::repeat_byte(0xab),
            to_execution_address: ExecutionAddress::repeat_byte(0x5a),
        }
    }

    #[test]
    fn credentials_layouts() {
        let pubkey = PublicKeyBytes::repeat_byte(0xab);
        let bls = bls_withdrawal_credentials(&pubkey);
        let digest = ethereum_hashing::hash(pubkey.as_slice());
        assert_eq!(bls[0], 0x00);
        assert_eq!(&bls[1..], &digest[1..]);
        assert_eq!(withdrawal_address(&bls), None);

        let address = ExecutionAddress::repeat_byte(0x5a);
        let eth1 = eth1_withdrawal_credentials(address);
        assert_eq!(eth1[0], 0x01);
        assert!(eth1[1..12].iter().all(|b| *b == 0));
        assert_eq!(withdrawal_address(&eth1), Some(address));
        let mut compounding = eth1;
        compounding[0] = 0x02;
        assert_eq!(withdrawal_address(&compounding), Some(address));
        compounding[0] = 0x03;
        assert_eq!(withdrawal_address(&compounding), None, "unknown prefix");
    }

    #[test]
    fn signing_root_uses_the_genesis_fork_version_on_every_fork() {
        let gvr = Hash256::repeat_byte(0x42);
        let spec = crate::ChainSpec::mainnet();
        let genesis_version = spec.genesis_fork_version();
        let expected = compute_signing_root(
            change().tree_hash_root(),
            compute_domain(
                DomainTypes::SPEC.bls_to_execution_change,
                genesis_version,
                gvr,
            ),
        );
        assert_eq!(change().signing_root_for(&spec, gvr), expected);
        // The current fork's version never enters the domain.
        let capella = spec.fork_version(ForkName::Capella).unwrap();
        assert_ne!(capella, genesis_version);
        let capella_domain =
            compute_domain(DomainTypes::SPEC.bls_to_execution_change, capella, gvr);
        assert_ne!(
            SignedRoot::signing_root(&change(), capella_domain),
            expected
        );
        // Another chain gives another root.
        assert_ne!(
            change().signing_root_for(&spec, Hash256::repeat_byte(1)),
            expected
        );
    }
}
