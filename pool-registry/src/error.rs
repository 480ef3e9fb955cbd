//! The crate's error type. Every variant names what was wrong: the file, line and field of a
//! registry problem, the epoch and validator of a ledger problem, the frame of a report problem.

use std::path::PathBuf;

use types::{Epoch, Hash256};

/// Everything that can go wrong in the pool registry, ledger, reports and stores.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry file (or a keys file it names) could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A registry value is invalid; `line` is 1-based.
    #[error("{}:{line}: {field}: {message}", file.display())]
    Registry {
        /// The file holding the bad value (the registry or a keys file).
        file: PathBuf,
        /// The 1-based line of the value.
        line: usize,
        /// The field path, e.g. `operators[2].keys[0]`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A registry reload would change something that cannot change at runtime.
    #[error("registry reload refused: {0}")]
    ReloadRefused(String),
    /// Inputs given to the ledger are inconsistent or incomplete.
    #[error("epoch {epoch}: invalid input: {message}")]
    Input {
        /// The epoch being accounted.
        epoch: Epoch,
        /// What is wrong.
        message: String,
    },
    /// A ledger epoch was already stored with a different result: history is never rewritten.
    #[error(
        "epoch {epoch}: ledger already holds a different result (stored digest {stored}, new digest {new}); refusing to rewrite history"
    )]
    LedgerConflict {
        /// The epoch.
        epoch: Epoch,
        /// Digest of the stored result.
        stored: Hash256,
        /// Digest of the new result.
        new: Hash256,
    },
    /// A stored item (report, snapshot, block value) differs from a new one for the same key.
    #[error("{what} already stored with different content; refusing to overwrite")]
    Conflict {
        /// Which item, e.g. `report of frame 7`.
        what: String,
    },
    /// The node already voted another report root for this frame: an oracle signs one root
    /// per frame, never a second.
    #[error(
        "frame {frame}: this node already voted for report root {recorded}; refusing to vote for {requested}"
    )]
    OracleVoteConflict {
        /// The frame.
        frame: u64,
        /// The root of the recorded vote.
        recorded: Hash256,
        /// The root asked for.
        requested: Hash256,
    },
    /// The per-validator records of an epoch were pruned (its digest and summary remain).
    #[error("epoch {0}: per-validator records were pruned")]
    Pruned(Epoch),
    /// A frame report cannot be built.
    #[error("frame {frame}: {message}")]
    Report {
        /// The frame index.
        frame: u64,
        /// What is missing or wrong.
        message: String,
    },
    /// Arithmetic left the representable range (a sign of corrupt input).
    #[error("arithmetic overflow computing {0}")]
    Overflow(&'static str),
    /// A Merkle proof or tree request is invalid.
    #[error("merkle: {0}")]
    Merkle(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// JSON (de)serialisation failed.
    #[error("json ({what}): {source}")]
    Json {
        /// What was being encoded or decoded.
        what: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// SQLite failed.
    #[error("sqlite ({context}): {source}")]
    Sqlite {
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: rusqlite::Error,
    },
    /// PostgreSQL failed.
    #[error("postgres ({context}): {source}")]
    Postgres {
        /// What was being done.
        context: &'static str,
        /// The cause.
        source: tokio_postgres::Error,
    },
    /// The PostgreSQL connection pool failed or is misconfigured.
    #[error("postgres pool: {0}")]
    PostgresPool(String),
    /// A blocking store task panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Signing a report failed.
    #[error("report signing failed: {0}")]
    Signing(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Attaches context to backend errors.
pub(crate) trait Context<T> {
    /// Maps the error, naming what was being done.
    fn ctx(self, context: &'static str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, rusqlite::Error> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Sqlite { context, source })
    }
}

impl<T> Context<T> for std::result::Result<T, tokio_postgres::Error> {
    fn ctx(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Postgres { context, source })
    }
}

pub(crate) fn input_error(epoch: Epoch, message: impl Into<String>) -> Error {
    Error::Input {
        epoch,
        message: message.into(),
    }
}
