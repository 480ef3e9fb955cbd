//! `poolvc keys interop`: EIP-2335 keystores of the deterministic interop keys that dev chains
//! (Lodestar `dev`, the local devnet) start with. These keys are public knowledge: for
//! development and tests only, never for real funds.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use rand::RngCore;
use signer::derivation::interop_secret_key;
use signer::keystore::{Kdf, Keystore};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// `poolvc keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write keystores of interop (devnet) keys. Dev/test only: these keys are public.
    Interop(InteropArgs),
}

/// Which KDF the keystores use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KdfChoice {
    /// PBKDF2-HMAC-SHA256 (fast to load; fine for public interop keys).
    Pbkdf2,
    /// scrypt.
    Scrypt,
}

/// `poolvc keys interop`.
#[derive(Debug, Args)]
pub struct InteropArgs {
    /// Number of keys.
    #[arg(long)]
    pub count: u64,
    /// Index of the first key.
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// Directory to write the keystores to (created if absent).
    #[arg(long)]
    pub keystores: PathBuf,
    /// Directory to write the per-key password files to (created if absent).
    #[arg(long)]
    pub secrets: PathBuf,
    /// KDF of the keystores.
    #[arg(long, value_enum, default_value = "pbkdf2")]
    pub kdf: KdfChoice,
}

/// PBKDF2 iterations of interop keystores: the keys are public, the cost only slows loading.
const INTEROP_PBKDF2_ROUNDS: u64 = 8_192;
/// scrypt `log2(n)` of interop keystores.
const INTEROP_SCRYPT_LOG_N: u8 = 14;

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, e))
}

/// Writes the keystores and password files; returns the public keys written, in index order.
pub fn interop(args: &InteropArgs) -> Result<Vec<types::PublicKeyBytes>> {
    if args.count == 0 {
        return Err(Error::Config("--count must be at least 1".into()));
    }
    tracing::warn!(
        "interop keys are public knowledge: use these keystores on development and test networks only"
    );
    create_dir(&args.keystores)?;
    create_dir(&args.secrets)?;
    let last = args
        .first
        .checked_add(args.count)
        .ok_or_else(|| Error::Config("--first + --count overflows".into()))?;
    let mut pubkeys = Vec::new();
    for index in args.first..last {
        let secret = interop_secret_key(index)?;
        let mut raw = Zeroizing::new([0u8; 24]);
        rand::thread_rng().fill_bytes(raw.as_mut());
        let password = Zeroizing::new(hex::encode(raw.as_ref()));
        let kdf = match args.kdf {
            KdfChoice::Pbkdf2 => Kdf::pbkdf2(INTEROP_PBKDF2_ROUNDS),
            KdfChoice::Scrypt => Kdf::scrypt(INTEROP_SCRYPT_LOG_N),
        };
        let path = format!("m/12381/3600/{index}/0/0");
        let keystore = Keystore::encrypt(&secret, &password, kdf, &path)?;
        let pubkey = keystore.pubkey()?;
        let keystore_path = args
            .keystores
            .join(format!("keystore-{index:06}-{pubkey}.json"));
        keystore.write_new_file(&keystore_path)?;
        signer::fs::create_secret_file(
            &args.secrets.join(pubkey.to_string()),
            password.as_bytes(),
        )?;
        pubkeys.push(pubkey);
    }
    tracing::info!(
        count = args.count,
        first = args.first,
        keystores = %args.keystores.display(),
        secrets = %args.secrets.display(),
        "interop keystores written"
    );
    Ok(pubkeys)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use signer::loader::{LoadOptions, PasswordSource, Progress, load_keys};

    use super::*;

    #[test]
    fn writes_loadable_keystores_and_private_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let args = InteropArgs {
            count: 3,
            first: 1,
            keystores: dir.path().join("keys"),
            secrets: dir.path().join("secrets"),
            kdf: KdfChoice::Pbkdf2,
        };
        let pubkeys = interop(&args).unwrap();
        assert_eq!(
            pubkeys[0].to_string(),
            "0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b",
            "validator 1's interop key"
        );
        let secret = args.secrets.join(pubkeys[0].to_string());
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut options = LoadOptions::new(
            &args.keystores,
            PasswordSource::PerKeyFiles(args.secrets.clone()),
        );
        options.progress = Progress::Hidden;
        let report = load_keys(&options).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let mut loaded: Vec<_> = report.keys.iter().map(|k| k.pubkey).collect();
        loaded.sort();
        let mut expected = pubkeys.clone();
        expected.sort();
        assert_eq!(loaded, expected);
        // Writing again refuses to overwrite.
        let err = interop(&args).unwrap_err();
        assert!(err.to_string().contains("keystore-000001"), "{err}");
    }
}
