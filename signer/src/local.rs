//! [`LocalSigner`]: keys in memory, signing on tokio's blocking pool fanned out with rayon.
//!
//! The key map is copy-on-write behind a `parking_lot::RwLock<Arc<..>>`: a signing request
//! clones the `Arc` (the lock is held for that clone only, never across `.await`) and signs
//! from that snapshot, so adding or removing keys at runtime never waits for signing and
//! signing never waits for more than a pointer copy. A key removed while a request is in
//! flight may still sign that request — callers serialise removal with slashing protection.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use types::{Hash256, PublicKeyBytes, SignatureBytes};

use crate::bls::SecretKey;
use crate::signing::{SignableMessage, SignatureResult, Signer, SigningGroup};
use crate::{Error, Result, batch};

type KeyMap = HashMap<PublicKeyBytes, Arc<SecretKey>>;

/// A [`Signer`] holding its keys in memory.
#[derive(Debug, Default)]
pub struct LocalSigner {
    keys: RwLock<Arc<KeyMap>>,
}

impl LocalSigner {
    /// A signer holding `keys` (each key's public key is computed once here).
    pub fn new(keys: impl IntoIterator<Item = SecretKey>) -> Self {
        let map: KeyMap = keys
            .into_iter()
            .map(|sk| (sk.public_key().to_bytes(), Arc::new(sk)))
            .collect();
        Self {
            keys: RwLock::new(Arc::new(map)),
        }
    }

    /// A signer holding the keys of a [`crate::loader::load_keys`] report (public keys reused,
    /// not recomputed).
    pub fn from_loaded_keys(keys: impl IntoIterator<Item = crate::loader::LoadedKey>) -> Self {
        let map: KeyMap = keys
            .into_iter()
            .map(|key| (key.pubkey, Arc::new(key.secret)))
            .collect();
        Self {
            keys: RwLock::new(Arc::new(map)),
        }
    }

    /// Adds (or replaces) keys; returns their public keys.
    pub fn add_keys(&self, keys: impl IntoIterator<Item = SecretKey>) -> Vec<PublicKeyBytes> {
        let new: Vec<(PublicKeyBytes, Arc<SecretKey>)> = keys
            .into_iter()
            .map(|sk| (sk.public_key().to_bytes(), Arc::new(sk)))
            .collect();
        let added = new.iter().map(|(pk, _)| *pk).collect();
        let mut guard = self.keys.write();
        let mut map = KeyMap::clone(&guard);
        map.extend(new);
        *guard = Arc::new(map);
        added
    }

    /// Removes a key; returns whether it was held.
    pub fn remove_key(&self, pubkey: &PublicKeyBytes) -> bool {
        let mut guard = self.keys.write();
        if !guard.contains_key(pubkey) {
            return false;
        }
        let mut map = KeyMap::clone(&guard);
        map.remove(pubkey);
        *guard = Arc::new(map);
        true
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.keys.read().len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rebuilds the key cache for the keystores now in `keystores_dir` with the keys held here
    /// (see [`crate::cache::rewrite`]); call from a blocking context after keys were added or
    /// removed at run time.
    pub fn rewrite_key_cache(
        &self,
        cache_file: &std::path::Path,
        keystores_dir: &std::path::Path,
        passwords: &crate::loader::PasswordSource,
        params: crate::cache::CacheParams,
    ) -> Result<crate::cache::CacheUpdate> {
        let keys = self.snapshot();
        crate::cache::rewrite(cache_file, keystores_dir, passwords, params, |pubkey| {
            keys.get(pubkey).cloned()
        })
    }

    fn snapshot(&self) -> Arc<KeyMap> {
        Arc::clone(&self.keys.read())
    }
}

/// Resolves every pubkey up front so an unknown key fails the request before any work.
fn resolve(
    map: &KeyMap,
    groups: Vec<(Hash256, Vec<PublicKeyBytes>)>,
) -> Result<Vec<(Hash256, Vec<Arc<SecretKey>>)>> {
    groups
        .into_iter()
        .map(|(signing_root, pubkeys)| {
            let keys = pubkeys
                .iter()
                .map(|pk| map.get(pk).cloned().ok_or(Error::UnknownPubkey(*pk)))
                .collect::<Result<Vec<_>>>()?;
            Ok((signing_root, keys))
        })
        .collect()
}

impl LocalSigner {
    /// Signs every group (the message descriptions are not needed here); all or nothing.
    pub async fn sign_local(&self, groups: Vec<SigningGroup>) -> Result<Vec<Vec<SignatureBytes>>> {
        self.sign_roots(
            groups
                .into_iter()
                .map(|group| (group.signing_root, group.pubkeys))
                .collect(),
        )
        .await
    }

