//! The keys this signer holds: loaded from EIP-2335 keystores (the key cache and parallel
//! decryption of [`signer::loader`]), reloaded on demand, and the signing gate.
//!
//! Invariants:
//! - a key is registered with slashing protection (durably) before it can sign: at load, at
//!   reload and at import;
//! - the signing gate: every signing operation holds its read side from the key check to its
//!   answer; removing keys takes the write side, so once a removal returns no signature with
//!   the removed keys is in flight and none can start;
//! - a reload that cannot read the keystores directory changes nothing; keystores that fail
//!   to load are reported and their keys, if held, stay held (a damaged file must not silently
//!   stop a validator, nor may a key be dropped while requests for it are in flight).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use signer::bls::SecretKey;
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
    signer: LocalSigner,
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

/// Runs the loader on the blocking pool; also returns the pubkeys named by the keystores that
/// failed to load.
async fn read_keystores(
    source: &KeySource,
) -> Result<(signer::loader::LoadReport, HashSet<PublicKeyBytes>)> {
    let mut options = LoadOptions::new(&source.keystores_dir, source.passwords.clone());
    options.cache_file = source.key_cache.clone();
    options.progress = Progress::Hidden;
    let (report, failed) = tokio::task::spawn_blocking(move || {
        load_keys(&options).map(|report| {
            let failed = failed_pubkeys(&report);
            (report, failed)
        })
    })
    .await??;
    for error in &report.errors {
        tracing::warn!(%error, "keystore not loaded");
    }
    Ok((report, failed))
}

impl Keys {
    /// Loads the keystores of `source` and registers every key with `slashing`.
    pub async fn load(
        source: KeySource,
        slashing: Arc<dyn SlashingProtection>,
    ) -> Result<(Self, LoadSummary)> {
        let (report, _) = read_keystores(&source).await?;
        let errors = report.errors.len();
        let pubkeys: Vec<PublicKeyBytes> = report.keys.iter().map(|k| k.pubkey).collect();
        slashing.register_validators(&pubkeys).await?;
        let keys = Self {
            signer: LocalSigner::from_loaded_keys(report.keys),
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
        let signer = LocalSigner::new(secret_keys);
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
        let new: Vec<SecretKey> = secret_keys
            .into_iter()
            .filter(|key| !self.signer.has_key(&key.public_key().to_bytes()))
            .collect();
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let pubkeys: Vec<PublicKeyBytes> = new.iter().map(|k| k.public_key().to_bytes()).collect();
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

    /// Reads the keystores again: keys of new keystores are registered and added, keys whose
    /// keystore is gone are removed (behind the signing gate). Keystores that fail to load are
    /// counted; their keys, if held, stay.
    pub async fn reload(&self) -> Result<LoadSummary> {
        let Some(source) = &self.source else {
            return Err(Error::NoKeySource);
        };
        let (report, failed) = read_keystores(source).await?;
        let listed: HashSet<PublicKeyBytes> = report.keys.iter().map(|k| k.pubkey).collect();
        let held: HashSet<PublicKeyBytes> = self.public_keys().into_iter().collect();
        let new: Vec<SecretKey> = report
            .keys
            .into_iter()
            .filter(|k| !held.contains(&k.pubkey))
            .map(|k| k.secret)
            .collect();
        let gone: Vec<PublicKeyBytes> = held
            .iter()
            .filter(|pk| !listed.contains(*pk) && !failed.contains(*pk))
            .copied()
            .collect();
        let added = self.add(new).await?.len();
        let removed = if gone.is_empty() {
            0
        } else {
            self.remove(&gone).await.len()
        };
        Ok(LoadSummary {
            keys: self.len(),
            added,
            removed,
            errors: report.errors.len(),
        })
    }
}

/// The pubkeys of keystores that failed to load, where the file names one (blocking I/O).
fn failed_pubkeys(report: &signer::loader::LoadReport) -> HashSet<PublicKeyBytes> {
    report
        .errors
        .iter()
        .filter_map(|error| {
            let text = std::fs::read_to_string(&error.path).ok()?;
            let value: serde_json::Value = serde_json::from_str(&text).ok()?;
            let pubkey = value.get("pubkey")?.as_str()?;
            let digits = pubkey.strip_prefix("0x").unwrap_or(pubkey);
            let mut bytes = [0u8; 48];
            hex::decode_to_slice(digits, &mut bytes).ok()?;
            Some(PublicKeyBytes::from(bytes))
        })
        .collect()
}
