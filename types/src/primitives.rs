//! Scalar and fixed-size byte types shared by every container.
//!
//! `Slot` and `Epoch` are distinct newtypes so that a slot can never be passed where an epoch
//! is expected; both encode in SSZ and tree-hash exactly like the `uint64` they wrap and are
//! quoted decimal strings in Beacon API JSON.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ssz_derive::{Decode, Encode};

pub use alloy_primitives::{Address, FixedBytes, U256};

/// A 32-byte root or hash (`Root`, `Bytes32` in the specs).
pub type Hash256 = alloy_primitives::B256;
/// A compressed BLS12-381 G1 public key as it appears on the wire (`BLSPubkey`), not validated.
pub type PublicKeyBytes = FixedBytes<48>;
/// A compressed BLS12-381 G2 signature as it appears on the wire (`BLSSignature`), not validated.
pub type SignatureBytes = FixedBytes<96>;
/// A 4-byte fork version.
pub type Version = FixedBytes<4>;
/// A 4-byte domain type.
pub type DomainType = FixedBytes<4>;
/// A 32-byte signing domain.
pub type Domain = Hash256;
/// A 4-byte fork digest.
pub type ForkDigest = FixedBytes<4>;
/// An amount in gwei.
pub type Gwei = u64;
/// A validator's index in the beacon state registry.
pub type ValidatorIndex = u64;
/// A committee's index within a slot.
pub type CommitteeIndex = u64;
/// A withdrawal's global index.
pub type WithdrawalIndex = u64;
/// A KZG commitment to a blob (`KZGCommitment`, a compressed G1 point), not validated.
pub type KzgCommitment = FixedBytes<48>;
/// A KZG proof (`KZGProof`, a compressed G1 point), not validated.
pub type KzgProof = FixedBytes<48>;
/// The 32 free bytes a proposer puts in a block.
pub type Graffiti = Hash256;
/// An address on the execution layer (fee recipients, withdrawal addresses).
pub type ExecutionAddress = Address;
/// An execution-layer block hash.
pub type ExecutionBlockHash = Hash256;

/// The epoch used for "never" (`FAR_FUTURE_EPOCH = 2**64 - 1`), e.g. for unscheduled forks.
pub const FAR_FUTURE_EPOCH: Epoch = Epoch(u64::MAX);

/// The canonical infinity (point-at-infinity) signature: `0xc0` followed by 95 zero bytes.
pub fn empty_signature() -> SignatureBytes {
    let mut bytes = [0u8; 96];
    bytes[0] = 0xc0;
    SignatureBytes::from(bytes)
}

macro_rules! u64_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode,
        )]
        #[ssz(struct_behaviour = "transparent")]
        pub struct $name(pub u64);

        impl tree_hash::TreeHash for $name {
            fn tree_hash_type() -> tree_hash::TreeHashType {
                u64::tree_hash_type()
            }
            fn tree_hash_packed_encoding(&self) -> tree_hash::PackedEncoding {
                self.0.tree_hash_packed_encoding()
            }
            fn tree_hash_packing_factor() -> usize {
                u64::tree_hash_packing_factor()
            }
            fn tree_hash_root(&self) -> Hash256 {
                self.0.tree_hash_root()
            }
        }

        impl $name {
            /// Wraps a raw `u64`.
            pub const fn new(value: u64) -> Self {
                Self(value)
            }

            /// The raw `u64`.
            pub const fn as_u64(self) -> u64 {
                self.0
            }

            /// `self - other`, or zero when `other > self`.
            pub const fn saturating_sub(self, other: u64) -> Self {
                Self(self.0.saturating_sub(other))
            }

            /// `self + other`, or `None` on overflow.
            pub const fn checked_add(self, other: u64) -> Option<Self> {
                match self.0.checked_add(other) {
                    Some(value) => Some(Self(value)),
                    None => None,
                }
            }
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }

        impl From<$name> for u64 {
            fn from(value: $name) -> u64 {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl Add<u64> for $name {
            type Output = Self;
            fn add(self, rhs: u64) -> Self {
                Self(self.0 + rhs)
            }
        }

        impl AddAssign<u64> for $name {
            fn add_assign(&mut self, rhs: u64) {
                self.0 += rhs;
            }
        }

        impl Sub<u64> for $name {
            type Output = Self;
            fn sub(self, rhs: u64) -> Self {
                Self(self.0 - rhs)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::serde_utils::quoted_u64::deserialize(deserializer).map(Self)
            }
        }
    };
}

u64_newtype!(
    /// A slot number (12 s on mainnet).
    Slot
);
u64_newtype!(
    /// An epoch number (`SLOTS_PER_EPOCH` slots).
    Epoch
);

impl Slot {
    /// The epoch this slot belongs to.
    pub const fn epoch(self, slots_per_epoch: u64) -> Epoch {
        Epoch(self.0 / slots_per_epoch)
    }
}

impl Epoch {
    /// The first slot of this epoch.
    pub const fn start_slot(self, slots_per_epoch: u64) -> Slot {
        Slot(self.0 * slots_per_epoch)
    }

    /// The last slot of this epoch.
    pub const fn end_slot(self, slots_per_epoch: u64) -> Slot {
        Slot(self.0 * slots_per_epoch + slots_per_epoch - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssz::{Decode, Encode};
    use tree_hash::TreeHash;

    #[test]
    fn slot_encodes_like_u64() {
        let slot = Slot(0x0102_0304_0506_0708);
        assert_eq!(slot.as_ssz_bytes(), 0x0102_0304_0506_0708u64.as_ssz_bytes());
        assert_eq!(
            slot.tree_hash_root(),
            0x0102_0304_0506_0708u64.tree_hash_root()
        );
        assert_eq!(Slot::from_ssz_bytes(&slot.as_ssz_bytes()).unwrap(), slot);
    }

    #[test]
    fn slot_json_is_quoted() {
        assert_eq!(serde_json::to_string(&Slot(42)).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<Slot>("\"42\"").unwrap(), Slot(42));
        assert_eq!(serde_json::from_str::<Slot>("42").unwrap(), Slot(42));
        let err = serde_json::from_str::<Slot>("\"4x2\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("4x2"), "{err}");
    }

    #[test]
    fn epoch_boundaries() {
        assert_eq!(Slot(17).epoch(8), Epoch(2));
        assert_eq!(Epoch(2).start_slot(8), Slot(16));
        assert_eq!(Epoch(2).end_slot(8), Slot(23));
    }

    #[test]
    fn bytes_json_is_0x_hex() {
        let pk = PublicKeyBytes::repeat_byte(0xab);
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(json, format!("\"0x{}\"", "ab".repeat(48)));
        assert_eq!(serde_json::from_str::<PublicKeyBytes>(&json).unwrap(), pk);
    }
}
