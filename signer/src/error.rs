//! The crate's single error type. Every variant names what was wrong (field, value, file) so an
//! operator can act on the message alone; no variant ever carries secret material.

use std::path::PathBuf;

use types::PublicKeyBytes;

/// Everything that can go wrong in key handling and signing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret key that is not 32 bytes, zero, or not below the curve order.
    #[error("invalid BLS secret key: {0}")]
    InvalidSecretKey(&'static str),
    /// A public key that does not decode to a point of G1.
    #[error("invalid BLS public key: {0}")]
    InvalidPublicKey(String),
    /// A public key that decodes to the point at infinity (rejected by KeyValidate).
    #[error("invalid BLS public key: public key is the point at infinity")]
    PublicKeyIsInfinity,
    /// A signature that does not decode to a point of G2.
    #[error("invalid BLS signature: {0}")]
    InvalidSignature(String),
    /// Aggregation of an empty list.
    #[error("cannot aggregate zero {0}")]
    EmptyAggregate(&'static str),

    /// A keystore or cache that is not valid JSON for its format.
    #[error("malformed {what} JSON: {source}")]
    Json {
        /// What was being parsed ("keystore", "key cache").
        what: &'static str,
        /// The parser's error (line and column included).
        #[source]
        source: serde_json::Error,
    },
    /// A hex field that does not decode.
    #[error("field {field} is not valid hex: {reason}")]
    InvalidHex {
        /// The JSON field.
        field: &'static str,
        /// What the decoder reported.
        reason: String,
    },
    /// A keystore `version` other than 4.
    #[error("unsupported keystore version {0} (only EIP-2335 version 4 is supported)")]
    UnsupportedKeystoreVersion(u32),
    /// A module `function` this implementation does not support.
    #[error("unsupported {module} function {function:?} (supported: {supported})")]
    UnsupportedFunction {
        /// "kdf", "checksum" or "cipher".
        module: &'static str,
        /// The function named in the file.
        function: String,
        /// The functions that are supported.
        supported: &'static str,
    },
    /// A module parameter outside the accepted range; refused before any KDF work.
    #[error("keystore {module} parameter {param} = {value} refused: {reason}")]
    InvalidParameter {
        /// "kdf", "checksum" or "cipher".
        module: &'static str,
        /// The parameter name.
        param: &'static str,
        /// The offending value as found.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The checksum does not match: the password is wrong (or the file was altered).
    #[error("wrong password: keystore checksum does not match the derived key")]
    WrongPassword,
    /// The keystore's `pubkey` field does not belong to the key it decrypts to.
    #[error("keystore pubkey {in_file} does not match the decrypted key's pubkey {derived}")]
    PubkeyMismatch {
        /// The pubkey written in the file.
        in_file: String,
        /// The pubkey of the decrypted secret.
        derived: PublicKeyBytes,
    },
    /// An EIP-2334 path that does not parse.
    #[error("invalid derivation path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A seed shorter than the 32 bytes EIP-2333 requires.
    #[error("EIP-2333 seed must be at least 32 bytes, got {0}")]
    SeedTooShort(usize),
    /// A BIP-39 mnemonic that does not parse (unknown word, bad checksum, bad length).
    #[error("invalid BIP-39 mnemonic: {0}")]
    InvalidMnemonic(#[from] bip39::Error),

    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("read", "create", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No password could be found for a keystore.
    #[error("no password for validator {pubkey}: {path} does not exist")]
    MissingPassword {
        /// The keystore's pubkey.
        pubkey: String,
        /// Where the password file was looked for.
        path: PathBuf,
    },
    /// Two keystore files hold the same validator key.
    #[error("duplicate keystore for validator {pubkey}: already loaded from {first}")]
    DuplicateKey {
        /// The duplicated pubkey.
        pubkey: PublicKeyBytes,
        /// The file that was loaded first.
        first: PathBuf,
    },
    /// The key cache cannot be used; the caller falls back to the keystores.
    #[error("key cache unusable: {0}")]
    CacheUnusable(String),

    /// A signing request named a key this signer does not hold.
    #[error("unknown validator pubkey {0}: no such key loaded in this signer")]
    UnknownPubkey(PublicKeyBytes),
    /// The blocking signing task panicked or was cancelled.
    #[error("signing task failed: {0}")]
    SigningTask(#[from] tokio::task::JoinError),
    /// A signer produced no result for a key it was asked to sign with (a bug).
    #[error("the signer returned no result for a requested key")]
    SignerIncomplete,

    /// A remote signer URL that cannot be used.
    #[error("invalid remote signer URL {url:?}: {reason}")]
    InvalidRemoteUrl {
        /// The URL (credentials removed).
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// A remote signer request failed: connection, timeout, HTTP status, malformed answer.
    #[error("remote signer {url}: {reason}")]
    Remote {
        /// The remote signer.
        url: String,
        /// What happened.
        reason: String,
    },
    /// A remote signer answered a signature that does not verify for the key and the root.
    #[error("remote signer {url} answered an invalid signature for {pubkey}; it was not used")]
    RemoteInvalidSignature {
        /// The remote signer.
        url: String,
        /// The key it signed for.
        pubkey: PublicKeyBytes,
    },
}

/// The crate's result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
