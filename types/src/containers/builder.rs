//! Builder API (MEV-boost) validator registration.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use tree_hash_derive::TreeHash;

use crate::primitives::{ExecutionAddress, PublicKeyBytes, SignatureBytes};

/// `ValidatorRegistrationV1`: a validator's fee recipient and gas limit preferences, signed for
/// builders (`DOMAIN_APPLICATION_BUILDER`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct ValidatorRegistrationV1 {
    /// Where block rewards must be paid.
    pub fee_recipient: ExecutionAddress,
    /// Preferred gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Unix time of registration (builders keep the latest).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// The validator.
    pub pubkey: PublicKeyBytes,
}

/// `SignedValidatorRegistrationV1`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct SignedValidatorRegistrationV1 {
    /// The registration.
    pub message: ValidatorRegistrationV1,
    /// The validator's signature.
    pub signature: SignatureBytes,
}
