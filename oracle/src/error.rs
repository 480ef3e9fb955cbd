//! The crate's error type: every variant names what was wrong (the frame, the member, the
//! file, the value).

use std::path::PathBuf;

use types::Hash256;

/// Everything that can go wrong in the oracle committee.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed, or refused a write (e.g. a second root for a voted frame).
    #[error(transparent)]
    Store(#[from] pool_registry::Error),
    /// A membership from the registry or the store is unusable.
    #[error("membership of frame {frame}: {message}")]
    Membership {
        /// The frame.
        frame: u64,
        /// What is wrong.
        message: String,
    },
    /// This node is not a member of the frame's committee.
    #[error("frame {frame}: this node's oracle key {pubkey} is not a committee member")]
    NotAMember {
        /// The frame.
        frame: u64,
        /// The node's oracle public key.
        pubkey: types::PublicKeyBytes,
    },
    /// A certificate does not verify.
    #[error("certificate of frame {frame} for root {root}: {reason}")]
    InvalidCertificate {
        /// The certificate's frame.
        frame: u64,
        /// The certificate's report root.
        root: Hash256,
        /// Which check failed.
        reason: String,
    },
    /// Signing the vote failed.
    #[error("signing the vote of frame {frame}: {message}")]
    Signing {
        /// The frame.
        frame: u64,
        /// The cause.
        message: String,
    },
    /// The node identity file is unusable.
    #[error("node identity {}: {message}", path.display())]
    Identity {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A network address or peer id is invalid.
    #[error("network configuration: {0}")]
    Config(String),
    /// The libp2p transport or listener failed.
    #[error("network: {0}")]
    Network(String),
    /// The committee service has stopped.
    #[error("the committee service has stopped")]
    Stopped,
    /// A blocking task panicked or was cancelled.
    #[error("task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
