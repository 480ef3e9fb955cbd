//! The validated runtime configuration, built from the command line (`crate::cli`).
//!
//! Invariants established by the builders in `crate::cli::run` (and so held by every
//! [`Config`]): at least one beacon node; a fee recipient is always known for every key (the
//! pool vault, the default `--fee-recipient`, or both); a default fee recipient other than the
//! vault is only accepted when the policy allows other recipients, so the client never prepares
//! a recipient whose blocks it would then refuse to sign.

use std::collections::HashSet;
use std::path::PathBuf;

use signer::loader::PasswordSource;
use types::{ExecutionAddress, Graffiti};

use crate::beacon_node::BroadcastTopic;

/// The pool's fee-recipient policy: blocks must pay the vault.
///
/// Filled from the pool registry (its `el_rewards_vault` and `allow_other_fee_recipients`), or
/// from `--pool-vault` / `--allow-other-fee-recipients` without a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// The pool's vault (execution-layer address receiving priority fees and MEV).
    pub vault: ExecutionAddress,
    /// Whether a key may pay its own configured recipient instead of the vault.
    pub allow_other: bool,
}

impl FeePolicy {
    /// Whether a block paying `found` may be signed for a key whose configured recipient is
    /// `configured`.
    pub fn permits(&self, found: ExecutionAddress, configured: Option<ExecutionAddress>) -> bool {
        found == self.vault || (self.allow_other && configured == Some(found))
    }

    /// The recipient to prepare for a key whose configured recipient is `configured`.
    pub fn recipient_for(&self, configured: Option<ExecutionAddress>) -> ExecutionAddress {
        match configured {
            Some(address) if self.allow_other => address,
            _ => self.vault,
        }
    }
}

/// Where slashing protection lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashingDb {
    /// An SQLite file (one instance per key set).
    Sqlite(PathBuf),
    /// A PostgreSQL database shared by several instances (`postgres://…`).
    Postgres(String),
}

impl std::fmt::Display for SlashingDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlashingDb::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            // The URL may hold a password: show the host part only.
            SlashingDb::Postgres(url) => {
                let shown = url.rsplit('@').next().unwrap_or("postgres");
                write!(f, "postgres://…@{shown}")
            }
        }
    }
}

/// Whether blocks may come from external builders (MEV-boost) via the beacon node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderMode {
    /// Local payloads only (`builder_boost_factor=0`), no builder registrations.
    Disabled,
    /// Builder registrations each epoch; the node may return blinded blocks.
    Enabled,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Defaults and policies of the duties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyConfig {
    /// Default fee recipient of keys without their own (`--fee-recipient`).
    pub default_fee_recipient: Option<ExecutionAddress>,
    /// Default gas limit of builder registrations (`--gas-limit`).
    pub default_gas_limit: u64,
    /// Default graffiti (`--graffiti`).
    pub default_graffiti: Option<Graffiti>,
    /// The pool's fee-recipient policy.
    pub fee_policy: Option<FeePolicy>,
    /// Builder use.
    pub builder: BuilderMode,
    /// `builder_boost_factor` passed to block production (`None`: the node's default).
    pub builder_boost_factor: Option<u64>,
    /// Epochs of doppelganger detection before signing (0 disables it).
    pub doppelganger_epochs: u64,
}

impl Default for DutyConfig {
    fn default() -> Self {
        Self {
            default_fee_recipient: None,
            default_gas_limit: DEFAULT_GAS_LIMIT,
            default_graffiti: None,
            fee_policy: None,
            builder: BuilderMode::Disabled,
            builder_boost_factor: None,
            doppelganger_epochs: DEFAULT_DOPPELGANGER_EPOCHS,
        }
    }
}

impl DutyConfig {
    /// The effective `builder_boost_factor`: 0 (local payloads only) without a builder.
    pub fn boost_factor(&self) -> Option<u64> {
        match self.builder {
            BuilderMode::Disabled => Some(0),
            BuilderMode::Enabled => self.builder_boost_factor,
        }
    }
}

/// The default gas limit of builder registrations.
pub const DEFAULT_GAS_LIMIT: u64 = 60_000_000;
/// The default number of doppelganger detection epochs.
pub const DEFAULT_DOPPELGANGER_EPOCHS: u64 = 2;
/// The validator definitions file in the data directory.
pub const DEFINITIONS_FILE: &str = "validator_definitions.json";
/// The default SQLite slashing protection file in the data directory.
pub const SLASHING_DB_FILE: &str = "slashing_protection.sqlite";
/// The default key cache file in the data directory.
pub const KEY_CACHE_FILE: &str = "key_cache.json";

/// Where the keys come from.
#[derive(Debug, Clone)]
pub struct KeySource {
    /// The keystores directory.
    pub keystores_dir: PathBuf,
    /// Their passwords.
    pub passwords: PasswordSource,
    /// The key cache file (`None` disables it).
    pub key_cache: Option<PathBuf>,
}

/// Where the accounting ledger lives (the same store family as slashing protection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerDb {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`), schema `poolvc_accounting`.
    Postgres(String),
}

impl std::fmt::Display for LedgerDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerDb::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            LedgerDb::Postgres(url) => {
                let shown = url.rsplit('@').next().unwrap_or("postgres");
                write!(f, "postgres://…@{shown}")
            }
        }
    }
}

