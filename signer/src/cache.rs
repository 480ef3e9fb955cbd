//! The key cache: every secret key of a keystore set encrypted once, so that a restart costs
//! one KDF instead of one per keystore.
//!
//! # Format
//! One JSON file (mode 0600, replaced atomically): a clear-text index of the keystore set
//! (relative path, UUID, pubkey and sha256 of each keystore file, in path order), an EIP-2335
//! style scrypt module with its own random salt, an AES-128-CTR module (random IV) whose
//! plaintext is the 32-byte secret keys in index order, and a checksum
//! `sha256(dk[16..32] | sha256(index JSON) | ciphertext)` that authenticates both the index and
//! the ciphertext under the derived key.
//!
//! The KDF input is `sha256("poolvc-key-cache-v1" | for each entry: pubkey | len | password)`
//! over the entries' EIP-2335-processed passwords: the cache opens only with the very
//! passwords that open the keystores.
//!
//! # Security model
//! - Whoever can read the cache *and* all the passwords can read the keys — exactly as with the
//!   keystores themselves, which sit beside it with the same passwords. The cache adds no new
//!   way in: without the passwords it is protected by scrypt (default `n = 2^18, r = 8, p = 1`,
//!   the EIP-2335 default, so it is never cheaper to attack than one keystore) over a secret
//!   built from *every* password.
//! - The index is clear text but authenticated: editing it (e.g. swapping pubkeys) fails the
//!   checksum. After decryption each secret key must also yield its indexed pubkey.
//! - The cache is trusted only for the exact keystore set it was built from: any file added,
//!   removed or changed (digest), or any password changed, makes it stale and the keystores
//!   are decrypted again (and the cache rewritten). A corrupt or unreadable cache is never
//!   fatal: it is logged and ignored.
//! - Secrets in memory (derived key, plaintext, password material) are zeroized after use.

use std::fmt;
use std::path::Path;

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use rand::RngCore;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use types::PublicKeyBytes;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::bls::SecretKey;
use crate::keystore::{Kdf, KdfModule};
use crate::loader::{KeystoreFile, LoadedKey, Passwords};
use crate::{Error, Result};

/// The cache format version.
const CACHE_VERSION: u32 = 1;
/// Domain separation of the KDF input.
const DOMAIN: &[u8] = b"poolvc-key-cache-v1";

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// KDF cost of the cache (scrypt `n = 2^log_n`, `r = 8`, `p = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheParams {
    /// log2 of scrypt's `n`; 18 by default, like an EIP-2335 keystore.
    pub scrypt_log_n: u8,
}

impl Default for CacheParams {
    fn default() -> Self {
        Self { scrypt_log_n: 18 }
    }
}

/// Why the cache was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache file configured.
    Disabled,
    /// The cache file does not exist yet.
    Missing,
    /// The keystore set differs from the one the cache was built from.
    Stale(String),
    /// The passwords do not open the cache (a password changed, or the cache was altered).
    PasswordMismatch,
    /// The cache file is unreadable or malformed.
    Corrupt(String),
}

impl fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => f.write_str("key cache disabled"),
            Self::Missing => f.write_str("no key cache yet"),
            Self::Stale(reason) => write!(f, "key cache is stale: {reason}"),
            Self::PasswordMismatch => {
                f.write_str("key cache does not open with the current passwords")
            }
            Self::Corrupt(reason) => write!(f, "key cache is corrupt: {reason}"),
        }
    }
}

/// One keystore of the cached set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IndexEntry {
    path: String,
    uuid: Uuid,
    pubkey: PublicKeyBytes,
    #[serde(with = "crate::hex_serde")]
    sha256: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    kdf: KdfModule,
    #[serde(with = "crate::hex_serde")]
    checksum: Vec<u8>,
    #[serde(with = "crate::hex_serde")]
    iv: Vec<u8>,
    #[serde(with = "crate::hex_serde")]
    ciphertext: Vec<u8>,
    keystores: Vec<IndexEntry>,
}

fn password_material(index: &[IndexEntry], passwords: &Passwords) -> Result<Zeroizing<[u8; 32]>> {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    for entry in index {
        let password = passwords.for_pubkey(&entry.pubkey)?;
        hasher.update(entry.pubkey);
        hasher.update((password.len() as u64).to_le_bytes());
        hasher.update(password.as_slice());
    }
    Ok(Zeroizing::new(hasher.finalize().into()))
}

fn checksum(dk: &[u8; 32], index: &[IndexEntry], ciphertext: &[u8]) -> [u8; 32] {
    // Serialising the index (strings, hex, a UUID) cannot fail.
    let index_json = serde_json::to_vec(index).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(&dk[16..]);
    hasher.update(Sha256::digest(&index_json));
    hasher.update(ciphertext);
    hasher.finalize().into()
}

