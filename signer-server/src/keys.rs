//! The keys this signer holds: loaded from EIP-2335 keystores (the key cache and parallel
//! decryption of [`signer::loader`]), reloaded on demand, and the signing gate.
//!
//! Invariants:
//! - a key is registered with slashing protection (durably) before it can sign: at load, at
//!   reload and at import;
//! - the signing gate: every signing operation holds its read side from the key check to its
//!   answer; removing keys takes the write side, so once a removal returns no signature with
//!   the removed keys is in flight and none can start;
//! - a reload that cannot read the keystores directory changes nothing; it decrypts only the
//!   keystores of keys not held yet; those that fail to load are reported. A held key is
//!   removed only when no keystore file names its pubkey any more (a keystore that still names
//!   it but no longer decrypts keeps it: a damaged file must not silently stop a validator).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use signer::bls::SecretKey;
use signer::cache::CacheParams;
use signer::keyfiles;
use signer::keystore::Keystore;
use signer::loader::{LoadOptions, PasswordSource, Progress, load_keys};
use signer::{LocalSigner, Signer as _};
use slashing_protection::SlashingProtection;
use tokio::sync::{RwLock, RwLockReadGuard};
use types::PublicKeyBytes;

use crate::error::{Error, Result};

/// Where keys are loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    /// The keystores directory.
    pub keystores_dir: PathBuf,
    /// Their passwords.
    pub passwords: PasswordSource,
    /// The key cache file, when used.
    pub key_cache: Option<PathBuf>,
}

/// What a load or reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Keys held afterwards.
    pub keys: usize,
    /// Keys added.
    pub added: usize,
    /// Keys removed (their keystore is gone).
    pub removed: usize,
    /// Keystores that could not be loaded.
    pub errors: usize,
}

/// The keys and the signing gate.
pub struct Keys {
    signer: Arc<LocalSigner>,
    gate: RwLock<()>,
    source: Option<KeySource>,
    slashing: Arc<dyn SlashingProtection>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("keys", &self.signer.len())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Runs the loader (key cache, parallel decryption) on the blocking pool.
async fn read_keystores(source: &KeySource) -> Result<signer::loader::LoadReport> {
    let mut options = LoadOptions::new(&source.keystores_dir, source.passwords.clone());
    options.cache_file = source.key_cache.clone();
    options.progress = Progress::Hidden;
    let report = tokio::task::spawn_blocking(move || load_keys(&options)).await??;
    for error in &report.errors {
        tracing::warn!(%error, "keystore not loaded");
    }
    Ok(report)
}

impl Keys {
    /// Loads the keystores of `source` and registers every key with `slashing`.
    pub async fn load(
        source: KeySource,
        slashing: Arc<dyn SlashingProtection>,
    ) -> Result<(Self, LoadSummary)> {
        let report = read_keystores(&source).await?;
        let errors = report.errors.len();
        let pubkeys: Vec<PublicKeyBytes> = report.keys.iter().map(|k| k.pubkey).collect();
        slashing.register_validators(&pubkeys).await?;
        let keys = Self {
            signer: Arc::new(LocalSigner::from_loaded_keys(report.keys)),
            gate: RwLock::new(()),
            source: Some(source),
            slashing,
        };
        let summary = LoadSummary {
            keys: keys.len(),
            added: keys.len(),
            removed: 0,
            errors,
        };
        Ok((keys, summary))
    }

    /// Holds `secret_keys` (no keystores: nothing to reload), registered with `slashing`.
    pub async fn from_secret_keys(
        secret_keys: Vec<SecretKey>,
        slashing: Arc<dyn SlashingProtection>,
    ) -> Result<Self> {
        let signer = Arc::new(LocalSigner::new(secret_keys));
        slashing.register_validators(&signer.public_keys()).await?;
        Ok(Self {
            signer,
            gate: RwLock::new(()),
            source: None,
            slashing,
        })
    }

    /// Where keys are loaded from (`None` for fixed keys).
    pub fn source(&self) -> Option<&KeySource> {
        self.source.as_ref()
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.signer.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.signer.is_empty()
    }

    /// Whether `pubkey` is held.
    pub fn has_key(&self, pubkey: &PublicKeyBytes) -> bool {
        self.signer.has_key(pubkey)
    }

    /// The keys held, sorted.
    pub fn public_keys(&self) -> Vec<PublicKeyBytes> {
        self.signer.public_keys()
    }

    /// The signer holding the keys.
    pub(crate) fn signer(&self) -> &LocalSigner {
        &self.signer
    }

    /// The read side of the signing gate: hold it from the key check to the answer.
    pub(crate) async fn permit(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read().await
    }

    /// Adds `secret_keys` after registering them with slashing protection; returns those that
    /// were not held yet.
    pub async fn add(&self, secret_keys: Vec<SecretKey>) -> Result<Vec<PublicKeyBytes>> {
        let (pubkeys, new): (Vec<PublicKeyBytes>, Vec<SecretKey>) = secret_keys
            .into_iter()
            .map(|key| (key.public_key().to_bytes(), key))
            .filter(|(pubkey, _)| !self.signer.has_key(pubkey))
            .unzip();
        if new.is_empty() {
            return Ok(Vec::new());
        }
        self.slashing.register_validators(&pubkeys).await?;
        Ok(self.signer.add_keys(new))
    }

