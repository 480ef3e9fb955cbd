//! BLS12-381 signatures as Ethereum uses them: blst's `min_pk` variant (public keys in G1,
//! signatures in G2) with the proof-of-possession ciphersuite [`DST`].
//!
//! Invariants:
//! - a [`PublicKey`] always passed KeyValidate: on the curve, in the G1 subgroup, not infinity;
//! - a [`Signature`] always decodes to a point of the G2 subgroup (infinity allowed, as in the
//!   consensus specs, where it simply never verifies against a valid key);
//! - a [`SecretKey`] is non-zero and below the curve order, zeroized on drop, never printed.

use std::fmt;

use blst::BLST_ERROR;
use blst::min_pk;
use rand::RngCore;
use types::{PublicKeyBytes, SignatureBytes};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The Ethereum consensus ciphersuite: `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`.
pub const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// Length of a serialized secret key.
pub const SECRET_KEY_BYTES_LEN: usize = 32;

fn describe(err: BLST_ERROR) -> &'static str {
    match err {
        BLST_ERROR::BLST_SUCCESS => "success",
        BLST_ERROR::BLST_BAD_ENCODING => "bad encoding (length or flag bits)",
        BLST_ERROR::BLST_POINT_NOT_ON_CURVE => "point is not on the curve",
        BLST_ERROR::BLST_POINT_NOT_IN_GROUP => "point is not in the prime-order subgroup",
        BLST_ERROR::BLST_AGGR_TYPE_MISMATCH => "aggregate type mismatch",
        BLST_ERROR::BLST_VERIFY_FAIL => "verification failed",
        BLST_ERROR::BLST_PK_IS_INFINITY => "point at infinity",
        BLST_ERROR::BLST_BAD_SCALAR => "bad scalar",
    }
}

/// A BLS secret key. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(min_pk::SecretKey);

impl SecretKey {
    /// Parses a 32-byte big-endian scalar; it must be non-zero and below the curve order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != SECRET_KEY_BYTES_LEN {
            return Err(Error::InvalidSecretKey(
                "secret key must be exactly 32 bytes",
            ));
        }
        min_pk::SecretKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidSecretKey("secret key is zero or not below the curve order"))
    }

    /// A fresh random key from the OS-seeded thread RNG.
    pub fn random() -> Self {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(ikm.as_mut());
        // key_gen only fails for IKM shorter than 32 bytes.
        Self(min_pk::SecretKey::key_gen(ikm.as_ref(), &[]).expect("IKM is 32 bytes"))
    }

    /// The 32-byte big-endian encoding, zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key (one G1 scalar multiplication).
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.sk_to_pk())
    }

    /// Signs `message` (hash-to-G2 with [`DST`], then one scalar multiplication).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message, DST, &[]))
    }

    /// The blst scalar, for the batch signer.
    pub(crate) fn as_blst(&self) -> &blst::blst_scalar {
        (&self.0).into()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A validated BLS public key (KeyValidate passed: in G1, not infinity).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(min_pk::PublicKey);

impl PublicKey {
    /// Decodes a 48-byte compressed key and runs KeyValidate.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 48 {
            return Err(Error::InvalidPublicKey(format!(
                "expected 48 bytes, got {}",
                bytes.len()
            )));
        }
        let pk = min_pk::PublicKey::uncompress(bytes)
            .map_err(|e| Error::InvalidPublicKey(describe(e).to_owned()))?;
        match pk.validate() {
            Ok(()) => Ok(Self(pk)),
            Err(BLST_ERROR::BLST_PK_IS_INFINITY) => Err(Error::PublicKeyIsInfinity),
            Err(e) => Err(Error::InvalidPublicKey(describe(e).to_owned())),
        }
    }

    /// The 48-byte compressed encoding.
    pub fn to_bytes(&self) -> PublicKeyBytes {
        PublicKeyBytes::from(self.0.compress())
    }

    /// Verifies `signature` over `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        signature.0.verify(false, message, DST, &[], &self.0, false) == BLST_ERROR::BLST_SUCCESS
    }
}

impl TryFrom<&PublicKeyBytes> for PublicKey {
    type Error = Error;
    fn try_from(bytes: &PublicKeyBytes) -> Result<Self> {
        Self::from_bytes(bytes.as_slice())
    }
}

impl From<&PublicKey> for PublicKeyBytes {
    fn from(pk: &PublicKey) -> Self {
        pk.to_bytes()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_bytes())
    }
}

/// A BLS signature: a point of the G2 subgroup (possibly infinity).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(min_pk::Signature);

