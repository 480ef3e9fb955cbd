//! The crate's error type: what can stop the signer from starting or reloading. What a single
//! request gets when it is not signed is a [`crate::Refusal`].

use std::path::PathBuf;

/// Errors of setting up and running the signer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Slashing protection failed.
    #[error("slashing protection: {0}")]
    SlashingProtection(#[from] slashing_protection::Error),
    /// Keys could not be read.
    #[error("keys: {0}")]
    Keys(#[from] signer::Error),
    /// A blocking task failed.
    #[error("a signer task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Reload was asked of a signer whose keys do not come from keystores.
    #[error("this signer's keys do not come from a keystores directory: nothing to reload")]
    NoKeySource,
    /// A file could not be read or written.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bearer token file is unusable.
    #[error("token file {path}: {reason}")]
    Token {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
