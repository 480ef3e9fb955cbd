//! The signing seam: the validator asks a [`Signer`] for signatures over signing roots and
//! never sees a secret. [`crate::LocalSigner`] implements it with in-memory keys; a remote
//! (Web3Signer-style) signer can implement it later without touching the duty services.
//!
//! Slashing protection is *not* the signer's job: callers check the slashing-protection store
//! before asking for a signature.

use async_trait::async_trait;
use types::{Hash256, PublicKeyBytes, SignatureBytes};

use crate::Result;

/// Keys that all sign one signing root (e.g. the attesters of one committee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningGroup {
    /// The 32-byte signing root (`compute_signing_root(object, domain)`).
    pub signing_root: Hash256,
    /// The validators that sign it.
    pub pubkeys: Vec<PublicKeyBytes>,
}

/// Produces BLS signatures for the keys it holds. Object-safe: use as `Arc<dyn Signer>`.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Signs every group; the result has one vector per group, signatures in pubkey order.
    /// Fails as a whole (naming the key) if any pubkey is unknown: no partial output.
    async fn sign_groups(&self, groups: Vec<SigningGroup>) -> Result<Vec<Vec<SignatureBytes>>>;

    /// Signs one root with one key.
    async fn sign(&self, signing_root: Hash256, pubkey: PublicKeyBytes) -> Result<SignatureBytes>;

    /// The public keys currently held, sorted.
    fn public_keys(&self) -> Vec<PublicKeyBytes>;

    /// Whether `pubkey` is held.
    fn has_key(&self, pubkey: &PublicKeyBytes) -> bool;
}
