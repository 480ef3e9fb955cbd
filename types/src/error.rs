//! The crate's single error type.
//!
//! Every variant names what was wrong: the config key and its value, the container and fork
//! being decoded, the JSON path of a bad field.

use crate::fork_name::ForkName;

/// Errors from parsing chain configuration, checking presets and decoding containers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key the chain spec cannot do without is absent from the beacon node's config.
    #[error("config key {key} is missing")]
    MissingConfigKey {
        /// The spec key, e.g. `GENESIS_FORK_VERSION`.
        key: String,
    },

    /// A config value could not be parsed.
    #[error("config key {key} has invalid value {value}: {reason}")]
    InvalidConfigValue {
        /// The spec key.
        key: String,
        /// The value as received (JSON text).
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The config values contradict each other (e.g. forks scheduled out of order).
    #[error("inconsistent chain config: {0}")]
    InconsistentConfig(String),

    /// `PRESET_BASE` names a preset this client is not compiled for.
    #[error("unsupported PRESET_BASE {0:?} (supported: mainnet, minimal)")]
    UnsupportedPreset(String),

    /// The beacon node runs a different preset than the one selected at startup.
    #[error("beacon node preset is {node}, but this process runs the {compiled} preset")]
    PresetBaseMismatch {
        /// The preset reported by the node (`PRESET_BASE`).
        node: String,
        /// The preset compiled into the running code path.
        compiled: String,
    },

    /// A preset value reported by the beacon node differs from the compiled constant.
    #[error(
        "preset value {key} differs: beacon node reports {node}, compiled {preset} preset has {compiled}"
    )]
    PresetValueMismatch {
        /// The preset key, e.g. `MAX_BLOB_COMMITMENTS_PER_BLOCK`.
        key: &'static str,
        /// The preset name.
        preset: &'static str,
        /// The value from the node, as received.
        node: String,
        /// Our compiled value.
        compiled: u64,
    },

    /// A fork name that is not one of phase0..fulu.
    #[error("unknown fork name {0:?}")]
    UnknownForkName(String),

    /// An object that does not exist at the given fork was requested.
    #[error("{what} does not exist at fork {fork}")]
    UnsupportedFork {
        /// What was requested.
        what: &'static str,
        /// The fork it was requested for.
        fork: ForkName,
    },

    /// SSZ bytes did not decode.
    #[error("invalid SSZ for {what} at fork {fork}: {reason}")]
    SszDecode {
        /// The container being decoded.
        what: &'static str,
        /// The fork it was decoded as.
        fork: ForkName,
        /// The decoder's complaint.
        reason: String,
    },

    /// JSON did not decode into the expected container.
    #[error("invalid JSON for {what}{fork} at `{path}`: {source}", fork = fork.map(|f| format!(" ({f})")).unwrap_or_default())]
    Json {
        /// The container being decoded.
        what: &'static str,
        /// The fork it was decoded as, when fork-dependent.
        fork: Option<ForkName>,
        /// The JSON path of the offending field (`.` when at the root).
        path: String,
        /// The underlying error (names the bad value).
        source: serde_json::Error,
    },

    /// A fixed-size value has the wrong length.
    #[error("{what} has {len} bytes, expected exactly {expected}")]
    WrongLength {
        /// What value.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The required length.
        expected: usize,
    },

    /// A list is longer than its limit at this fork / preset.
    #[error("{what} has {len} items, more than the limit of {max}")]
    TooManyItems {
        /// What list.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// The crate's result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// Decodes JSON into `T`, reporting the path of the first bad field.
pub(crate) fn from_json_value<T: serde::de::DeserializeOwned>(
    what: &'static str,
    fork: Option<ForkName>,
    value: serde_json::Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Json {
        what,
        fork,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Decodes SSZ into `T`, naming the container and fork on failure.
pub(crate) fn from_ssz_bytes<T: ssz::Decode>(
    what: &'static str,
    fork: ForkName,
    bytes: &[u8],
) -> Result<T> {
    T::from_ssz_bytes(bytes).map_err(|e| Error::SszDecode {
        what,
        fork,
        reason: format!("{e:?}"),
    })
}
