//! The crate's error type (everything except beacon node calls, which have their own
//! [`crate::beacon_node::Error`] wrapped here).
//!
//! A refusal to sign (slashing protection, pool safety, doppelganger) is not always an error of
//! the process: the duty services log and count refusals and go on. The variants below name what
//! was refused and why, so one log line tells an operator what happened.

use std::path::PathBuf;

use types::{Epoch, ExecutionAddress, PublicKeyBytes, Slot};

/// Errors of the validator client library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A beacon node call failed.
    #[error(transparent)]
    BeaconNode(#[from] crate::beacon_node::Error),

    /// The signer failed (unknown key, blocking task failure).
    #[error("signer: {0}")]
    Signer(#[from] signer::Error),

    /// The signer answered with fewer signatures than asked for.
    #[error("signer returned an incomplete answer: {0}")]
    SignerOutput(&'static str),

    /// The slashing protection database failed: nothing was recorded, nothing may be signed.
    #[error("slashing protection: {0}")]
    SlashingProtection(#[from] slashing_protection::Error),

    /// Slashing protection refused to sign.
    #[error("slashing protection refused to sign for {pubkey}: {reason}")]
    SlashingRefused {
        /// The validator.
        pubkey: PublicKeyBytes,
        /// Why.
        reason: slashing_protection::NotSafe,
    },

    /// A block pays a fee recipient the pool's policy does not allow: it is never signed.
    #[error(
        "pool safety: block at slot {slot} for {pubkey} pays fee recipient {found}, \
         expected {expected}; refusing to sign"
    )]
    FeeRecipientMismatch {
        /// The proposal slot.
        slot: Slot,
        /// The proposer.
        pubkey: PublicKeyBytes,
        /// The block's fee recipient.
        found: ExecutionAddress,
        /// What the policy allows (one or two addresses).
        expected: String,
    },

    /// The block returned by the beacon node is not the one the duty asks for.
    #[error("block for {pubkey} does not match the duty: {detail}; refusing to sign")]
    BlockMismatch {
        /// The proposer.
        pubkey: PublicKeyBytes,
        /// What differs (slot, proposer index, fork).
        detail: String,
    },

    /// The key is held back by doppelganger protection: nothing may be signed with it yet.
    #[error("{pubkey} is held by doppelganger protection until epoch {until}")]
    DoppelgangerHeld {
        /// The validator.
        pubkey: PublicKeyBytes,
        /// The first epoch it may sign, as currently planned.
        until: Epoch,
    },

    /// The key's withdrawal credentials pay someone else than the pool (enforced policy).
    #[error("{pubkey} is not run: its withdrawal credentials {found} are not the pool's")]
    CredentialsMismatch {
        /// The key.
        pubkey: PublicKeyBytes,
        /// Its on-chain withdrawal credentials.
        found: types::Hash256,
    },

    /// The key is not loaded.
    #[error("validator {0} is not loaded")]
    UnknownValidator(PublicKeyBytes),

    /// Invalid configuration (flag, file content).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// An interchange file could not be imported; the database is unchanged.
    #[error("cannot import {path}: {source}")]
    Import {
        /// The interchange file.
        path: PathBuf,
        /// Why.
        #[source]
        source: slashing_protection::Error,
    },

    /// A file's JSON content is invalid.
    #[error("invalid JSON in {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// A blocking job panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] crate::executor::TaskFailed),

    /// The pool registry, ledger store or report pipeline refused.
    #[error("pool: {0}")]
    Pool(#[from] pool_registry::Error),

    /// Pool accounting failed.
    #[error(transparent)]
    Accounting(#[from] crate::accounting::AccountingError),

    /// A pool reports API answered wrongly or not at all.
    #[error("{url}: {detail}")]
    PoolApi {
        /// The request URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
