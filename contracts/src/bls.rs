//! BLS pieces of the certificates: EIP-2537 encodings of blst points, proofs of possession, and
//! the oracle [`Committee`] (validated member keys and quorum).
//!
//! EIP-2537 encodes an Fp element as 64 bytes (16 zero bytes, then 48 big-endian), an Fp2 element
//! as `c0 ‖ c1`, G1 as `x ‖ y` (128 bytes) and G2 as `x ‖ y` (256 bytes). blst's uncompressed
//! serialisation (ZCash format) writes G2 coordinates as `c1 ‖ c0`: the conversion swaps them.
//!
//! Invariant: a [`Committee`] only holds keys that pass `KeyValidate` (on the curve, in G1, not
//! infinity), each with a verified proof of possession, pairwise distinct (not even a key and its
//! negation), and a quorum `N/2 < M ≤ N` with `1 ≤ N ≤ 256`. The proofs of possession are what
//! make aggregating keys safe against rogue-key attacks (the POP ciphersuite); the contract
//! trusts its admin to set only such committees, which this type guarantees.

use blst::BLST_ERROR;
use blst::min_pk::{PublicKey, SecretKey, Signature};
use types::{PublicKeyBytes, SignatureBytes, U256};

use crate::error::{Error, Result};

/// The signature DST (Ethereum's POP ciphersuite).
pub const SIGNATURE_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// The proof-of-possession DST of the same ciphersuite.
pub const POP_DST: &[u8] = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// Largest committee (the signer set is a 256-bit mask).
pub const MAX_MEMBERS: usize = 256;

/// A 48-byte big-endian Fp element as its 64-byte EIP-2537 encoding.
fn pad_fp(out: &mut [u8], fp: &[u8]) {
    out[..16].fill(0);
    out[16..64].copy_from_slice(fp);
}

/// The EIP-2537 encoding (128 bytes) of a G1 point.
pub fn g1_to_eip2537(key: &PublicKey) -> [u8; 128] {
    let raw = key.serialize();
    let mut out = [0u8; 128];
    pad_fp(&mut out[..64], &raw[..48]);
    pad_fp(&mut out[64..], &raw[48..]);
    out
}

/// The EIP-2537 encoding (256 bytes) of a G2 point given in blst's uncompressed form
/// (`x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`, 48 bytes each).
pub fn g2_serialized_to_eip2537(raw: &[u8; 192]) -> [u8; 256] {
    let mut out = [0u8; 256];
    pad_fp(&mut out[..64], &raw[48..96]); // x.c0
    pad_fp(&mut out[64..128], &raw[..48]); // x.c1
    pad_fp(&mut out[128..192], &raw[144..]); // y.c0
    pad_fp(&mut out[192..], &raw[96..144]); // y.c1
    out
}

/// The EIP-2537 encoding (256 bytes) of a signature.
pub fn g2_to_eip2537(signature: &Signature) -> [u8; 256] {
    g2_serialized_to_eip2537(&signature.serialize())
}

/// Decompresses a signature and checks it is a G2 subgroup point.
pub fn parse_signature(signature: &SignatureBytes) -> Result<Signature> {
    Signature::sig_validate(signature.as_slice(), true).map_err(|_| {
        Error::InvalidSignatureEncoding {
            signature: *signature,
        }
    })
}

/// A proof of possession of `secret`'s public key: a signature of the compressed public key
/// under [`POP_DST`].
pub fn prove_possession(secret: &SecretKey) -> SignatureBytes {
    let public = secret.sk_to_pk().compress();
    SignatureBytes::from(secret.sign(&public, POP_DST, &[]).compress())
}

/// One committee member as registered: its public key and proof of possession.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The BLS public key (compressed).
    pub public_key: PublicKeyBytes,
    /// [`prove_possession`] of the key.
    pub proof_of_possession: SignatureBytes,
}

/// An oracle committee: validated member keys in member order and the quorum.
#[derive(Debug, Clone)]
pub struct Committee {
    keys: Vec<PublicKey>,
    key_bytes: Vec<PublicKeyBytes>,
    quorum: u16,
}

impl Committee {
    /// Validates `members` (keys, proofs of possession, distinct keys) and the quorum.
    pub fn new(members: &[Member], quorum: usize) -> Result<Self> {
        let size = members.len();
        if size == 0 || size > MAX_MEMBERS || quorum > size || quorum * 2 <= size {
            return Err(Error::InvalidCommittee { size, quorum });
        }
        let mut keys = Vec::with_capacity(size);
        for (index, m) in members.iter().enumerate() {
            let key = PublicKey::key_validate(m.public_key.as_slice()).map_err(|_| {
                Error::InvalidPublicKey {
                    index,
                    public_key: m.public_key,
                }
            })?;
            let pop_ok = Signature::sig_validate(m.proof_of_possession.as_slice(), true)
                .map(|pop| {
                    pop.verify(true, m.public_key.as_slice(), POP_DST, &[], &key, false)
                        == BLST_ERROR::BLST_SUCCESS
                })
                .unwrap_or(false);
            if !pop_ok {
                return Err(Error::InvalidProofOfPossession {
                    index,
                    public_key: m.public_key,
                });
            }
            keys.push(key);
        }
        // A key and its negation share x; the contract refuses both, so does this.
        let xs: Vec<[u8; 48]> = keys
            .iter()
            .map(|k| {
                let raw = k.serialize();
                let mut x = [0u8; 48];
                x.copy_from_slice(&raw[..48]);
                x
            })
            .collect();
        for second in 0..size {
            if let Some(first) = (0..second).find(|first| xs[*first] == xs[second]) {
                return Err(Error::DuplicateMember { first, second });
            }
        }
        Ok(Self {
            key_bytes: members.iter().map(|m| m.public_key).collect(),
            keys,
            quorum: u16::try_from(quorum).map_err(|_| Error::InvalidCommittee { size, quorum })?,
        })
    }

    /// Members.
    pub fn size(&self) -> usize {
        self.keys.len()
    }

    /// Signatures needed.
    pub fn quorum(&self) -> u16 {
        self.quorum
    }

    /// The members' keys in member order.
    pub fn public_keys(&self) -> &[PublicKeyBytes] {
        &self.key_bytes
    }

    /// The keys of the members whose bits are set in `signers` (bits beyond the size ignored).
    pub fn signer_keys(&self, signers: U256) -> Vec<&PublicKey> {
        self.keys
            .iter()
            .enumerate()
            .filter(|(i, _)| signers.bit(*i))
            .map(|(_, k)| k)
            .collect()
    }

    /// The keys as `setCommittee` takes them: N × 128 bytes, EIP-2537 G1 encoding.
    pub fn encoded_keys(&self) -> Vec<u8> {
        self.keys.iter().flat_map(g1_to_eip2537).collect()
    }
}
