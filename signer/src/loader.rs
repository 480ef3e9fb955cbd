//! Loading thousands of validator keys from EIP-2335 keystores.
//!
//! Layouts: keystore files (`*.json`) directly in the keystores directory, and/or one
//! sub-directory per validator holding its keystore (`<dir>/0x<pubkey>/voting-keystore.json`,
//! Lighthouse style). Hidden entries (`.`-prefixed, e.g. the key cache) are ignored.
//! Passwords: a secrets directory with one file per validator named by its pubkey (`0x…`), or
//! one password file for all; trailing newlines are stripped.
//!
//! Invariants: one bad file never stops the others — each failure is reported with its file;
//! a pubkey found in two files loads once and the second file is reported as a duplicate; the
//! result is in path order, independent of thread scheduling. Decryption runs on the rayon
//! pool (all cores); call from a blocking context.

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use types::PublicKeyBytes;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::bls::SecretKey;
use crate::cache::{self, CacheParams, CacheStatus};
use crate::keystore::{Keystore, process_password, trim_password_file};
use crate::{Error, Result};

/// Where keystore passwords come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// A directory with one file per validator, named `0x<pubkey hex>`.
    PerKeyFiles(PathBuf),
    /// One file holding the password of every keystore.
    SharedFile(PathBuf),
}

/// Whether to draw a progress bar on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Draw when stderr is a terminal.
    #[default]
    Auto,
    /// Never draw.
    Hidden,
}

/// What [`load_keys`] reads.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The keystores directory.
    pub keystores_dir: PathBuf,
    /// The passwords.
    pub passwords: PasswordSource,
    /// The key cache file, if the cache is enabled.
    pub cache_file: Option<PathBuf>,
    /// KDF parameters used when (re)writing the cache.
    pub cache_params: CacheParams,
    /// Progress bar behaviour.
    pub progress: Progress,
}

impl LoadOptions {
    /// Options with the cache disabled and the default progress behaviour.
    pub fn new(keystores_dir: impl Into<PathBuf>, passwords: PasswordSource) -> Self {
        Self {
            keystores_dir: keystores_dir.into(),
            passwords,
            cache_file: None,
            cache_params: CacheParams::default(),
            progress: Progress::Auto,
        }
    }
}

/// A decrypted validator key.
#[derive(Debug)]
pub struct LoadedKey {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// Its secret key.
    pub secret: SecretKey,
    /// The keystore it came from.
    pub keystore_path: PathBuf,
}

/// A keystore that could not be loaded.
#[derive(Debug)]
pub struct KeyLoadError {
    /// The keystore file.
    pub path: PathBuf,
    /// Why it failed.
    pub error: Error,
}

impl fmt::Display for KeyLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

/// How the keys were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadSource {
    /// From the key cache (one KDF for all keys).
    Cache,
    /// From the keystores; `cache` says why the cache was not used.
    Keystores {
        /// The cache's state at start.
        cache: CacheStatus,
    },
}

/// The outcome of [`load_keys`].
#[derive(Debug)]
pub struct LoadReport {
    /// Keys loaded, in keystore path order.
    pub keys: Vec<LoadedKey>,
    /// Keystores that failed, in path order.
    pub errors: Vec<KeyLoadError>,
    /// Where the keys came from.
    pub source: LoadSource,
    /// Whether the cache file was (re)written by this load.
    pub cache_written: bool,
}

/// A keystore file as found on disk.
#[derive(Debug, Clone)]
pub(crate) struct KeystoreFile {
    /// Absolute (or as-given) path.
    pub(crate) path: PathBuf,
    /// Path relative to the keystores directory, as recorded in the cache index.
    pub(crate) relative: String,
    /// The file's bytes.
    pub(crate) contents: Vec<u8>,
    /// sha256 of the contents.
    pub(crate) digest: [u8; 32],
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn is_json_file(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "json")
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io("read directory", dir, e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io("read directory", dir, e))?;
    entries.retain(|p| !is_hidden(p));
    entries.sort();
    Ok(entries)
}

/// The keystore files under `dir` (flat files and one level of per-validator directories),
/// sorted by path, and the per-validator directories that could not be read.
pub(crate) fn discover(dir: &Path) -> Result<(Vec<PathBuf>, Vec<KeyLoadError>)> {
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    for entry in read_dir_sorted(dir)? {
        if entry.is_dir() {
            match read_dir_sorted(&entry) {
                Ok(files) => found.extend(files.into_iter().filter(|p| is_json_file(p))),
                Err(error) => unreadable.push(KeyLoadError { path: entry, error }),
            }
        } else if is_json_file(&entry) {
            found.push(entry);
        }
    }
    found.sort();
    Ok((found, unreadable))
}

/// Reads and digests every keystore file; unreadable files become per-file errors.
pub(crate) fn read_files(dir: &Path, paths: Vec<PathBuf>) -> Vec<Result<KeystoreFile>> {
    paths
        .into_par_iter()
        .map(|path| {
            let contents = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let digest = Sha256::digest(&contents).into();
            Ok(KeystoreFile {
                path,
                relative,
                contents,
                digest,
            })
        })
        .collect()
}

/// Passwords, processed per EIP-2335 (the shared one read once).
pub(crate) enum Passwords {
    /// One password for all keystores.
    Shared(Zeroizing<Vec<u8>>),
    /// One file per pubkey in this directory.
    PerKey(PathBuf),
}

fn read_password_file(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let raw = Zeroizing::new(std::fs::read_to_string(path)?);
    Ok(process_password(trim_password_file(&raw)))
}