fn describe_set_change(index: &[IndexEntry], files: &[KeystoreFile]) -> Option<String> {
    let cached: std::collections::BTreeMap<&str, &[u8]> = index
        .iter()
        .map(|e| (e.path.as_str(), e.sha256.as_slice()))
        .collect();
    let current: std::collections::BTreeMap<&str, &[u8]> = files
        .iter()
        .map(|f| (f.relative.as_str(), f.digest.as_slice()))
        .collect();
    if let Some(path) = current.keys().find(|p| !cached.contains_key(*p)) {
        return Some(format!("keystore {path} was added"));
    }
    if let Some(path) = cached.keys().find(|p| !current.contains_key(*p)) {
        return Some(format!("keystore {path} was removed"));
    }
    if let Some((path, _)) = current.iter().find(|(p, d)| cached.get(*p) != Some(*d)) {
        return Some(format!("keystore {path} was modified"));
    }
    if index.len() != files.len() {
        return Some("the index lists a keystore twice".to_owned());
    }
    None
}

/// Opens the cache for exactly `files`, or says why it cannot be used.
pub(crate) fn load(
    cache_file: &Path,
    files: &[KeystoreFile],
    passwords: &Passwords,
) -> std::result::Result<Vec<LoadedKey>, CacheStatus> {
    let text = match std::fs::read(cache_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CacheStatus::Missing),
        Err(e) => return Err(CacheStatus::Corrupt(format!("cannot read: {e}"))),
    };
    let cache: CacheFile = serde_json::from_slice(&text)
        .map_err(|e| CacheStatus::Corrupt(format!("malformed JSON: {e}")))?;
    if cache.version != CACHE_VERSION {
        return Err(CacheStatus::Stale(format!(
            "format version {}",
            cache.version
        )));
    }
    if let Some(change) = describe_set_change(&cache.keystores, files) {
        return Err(CacheStatus::Stale(change));
    }
    if cache.ciphertext.len() != 32 * cache.keystores.len()
        || cache.iv.len() != 16
        || cache.checksum.len() != 32
    {
        return Err(CacheStatus::Corrupt(
            "field lengths do not match the index".to_owned(),
        ));
    }
    let material = password_material(&cache.keystores, passwords)
        .map_err(|e| CacheStatus::Stale(e.to_string()))?;
    let dk = cache
        .kdf
        .kdf
        .derive(material.as_ref())
        .map_err(|e| CacheStatus::Corrupt(e.to_string()))?;
    if checksum(&dk, &cache.keystores, &cache.ciphertext)[..] != cache.checksum[..] {
        return Err(CacheStatus::PasswordMismatch);
    }
    let mut plaintext = Zeroizing::new(cache.ciphertext.clone());
    Aes128Ctr::new(dk[..16].into(), cache.iv.as_slice().into()).apply_keystream(&mut plaintext);

    let by_path: std::collections::HashMap<&str, &KeystoreFile> =
        files.iter().map(|f| (f.relative.as_str(), f)).collect();
    cache
        .keystores
        .par_iter()
        .zip(plaintext.par_chunks(32))
        .map(|(entry, secret)| {
            let secret = SecretKey::from_bytes(secret)
                .map_err(|e| CacheStatus::Corrupt(format!("{}: {e}", entry.path)))?;
            if secret.public_key().to_bytes() != entry.pubkey {
                return Err(CacheStatus::Corrupt(format!(
                    "{}: secret does not match pubkey {}",
                    entry.path, entry.pubkey
                )));
            }
            Ok(LoadedKey {
                pubkey: entry.pubkey,
                secret,
                // Present: the set comparison above matched every path.
                keystore_path: by_path
                    .get(entry.path.as_str())
                    .map(|f| f.path.clone())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Writes the cache for `files` (each decrypted into the same-position `keys`, with `uuids`).
pub(crate) fn write(
    cache_file: &Path,
    files: &[KeystoreFile],
    uuids: &[Uuid],
    keys: &[LoadedKey],
    passwords: &Passwords,
    params: CacheParams,
) -> Result<()> {
    let keys: Vec<(PublicKeyBytes, &SecretKey)> =
        keys.iter().map(|key| (key.pubkey, &key.secret)).collect();
    write_entries(cache_file, files, uuids, &keys, passwords, params)
}

/// [`write`] over borrowed keys.
fn write_entries(
    cache_file: &Path,
    files: &[KeystoreFile],
    uuids: &[Uuid],
    keys: &[(PublicKeyBytes, &SecretKey)],
    passwords: &Passwords,
    params: CacheParams,
) -> Result<()> {
    if files.len() != keys.len() || files.len() != uuids.len() {
        return Err(Error::CacheUnusable(
            "keystore and key counts differ; not caching a partial set".to_owned(),
        ));
    }
    let keystores: Vec<IndexEntry> = files
        .iter()
        .zip(uuids)
        .zip(keys)
        .map(|((file, uuid), (pubkey, _))| IndexEntry {
            path: file.relative.clone(),
            uuid: *uuid,
            pubkey: *pubkey,
            sha256: file.digest.to_vec(),
        })
        .collect();
    let kdf = Kdf::scrypt(params.scrypt_log_n);
    let dk = kdf.derive(password_material(&keystores, passwords)?.as_ref())?;
    let mut iv = vec![0u8; 16];
    rand::thread_rng().fill_bytes(&mut iv);
    let mut plaintext = Zeroizing::new(Vec::with_capacity(32 * keys.len()));
    for (_, secret) in keys {
        plaintext.extend_from_slice(secret.to_bytes().as_ref());
    }
    let mut ciphertext = plaintext.to_vec();
    Aes128Ctr::new(dk[..16].into(), iv.as_slice().into()).apply_keystream(&mut ciphertext);
    let cache = CacheFile {
        version: CACHE_VERSION,
        kdf: KdfModule {
            kdf,
            message: String::new(),
        },
        checksum: checksum(&dk, &keystores, &ciphertext).to_vec(),
        iv,
        ciphertext,
        keystores,
    };
    let json = serde_json::to_vec(&cache).map_err(|source| Error::Json {
        what: "key cache",
        source,
    })?;
    crate::fs::replace_secret_file(cache_file, &json)?;
    tracing::info!(keys = keys.len(), path = %cache_file.display(), "key cache written");
    Ok(())
}

/// What [`rewrite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUpdate {
    /// The cache now describes the current keystore set (this many keys).
    Written(usize),
    /// The cache could not describe the current set and was removed (so a restart decrypts
    /// the keystores and writes a fresh one); the reason says why.
    Removed(String),
}

/// Rebuilds the cache for the keystore set now on disk after keys were added or removed at
/// run time, with the secrets the running signer holds (`secret_for`), so that the next start
/// still costs one KDF. Every keystore file must parse and its key must be held; otherwise the
/// cache is removed instead, never left describing another set. Call from a blocking context.
pub fn rewrite(
    cache_file: &Path,
    keystores_dir: &Path,
    passwords: &crate::loader::PasswordSource,
    params: CacheParams,
    secret_for: impl Fn(&PublicKeyBytes) -> Option<std::sync::Arc<SecretKey>>,
) -> Result<CacheUpdate> {
    let remove = |reason: String| -> Result<CacheUpdate> {
        match std::fs::remove_file(cache_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", cache_file, e)),
        }
        tracing::info!(%reason, path = %cache_file.display(), "key cache removed");
        Ok(CacheUpdate::Removed(reason))
    };
    let found = crate::loader::discover(keystores_dir)?;
    let mut paths = found.files;
    paths.retain(|p| p != cache_file);
    if let Some(error) = found.unreadable.first() {
        return remove(format!("unreadable keystore directory: {error}"));
    }
    let mut read = Vec::with_capacity(paths.len());
    for result in crate::loader::read_files(keystores_dir, paths) {
        match result {
            Ok(file) => read.push(file),
            Err(error) => return remove(format!("unreadable keystore: {error}")),
        }
    }
    // The same keystore set the loader compares the cache with: other files do not count.
    let files = crate::loader::keep_keystores(read, &mut Vec::new());
    if files.is_empty() {
        return remove("no keystore left".to_owned());
    }
    let mut uuids = Vec::with_capacity(files.len());
    let mut secrets = Vec::with_capacity(files.len());
    for file in &files {
        let keystore = match crate::keystore::Keystore::from_json_slice(&file.contents) {
            Ok(keystore) => keystore,
            Err(error) => return remove(format!("{}: {error}", file.relative)),
        };
        let pubkey = match keystore.pubkey() {
            Ok(pubkey) => pubkey,
            Err(error) => return remove(format!("{}: {error}", file.relative)),
        };
        let Some(secret) = secret_for(&pubkey) else {
            return remove(format!("{}: key {pubkey} is not loaded", file.relative));
        };
        uuids.push(keystore.uuid);
        secrets.push((pubkey, secret));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((pubkey, _)) = secrets.iter().find(|(pk, _)| !seen.insert(*pk)) {
        return remove(format!("two keystore files hold {pubkey}"));
    }
    let passwords = match Passwords::new(passwords) {
        Ok(passwords) => passwords,
        Err(error) => return remove(error.to_string()),
    };
    let borrowed: Vec<(PublicKeyBytes, &SecretKey)> = secrets
        .iter()
        .map(|(pubkey, secret)| (*pubkey, secret.as_ref()))
        .collect();
    match write_entries(cache_file, &files, &uuids, &borrowed, &passwords, params) {
        Ok(()) => Ok(CacheUpdate::Written(borrowed.len())),
        Err(error) => remove(format!("cannot write the cache: {error}")),
    }
}
