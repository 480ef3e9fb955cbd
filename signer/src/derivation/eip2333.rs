//! EIP-2333 hierarchical key derivation (Lamport-based, HKDF-SHA256), implemented from the
//! ERC text so that the intermediate values can be checked; the results are also cross-checked
//! against blst's own implementation in the tests.
//!
//! Every intermediate secret (Lamport chunks, IKM, OKM) lives in a zeroizing buffer.

use hmac::{Hmac, Mac};
use num_bigint::BigUint;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::bls::SecretKey;
use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The curve order r of BLS12-381, big-endian.
const CURVE_ORDER: [u8; 32] = [
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
];

/// Number of 32-byte chunks in one Lamport secret key.
pub const LAMPORT_CHUNKS: usize = 255;

/// A Lamport secret key: [`LAMPORT_CHUNKS`] chunks of 32 bytes, zeroized on drop.
pub type LamportSecretKey = Zeroizing<Vec<[u8; 32]>>;

fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length.
    let mut mac = HmacSha256::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(ikm);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

fn hkdf_expand(prk: &[u8; 32], info: &[u8], out: &mut [u8]) {
    let mut previous: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut mac = HmacSha256::new_from_slice(prk).expect("HMAC takes any key length");
        mac.update(&previous);
        mac.update(info);
        // out.len() <= 255 * 32 for every caller, so the counter fits a byte.
        mac.update(&[(i + 1) as u8]);
        let block = mac.finalize().into_bytes();
        chunk.copy_from_slice(&block[..chunk.len()]);
        previous.zeroize();
        previous.extend_from_slice(&block);
    }
}

/// `HKDF_mod_r(IKM)`: the EIP-2333 secret-key generator (with an empty `key_info`).
fn hkdf_mod_r(ikm: &[u8]) -> SecretKey {
    let order = BigUint::from_bytes_be(&CURVE_ORDER);
    let mut salt: [u8; 32] = Sha256::digest(b"BLS-SIG-KEYGEN-SALT-").into();
    let mut ikm0 = Zeroizing::new(ikm.to_vec());
    ikm0.push(0);
    loop {
        let prk = hkdf_extract(&salt, &ikm0);
        let mut okm = Zeroizing::new([0u8; 48]);
        // info = key_info ("") || I2OSP(L = 48, 2)
        hkdf_expand(&prk, &[0, 48], okm.as_mut());
        let sk = BigUint::from_bytes_be(okm.as_ref()) % &order;
        let mut bytes = Zeroizing::new([0u8; 32]);
        let digits = Zeroizing::new(sk.to_bytes_be());
        bytes[32 - digits.len()..].copy_from_slice(&digits);
        if let Ok(key) = SecretKey::from_bytes(bytes.as_ref()) {
            return key;
        }
        // SK == 0: hash the salt and try again (probability ~2^-255).
        salt = Sha256::digest(salt).into();
    }
}

/// `IKM_to_lamport_SK(IKM, salt)`: 255 chunks of 32 bytes.
pub fn ikm_to_lamport_sk(ikm: &[u8], salt: &[u8]) -> LamportSecretKey {
    let prk = hkdf_extract(salt, ikm);
    let mut okm = Zeroizing::new(vec![0u8; LAMPORT_CHUNKS * 32]);
    hkdf_expand(&prk, &[], &mut okm);
    let mut chunks = Zeroizing::new(vec![[0u8; 32]; LAMPORT_CHUNKS]);
    for (chunk, bytes) in chunks.iter_mut().zip(okm.chunks(32)) {
        chunk.copy_from_slice(bytes);
    }
    chunks
}

/// The two Lamport secret keys of `parent_SK_to_lamport_PK` (`lamport_0`, `lamport_1`).
pub fn lamport_secret_keys(parent: &SecretKey, index: u32) -> (LamportSecretKey, LamportSecretKey) {
    let salt = index.to_be_bytes();
    let ikm = parent.to_bytes();
    let not_ikm = Zeroizing::new(ikm.map(|b| !b));
    (
        ikm_to_lamport_sk(ikm.as_ref(), &salt),
        ikm_to_lamport_sk(not_ikm.as_ref(), &salt),
    )
}

/// `parent_SK_to_lamport_PK(parent_SK, index)`: the compressed Lamport public key.
pub fn parent_sk_to_lamport_pk(parent: &SecretKey, index: u32) -> [u8; 32] {
    let (lamport_0, lamport_1) = lamport_secret_keys(parent, index);
    let mut outer = Sha256::new();
    for chunk in lamport_0.iter().chain(lamport_1.iter()) {
        outer.update(Sha256::digest(chunk));
    }
    outer.finalize().into()
}

/// `derive_master_SK(seed)`; the seed must be at least 32 bytes.
pub fn derive_master_sk(seed: &[u8]) -> Result<SecretKey> {
    if seed.len() < 32 {
        return Err(Error::SeedTooShort(seed.len()));
    }
    Ok(hkdf_mod_r(seed))
}

/// `derive_child_SK(parent_SK, index)`.
pub fn derive_child_sk(parent: &SecretKey, index: u32) -> SecretKey {
    hkdf_mod_r(&parent_sk_to_lamport_pk(parent, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_blst() {
        for seed in [[7u8; 32].to_vec(), vec![0xa5; 64]] {
            let ours = derive_master_sk(&seed).unwrap();
            let theirs = blst::min_pk::SecretKey::derive_master_eip2333(&seed).unwrap();
            assert_eq!(ours.to_bytes().as_ref(), &theirs.to_bytes());
            for index in [0u32, 1, 42, u32::MAX] {
                let child = derive_child_sk(&ours, index);
                assert_eq!(
                    child.to_bytes().as_ref(),
                    &theirs.derive_child_eip2333(index).to_bytes()
                );
            }
        }
    }

    #[test]
    fn short_seed_refused() {
        assert!(matches!(
            derive_master_sk(&[1; 31]),
            Err(Error::SeedTooShort(31))
        ));
    }
}