impl Passwords {
    pub(crate) fn new(source: &PasswordSource) -> Result<Self> {
        match source {
            PasswordSource::SharedFile(path) => read_password_file(path)
                .map(Self::Shared)
                .map_err(|e| Error::io("read password file", path, e)),
            PasswordSource::PerKeyFiles(dir) => match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => Ok(Self::PerKey(dir.clone())),
                Ok(_) => Err(Error::io(
                    "open secrets directory",
                    dir,
                    std::io::Error::other("not a directory"),
                )),
                Err(e) => Err(Error::io("open secrets directory", dir, e)),
            },
        }
    }

    /// The processed password of `pubkey`.
    pub(crate) fn for_pubkey(&self, pubkey: &PublicKeyBytes) -> Result<Zeroizing<Vec<u8>>> {
        let dir = match self {
            Self::Shared(password) => return Ok(password.clone()),
            Self::PerKey(dir) => dir,
        };
        let path = dir.join(pubkey.to_string());
        match read_password_file(&path) {
            Ok(password) => Ok(password),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::MissingPassword {
                pubkey: pubkey.to_string(),
                path,
            }),
            Err(e) => Err(Error::io("read password file", path, e)),
        }
    }
}

fn progress_bar(len: usize, progress: Progress) -> ProgressBar {
    let target = match progress {
        Progress::Auto if std::io::stderr().is_terminal() => ProgressDrawTarget::stderr(),
        _ => ProgressDrawTarget::hidden(),
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template(
        "decrypting keystores [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// One keystore decrypted: its key and UUID.
fn decrypt_one(file: &KeystoreFile, passwords: &Passwords) -> Result<(SecretKey, Uuid)> {
    let keystore = Keystore::from_json_slice(&file.contents)?;
    let password = passwords.for_pubkey(&keystore.pubkey()?)?;
    Ok((keystore.decrypt_processed(&password)?, keystore.uuid))
}

/// Loads every key: from the cache when it is valid for the current keystores and passwords,
/// otherwise by decrypting the keystores in parallel (then rewriting the cache if every
/// keystore loaded). Errs only when the directories themselves cannot be read.
pub fn load_keys(options: &LoadOptions) -> Result<LoadReport> {
    let dir = &options.keystores_dir;
    let passwords = Passwords::new(&options.passwords)?;
    let mut files = Vec::new();
    let (mut paths, mut errors) = discover(dir)?;
    // A cache file kept inside the keystores directory is not a keystore.
    if let Some(cache_file) = &options.cache_file {
        paths.retain(|p| p != cache_file);
    }
    for (path, result) in paths.clone().into_iter().zip(read_files(dir, paths)) {
        match result {
            Ok(file) => files.push(file),
            Err(error) => errors.push(KeyLoadError { path, error }),
        }
    }

    let cache_status = match &options.cache_file {
        None => CacheStatus::Disabled,
        Some(cache_file) if errors.is_empty() => {
            match cache::load(cache_file, &files, &passwords) {
                Ok(keys) => {
                    tracing::info!(
                        keys = keys.len(),
                        "validator keys loaded from the key cache"
                    );
                    return Ok(LoadReport {
                        keys,
                        errors,
                        source: LoadSource::Cache,
                        cache_written: false,
                    });
                }
                Err(status) => {
                    tracing::info!(reason = %status, "key cache not used; decrypting keystores");
                    status
                }
            }
        }
        Some(_) => CacheStatus::Stale("some keystore files are unreadable".to_owned()),
    };

    let bar = progress_bar(files.len(), options.progress);
    let results: Vec<Result<(SecretKey, Uuid)>> = files
        .par_iter()
        .map(|file| {
            let result = decrypt_one(file, &passwords);
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();

    let mut keys = Vec::with_capacity(files.len());
    let mut uuids = Vec::with_capacity(files.len());
    let mut seen: HashMap<PublicKeyBytes, PathBuf> = HashMap::new();
    for (file, result) in files.iter().zip(results) {
        match result {
            Ok((secret, uuid)) => {
                let pubkey = secret.public_key().to_bytes();
                if let Some(first) = seen.get(&pubkey) {
                    errors.push(KeyLoadError {
                        path: file.path.clone(),
                        error: Error::DuplicateKey {
                            pubkey,
                            first: first.clone(),
                        },
                    });
                    continue;
                }
                seen.insert(pubkey, file.path.clone());
                uuids.push(uuid);
                keys.push(LoadedKey {
                    pubkey,
                    secret,
                    keystore_path: file.path.clone(),
                });
            }
            Err(error) => errors.push(KeyLoadError {
                path: file.path.clone(),
                error,
            }),
        }
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    for error in &errors {
        tracing::warn!(%error, "keystore not loaded");
    }

    // The cache must describe exactly the keystore set, so it is only written when every file
    // loaded; otherwise the next start retries (and reports) the failing files.
    let mut cache_written = false;
    if let Some(cache_file) = &options.cache_file
        && errors.is_empty()
        && !keys.is_empty()
    {
        match cache::write(
            cache_file,
            &files,
            &uuids,
            &keys,
            &passwords,
            options.cache_params,
        ) {
            Ok(()) => cache_written = true,
            Err(error) => tracing::warn!(%error, "could not write the key cache"),
        }
    }
    Ok(LoadReport {
        keys,
        errors,
        source: LoadSource::Keystores {
            cache: cache_status,
        },
        cache_written,
    })
}
