//! Capella containers: withdrawals and BLS-to-execution credential changes.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use tree_hash_derive::TreeHash;

use crate::primitives::{ExecutionAddress, PublicKeyBytes, SignatureBytes};

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
