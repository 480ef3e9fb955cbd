//! Loading thousands of validator keys from EIP-2335 keystores.
//!
//! Layouts: keystore files (`*.json`) directly in the keystores directory, and/or one
//! sub-directory per validator holding its keystore (`<dir>/0x<pubkey>/voting-keystore.json`,
//! Lighthouse style). Passwords: a secrets directory with one file per validator named by its
//! pubkey (`0x…`), or one password file for all; trailing newlines are stripped.
//!
//! What is a keystore: a regular `.json` file, not hidden (`.`-prefixed), in the keystores
//! directory or one per-validator directory below it, whose content is a JSON object with both
//! a `crypto` and a `version` member (the members every EIP-2335 keystore has). Everything
//! else found there — `deposit_data-*.json` of the deposit CLIs (a JSON array), an exported
//! slashing protection file, a README, `.DS_Store`, deeper directories — is not a keystore: it
//! is skipped and listed in [`LoadReport::skipped`] with the reason ([`NotKeystore`]), never an
//! error. A `.json` file that is not valid JSON at all is taken for a damaged keystore (a
//! truncated copy looks like that) and is an error, as is a keystore that does not parse,
//! decrypt or match its password.
//!
//! Invariants: one bad file never stops the others — each failure is reported with its file;
//! a pubkey found in two files loads once and the second file is reported as a duplicate; the
//! result is in path order, independent of thread scheduling; files that are not keystores
//! are never part of the key cache's keystore set. Decryption runs on the rayon pool (all
//! cores); call from a blocking context.

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

/// Why a file found in the keystores directory is not taken for a keystore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotKeystore {
    /// Its name starts with a dot (`.DS_Store`, editors' swap files, temporary files).
    Hidden,
    /// Not a `.json` file (a README, notes, password files).
    NotJsonFile,
    /// Named `*.json` but not a regular file (e.g. a dangling symbolic link).
    NotARegularFile,
    /// A directory below the per-validator level (only one level is searched).
    NestedDirectory,
    /// JSON, but not an object: this kind of value (a deposit CLI's `deposit_data-*.json` is
    /// an array).
    NotAnObject(&'static str),
    /// A JSON object without the `crypto` and `version` members of an EIP-2335 keystore.
    MissingKeystoreMembers,
}

impl fmt::Display for NotKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hidden => f.write_str("hidden file"),
            Self::NotJsonFile => f.write_str("not a .json file"),
            Self::NotARegularFile => f.write_str("not a regular file"),
            Self::NestedDirectory => {
                f.write_str("directory below the per-validator level (not searched)")
            }
            Self::NotAnObject(kind) => write!(
                f,
                "JSON {kind}, not a keystore object (deposit data files are arrays)"
            ),
            Self::MissingKeystoreMembers => f.write_str(
                "JSON object without the `crypto` and `version` members of an EIP-2335 keystore",
            ),
        }
    }
}

/// A file (or directory) of the keystores directory that is not a keystore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// Why it is not a keystore.
    pub reason: NotKeystore,
}

/// Whether `contents` (of a `.json` file) is a keystore: `None` when it is — a JSON object
/// with `crypto` and `version` members, or text that is not JSON at all (a damaged keystore,
/// reported as an error by the keystore parser) —, else why not.
pub fn classify_json(contents: &[u8]) -> Option<NotKeystore> {
    let value: serde_json::Value = serde_json::from_slice(contents).ok()?;
    let kind = match &value {
        serde_json::Value::Object(members) => {
            return (!(members.contains_key("crypto") && members.contains_key("version")))
                .then_some(NotKeystore::MissingKeystoreMembers);
        }
        serde_json::Value::Array(_) => "array",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Null => "null",
    };
    Some(NotKeystore::NotAnObject(kind))
}

