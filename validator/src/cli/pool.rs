//! `poolvc run` flags of the pool side: the registry, the accounting store, the oracle key,
//! the reports API, and what happens to keys with foreign withdrawal credentials.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::Args;
use pool_registry::Registry;

use crate::config::{
    CredentialsPolicy, FeePolicy, LEDGER_DB_FILE, LedgerDb, OracleKeySource, PoolSettings,
    SlashingDb,
};
use crate::error::{Error, Result};

/// The default port of the reports API and dashboard.
pub const DEFAULT_REPORTS_PORT: u16 = 5065;

/// Pool flags.
#[derive(Debug, Args)]
pub struct PoolArgs {
    /// The pool registry (TOML): vault, fees, frames, operators and their keys. Enables
    /// accounting and reports; reloaded when the file changes or on SIGHUP.
    #[arg(long, env = "POOLVC_REGISTRY")]
    pub registry: Option<PathBuf>,
    /// Accounting store: an SQLite file or a `postgres://` URL (default: the slashing
    /// protection's PostgreSQL database when it is one, else a file in the data directory).
    #[arg(long, requires = "registry")]
    pub ledger_db: Option<String>,
    /// EIP-2335 keystore of the oracle key that signs final reports.
    #[arg(long, requires_all = ["registry", "oracle_password_file"])]
    pub oracle_keystore: Option<PathBuf>,
    /// File holding the oracle keystore's password.
    #[arg(long, requires = "oracle_keystore")]
    pub oracle_password_file: Option<PathBuf>,
    /// The token's share supply (decimal), overriding the registry's `initial_total_shares`.
    #[arg(long, requires = "registry")]
    pub share_supply: Option<String>,
    /// The frame accounting starts at on an empty store (default: the current frame).
    #[arg(long, requires = "registry")]
    pub accounting_start_frame: Option<u64>,
    /// Serve the read-only reports API and auditors' dashboard.
    #[arg(long, requires = "registry")]
    pub reports: bool,
    /// Address of the reports API (loopback by default).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), requires = "reports")]
    pub reports_address: IpAddr,
    /// Port of the reports API.
    #[arg(long, default_value_t = DEFAULT_REPORTS_PORT, requires = "reports")]
    pub reports_port: u16,
    /// Run keys whose withdrawal credentials are not the pool's (reported, not refused).
    #[arg(long, requires = "registry")]
    pub allow_credential_mismatch: bool,
}

impl PoolArgs {
    /// The pool settings and the fee policy the registry sets (`None` without a registry).
    pub fn to_settings(
        &self,
        datadir: &Path,
        slashing_db: &SlashingDb,
    ) -> Result<Option<(PoolSettings, FeePolicy)>> {
        let Some(registry_path) = &self.registry else {
            return Ok(None);
        };
        // Validated now so a bad registry stops the start with its file/line/field error.
        let registry = Registry::load(registry_path)?;
        let ledger_db = match (&self.ledger_db, slashing_db) {
            (Some(url), _)
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                LedgerDb::Postgres(url.clone())
            }
            (Some(path), _) => LedgerDb::Sqlite(PathBuf::from(path)),
            (None, SlashingDb::Postgres(url)) => LedgerDb::Postgres(url.clone()),
            (None, SlashingDb::Sqlite(_)) => LedgerDb::Sqlite(datadir.join(LEDGER_DB_FILE)),
        };
        let share_supply = self
            .share_supply
            .as_deref()
            .map(|text| {
                text.parse::<types::U256>().map_err(|e| {
                    Error::Config(format!(
                        "--share-supply {text:?} is not a decimal integer: {e}"
                    ))
                })
            })
            .transpose()?;
        let oracle = match (&self.oracle_keystore, &self.oracle_password_file) {
            (Some(keystore), Some(password_file)) => Some(OracleKeySource {
                keystore: keystore.clone(),
                password_file: password_file.clone(),
            }),
            _ => None,
        };
        let pool = registry.pool();
        let policy = FeePolicy {
            vault: pool.el_rewards_vault,
            allow_other: pool.allow_other_fee_recipients,
        };
        Ok(Some((
            PoolSettings {
                registry: registry_path.clone(),
                ledger_db,
                oracle,
                share_supply,
                start_frame: self.accounting_start_frame,
                reports_listen: self
                    .reports
                    .then_some(SocketAddr::new(self.reports_address, self.reports_port)),
                credentials: if self.allow_credential_mismatch {
                    CredentialsPolicy::ReportOnly
                } else {
                    CredentialsPolicy::Enforce
                },
            },
            policy,
        )))
    }
}