impl Signature {
    /// Decodes a 96-byte compressed signature and checks it lies in G2.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 96 {
            return Err(Error::InvalidSignature(format!(
                "expected 96 bytes, got {}",
                bytes.len()
            )));
        }
        let sig = min_pk::Signature::uncompress(bytes)
            .map_err(|e| Error::InvalidSignature(describe(e).to_owned()))?;
        sig.validate(false)
            .map_err(|e| Error::InvalidSignature(describe(e).to_owned()))?;
        Ok(Self(sig))
    }

    /// The 96-byte compressed encoding.
    pub fn to_bytes(&self) -> SignatureBytes {
        SignatureBytes::from(self.0.compress())
    }

    /// `FastAggregateVerify`: all `pubkeys` signed the same `message`. False for no keys.
    pub fn fast_aggregate_verify(&self, message: &[u8], pubkeys: &[&PublicKey]) -> bool {
        if pubkeys.is_empty() {
            return false;
        }
        let pks: Vec<&min_pk::PublicKey> = pubkeys.iter().map(|pk| &pk.0).collect();
        self.0.fast_aggregate_verify(false, message, DST, &pks) == BLST_ERROR::BLST_SUCCESS
    }

    /// `AggregateVerify`: `pubkeys[i]` signed `messages[i]`. False for no keys or a length
    /// mismatch.
    pub fn aggregate_verify(&self, messages: &[&[u8]], pubkeys: &[&PublicKey]) -> bool {
        if pubkeys.is_empty() || pubkeys.len() != messages.len() {
            return false;
        }
        let pks: Vec<&min_pk::PublicKey> = pubkeys.iter().map(|pk| &pk.0).collect();
        self.0.aggregate_verify(false, messages, DST, &pks, false) == BLST_ERROR::BLST_SUCCESS
    }
}

impl TryFrom<&SignatureBytes> for Signature {
    type Error = Error;
    fn try_from(bytes: &SignatureBytes) -> Result<Self> {
        Self::from_bytes(bytes.as_slice())
    }
}

impl From<&Signature> for SignatureBytes {
    fn from(sig: &Signature) -> Self {
        sig.to_bytes()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_bytes())
    }
}

/// A sum of signatures.
#[derive(Clone, Copy)]
pub struct AggregateSignature(min_pk::AggregateSignature);

impl AggregateSignature {
    /// Adds up `signatures`; an empty list is an error (the consensus specs define none).
    pub fn aggregate(signatures: &[&Signature]) -> Result<Self> {
        let sigs: Vec<&min_pk::Signature> = signatures.iter().map(|s| &s.0).collect();
        match min_pk::AggregateSignature::aggregate(&sigs, false) {
            Ok(agg) => Ok(Self(agg)),
            Err(BLST_ERROR::BLST_AGGR_TYPE_MISMATCH) => Err(Error::EmptyAggregate("signatures")),
            Err(e) => Err(Error::InvalidSignature(describe(e).to_owned())),
        }
    }

    /// The aggregate as a plain signature (for verification or encoding).
    pub fn to_signature(&self) -> Signature {
        Signature(self.0.to_signature())
    }
}

/// A sum of public keys.
#[derive(Clone, Copy)]
pub struct AggregatePublicKey(min_pk::AggregatePublicKey);

impl AggregatePublicKey {
    /// Adds up `pubkeys` (all already validated); an empty list is an error.
    pub fn aggregate(pubkeys: &[&PublicKey]) -> Result<Self> {
        let pks: Vec<&min_pk::PublicKey> = pubkeys.iter().map(|pk| &pk.0).collect();
        match min_pk::AggregatePublicKey::aggregate(&pks, false) {
            Ok(agg) => Ok(Self(agg)),
            Err(BLST_ERROR::BLST_AGGR_TYPE_MISMATCH) => Err(Error::EmptyAggregate("public keys")),
            Err(e) => Err(Error::InvalidPublicKey(describe(e).to_owned())),
        }
    }

    /// The 48-byte compressed encoding of the sum.
    pub fn to_bytes(&self) -> PublicKeyBytes {
        PublicKeyBytes::from(self.0.to_public_key().compress())
    }
}

/// One (pubkey, message, signature) triple for [`verify_signature_sets`].
#[derive(Debug, Clone, Copy)]
pub struct SignatureSet<'a> {
    /// The signer.
    pub pubkey: &'a PublicKey,
    /// The signed message (a signing root).
    pub message: &'a [u8],
    /// The signature to check.
    pub signature: &'a Signature,
}

