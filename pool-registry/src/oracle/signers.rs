//! The signer set of a certificate: bit i ⇔ member i signed.
//!
//! One value, three spellings that agree bit for bit:
//! - SSZ `Bitvector[256]`: 32 bytes, bit i in byte `i / 8` at bit position `i % 8`
//!   (least significant first); its `hash_tree_root` is those 32 bytes (one chunk);
//! - `uint256` (contracts): `Σ 2^i`, i.e. the same 32 bytes read as a little-endian integer;
//! - JSON: `"0x"` + the `uint256` as 64 lowercase hex digits, big-endian (as `abi.encode`
//!   would write it).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ssz::{Decode, DecodeError, Encode};
use tree_hash::{PackedEncoding, TreeHash, TreeHashType};
use types::{Hash256, U256};

use super::MemberIndex;

/// A set of member indices (0..=255).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct SignerSet([u8; 32]);

impl SignerSet {
    /// The empty set.
    pub const EMPTY: SignerSet = SignerSet([0; 32]);

    /// The set of `indices` (duplicates collapse).
    pub fn from_indices(indices: impl IntoIterator<Item = MemberIndex>) -> Self {
        let mut set = Self::EMPTY;
        for i in indices {
            set.insert(i);
        }
        set
    }

    /// Adds member `i`.
    pub fn insert(&mut self, i: MemberIndex) {
        self.0[usize::from(i / 8)] |= 1 << (i % 8);
    }

    /// Whether member `i` is in the set.
    pub fn contains(&self, i: MemberIndex) -> bool {
        self.0[usize::from(i / 8)] & (1 << (i % 8)) != 0
    }

    /// Members in ascending index order.
    pub fn indices(&self) -> impl Iterator<Item = MemberIndex> + '_ {
        (0..=MemberIndex::MAX).filter(|&i| self.contains(i))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The SSZ `Bitvector[256]` bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From the SSZ `Bitvector[256]` bytes (every bit pattern is a valid set).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The contract's `uint256` bitmask.
    pub fn to_u256(&self) -> U256 {
        U256::from_le_bytes(self.0)
    }

    /// From the contract's `uint256` bitmask.
    pub fn from_u256(value: U256) -> Self {
        Self(value.to_le_bytes())
    }
}

impl fmt::Debug for SignerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.indices()).finish()
    }
}

impl Encode for SignerSet {
    fn is_ssz_fixed_len() -> bool {
        true
    }

    fn ssz_fixed_len() -> usize {
        32
    }

    fn ssz_bytes_len(&self) -> usize {
        32
    }

    fn ssz_append(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.0);
    }
}

impl Decode for SignerSet {
    fn is_ssz_fixed_len() -> bool {
        true
    }

    fn ssz_fixed_len() -> usize {
        32
    }

    fn from_ssz_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| DecodeError::InvalidByteLength {
                len: bytes.len(),
                expected: 32,
            })
    }
}

impl TreeHash for SignerSet {
    fn tree_hash_type() -> TreeHashType {
        TreeHashType::Vector
    }

    fn tree_hash_packed_encoding(&self) -> PackedEncoding {
        unreachable!("Bitvector is never packed")
    }

    fn tree_hash_packing_factor() -> usize {
        unreachable!("Bitvector is never packed")
    }

    fn tree_hash_root(&self) -> Hash256 {
        // 256 bits fill exactly one chunk: the root is the chunk.
        Hash256::from(self.0)
    }
}

impl Serialize for SignerSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!(
            "0x{}",
            hex::encode(self.to_u256().to_be_bytes::<32>())
        ))
    }
}

impl<'de> Deserialize<'de> for SignerSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text
            .strip_prefix("0x")
            .filter(|d| d.len() == 64)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "signers {text:?} must be 0x and 64 hex digits (a uint256)"
                ))
            })?;
        let mut be = [0u8; 32];
        hex::decode_to_slice(digits, &mut be)
            .map_err(|e| serde::de::Error::custom(format!("signers {text:?}: {e}")))?;
        Ok(Self::from_u256(U256::from_be_bytes(be)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_spellings_agree() {
        let set = SignerSet::from_indices([0, 3, 8, 255, 3]);
        assert_eq!(set.len(), 4);
        assert_eq!(set.indices().collect::<Vec<_>>(), vec![0, 3, 8, 255]);
        let expected =
            U256::from(1u64) + U256::from(8u64) + U256::from(256u64) + (U256::from(1u64) << 255);
        assert_eq!(set.to_u256(), expected);
        assert_eq!(SignerSet::from_u256(expected), set);
        assert_eq!(set.as_bytes()[0], 0b0000_1001);
        assert_eq!(set.as_bytes()[1], 1);
        assert_eq!(set.as_bytes()[31], 0x80);
        // Same hash tree root as ssz_types' Bitvector[256].
        let mut bits = ssz_types::BitVector::<typenum::U256>::new();
        for i in [0usize, 3, 8, 255] {
            bits.set(i, true).unwrap();
        }
        assert_eq!(bits.as_ssz_bytes(), set.as_ssz_bytes());
        assert_eq!(bits.tree_hash_root(), set.tree_hash_root());
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(
            json,
            "\"0x8000000000000000000000000000000000000000000000000000000000000109\""
        );
        assert_eq!(serde_json::from_str::<SignerSet>(&json).unwrap(), set);
        assert!(serde_json::from_str::<SignerSet>("\"0x01\"").is_err());
        assert!(SignerSet::from_ssz_bytes(&[0; 31]).is_err());
    }
}