/// What happens to a key whose on-chain withdrawal credentials are not the pool's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsPolicy {
    /// The key is not run (no duties, nothing signed) until its credentials are the pool's;
    /// BLS (`0x00`) credentials are allowed, since they can still be pointed at the pool.
    Enforce,
    /// The mismatch is reported (log, metric, reports) and the key runs anyway.
    ReportOnly,
}

/// The oracle key that signs the pool's final reports (an EIP-2335 keystore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleKeySource {
    /// The keystore file.
    pub keystore: PathBuf,
    /// The file holding its password.
    pub password_file: PathBuf,
}

/// The pool side of the client: registry, accounting, reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// The registry file (hot reloaded).
    pub registry: PathBuf,
    /// The accounting store.
    pub ledger_db: LedgerDb,
    /// The oracle key (reports stay unsigned without one).
    pub oracle: Option<OracleKeySource>,
    /// The token's share supply, overriding the registry's initial supply.
    pub share_supply: Option<types::U256>,
    /// The frame accounting starts at on an empty store (default: the current frame).
    pub start_frame: Option<u64>,
    /// Where the reports API and dashboard listen (`None`: not served).
    pub reports_listen: Option<std::net::SocketAddr>,
    /// Keys with foreign withdrawal credentials.
    pub credentials: CredentialsPolicy,
}

/// The default SQLite accounting file in the data directory.
pub const LEDGER_DB_FILE: &str = "accounting.sqlite";

/// The Keymanager API's settings (`--keymanager`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymanagerConfig {
    /// Where it listens (loopback unless explicitly allowed otherwise).
    pub listen: std::net::SocketAddr,
    /// The bearer token file (created 0600 with a random token when absent).
    pub token_file: PathBuf,
    /// Request bodies past this size are refused (413).
    pub max_body_bytes: usize,
    /// Threads decrypting imported keystores at once (each scrypt KDF may use up to 1 GiB).
    pub decrypt_threads: usize,
}

/// The default Keymanager API port.
pub const DEFAULT_KEYMANAGER_PORT: u16 = 5062;
/// The default bearer token file in the data directory.
pub const API_TOKEN_FILE: &str = "api-token.txt";
/// The default request body limit of the Keymanager API (64 MiB: thousands of keystores).
pub const DEFAULT_KEYMANAGER_MAX_BODY_BYTES: usize = 64 << 20;

/// The default number of keystore decryption threads: all cores but one (so duties keep a
/// core), at most 4 (scrypt memory), at least 1.
pub fn default_decrypt_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .clamp(1, 4)
}

/// Remote signing (`--remote-signer-url` and its settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteSignerSettings {
    /// A Web3Signer-compatible remote signer whose keys (`GET /api/v1/eth2/publicKeys`) are
    /// loaded at start.
    pub url: Option<String>,
    /// Timeout and concurrency of every remote signer (also those of remote keys imported
    /// through the Keymanager API).
    pub config: signer::remote::RemoteSignerConfig,
}

/// Everything `poolvc run` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (definitions, SQLite slashing protection, key cache).
    pub datadir: PathBuf,
    /// Beacon node URLs, in order of preference.
    pub beacon_nodes: Vec<String>,
    /// Publications sent to every usable node.
    pub broadcast: HashSet<BroadcastTopic>,
    /// The keys.
    pub keys: KeySource,
    /// Slashing protection.
    pub slashing_db: SlashingDb,
    /// Duty defaults and policies.
    pub duties: DutyConfig,
    /// The pool (registry, accounting, reports), when a registry is given.
    pub pool: Option<PoolSettings>,
    /// The Keymanager API (`None`: not served).
    pub keymanager: Option<KeymanagerConfig>,
    /// Remote signing.
    pub remote_signer: RemoteSignerSettings,
}

impl Config {
    /// The validator definitions file.
    pub fn definitions_path(&self) -> PathBuf {
        self.datadir.join(DEFINITIONS_FILE)
    }
}

/// Every publication topic (`--broadcast publications`).
pub fn all_publications() -> HashSet<BroadcastTopic> {
    [
        BroadcastTopic::Attestations,
        BroadcastTopic::Aggregates,
        BroadcastTopic::Blocks,
        BroadcastTopic::SyncCommittee,
        BroadcastTopic::Subscriptions,
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_policy_permits_vault_and_optionally_own_recipient() {
        let vault = ExecutionAddress::repeat_byte(1);
        let own = ExecutionAddress::repeat_byte(2);
        let strict = FeePolicy {
            vault,
            allow_other: false,
        };
        assert!(strict.permits(vault, Some(own)));
        assert!(!strict.permits(own, Some(own)));
        assert_eq!(strict.recipient_for(Some(own)), vault);
        let lenient = FeePolicy {
            vault,
            allow_other: true,
        };
        assert!(lenient.permits(own, Some(own)));
        assert!(!lenient.permits(ExecutionAddress::repeat_byte(3), Some(own)));
        assert_eq!(lenient.recipient_for(Some(own)), own);
        assert_eq!(lenient.recipient_for(None), vault);
    }

    #[test]
    fn postgres_url_password_is_not_shown() {
        let shown = SlashingDb::Postgres("postgres://u:secret@db:5432/x".into()).to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("db:5432/x"), "{shown}");
    }
}