/// Batch verification of independent sets with random 64-bit blinding scalars: true only if
/// every set is valid (with overwhelming probability). False for an empty batch.
pub fn verify_signature_sets(sets: &[SignatureSet<'_>]) -> bool {
    if sets.is_empty() {
        return false;
    }
    let mut rng = rand::thread_rng();
    let rands: Vec<blst::blst_scalar> = sets
        .iter()
        .map(|_| {
            let mut scalar = blst::blst_scalar::default();
            // A zero scalar would drop its set from the check; redraw until non-zero.
            loop {
                let r = rng.next_u64();
                if r != 0 {
                    scalar.b[..8].copy_from_slice(&r.to_le_bytes());
                    break;
                }
            }
            scalar
        })
        .collect();
    let msgs: Vec<&[u8]> = sets.iter().map(|s| s.message).collect();
    let pks: Vec<&min_pk::PublicKey> = sets.iter().map(|s| &s.pubkey.0).collect();
    let sigs: Vec<&min_pk::Signature> = sets.iter().map(|s| &s.signature.0).collect();
    min_pk::Signature::verify_multiple_aggregate_signatures(
        &msgs, DST, &pks, false, &sigs, false, &rands, 64,
    ) == BLST_ERROR::BLST_SUCCESS
}

/// Random non-zero 64-bit blinding scalars, little-endian, 8 bytes each.
fn blinding_scalars(n: usize) -> Vec<u8> {
    let mut rng = rand::thread_rng();
    let mut out = Vec::with_capacity(8 * n);
    for _ in 0..n {
        // A zero scalar would drop its set from the check.
        let r = loop {
            let r = rng.next_u64();
            if r != 0 {
                break r;
            }
        };
        out.extend_from_slice(&r.to_le_bytes());
    }
    out
}

/// Batch verification of independent sets that share few distinct messages (e.g. many
/// signers of one root): a random linear combination grouped by message. With random
/// non-zero 64-bit `r_i` it checks
/// `e(g1, Σ r_i·σ_i) = Π_m e(Σ_{i: m_i = m} r_i·pk_i, H(m))`: one hash-to-curve and one
/// Miller loop per distinct message plus one multi-scalar multiplication per group, instead
/// of a hash and two Miller loops per set. True only if every set is valid (with
/// overwhelming probability); false for an empty batch. Signatures are subgroup-checked by
/// construction ([`Signature`]), which the combination requires.
pub fn verify_signature_sets_grouped(sets: &[SignatureSet<'_>]) -> bool {
    use blst::MultiPoint;
    if sets.is_empty() {
        return false;
    }
    let scalars = blinding_scalars(sets.len());
    let sig_points: Vec<blst::blst_p2_affine> = sets
        .iter()
        .map(|s| blst::blst_p2_affine::from(s.signature.0))
        .collect();
    let sig_sum = sig_points.as_slice().mult(&scalars, 64);
    let mut sig_affine = blst::blst_p2_affine::default();
    // SAFETY: both pointers reference live values of the types blst expects.
    unsafe { blst::blst_p2_to_affine(&mut sig_affine, &sig_sum) };
    let combined = min_pk::Signature::from(sig_affine);

    let mut groups: Vec<(&[u8], Vec<blst::blst_p1_affine>, Vec<u8>)> = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        let point = blst::blst_p1_affine::from(set.pubkey.0);
        let scalar = &scalars[8 * i..8 * i + 8];
        match groups.iter_mut().find(|(m, _, _)| *m == set.message) {
            Some((_, points, group_scalars)) => {
                points.push(point);
                group_scalars.extend_from_slice(scalar);
            }
            None => groups.push((set.message, vec![point], scalar.to_vec())),
        }
    }
    let mut messages: Vec<&[u8]> = Vec::with_capacity(groups.len());
    let mut pubkeys: Vec<min_pk::PublicKey> = Vec::with_capacity(groups.len());
    for (message, points, group_scalars) in &groups {
        let sum = points.as_slice().mult(group_scalars, 64);
        let mut affine = blst::blst_p1_affine::default();
        // SAFETY: both pointers reference live values of the types blst expects.
        unsafe { blst::blst_p1_to_affine(&mut affine, &sum) };
        messages.push(message);
        pubkeys.push(min_pk::PublicKey::from(affine));
    }
    let pk_refs: Vec<&min_pk::PublicKey> = pubkeys.iter().collect();
    combined.aggregate_verify(false, &messages, DST, &pk_refs, false) == BLST_ERROR::BLST_SUCCESS
}

/// Hash-to-curve (`hash_to_G2`, RFC 9380 random oracle) of `message` under `dst`, as the
/// 192-byte uncompressed point `x.c1 | x.c0 | y.c1 | y.c0` (big-endian field elements).
pub fn hash_to_g2(message: &[u8], dst: &[u8]) -> [u8; 192] {
    let mut point = blst::blst_p2::default();
    let mut out = [0u8; 192];
    // SAFETY: all pointers reference live, correctly sized buffers for the call's duration.
    unsafe {
        blst::blst_hash_to_g2(
            &mut point,
            message.as_ptr(),
            message.len(),
            dst.as_ptr(),
            dst.len(),
            std::ptr::null(),
            0,
        );
        blst::blst_p2_serialize(out.as_mut_ptr(), &point);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_debug_is_redacted() {
        let sk = SecretKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{sk:?}"), "SecretKey(<redacted>)");
    }

    #[test]
    fn secret_key_rejects_zero_and_bad_length() {
        assert!(matches!(
            SecretKey::from_bytes(&[0u8; 32]),
            Err(Error::InvalidSecretKey(_))
        ));
        assert!(SecretKey::from_bytes(&[1u8; 31]).is_err());
        assert!(SecretKey::from_bytes(&[0xffu8; 32]).is_err());
    }

    #[test]
    fn infinity_pubkey_is_named() {
        let mut inf = [0u8; 48];
        inf[0] = 0xc0;
        let err = PublicKey::from_bytes(&inf).unwrap_err();
        assert!(err.to_string().contains("point at infinity"), "{err}");
    }

    #[test]
    fn sign_verify_roundtrip_and_batch() {
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random()).collect();
        let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
        let msgs: Vec<[u8; 32]> = (0..4u8).map(|i| [i; 32]).collect();
        let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let sets: Vec<SignatureSet<'_>> = (0..4)
            .map(|i| SignatureSet {
                pubkey: &pks[i],
                message: &msgs[i],
                signature: &sigs[i],
            })
            .collect();
        assert!(verify_signature_sets(&sets));
        assert!(pks[0].verify(&msgs[0], &sigs[0]));
        assert!(!pks[0].verify(&msgs[1], &sigs[0]));
        let mut bad = sets.clone();
        bad[2].signature = &sigs[3];
        assert!(!verify_signature_sets(&bad));
        assert!(!verify_signature_sets(&[]));
        assert!(verify_signature_sets_grouped(&sets));
        assert!(!verify_signature_sets_grouped(&bad));
        assert!(!verify_signature_sets_grouped(&[]));
        let roundtrip = Signature::from_bytes(sigs[1].to_bytes().as_slice()).unwrap();
        assert_eq!(roundtrip, sigs[1]);
    }

    #[test]
    fn grouped_batch_with_shared_messages() {
        let keys: Vec<SecretKey> = (0..9).map(|_| SecretKey::random()).collect();
        let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
        // Three messages, three signers each, interleaved.
        let msgs: Vec<[u8; 32]> = (0..3u8).map(|i| [i; 32]).collect();
        let sigs: Vec<Signature> = (0..9).map(|i| keys[i].sign(&msgs[i % 3])).collect();
        let sets: Vec<SignatureSet<'_>> = (0..9)
            .map(|i| SignatureSet {
                pubkey: &pks[i],
                message: &msgs[i % 3],
                signature: &sigs[i],
            })
            .collect();
        assert!(verify_signature_sets_grouped(&sets));
        assert!(verify_signature_sets_grouped(&sets[..1]));
        // A valid signature of another message in a group fails the batch.
        let mut wrong_message = sets.clone();
        wrong_message[4].message = &msgs[0];
        assert!(!verify_signature_sets_grouped(&wrong_message));
        // Two swapped signatures of one message: their sum is right, each is wrong.
        let mut swapped = sets.clone();
        swapped[0].signature = &sigs[3];
        swapped[3].signature = &sigs[0];
        assert!(!verify_signature_sets_grouped(&swapped));
    }

    #[test]
    fn empty_aggregates_are_errors() {
        assert!(matches!(
            AggregateSignature::aggregate(&[]),
            Err(Error::EmptyAggregate(_))
        ));
        assert!(matches!(
            AggregatePublicKey::aggregate(&[]),
            Err(Error::EmptyAggregate(_))
        ));
        let sig = SecretKey::random().sign(b"m");
        assert!(!sig.fast_aggregate_verify(b"m", &[]));
    }
}
