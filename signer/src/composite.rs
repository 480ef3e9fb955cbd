//! [`CompositeSigner`]: the local keys and the remote keys behind one [`Signer`], both
//! changeable at run time.
//!
//! A request is split: local keys sign through [`LocalSigner`] (batched), remote keys through
//! their remote signer (one HTTP request per key and root, concurrently, bounded per remote),
//! both at once. Every remote signature is verified against the key and the signing root on
//! the blocking pool before it is returned; a remote that fails or answers an invalid signature
//! yields an error for its keys only, never a signature, and never fails the local keys of the
//! same request.
//!
//! The remote key map is copy-on-write like the local one: adding or removing keys never waits
//! for signing, and no lock is held across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use types::{Hash256, PublicKeyBytes, SignatureBytes};

use crate::bls::{PublicKey, Signature};
use crate::remote::{RemoteSigner, RemoteSignerConfig, check_url, request_body};
use crate::signing::{SignableMessage, SignatureResult, Signer, SigningGroup};
use crate::{Error, LocalSigner, Result};

/// A key held by a remote signer.
#[derive(Debug, Clone)]
struct RemoteKey {
    signer: Arc<RemoteSigner>,
    /// Decompressed once, for verifying every answer.
    pubkey: PublicKey,
}

type RemoteMap = HashMap<PublicKeyBytes, RemoteKey>;

/// Local and remote keys behind one [`Signer`].
#[derive(Debug)]
pub struct CompositeSigner {
    local: Arc<LocalSigner>,
    remote: RwLock<Arc<RemoteMap>>,
    /// One client per remote URL (shared connection pool and concurrency bound).
    signers: Mutex<HashMap<String, Arc<RemoteSigner>>>,
    config: RemoteSignerConfig,
}

impl CompositeSigner {
    /// A signer over `local`, remote keys added later with `config`'s timeout and bound.
    pub fn new(local: Arc<LocalSigner>, config: RemoteSignerConfig) -> Self {
        Self {
            local,
            remote: RwLock::new(Arc::new(HashMap::new())),
            signers: Mutex::new(HashMap::new()),
            config,
        }
    }

    /// The local keys.
    pub fn local(&self) -> &Arc<LocalSigner> {
        &self.local
    }

    /// The client of the remote signer at `url` (created on first use).
    pub fn remote_signer(&self, url: &str) -> Result<Arc<RemoteSigner>> {
        let key = check_url(url)?.as_str().trim_end_matches('/').to_owned();
        let mut signers = self.signers.lock();
        if let Some(signer) = signers.get(&key) {
            return Ok(signer.clone());
        }
        let signer = Arc::new(RemoteSigner::new(&key, self.config)?);
        signers.insert(key, signer.clone());
        Ok(signer)
    }

    /// Adds a key held by the remote signer at `url`; false when the key is already held
    /// (locally or remotely). Fails for a malformed key or URL.
    pub fn add_remote(&self, pubkey: PublicKeyBytes, url: &str) -> Result<bool> {
        let point = PublicKey::try_from(&pubkey)?;
        let signer = self.remote_signer(url)?;
        if self.local.has_key(&pubkey) {
            return Ok(false);
        }
        let mut guard = self.remote.write();
        if guard.contains_key(&pubkey) {
            return Ok(false);
        }
        let mut map = RemoteMap::clone(&guard);
        map.insert(
            pubkey,
            RemoteKey {
                signer,
                pubkey: point,
            },
        );
        *guard = Arc::new(map);
        Ok(true)
    }

    /// Removes a remote key; returns whether it was held.
    pub fn remove_remote(&self, pubkey: &PublicKeyBytes) -> bool {
        let mut guard = self.remote.write();
        if !guard.contains_key(pubkey) {
            return false;
        }
        let mut map = RemoteMap::clone(&guard);
        map.remove(pubkey);
        *guard = Arc::new(map);
        true
    }

    /// The URL of a remote key's signer.
    pub fn remote_url(&self, pubkey: &PublicKeyBytes) -> Option<String> {
        self.remote
            .read()
            .get(pubkey)
            .map(|k| k.signer.url().to_owned())
    }

    /// Every remote key with its signer's URL, sorted by key.
    pub fn remote_keys(&self) -> Vec<(PublicKeyBytes, String)> {
        let mut keys: Vec<(PublicKeyBytes, String)> = self
            .snapshot()
            .iter()
            .map(|(pk, k)| (*pk, k.signer.url().to_owned()))
            .collect();
        keys.sort();
        keys
    }

    fn snapshot(&self) -> Arc<RemoteMap> {
        Arc::clone(&self.remote.read())
    }
}

