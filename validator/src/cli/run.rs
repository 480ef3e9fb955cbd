//! `poolvc run`: flags by concern, and their validation into a [`Config`].

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use signer::loader::PasswordSource;
use types::ExecutionAddress;

use crate::cli::keymanager::KeymanagerArgs;
use crate::cli::remote_signer::RemoteSignerArgs;
use crate::config::{
    BuilderMode, Config, DEFAULT_DOPPELGANGER_EPOCHS, DEFAULT_GAS_LIMIT, DutyConfig, FeePolicy,
    KEY_CACHE_FILE, KeySource, LogFormat, SLASHING_DB_FILE, SlashingDb, all_publications,
};
use crate::error::{Error, Result};
use crate::store::graffiti_from_str;

use super::pool::PoolArgs;

/// `poolvc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Data directory: validator definitions, the SQLite slashing protection database and the
    /// key cache live here.
    #[arg(long, env = "POOLVC_DATADIR")]
    pub datadir: PathBuf,
    /// Beacon nodes.
    #[command(flatten)]
    pub beacon: BeaconNodeArgs,
    /// Keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Slashing protection.
    #[command(flatten)]
    pub slashing: SlashingArgs,
    /// Duty defaults and the pool's fee policy.
    #[command(flatten)]
    pub duties: DutyArgs,
    /// Doppelganger protection.
    #[command(flatten)]
    pub doppelganger: DoppelgangerArgs,
    /// The pool: registry, accounting and reports.
    #[command(flatten)]
    pub pool: PoolArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
    /// The Prometheus endpoint.
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// The Keymanager API.
    #[command(flatten)]
    pub keymanager: KeymanagerArgs,
    /// Remote signing.
    #[command(flatten)]
    pub remote_signer: RemoteSignerArgs,
}

/// Metrics flags.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at `http://ADDRESS:PORT/metrics`.
    #[arg(long)]
    pub metrics: bool,
    /// Listening address of the metrics server (loopback by default; metrics name beacon nodes
    /// and operators, keep them off public interfaces).
    #[arg(long, default_value = "127.0.0.1", requires = "metrics")]
    pub metrics_address: IpAddr,
    /// Listening port of the metrics server.
    #[arg(long, default_value_t = 5064, requires = "metrics")]
    pub metrics_port: u16,
}

impl MetricsArgs {
    /// Where to serve metrics, when enabled.
    pub fn address(&self) -> Option<SocketAddr> {
        self.metrics
            .then(|| SocketAddr::new(self.metrics_address, self.metrics_port))
    }
}

/// Which publications go to every beacon node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Broadcast {
    /// Only to the best node that accepts them.
    None,
    /// Attestations, aggregates, blocks, sync messages and subscriptions to every usable node.
    Publications,
}

/// Beacon node flags.
#[derive(Debug, Args)]
pub struct BeaconNodeArgs {
    /// Beacon node URLs in order of preference (comma-separated).
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    pub beacon_nodes: Vec<String>,
    /// Send publications to every usable beacon node.
    #[arg(long, value_enum, default_value = "none")]
    pub broadcast: Broadcast,
}

/// Key flags.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Directory of EIP-2335 keystores (flat `*.json`, or one directory per validator).
    #[arg(long)]
    pub keystores: PathBuf,
    /// Directory of per-key password files named `0x<pubkey>`.
    #[arg(
        long,
        conflicts_with = "password_file",
        required_unless_present = "password_file"
    )]
    pub secrets: Option<PathBuf>,
    /// One password file for every keystore.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Key cache file (one KDF at restart instead of one per keystore); default in the data
    /// directory.
    #[arg(long, conflicts_with = "no_key_cache")]
    pub key_cache: Option<PathBuf>,
    /// Do not use a key cache.
    #[arg(long)]
    pub no_key_cache: bool,
}

/// Slashing protection flags.
#[derive(Debug, Args)]
pub struct SlashingArgs {
    /// Slashing protection database: an SQLite file path (default: in the data directory) or a
    /// `postgres://` URL shared by several instances.
    #[arg(long, env = "POOLVC_SLASHING_DB")]
    pub slashing_db: Option<String>,
}

/// Duty flags.
#[derive(Debug, Args)]
pub struct DutyArgs {
    /// The pool's vault: every block must pay this fee recipient.
    #[arg(long)]
    pub pool_vault: Option<ExecutionAddress>,
    /// Allow a key to pay its own configured fee recipient instead of the vault.
    #[arg(long, requires = "pool_vault")]
    pub allow_other_fee_recipients: bool,
    /// Default fee recipient of keys without their own (the vault when not given).
    #[arg(long)]
    pub fee_recipient: Option<ExecutionAddress>,
    /// Default graffiti (UTF-8, at most 32 bytes).
    #[arg(long)]
    pub graffiti: Option<String>,
    /// Default gas limit of builder registrations.
    #[arg(long, default_value_t = DEFAULT_GAS_LIMIT)]
    pub gas_limit: u64,
    /// Register with builders (MEV-boost) through the beacon node and accept blinded blocks.
    #[arg(long)]
    pub builder: bool,
    /// `builder_boost_factor` for block production (percent; 0 = local payloads only).
    #[arg(long, requires = "builder")]
    pub builder_boost_factor: Option<u64>,
}

