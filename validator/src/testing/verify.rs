//! Signature checks of the mock node, kept behind two functions so they can move to the
//! project's BLS module later. Public keys are decompressed once and cached by validator index.

use std::collections::HashMap;

use blst::BLST_ERROR;
use blst::min_pk::{AggregateSignature, PublicKey, Signature};
use parking_lot::Mutex;
use types::{Hash256, PublicKeyBytes, SignatureBytes};

use super::Rejected;
use super::keys::BLS_DST;

/// Decompressed public keys by validator index.
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<u64, PublicKey>>,
}

impl KeyCache {
    fn key(&self, index: u64, pubkey: &PublicKeyBytes) -> Result<PublicKey, Rejected> {
        if let Some(key) = self.keys.lock().get(&index) {
            return Ok(*key);
        }
        let key = PublicKey::key_validate(pubkey.as_slice()).map_err(|e| {
            Rejected::new(format!("invalid public key of validator {index}: {e:?}"))
        })?;
        self.keys.lock().insert(index, key);
        Ok(key)
    }

    /// Verifies `signature` by validator `index` over `signing_root`.
    pub(crate) fn verify(
        &self,
        index: u64,
        pubkey: &PublicKeyBytes,
        signing_root: Hash256,
        signature: &SignatureBytes,
    ) -> Result<(), Rejected> {
        let key = self.key(index, pubkey)?;
        let signature = Signature::sig_validate(signature.as_slice(), true)
            .map_err(|e| Rejected::new(format!("malformed signature: {e:?}")))?;
        match signature.verify(true, signing_root.as_slice(), BLS_DST, &[], &key, false) {
            BLST_ERROR::BLST_SUCCESS => Ok(()),
            other => Err(Rejected::new(format!(
                "invalid signature of validator {index} ({other:?})"
            ))),
        }
    }

    /// Verifies an aggregate signature of `signers` (index, pubkey) over one signing root.
    pub(crate) fn verify_aggregate(
        &self,
        signers: &[(u64, PublicKeyBytes)],
        signing_root: Hash256,
        signature: &SignatureBytes,
    ) -> Result<(), Rejected> {
        let keys = signers
            .iter()
            .map(|(index, pubkey)| self.key(*index, pubkey))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&PublicKey> = keys.iter().collect();
        let signature = Signature::sig_validate(signature.as_slice(), true)
            .map_err(|e| Rejected::new(format!("malformed aggregate signature: {e:?}")))?;
        match signature.fast_aggregate_verify(true, signing_root.as_slice(), BLS_DST, &refs) {
            BLST_ERROR::BLST_SUCCESS => Ok(()),
            other => Err(Rejected::new(format!(
                "invalid aggregate signature ({other:?})"
            ))),
        }
    }
}

/// Verifies `signature` by the key `pubkey` (not a validator's signing key, so not cached).
pub(crate) fn verify_with_key(
    pubkey: &PublicKeyBytes,
    signing_root: Hash256,
    signature: &SignatureBytes,
) -> Result<(), Rejected> {
    let key = PublicKey::key_validate(pubkey.as_slice())
        .map_err(|e| Rejected::new(format!("invalid public key {pubkey}: {e:?}")))?;
    let signature = Signature::sig_validate(signature.as_slice(), true)
        .map_err(|e| Rejected::new(format!("malformed signature: {e:?}")))?;
    match signature.verify(true, signing_root.as_slice(), BLS_DST, &[], &key, false) {
        BLST_ERROR::BLST_SUCCESS => Ok(()),
        other => Err(Rejected::new(format!(
            "invalid signature by {pubkey} ({other:?})"
        ))),
    }
}

/// Aggregates signatures (for the mock's aggregate attestations and contributions).
pub(crate) fn aggregate(signatures: &[SignatureBytes]) -> Result<SignatureBytes, Rejected> {
    let parsed = signatures
        .iter()
        .map(|s| {
            Signature::from_bytes(s.as_slice())
                .map_err(|e| Rejected::new(format!("malformed signature: {e:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&Signature> = parsed.iter().collect();
    let aggregate = AggregateSignature::aggregate(&refs, false)
        .map_err(|e| Rejected::new(format!("cannot aggregate: {e:?}")))?;
    Ok(SignatureBytes::from(aggregate.to_signature().compress()))
}
