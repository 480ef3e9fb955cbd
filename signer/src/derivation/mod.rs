//! Key derivation: EIP-2333 tree derivation, EIP-2334 paths, BIP-39 mnemonics → seeds, and the
//! deterministic interop keys used by devnets.

pub mod eip2333;
mod path;

use num_bigint::BigUint;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use path::{DerivationPath, ETH2_COIN_TYPE, PURPOSE};

use crate::bls::SecretKey;
use crate::{Error, Result};

/// Derives the key at `path` from an EIP-2333 `seed`.
pub fn derive_from_seed(seed: &[u8], path: &DerivationPath) -> Result<SecretKey> {
    let mut key = eip2333::derive_master_sk(seed)?;
    for index in path.indices() {
        key = eip2333::derive_child_sk(&key, *index);
    }
    Ok(key)
}

/// The 64-byte BIP-39 seed of an English `mnemonic` with an optional `passphrase` ("" for
/// none). The mnemonic's word count and checksum are verified.
pub fn mnemonic_to_seed(mnemonic: &str, passphrase: &str) -> Result<Zeroizing<[u8; 64]>> {
    let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, mnemonic)?;
    Ok(Zeroizing::new(mnemonic.to_seed(passphrase)))
}

/// Validator `index`'s signing and withdrawal keys from a mnemonic (EIP-2334 paths).
pub fn validator_keys_from_mnemonic(
    mnemonic: &str,
    passphrase: &str,
    index: u32,
) -> Result<ValidatorKeyPair> {
    let seed = mnemonic_to_seed(mnemonic, passphrase)?;
    let withdrawal = derive_from_seed(seed.as_ref(), &DerivationPath::withdrawal(index))?;
    // The signing key is child 0 of the withdrawal key.
    let signing = eip2333::derive_child_sk(&withdrawal, 0);
    Ok(ValidatorKeyPair {
        signing,
        withdrawal,
    })
}

/// A validator's two EIP-2334 keys.
#[derive(Debug, Clone)]
pub struct ValidatorKeyPair {
    /// `m/12381/3600/i/0/0`.
    pub signing: SecretKey,
    /// `m/12381/3600/i/0`.
    pub withdrawal: SecretKey,
}

/// The curve order r, as used by the interop key formula.
fn curve_order() -> BigUint {
    BigUint::parse_bytes(
        b"73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001",
        16,
    )
    .expect("constant is valid hex")
}

/// The interop (devnet) secret key of validator `index`:
/// `int.from_bytes(sha256(index.to_bytes(32, "little")), "little") mod r`.
pub fn interop_secret_key(index: u64) -> Result<SecretKey> {
    let mut preimage = [0u8; 32];
    preimage[..8].copy_from_slice(&index.to_le_bytes());
    let digest = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(preimage)));
    let scalar = BigUint::from_bytes_le(digest.as_ref()) % curve_order();
    let digits = Zeroizing::new(scalar.to_bytes_be());
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes[32 - digits.len()..].copy_from_slice(&digits);
    SecretKey::from_bytes(bytes.as_ref())
        .map_err(|_| Error::InvalidSecretKey("interop key reduced to zero"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interop_keys_match_known_pubkeys() {
        let expected = [
            "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c",
            "0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b",
        ];
        for (i, pk) in expected.iter().enumerate() {
            let sk = interop_secret_key(i as u64).unwrap();
            assert_eq!(sk.public_key().to_bytes().to_string(), *pk, "validator {i}");
        }
    }

    #[test]
    fn signing_key_is_child_of_withdrawal_key() {
        let mnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let pair = validator_keys_from_mnemonic(mnemonic, "", 3).unwrap();
        let seed = mnemonic_to_seed(mnemonic, "").unwrap();
        let direct = derive_from_seed(seed.as_ref(), &DerivationPath::signing(3)).unwrap();
        assert_eq!(pair.signing.to_bytes(), direct.to_bytes());
        let with_pass = validator_keys_from_mnemonic(mnemonic, "TREZOR", 3).unwrap();
        assert_ne!(with_pass.signing.to_bytes(), pair.signing.to_bytes());
    }

    #[test]
    fn bad_mnemonic_is_refused() {
        let err = mnemonic_to_seed("abandon abandon abandon", "").unwrap_err();
        assert!(matches!(err, Error::InvalidMnemonic(_)), "{err:?}");
        let bad_checksum = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon";
        assert!(mnemonic_to_seed(bad_checksum, "").is_err());
    }
}