/// Doppelganger flags.
#[derive(Debug, Args)]
pub struct DoppelgangerArgs {
    /// Epochs to watch for another instance of the keys before signing (0 disables).
    #[arg(long, default_value_t = DEFAULT_DOPPELGANGER_EPOCHS)]
    pub doppelganger_epochs: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging flags.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// Log level or filter (`info`, `debug`, `validator=debug,info`, ...).
    #[arg(long, default_value = "info", env = "POOLVC_LOG")]
    pub log_level: String,
}

impl LogArgs {
    /// The format.
    pub fn format(&self) -> LogFormat {
        match self.log_format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

impl DutyArgs {
    /// The duty configuration; fails when no fee recipient would be known, or when the default
    /// recipient is one the policy would refuse. `registry_policy` is the pool registry's
    /// policy, which `--pool-vault` may repeat but not contradict.
    pub fn to_config(
        &self,
        doppelganger_epochs: u64,
        registry_policy: Option<FeePolicy>,
    ) -> Result<DutyConfig> {
        let fee_policy = match (registry_policy, self.pool_vault) {
            (Some(policy), Some(vault)) if vault != policy.vault => {
                return Err(Error::Config(format!(
                    "--pool-vault {vault} differs from the registry's el_rewards_vault {}",
                    policy.vault
                )));
            }
            (Some(policy), _) => Some(policy),
            (None, vault) => vault.map(|vault| FeePolicy {
                vault,
                allow_other: self.allow_other_fee_recipients,
            }),
        };
        match (&fee_policy, self.fee_recipient) {
            (None, None) => {
                return Err(Error::Config(
                    "no fee recipient: give --pool-vault (pooled keys) or --fee-recipient".into(),
                ));
            }
            (Some(policy), Some(recipient)) if !policy.permits(recipient, Some(recipient)) => {
                return Err(Error::Config(format!(
                    "--fee-recipient {recipient} differs from --pool-vault {}: blocks paying it \
                     would be refused; add --allow-other-fee-recipients or drop --fee-recipient",
                    policy.vault
                )));
            }
            _ => {}
        }
        let default_graffiti = match &self.graffiti {
            Some(text) => Some(graffiti_from_str(text).ok_or_else(|| {
                Error::Config(format!(
                    "--graffiti is {} bytes, at most 32 are allowed",
                    text.len()
                ))
            })?),
            None => None,
        };
        Ok(DutyConfig {
            default_fee_recipient: self.fee_recipient,
            default_gas_limit: self.gas_limit,
            default_graffiti,
            fee_policy,
            builder: if self.builder {
                BuilderMode::Enabled
            } else {
                BuilderMode::Disabled
            },
            builder_boost_factor: self.builder_boost_factor,
            doppelganger_epochs,
        })
    }
}

/// The slashing database named by `value` (a `postgres://` URL or a file path), or the default
/// SQLite file in `datadir`.
pub fn slashing_db(value: Option<&str>, datadir: &std::path::Path) -> SlashingDb {
    match value {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            SlashingDb::Postgres(url.to_owned())
        }
        Some(path) => SlashingDb::Sqlite(PathBuf::from(path)),
        None => SlashingDb::Sqlite(datadir.join(SLASHING_DB_FILE)),
    }
}

impl RunArgs {
    /// Validates the flags into a [`Config`].
    pub fn to_config(&self) -> Result<Config> {
        let beacon_nodes: Vec<String> = self
            .beacon
            .beacon_nodes
            .iter()
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty())
            .collect();
        if beacon_nodes.is_empty() {
            return Err(Error::Config("--beacon-nodes lists no URL".into()));
        }
        let passwords = match (&self.keys.secrets, &self.keys.password_file) {
            (Some(dir), None) => PasswordSource::PerKeyFiles(dir.clone()),
            (None, Some(file)) => PasswordSource::SharedFile(file.clone()),
            _ => {
                return Err(Error::Config(
                    "give exactly one of --secrets and --password-file".into(),
                ));
            }
        };
        let key_cache = if self.keys.no_key_cache {
            None
        } else {
            Some(
                self.keys
                    .key_cache
                    .clone()
                    .unwrap_or_else(|| self.datadir.join(KEY_CACHE_FILE)),
            )
        };
        let slashing_db = slashing_db(self.slashing.slashing_db.as_deref(), &self.datadir);
        let pool = self.pool.to_settings(&self.datadir, &slashing_db)?;
        let duties = self.duties.to_config(
            self.doppelganger.doppelganger_epochs,
            pool.as_ref().map(|(_, policy)| *policy),
        )?;
        Ok(Config {
            datadir: self.datadir.clone(),
            beacon_nodes,
            broadcast: match self.beacon.broadcast {
                Broadcast::None => HashSet::new(),
                Broadcast::Publications => all_publications(),
            },
            keys: KeySource {
                keystores_dir: self.keys.keystores.clone(),
                passwords,
                key_cache,
            },
            slashing_db,
            duties,
            pool: pool.map(|(settings, _)| settings),
            keymanager: self.keymanager.to_config(&self.datadir)?,
            remote_signer: self.remote_signer.to_config()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> std::result::Result<Config, crate::cli::ParseFailure> {
        let mut full = vec!["poolvc", "run"];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full)?;
        let Command::Run(run) = cli.command else {
            return Err("not run".into());
        };
        Ok(run.to_config()?)
    }

    const VAULT: &str = "0x1111111111111111111111111111111111111111";
    const OTHER: &str = "0x2222222222222222222222222222222222222222";

    #[test]
    fn flags_become_a_config() {
        let config = parse(&[
            "--datadir",
            "/d",
            "--beacon-nodes",
            "http://a:1,http://b:2",
            "--keystores",
            "/k",
            "--secrets",
            "/s",
            "--pool-vault",
            VAULT,
            "--graffiti",
            "pool",
            "--slashing-db",
            "postgres://u:p@db/x",
            "--broadcast",
            "publications",
        ])
        .unwrap();
        assert_eq!(config.beacon_nodes, vec!["http://a:1", "http://b:2"]);
        assert_eq!(
            config.slashing_db,
            SlashingDb::Postgres("postgres://u:p@db/x".into())
        );
        assert_eq!(
            config.keys.key_cache,
            Some(PathBuf::from("/d/key_cache.json"))
        );
        assert_eq!(config.duties.default_gas_limit, 60_000_000);
        assert_eq!(config.duties.doppelganger_epochs, 2);
        assert_eq!(config.duties.boost_factor(), Some(0));
        assert_eq!(config.broadcast.len(), 5);
        let config = parse(&[
            "--datadir",
            "/d",
            "--beacon-nodes",
            "http://a:1",
            "--keystores",
            "/k",
            "--password-file",
            "/p",
            "--fee-recipient",
            OTHER,
            "--no-key-cache",
        ])
        .unwrap();
        assert_eq!(
            config.slashing_db,
            SlashingDb::Sqlite("/d/slashing_protection.sqlite".into())
        );
        assert_eq!(config.keys.key_cache, None);
        assert!(config.duties.fee_policy.is_none());
    }

    #[test]
    fn metrics_flags() {
        let base = [
            "poolvc",
            "run",
            "--datadir",
            "/d",
            "--beacon-nodes",
            "http://a:1",
            "--keystores",
            "/k",
            "--secrets",
            "/s",
            "--pool-vault",
            VAULT,
        ];
        let metrics = |extra: &[&str]| -> std::result::Result<_, crate::cli::ParseFailure> {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            match Cli::try_parse_from(args)?.command {
                Command::Run(run) => Ok(run.metrics.address()),
                _ => Err("not run".into()),
            }
        };
        assert_eq!(metrics(&[]).unwrap(), None);
        assert_eq!(
            metrics(&["--metrics"]).unwrap(),
            Some("127.0.0.1:5064".parse().unwrap())
        );
        assert_eq!(
            metrics(&[
                "--metrics",
                "--metrics-address",
                "0.0.0.0",
                "--metrics-port",
                "9100"
            ])
            .unwrap(),
            Some("0.0.0.0:9100".parse().unwrap())
        );
        assert!(
            metrics(&["--metrics-port", "9100"])
                .unwrap_err()
                .contains("--metrics")
        );
        assert!(
            metrics(&["--metrics", "--metrics-address", "localhost"])
                .unwrap_err()
                .contains("metrics-address")
        );
    }

    #[test]
    fn bad_combinations_are_refused_with_reasons() {
        let base = [
            "--datadir",
            "/d",
            "--beacon-nodes",
            "http://a:1",
            "--keystores",
            "/k",
        ];
        let with = |extra: &[&str]| {
            let mut args = base.to_vec();
            args.extend_from_slice(extra);
            parse(&args).unwrap_err()
        };
        assert!(with(&["--pool-vault", VAULT]).contains("--secrets"));
        assert!(with(&["--secrets", "/s"]).contains("no fee recipient"));
        assert!(
            with(&[
                "--secrets",
                "/s",
                "--pool-vault",
                VAULT,
                "--fee-recipient",
                OTHER
            ])
            .contains("--allow-other-fee-recipients")
        );
        assert!(
            with(&[
                "--secrets",
                "/s",
                "--pool-vault",
                VAULT,
                "--graffiti",
                &"x".repeat(33)
            ])
            .contains("32")
        );
        assert!(with(&["--secrets", "/s", "--pool-vault", "0xzz"]).contains("pool-vault"));
        assert!(
            with(&[
                "--secrets",
                "/s",
                "--fee-recipient",
                OTHER,
                "--builder-boost-factor",
                "5"
            ])
            .contains("--builder")
        );
    }
}
