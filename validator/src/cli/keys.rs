//! `poolvc keys interop`: EIP-2335 keystores of the deterministic interop keys that dev chains
//! (Lodestar `dev`, the local devnet) start with. These keys are public knowledge: for
//! development and tests only, never for real funds.
//!
//! `poolvc keys oracle`: a new random oracle key (it signs the pool's final reports; it is not
//! a validator key) as an EIP-2335 keystore and a random password file, both created 0600 and
//! never overwritten.

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
    /// Create a new random oracle key (signs the pool's final reports; not a validator key):
    /// a keystore and its password file, both 0600; prints the public key.
    Oracle(OracleArgs),
}

/// `poolvc keys oracle`.
#[derive(Debug, Args)]
pub struct OracleArgs {
    /// Where to write the EIP-2335 keystore (must not exist).
    #[arg(long)]
    pub keystore: PathBuf,
    /// Where to write the keystore's random password (must not exist).
    #[arg(long)]
    pub password_file: PathBuf,
    /// KDF of the keystore: scrypt (default), or pbkdf2, which decrypts faster.
    #[arg(long, value_enum, default_value = "scrypt")]
    pub kdf: KdfChoice,
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

/// EIP-2335's recommended strengths, for a key that guards real reports.
const ORACLE_PBKDF2_ROUNDS: u64 = 262_144;
/// scrypt `log2(n)` of oracle keystores (n = 262144).
const ORACLE_SCRYPT_LOG_N: u8 = 18;

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

/// Creates a new random oracle key: the keystore and a random password, both 0600; returns the
/// public key. Refuses to overwrite either file (checked before anything is written).
pub fn oracle(args: &OracleArgs) -> Result<types::PublicKeyBytes> {
    for (flag, path) in [
        ("--keystore", &args.keystore),
        ("--password-file", &args.password_file),
    ] {
        if path.exists() {
            return Err(Error::Config(format!(
                "{flag} {}: the file exists; refusing to overwrite it",
                path.display()
            )));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dir(parent)?;
        }
    }
    let secret = signer::bls::SecretKey::random();
    let mut raw = Zeroizing::new([0u8; 32]);
    rand::thread_rng().fill_bytes(raw.as_mut());
    let password = Zeroizing::new(hex::encode(raw.as_ref()));
    let kdf = match args.kdf {
        KdfChoice::Pbkdf2 => Kdf::pbkdf2(ORACLE_PBKDF2_ROUNDS),
        KdfChoice::Scrypt => Kdf::scrypt(ORACLE_SCRYPT_LOG_N),
    };
    let keystore = Keystore::encrypt(&secret, &password, kdf, "")?;
    let pubkey = keystore.pubkey()?;
    // The password first: a keystore without its password would be useless.
    signer::fs::create_secret_file(&args.password_file, password.as_bytes())?;
    keystore.write_new_file(&args.keystore)?;
    tracing::info!(
        oracle = %pubkey,
        keystore = %args.keystore.display(),
        password_file = %args.password_file.display(),
        "oracle key written"
    );
    Ok(pubkey)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use signer::loader::{LoadOptions, PasswordSource, Progress, load_keys};

    use super::*;

    #[test]
    fn oracle_key_is_random_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let args = OracleArgs {
            keystore: dir.path().join("oracle/keystore.json"),
            password_file: dir.path().join("oracle/password.txt"),
            kdf: KdfChoice::Pbkdf2,
        };
        let pubkey = oracle(&args).unwrap();
        for path in [&args.keystore, &args.password_file] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
        let password = std::fs::read_to_string(&args.password_file).unwrap();
        assert_eq!(password.len(), 64, "32 random bytes in hex");
        let keystore = Keystore::from_file(&args.keystore).unwrap();
        let secret = keystore.decrypt(&password).unwrap();
        assert_eq!(secret.public_key().to_bytes(), pubkey);
        assert!(matches!(
            keystore.decrypt("wrong"),
            Err(signer::Error::WrongPassword)
        ));

        // Neither file is overwritten, and nothing is written when one of them exists.
        let before = std::fs::read(&args.keystore).unwrap();
        let err = oracle(&args).unwrap_err().to_string();
        assert!(
            err.contains("--keystore") && err.contains("exists"),
            "{err}"
        );
        assert_eq!(std::fs::read(&args.keystore).unwrap(), before);
        let other = OracleArgs {
            keystore: dir.path().join("oracle/other.json"),
            password_file: args.password_file.clone(),
            kdf: KdfChoice::Pbkdf2,
        };
        let err = oracle(&other).unwrap_err().to_string();
        assert!(err.contains("--password-file"), "{err}");
        assert!(!other.keystore.exists());

        // A second key is another key.
        let second = OracleArgs {
            keystore: dir.path().join("second.json"),
            password_file: dir.path().join("second.txt"),
            kdf: KdfChoice::Pbkdf2,
        };
        assert_ne!(oracle(&second).unwrap(), pubkey);
    }

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
