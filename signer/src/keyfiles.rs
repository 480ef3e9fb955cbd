//! Managing keystore files while the client runs (what a key manager needs beside the
//! start-up [`crate::loader`]): finding the files of a validator, decrypting a batch of
//! keystores on a bounded thread pool, writing an imported keystore and its password where the
//! loader will find them, and removing them again.
//!
//! Invariants: the layout written is the one [`crate::loader::load_keys`] reads (a flat
//! `*.json` keystore, a password file named `0x<pubkey>` in the secrets directory); both files
//! are created 0600 and replaced atomically, so a crash leaves either the old file, the new one
//! or none — never a truncated one; a failed write removes what it had written, so a key whose
//! import failed is never loaded at the next start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;
use types::PublicKeyBytes;
use zeroize::Zeroizing;

use crate::bls::SecretKey;
use crate::keystore::{Keystore, process_password, trim_password_file};
use crate::loader::discover;
use crate::{Error, Result};

/// A keystore file found on disk, identified without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreFileInfo {
    /// The file.
    pub path: PathBuf,
    /// The validator named by its `pubkey` field.
    pub pubkey: PublicKeyBytes,
    /// Its EIP-2334 derivation path (`""` when unknown).
    pub derivation_path: String,
}

/// The fields of a keystore that identify it; everything else is ignored.
#[derive(Deserialize)]
struct Header {
    pubkey: String,
    #[serde(default)]
    path: String,
}

fn parse_header(bytes: &[u8]) -> Option<(PublicKeyBytes, String)> {
    let header: Header = serde_json::from_slice(bytes).ok()?;
    let hex = header.pubkey.strip_prefix("0x").unwrap_or(&header.pubkey);
    let bytes = hex::decode(hex).ok()?;
    let pubkey = PublicKeyBytes::try_from(bytes.as_slice()).ok()?;
    Some((pubkey, header.path))
}

/// Every keystore file under `dir` (the loader's layouts; `exclude` is skipped, e.g. a key
/// cache kept there) with the pubkey its JSON names. Files that are not readable keystore JSON
/// are left out: the loader reports them at start.
pub fn scan_keystores(dir: &Path, exclude: Option<&Path>) -> Result<Vec<KeystoreFileInfo>> {
    let found = discover(dir)?
        .files
        .into_par_iter()
        .filter(|path| Some(path.as_path()) != exclude)
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let (pubkey, derivation_path) = parse_header(&bytes)?;
            Some(KeystoreFileInfo {
                path,
                pubkey,
                derivation_path,
            })
        })
        .collect();
    Ok(found)
}

/// [`scan_keystores`] grouped by validator (a validator may have several files).
pub fn keystores_by_pubkey(
    dir: &Path,
    exclude: Option<&Path>,
) -> Result<HashMap<PublicKeyBytes, Vec<KeystoreFileInfo>>> {
    let mut by_pubkey: HashMap<PublicKeyBytes, Vec<KeystoreFileInfo>> = HashMap::new();
    for info in scan_keystores(dir, exclude)? {
        by_pubkey.entry(info.pubkey).or_default().push(info);
    }
    Ok(by_pubkey)
}

/// Reads a password file as the loader does (trailing line ends trimmed, EIP-2335 processing).
pub fn read_password_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let raw = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| Error::io("read password file", path, e))?,
    );
    Ok(process_password(trim_password_file(&raw)))
}

/// One keystore to decrypt with its (already processed) password.
pub struct DecryptJob {
    /// The parsed, validated keystore.
    pub keystore: Keystore,
    /// The EIP-2335-processed password.
    pub password: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for DecryptJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptJob")
            .field("pubkey", &self.keystore.pubkey)
            .finish_non_exhaustive()
    }
}

/// Decrypts `jobs` on a dedicated pool of `threads` threads (not rayon's global pool, which
/// the signer uses for duties), results in job order. Call from a blocking context.
pub fn decrypt_batch(jobs: &[DecryptJob], threads: usize) -> Vec<Result<SecretKey>> {
    let decrypt = |job: &DecryptJob| job.keystore.decrypt_processed(&job.password);
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("poolvc-keystore-{i}"))
        .build()
    {
        Ok(pool) => pool.install(|| jobs.par_iter().map(decrypt).collect()),
        Err(error) => {
            // No thread could be started: decrypt here, one after the other.
            tracing::warn!(%error, "keystore decryption pool unavailable; decrypting sequentially");
            jobs.iter().map(decrypt).collect()
        }
    }
}