/// One remote signature to obtain.
struct RemoteJob {
    group: usize,
    position: usize,
    key: RemoteKey,
    pubkey: PublicKeyBytes,
    root: Hash256,
    body: bytes::Bytes,
}

/// Verifies remote answers (on a blocking thread: one pairing each).
fn verify(
    answers: Vec<(RemoteJob, Result<SignatureBytes>)>,
) -> Vec<(usize, usize, SignatureResult)> {
    use rayon::prelude::*;
    answers
        .into_par_iter()
        .map(|(job, answer)| {
            let checked = answer.and_then(|bytes| {
                let valid = Signature::try_from(&bytes)
                    .is_ok_and(|sig| job.key.pubkey.verify(job.root.as_slice(), &sig));
                if valid {
                    Ok(bytes)
                } else {
                    Err(Error::RemoteInvalidSignature {
                        url: job.key.signer.url().to_owned(),
                        pubkey: job.pubkey,
                    })
                }
            });
            (job.group, job.position, checked)
        })
        .collect()
}

#[async_trait]
impl Signer for CompositeSigner {
    async fn sign_groups(&self, groups: Vec<SigningGroup>) -> Result<Vec<Vec<SignatureResult>>> {
        let remote = self.snapshot();
        if remote.is_empty() {
            return self.local.sign_groups(groups).await;
        }
        let mut out: Vec<Vec<Option<SignatureResult>>> = groups
            .iter()
            .map(|g| (0..g.pubkeys.len()).map(|_| None).collect())
            .collect();
        let mut local_groups = Vec::new();
        let mut local_positions: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut jobs = Vec::new();
        for (index, group) in groups.into_iter().enumerate() {
            let mut local = Vec::new();
            let mut positions = Vec::new();
            let mut body: Option<bytes::Bytes> = None;
            for (position, pubkey) in group.pubkeys.iter().enumerate() {
                match remote.get(pubkey) {
                    Some(key) => {
                        // One body per group: every key of it signs the same message.
                        let body = body
                            .get_or_insert_with(|| {
                                request_body(group.signing_root, &group.message)
                                    .to_string()
                                    .into()
                            })
                            .clone();
                        jobs.push(RemoteJob {
                            group: index,
                            position,
                            key: key.clone(),
                            pubkey: *pubkey,
                            root: group.signing_root,
                            body,
                        });
                    }
                    None => {
                        local.push(*pubkey);
                        positions.push(position);
                    }
                }
            }
            if !local.is_empty() {
                local_groups.push(SigningGroup {
                    signing_root: group.signing_root,
                    message: group.message,
                    pubkeys: local,
                });
                local_positions.push((index, positions));
            }
        }
        let local_work = async {
            if local_groups.is_empty() {
                Ok(Vec::new())
            } else {
                self.local.sign_local(local_groups).await
            }
        };
        let remote_work = futures::future::join_all(jobs.into_iter().map(|job| async move {
            let answer = job
                .key
                .signer
                .request_signature(&job.pubkey, job.body.clone())
                .await;
            (job, answer)
        }));
        let (local_signatures, answers) = tokio::join!(local_work, remote_work);
        for ((group, positions), signatures) in local_positions.into_iter().zip(local_signatures?) {
            for (position, signature) in positions.into_iter().zip(signatures) {
                out[group][position] = Some(Ok(signature));
            }
        }
        if !answers.is_empty() {
            for (group, position, result) in
                tokio::task::spawn_blocking(move || verify(answers)).await?
            {
                out[group][position] = Some(result);
            }
        }
        Ok(out
            .into_iter()
            .map(|group| {
                group
                    .into_iter()
                    .map(|slot| slot.unwrap_or(Err(Error::SignerIncomplete)))
                    .collect()
            })
            .collect())
    }

    async fn sign(
        &self,
        signing_root: Hash256,
        message: SignableMessage,
        pubkey: PublicKeyBytes,
    ) -> Result<SignatureBytes> {
        let group = SigningGroup {
            signing_root,
            message,
            pubkeys: vec![pubkey],
        };
        self.sign_groups(vec![group])
            .await?
            .pop()
            .and_then(|mut g| g.pop())
            .unwrap_or(Err(Error::UnknownPubkey(pubkey)))
    }

    fn public_keys(&self) -> Vec<PublicKeyBytes> {
        let mut keys = self.local.public_keys();
        keys.extend(self.snapshot().keys().copied());
        keys.sort();
        keys
    }

    fn has_key(&self, pubkey: &PublicKeyBytes) -> bool {
        self.local.has_key(pubkey) || self.remote.read().contains_key(pubkey)
    }

    fn is_remote(&self, pubkey: &PublicKeyBytes) -> bool {
        self.remote.read().contains_key(pubkey)
    }
}