    /// Signs every `(signing root, keys)` group: one hash-to-curve per group, all cores; all
    /// or nothing (an unknown key fails the call before any work).
    pub async fn sign_roots(
        &self,
        groups: Vec<(Hash256, Vec<PublicKeyBytes>)>,
    ) -> Result<Vec<Vec<SignatureBytes>>> {
        let resolved = resolve(&self.snapshot(), groups)?;
        let signatures = tokio::task::spawn_blocking(move || {
            let borrowed: Vec<(Hash256, Vec<&SecretKey>)> = resolved
                .iter()
                .map(|(root, keys)| (*root, keys.iter().map(|k| k.as_ref()).collect()))
                .collect();
            batch::sign_groups(&borrowed)
        })
        .await?;
        Ok(signatures)
    }
}

#[async_trait]
impl Signer for LocalSigner {
    async fn sign_groups(&self, groups: Vec<SigningGroup>) -> Result<Vec<Vec<SignatureResult>>> {
        Ok(self
            .sign_local(groups)
            .await?
            .into_iter()
            .map(|group| group.into_iter().map(Ok).collect())
            .collect())
    }

    async fn sign(
        &self,
        signing_root: Hash256,
        _message: SignableMessage,
        pubkey: PublicKeyBytes,
    ) -> Result<SignatureBytes> {
        let key = self
            .snapshot()
            .get(&pubkey)
            .cloned()
            .ok_or(Error::UnknownPubkey(pubkey))?;
        let signature =
            tokio::task::spawn_blocking(move || key.sign(signing_root.as_slice()).to_bytes())
                .await?;
        Ok(signature)
    }

    fn public_keys(&self) -> Vec<PublicKeyBytes> {
        let mut keys: Vec<PublicKeyBytes> = self.snapshot().keys().copied().collect();
        keys.sort();
        keys
    }

    fn has_key(&self, pubkey: &PublicKeyBytes) -> bool {
        self.keys.read().contains_key(pubkey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bls::{PublicKey, Signature};
    use crate::signing::Signable;

    fn message() -> SignableMessage {
        SignableMessage {
            fork_info: None,
            signable: Signable::RandaoReveal(types::Epoch(1)),
        }
    }

    fn signer_with(n: usize) -> (LocalSigner, Vec<PublicKeyBytes>) {
        let keys: Vec<SecretKey> = (0..n).map(|_| SecretKey::random()).collect();
        let pks = keys.iter().map(|k| k.public_key().to_bytes()).collect();
        (LocalSigner::new(keys), pks)
    }

    #[tokio::test]
    async fn groups_sign_and_verify() {
        let (signer, pks) = signer_with(5);
        let signer: Arc<dyn Signer> = Arc::new(signer);
        let groups = vec![
            SigningGroup {
                signing_root: Hash256::repeat_byte(1),
                message: message(),
                pubkeys: pks[..3].to_vec(),
            },
            SigningGroup {
                signing_root: Hash256::repeat_byte(2),
                message: message(),
                pubkeys: pks[3..].to_vec(),
            },
        ];
        let sigs = signer.sign_groups(groups.clone()).await.unwrap();
        for (group, sigs) in groups.iter().zip(&sigs) {
            assert_eq!(sigs.len(), group.pubkeys.len());
            for (pk, sig) in group.pubkeys.iter().zip(sigs) {
                let pk = PublicKey::try_from(pk).unwrap();
                let sig = Signature::try_from(sig.as_ref().unwrap()).unwrap();
                assert!(pk.verify(group.signing_root.as_slice(), &sig));
            }
        }
        let single = signer
            .sign(Hash256::repeat_byte(2), message(), pks[4])
            .await
            .unwrap();
        assert_eq!(&single, sigs[1][1].as_ref().unwrap());
    }

    #[tokio::test]
    async fn unknown_pubkey_is_named() {
        let (signer, mut pks) = signer_with(2);
        let stranger = SecretKey::random().public_key().to_bytes();
        pks.push(stranger);
        let err = signer
            .sign_groups(vec![SigningGroup {
                signing_root: Hash256::ZERO,
                message: message(),
                pubkeys: pks,
            }])
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&stranger.to_string()), "{err}");
        assert!(matches!(
            signer.sign(Hash256::ZERO, message(), stranger).await,
            Err(Error::UnknownPubkey(pk)) if pk == stranger
        ));
    }

    #[tokio::test]
    async fn add_and_remove_at_runtime() {
        let (signer, pks) = signer_with(1);
        assert!(signer.has_key(&pks[0]));
        let added = signer.add_keys([SecretKey::random()]);
        assert_eq!(signer.len(), 2);
        assert!(
            signer
                .sign(Hash256::ZERO, message(), added[0])
                .await
                .is_ok()
        );
        assert!(signer.remove_key(&pks[0]));
        assert!(!signer.remove_key(&pks[0]));
        assert!(!signer.has_key(&pks[0]));
        assert_eq!(signer.public_keys(), added);
        assert!(signer.sign(Hash256::ZERO, message(), pks[0]).await.is_err());
    }
}