/// Where an imported keystore goes when the validator has no keystore file yet.
pub fn keystore_file_name(pubkey: &PublicKeyBytes) -> String {
    format!("keystore-{pubkey}.json")
}

/// The password file of `pubkey` in `secrets_dir` (the loader's naming).
pub fn password_file(secrets_dir: &Path, pubkey: &PublicKeyBytes) -> PathBuf {
    secrets_dir.join(pubkey.to_string())
}

/// Writes an imported key: first its password file (when `secrets_dir` is given), then the
/// keystore at `keystore_path`, both 0600 and atomically replaced. On failure whatever was
/// written is removed again.
pub fn write_imported(
    keystore_json: &[u8],
    keystore_path: &Path,
    password: Option<(&Path, &[u8])>,
) -> Result<()> {
    if let Some(parent) = keystore_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    if let Some((password_path, password)) = password {
        if let Some(parent) = password_path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        crate::fs::replace_secret_file(password_path, password)?;
        if let Err(error) = crate::fs::replace_secret_file(keystore_path, keystore_json) {
            let _ = std::fs::remove_file(password_path);
            return Err(error);
        }
        return Ok(());
    }
    crate::fs::replace_secret_file(keystore_path, keystore_json)
}

/// Removes a keystore file and, when it sat in a per-validator directory that is now empty,
/// that directory. A file already gone is not an error.
pub fn remove_keystore(path: &Path, keystores_dir: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", path, e)),
    }
    if let Some(parent) = path.parent()
        && parent != keystores_dir
        && parent.starts_with(keystores_dir)
    {
        // Only succeeds when empty; anything left in it stays.
        let _ = std::fs::remove_dir(parent);
    }
    Ok(())
}

/// Removes a password file; a file already gone is not an error.
pub fn remove_password_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::keystore::Kdf;

    #[test]
    fn scans_writes_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let keystores = dir.path().join("keystores");
        let secrets = dir.path().join("secrets");
        let sk = SecretKey::random();
        let pubkey = sk.public_key().to_bytes();
        let keystore = Keystore::encrypt(&sk, "pw", Kdf::pbkdf2(2), "m/12381/3600/7/0/0").unwrap();
        let path = keystores.join(keystore_file_name(&pubkey));
        let password_path = password_file(&secrets, &pubkey);
        write_imported(
            keystore.to_json_string().as_bytes(),
            &path,
            Some((&password_path, b"pw".as_slice())),
        )
        .unwrap();
        for file in [&path, &password_path] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
        std::fs::write(keystores.join("junk.json"), b"{not json").unwrap();
        let found = keystores_by_pubkey(&keystores, None).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[&pubkey][0].derivation_path, "m/12381/3600/7/0/0");
        assert_eq!(
            read_password_file(&password_path).unwrap().as_slice(),
            b"pw"
        );

        let jobs = vec![
            DecryptJob {
                keystore: keystore.clone(),
                password: process_password("pw"),
            },
            DecryptJob {
                keystore,
                password: process_password("wrong"),
            },
        ];
        let results = decrypt_batch(&jobs, 2);
        assert_eq!(results[0].as_ref().unwrap().public_key().to_bytes(), pubkey);
        assert!(matches!(results[1], Err(Error::WrongPassword)));

        remove_keystore(&path, &keystores).unwrap();
        remove_keystore(&path, &keystores).unwrap();
        remove_password_file(&password_path).unwrap();
        assert!(!path.exists() && !password_path.exists());
        assert!(keystores_by_pubkey(&keystores, None).unwrap().is_empty());
    }

    #[test]
    fn failed_keystore_write_removes_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        let pubkey = SecretKey::random().public_key().to_bytes();
        let password_path = password_file(&secrets, &pubkey);
        // The keystore path is an existing directory: renaming the file onto it fails.
        let blocker = dir.path().join("blocker");
        std::fs::create_dir_all(&blocker).unwrap();
        let err =
            write_imported(b"{}", &blocker, Some((&password_path, b"pw".as_slice()))).unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
        assert!(!password_path.exists());
    }
}
