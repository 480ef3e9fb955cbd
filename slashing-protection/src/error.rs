//! The crate's error type. A refusal to sign is not an error: see [`crate::NotSafe`].

use std::path::PathBuf;

use types::{Hash256, PublicKeyBytes};

/// Everything that can go wrong besides a refusal. When any of these is returned from a check,
/// nothing was recorded and nothing may be signed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("SQLite slashing protection database error while {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: &'static str,
        /// The driver error.
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL failed.
    #[error("PostgreSQL slashing protection database error while {context}: {source}")]
    Postgres {
        /// What the store was doing.
        context: &'static str,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// No PostgreSQL connection could be obtained from the pool.
    #[error("PostgreSQL connection pool error: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The PostgreSQL connection pool could not be built.
    #[error("cannot build the PostgreSQL connection pool: {0}")]
    PoolBuild(#[from] deadpool_postgres::BuildError),
    /// The PostgreSQL configuration is unusable.
    #[error("invalid PostgreSQL configuration: {0}")]
    InvalidPostgresConfig(String),
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database belongs to another chain.
    #[error(
        "slashing protection database is for genesis validators root {stored}, \
         but this client runs on {provided}: refusing to use it"
    )]
    GenesisValidatorsRootMismatch {
        /// The root stored at creation.
        stored: Hash256,
        /// The root the client asked for.
        provided: Hash256,
    },
    /// An interchange file is for another chain; nothing was imported.
    #[error(
        "interchange is for genesis validators root {found}, but this database is for \
         {expected}: nothing imported"
    )]
    InterchangeGenesisValidatorsRootMismatch {
        /// The database's root.
        expected: Hash256,
        /// The interchange's root.
        found: Hash256,
    },
    /// An interchange declares a format version other than 5.
    #[error("unsupported interchange_format_version {found:?}: only \"5\" is supported")]
    UnsupportedInterchangeVersion {
        /// The declared version text.
        found: String,
    },
    /// An interchange file is larger than the configured limit.
    #[error("interchange {path} is larger than the {limit}-byte limit")]
    InterchangeTooLarge {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// An interchange is not valid JSON of the expected shape.
    #[error("malformed interchange JSON: {0}")]
    MalformedInterchange(#[source] serde_json::Error),
    /// A field of an interchange holds an invalid value.
    #[error("invalid interchange: {location}: {reason}")]
    InvalidInterchange {
        /// Where, e.g. `data[3].signed_attestations[7].target_epoch`.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An exported pubkey is not in the database.
    #[error("validator {0} is not registered in the slashing protection database")]
    UnknownValidator(PublicKeyBytes),
    /// The database schema is newer than this build understands.
    #[error(
        "slashing protection database schema version {found} is newer than the newest this \
         build supports ({supported}): upgrade poolvc"
    )]
    UnsupportedSchemaVersion {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A stored value is not what the schema allows (manual edits or corruption).
    #[error("corrupt slashing protection data: {0}")]
    Corrupt(String),
    /// A destination file already exists.
    #[error("refusing to overwrite existing file {0}")]
    FileExists(PathBuf),
    /// A blocking database task panicked or was cancelled.
    #[error("slashing protection database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Attaches a context to driver errors: `.ctx("loading validators")?`.
pub(crate) trait Context<T> {
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