    /// Removes keys; returns once no signing with them is in flight (and none can start).
    /// Returns the keys that were held.
    pub async fn remove(&self, pubkeys: &[PublicKeyBytes]) -> Vec<PublicKeyBytes> {
        let _exclusive = self.gate.write().await;
        pubkeys
            .iter()
            .filter(|pubkey| self.signer.remove_key(pubkey))
            .copied()
            .collect()
    }

    /// Reads the keystores directory again: keys of new keystores are decrypted (only those:
    /// the keys held are not decrypted again), registered and added; keys whose keystore is
    /// gone are removed (behind the signing gate); the key cache is rewritten for the new set.
    /// Keystores that fail to load are counted; their keys, if held, stay.
    pub async fn reload(&self) -> Result<LoadSummary> {
        let Some(source) = self.source.clone() else {
            return Err(Error::NoKeySource);
        };
        let held: HashSet<PublicKeyBytes> = self.public_keys().into_iter().collect();
        let scan = {
            let source = source.clone();
            let held = held.clone();
            tokio::task::spawn_blocking(move || scan_new_keystores(&source, &held)).await??
        };
        for error in &scan.errors {
            tracing::warn!(%error, "keystore not loaded");
        }
        let gone: Vec<PublicKeyBytes> = held
            .iter()
            .filter(|pk| !scan.listed.contains(*pk))
            .copied()
            .collect();
        let added = self.add(scan.new).await?.len();
        let removed = if gone.is_empty() {
            0
        } else {
            self.remove(&gone).await.len()
        };
        if (added > 0 || removed > 0)
            && let Some(cache) = &source.key_cache
        {
            self.rewrite_cache(&source, cache).await;
        }
        Ok(LoadSummary {
            keys: self.len(),
            added,
            removed,
            errors: scan.errors.len(),
        })
    }

    /// Rewrites the key cache for the keystores now on disk with the keys held (so the next
    /// start costs one KDF); a failure only costs the next start time, so it is logged.
    async fn rewrite_cache(&self, source: &KeySource, cache: &std::path::Path) {
        let signer = self.signer.clone();
        let (cache, dir, passwords) = (
            cache.to_path_buf(),
            source.keystores_dir.clone(),
            source.passwords.clone(),
        );
        let written = tokio::task::spawn_blocking(move || {
            signer.rewrite_key_cache(&cache, &dir, &passwords, CacheParams::default())
        })
        .await;
        match written {
            Ok(Ok(update)) => tracing::info!(?update, "key cache updated"),
            Ok(Err(error)) => tracing::warn!(%error, "key cache not rewritten"),
            Err(error) => tracing::warn!(%error, "key cache rewrite task failed"),
        }
    }
}

/// What a scan of the keystores directory found.
struct Scan {
    /// Every pubkey a keystore file names.
    listed: HashSet<PublicKeyBytes>,
    /// The decrypted keys of the pubkeys not held yet.
    new: Vec<SecretKey>,
    /// Keystores of new pubkeys that could not be loaded.
    errors: Vec<String>,
}

/// Lists the keystores of `source` and decrypts those of pubkeys not in `held` (blocking).
fn scan_new_keystores(source: &KeySource, held: &HashSet<PublicKeyBytes>) -> Result<Scan> {
    let files = keyfiles::scan_keystores(&source.keystores_dir, source.key_cache.as_deref())?;
    let listed: HashSet<PublicKeyBytes> = files.iter().map(|f| f.pubkey).collect();
    let mut errors = Vec::new();
    let mut jobs = Vec::new();
    let mut seen = HashSet::new();
    for file in files.iter().filter(|f| !held.contains(&f.pubkey)) {
        // A validator with several files: the first one in path order.
        if !seen.insert(file.pubkey) {
            continue;
        }
        let password = match &source.passwords {
            PasswordSource::PerKeyFiles(dir) => {
                keyfiles::read_password_file(&keyfiles::password_file(dir, &file.pubkey))
            }
            PasswordSource::SharedFile(path) => keyfiles::read_password_file(path),
        };
        let job = password.and_then(|password| {
            Ok(keyfiles::DecryptJob {
                keystore: Keystore::from_file(&file.path)?,
                password,
            })
        });
        match job {
            Ok(job) => jobs.push((file.path.clone(), job)),
            Err(error) => errors.push(format!("{}: {error}", file.path.display())),
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .clamp(1, 4);
    let (paths, jobs): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
    let mut new = Vec::with_capacity(jobs.len());
    for (path, decrypted) in paths.iter().zip(keyfiles::decrypt_batch(&jobs, threads)) {
        match decrypted {
            Ok(secret) => new.push(secret),
            Err(error) => errors.push(format!("{}: {error}", path.display())),
        }
    }
    Ok(Scan {
        listed,
        new,
        errors,
    })
}