/// The outcome of [`load_keys`].
#[derive(Debug)]
pub struct LoadReport {
    /// Keys loaded, in keystore path order.
    pub keys: Vec<LoadedKey>,
    /// Keystores that failed, in path order.
    pub errors: Vec<KeyLoadError>,
    /// Files of the keystores directory that are not keystores, in path order (each logged
    /// once at info level).
    pub skipped: Vec<SkippedFile>,
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

fn has_json_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io("read directory", dir, e))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io("read directory", dir, e))?;
    entries.sort();
    Ok(entries)
}

/// What [`discover`] found.
#[derive(Debug, Default)]
pub(crate) struct Discovered {
    /// Candidate keystore files (`.json`, not hidden), sorted by path; their content decides
    /// ([`classify_json`]).
    pub(crate) files: Vec<PathBuf>,
    /// Per-validator directories that could not be read.
    pub(crate) unreadable: Vec<KeyLoadError>,
    /// Entries that are not keystores by their name or kind alone.
    pub(crate) skipped: Vec<SkippedFile>,
}

/// Sorts one directory entry: a candidate file, or skipped with the reason.
fn sort_entry(path: PathBuf, found: &mut Discovered) {
    let reason = if is_hidden(&path) {
        NotKeystore::Hidden
    } else if !has_json_extension(&path) {
        NotKeystore::NotJsonFile
    } else if path.is_file() {
        found.files.push(path);
        return;
    } else {
        NotKeystore::NotARegularFile
    };
    found.skipped.push(SkippedFile { path, reason });
}

/// The candidate keystore files under `dir` (flat files and one level of per-validator
/// directories), the per-validator directories that could not be read, and the entries that
/// are not keystores by name or kind.
pub(crate) fn discover(dir: &Path) -> Result<Discovered> {
    let mut found = Discovered::default();
    for entry in read_dir_sorted(dir)? {
        if !entry.is_dir() {
            sort_entry(entry, &mut found);
            continue;
        }
        if is_hidden(&entry) {
            found.skipped.push(SkippedFile {
                path: entry,
                reason: NotKeystore::Hidden,
            });
            continue;
        }
        match read_dir_sorted(&entry) {
            Ok(inner) => {
                for path in inner {
                    if path.is_dir() {
                        found.skipped.push(SkippedFile {
                            path,
                            reason: NotKeystore::NestedDirectory,
                        });
                    } else {
                        sort_entry(path, &mut found);
                    }
                }
            }
            Err(error) => found.unreadable.push(KeyLoadError { path: entry, error }),
        }
    }
    found.files.sort();
    found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Splits read files into keystores and files whose content shows they are not keystores.
pub(crate) fn keep_keystores(
    files: Vec<KeystoreFile>,
    skipped: &mut Vec<SkippedFile>,
) -> Vec<KeystoreFile> {
    let mut keystores = Vec::with_capacity(files.len());
    for file in files {
        match classify_json(&file.contents) {
            None => keystores.push(file),
            Some(reason) => skipped.push(SkippedFile {
                path: file.path,
                reason,
            }),
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    keystores
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
    let mut read = Vec::new();
    let Discovered {
        files: mut paths,
        unreadable: mut errors,
        mut skipped,
    } = discover(dir)?;
    // A cache file kept inside the keystores directory is not a keystore (nor worth a line).
    if let Some(cache_file) = &options.cache_file {
        paths.retain(|p| p != cache_file);
        skipped.retain(|s| &s.path != cache_file);
    }
    for (path, result) in paths.clone().into_iter().zip(read_files(dir, paths)) {
        match result {
            Ok(file) => read.push(file),
            Err(error) => errors.push(KeyLoadError { path, error }),
        }
    }
    let files = keep_keystores(read, &mut skipped);
    for file in &skipped {
        tracing::info!(
            path = %file.path.display(),
            reason = %file.reason,
            "not a keystore; skipped"
        );
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
                        skipped,
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
        skipped,
        source: LoadSource::Keystores {
            cache: cache_status,
        },
        cache_written,
    })
}
