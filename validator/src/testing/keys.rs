//! Interop validator keys (the deterministic keys dev chains use) and signing for tests.
//!
//! `sk_i = int.from_bytes(sha256(i.to_bytes(32, "little")), "little") mod r`. These keys are
//! public knowledge: for tests only.

use blst::min_pk::SecretKey;
use types::{Hash256, PublicKeyBytes, SignatureBytes, U256};

/// The BLS signature scheme's domain separation tag (proof-of-possession ciphersuite).
pub const BLS_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// The BLS12-381 scalar field order `r`.
const CURVE_ORDER: [u8; 32] = [
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
];

/// An interop keypair.
pub struct InteropKeypair {
    secret: SecretKey,
    /// The compressed public key.
    pub pubkey: PublicKeyBytes,
}

impl std::fmt::Debug for InteropKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteropKeypair")
            .field("pubkey", &self.pubkey)
            .finish_non_exhaustive()
    }
}

impl InteropKeypair {
    /// The interop key of validator `index`.
    ///
    /// # Panics
    /// If the derived scalar is zero (no known index does this).
    pub fn new(index: u64) -> Self {
        let mut preimage = [0u8; 32];
        preimage[..8].copy_from_slice(&index.to_le_bytes());
        let digest = ethereum_hashing::hash(&preimage);
        let mut le = [0u8; 32];
        le.copy_from_slice(&digest);
        let order = U256::from_be_bytes(CURVE_ORDER);
        let mut scalar = U256::from_le_bytes(le);
        // 2^256 < 3r: at most two subtractions.
        while scalar >= order {
            scalar -= order;
        }
        let secret = match SecretKey::from_bytes(&scalar.to_be_bytes::<32>()) {
            Ok(secret) => secret,
            // Only a zero scalar is rejected; sha256 output reducing to 0 mod r does not occur
            // for the indices tests use, and a panic in test tooling is the right report.
            Err(e) => panic!("interop key {index} is not a valid scalar: {e:?}"),
        };
        let pubkey = PublicKeyBytes::from(secret.sk_to_pk().compress());
        Self { secret, pubkey }
    }

    /// The first `n` interop keypairs.
    pub fn range(n: u64) -> Vec<Self> {
        (0..n).map(Self::new).collect()
    }

    /// Signs a signing root.
    pub fn sign(&self, signing_root: Hash256) -> SignatureBytes {
        SignatureBytes::from(
            self.secret
                .sign(signing_root.as_slice(), BLS_DST, &[])
                .compress(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_devnet_keys() {
        // Published interop pubkeys of validators 0 and 1 (as Lodestar's dev chain uses them).
        assert_eq!(
            InteropKeypair::new(0).pubkey.to_string(),
            "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c"
        );
        assert_eq!(
            InteropKeypair::new(1).pubkey.to_string(),
            "0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b"
        );
    }
}
