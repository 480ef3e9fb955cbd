//! `poolvc signer`: a Web3Signer-compatible remote signer for validator clients of any make.
//! Flags by concern, and their validation into a [`SignerConfig`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use pool_registry::Registry;
use signer::loader::PasswordSource;
use signer_server::{Coalescing, FeePolicy, HeaderOnlyBlocks, KeySource};
use types::{ChainSpec, ExecutionAddress, Hash256};

use super::run::{KeyArgs, LogArgs, MetricsArgs, SlashingArgs, slashing_db};
use crate::config::{KEY_CACHE_FILE, SlashingDb};
use crate::error::{Error, Result};

/// Web3Signer's default port.
pub const DEFAULT_SIGNER_PORT: u16 = 9000;
/// The default connection cap: a validator client may keep one connection per request in
/// flight (hundreds in the slot's attestation burst).
pub const DEFAULT_SIGNER_MAX_CONNECTIONS: usize = 1024;
/// The genesis validators root of Ethereum mainnet.
pub const MAINNET_GENESIS_VALIDATORS_ROOT: &str =
    "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";

/// `poolvc signer`.
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// Data directory: the SQLite slashing protection database and the key cache live here.
    #[arg(long, env = "POOLVC_DATADIR")]
    pub datadir: PathBuf,
    /// The chain signed for.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Slashing protection.
    #[command(flatten)]
    pub slashing: SlashingArgs,
    /// The pool's fee-recipient policy.
    #[command(flatten)]
    pub pool: SignerPoolArgs,
    /// The HTTP API.
    #[command(flatten)]
    pub http: SignerHttpArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
    /// The Prometheus endpoint.
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// A built-in network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// Ethereum mainnet (its genesis validators root is known).
    Mainnet,
    /// The consensus specs' minimal config (give --genesis-validators-root).
    Minimal,
}

/// Which chain: exactly one of `--network`, `--network-config`, `--beacon-nodes`.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// A built-in chain config.
    #[arg(long, value_enum, conflicts_with_all = ["network_config", "beacon_nodes"])]
    pub network: Option<Network>,
    /// A chain config file: a beacon node's `/eth/v1/config/spec` answer (JSON, with or
    /// without the `data` envelope).
    #[arg(long, conflicts_with = "beacon_nodes")]
    pub network_config: Option<PathBuf>,
    /// Learn the chain config and genesis validators root from a beacon node at start
    /// (waits until one answers); comma-separated, first answering node wins.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub beacon_nodes: Vec<String>,
    /// The chain's genesis validators root (required with --network minimal and
    /// --network-config; with --beacon-nodes it must match the node's).
    #[arg(long)]
    pub genesis_validators_root: Option<Hash256>,
}

/// What to do with blocks whose fee recipient the request does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeaderOnlyArg {
    /// Refuse them (the pool's policy cannot be checked).
    Refuse,
    /// Sign them (rely on the validator client's fee recipient setting).
    Sign,
}

/// Pool flags.
#[derive(Debug, Args)]
pub struct SignerPoolArgs {
    /// The pool registry (TOML): every block must pay its `el_rewards_vault`.
    #[arg(long, env = "POOLVC_REGISTRY")]
    pub registry: Option<PathBuf>,
    /// The pool's vault: every block must pay this fee recipient (must equal the registry's
    /// when both are given).
    #[arg(long)]
    pub pool_vault: Option<ExecutionAddress>,
    /// Blocks sent as headers only (Bellatrix on, as Lighthouse, Teku, Prysm and Lodestar send
    /// them) cannot show their fee recipient: refuse them, or sign them.
    #[arg(long, value_enum, default_value = "refuse")]
    pub header_only_blocks: HeaderOnlyArg,
}

/// Whether concurrent requests are batched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoalescingArg {
    /// Batch concurrent requests (one hash-to-curve per signing root, one slashing-protection
    /// transaction per batch).
    Enabled,
    /// Sign every request on its own.
    Disabled,
}

/// HTTP flags.
#[derive(Debug, Args)]
pub struct SignerHttpArgs {
    /// Listening address (loopback by default: the API signs for whoever reaches it).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub http_address: IpAddr,
    /// Listening port.
    #[arg(long, default_value_t = DEFAULT_SIGNER_PORT)]
    pub http_port: u16,
    /// Open connections at most.
    #[arg(long, default_value_t = DEFAULT_SIGNER_MAX_CONNECTIONS)]
    pub http_max_connections: usize,
    /// Require `Authorization: Bearer <token>` with the token in this file (created 0600 with
    /// a random token when missing; must be 0600). `/upcheck` and `/healthcheck` stay open.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Batch concurrent signing requests.
    #[arg(long, value_enum, default_value = "enabled")]
    pub coalescing: CoalescingArg,
}

/// Where the chain comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainSource {
    /// A known config and root.
    Given {
        /// The config.
        spec: Box<ChainSpec>,
        /// The genesis validators root.
        genesis_validators_root: Hash256,
    },
    /// Beacon nodes, at start (the root, when given, must match theirs).
    BeaconNodes {
        /// The node URLs.
        urls: Vec<String>,
        /// The expected genesis validators root.
        genesis_validators_root: Option<Hash256>,
    },
}

/// The validated configuration of `poolvc signer`.
#[derive(Debug, Clone)]
pub struct SignerConfig {
    /// The data directory.
    pub datadir: PathBuf,
    /// The chain.
    pub chain: ChainSource,
    /// The keys.
    pub keys: KeySource,
    /// Slashing protection.
    pub slashing_db: SlashingDb,
    /// The pool's fee-recipient policy.
    pub fee_policy: Option<FeePolicy>,
    /// Where the API listens.
    pub listen: SocketAddr,
    /// Open connections at most.
    pub max_connections: usize,
    /// The bearer token file.
    pub token_file: Option<PathBuf>,
    /// Whether concurrent requests are batched.
    pub coalescing: Coalescing,
    /// Where metrics are served, when they are.
    pub metrics: Option<SocketAddr>,
}

/// Reads a chain config file (`{"data": {...}}` or the bare map).
fn read_network_config(path: &Path) -> Result<ChainSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Config(format!(
            "--network-config {}: not JSON (expected a beacon node's /eth/v1/config/spec \
             answer): {e}",
            path.display()
        ))
    })?;
    let parsed = match value.get("data") {
        Some(_) => ChainSpec::from_spec_response(&value),
        None => match &value {
            serde_json::Value::Object(map) => ChainSpec::from_config_map(map),
            _ => {
                return Err(Error::Config(format!(
                    "--network-config {}: expected a JSON object of config values",
                    path.display()
                )));
            }
        },
    };
    parsed.map_err(|e| Error::Config(format!("--network-config {}: {e}", path.display())))
}

impl ChainArgs {
    fn to_source(&self) -> Result<ChainSource> {
        let urls: Vec<String> = self
            .beacon_nodes
            .iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        let root = self.genesis_validators_root;
        let needs_root = |what: &str| {
            Error::Config(format!(
                "{what} needs --genesis-validators-root (the chain's genesis validators root)"
            ))
        };
        match (self.network, &self.network_config, urls.is_empty()) {
            (Some(Network::Mainnet), None, true) => {
                let mainnet: Hash256 = MAINNET_GENESIS_VALIDATORS_ROOT
                    .parse()
                    .map_err(|_| Error::Config("the mainnet root constant is malformed".into()))?;
                if let Some(given) = root
                    && given != mainnet
                {
                    return Err(Error::Config(format!(
                        "--genesis-validators-root {given} is not mainnet's ({mainnet})"
                    )));
                }
                Ok(ChainSource::Given {
                    spec: Box::new(ChainSpec::mainnet()),
                    genesis_validators_root: mainnet,
                })
            }
            (Some(Network::Minimal), None, true) => Ok(ChainSource::Given {
                spec: Box::new(ChainSpec::minimal()),
                genesis_validators_root: root.ok_or_else(|| needs_root("--network minimal"))?,
            }),
            (None, Some(path), true) => Ok(ChainSource::Given {
                spec: Box::new(read_network_config(path)?),
                genesis_validators_root: root.ok_or_else(|| needs_root("--network-config"))?,
            }),
            (None, None, false) => Ok(ChainSource::BeaconNodes {
                urls,
                genesis_validators_root: root,
            }),
            _ => Err(Error::Config(
                "give exactly one of --network, --network-config and --beacon-nodes".into(),
            )),
        }
    }
}

impl SignerPoolArgs {
    fn to_policy(&self) -> Result<Option<FeePolicy>> {
        let registry_vault = match &self.registry {
            Some(path) => Some(Registry::load(path)?.pool().el_rewards_vault),
            None => None,
        };
        let vault = match (registry_vault, self.pool_vault) {
            (Some(registry), Some(flag)) if registry != flag => {
                return Err(Error::Config(format!(
                    "--pool-vault {flag} differs from the registry's el_rewards_vault {registry}"
                )));
            }
            (Some(vault), _) | (None, Some(vault)) => Some(vault),
            (None, None) => None,
        };
        Ok(vault.map(|vault| FeePolicy {
            vault,
            header_only: match self.header_only_blocks {
                HeaderOnlyArg::Refuse => HeaderOnlyBlocks::Refuse,
                HeaderOnlyArg::Sign => HeaderOnlyBlocks::Sign,
            },
        }))
    }
}

impl SignerArgs {
    /// Validates the flags into a [`SignerConfig`].
    pub fn to_config(&self) -> Result<SignerConfig> {
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
        if self.http.http_max_connections == 0 {
            return Err(Error::Config(
                "--http-max-connections must be at least 1".into(),
            ));
        }
        Ok(SignerConfig {
            datadir: self.datadir.clone(),
            chain: self.chain.to_source()?,
            keys: KeySource {
                keystores_dir: self.keys.keystores.clone(),
                passwords,
                key_cache,
            },
            slashing_db: slashing_db(self.slashing.slashing_db.as_deref(), &self.datadir),
            fee_policy: self.pool.to_policy()?,
            listen: SocketAddr::new(self.http.http_address, self.http.http_port),
            max_connections: self.http.http_max_connections,
            token_file: self.http.token_file.clone(),
            coalescing: match self.http.coalescing {
                CoalescingArg::Enabled => Coalescing::Enabled,
                CoalescingArg::Disabled => Coalescing::Disabled,
            },
            metrics: self.metrics.address(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::ParseFailure;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        signer: SignerArgs,
    }

    fn parse(args: &[&str]) -> std::result::Result<SignerConfig, ParseFailure> {
        let mut full = vec!["test", "--datadir", "/tmp/d", "--keystores", "/tmp/k"];
        full.extend_from_slice(args);
        let flags = Flags::try_parse_from(full)?;
        Ok(flags.signer.to_config()?)
    }

    #[test]
    fn chain_sources() {
        let mainnet = parse(&["--network", "mainnet", "--secrets", "/tmp/s"]).unwrap();
        let ChainSource::Given {
            spec,
            genesis_validators_root,
        } = &mainnet.chain
        else {
            panic!("given")
        };
        assert_eq!(spec.config_name.as_deref(), Some("mainnet"));
        assert_eq!(
            genesis_validators_root.to_string(),
            MAINNET_GENESIS_VALIDATORS_ROOT
        );
        assert_eq!(mainnet.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(mainnet.coalescing, Coalescing::Enabled);
        assert!(mainnet.fee_policy.is_none());
        assert_eq!(
            mainnet.slashing_db,
            SlashingDb::Sqlite(PathBuf::from("/tmp/d/slashing_protection.sqlite"))
        );
        let error = parse(&["--network", "minimal", "--secrets", "/tmp/s"]).unwrap_err();
        assert!(error.contains("--genesis-validators-root"), "{error}");
        let nodes = parse(&[
            "--beacon-nodes",
            "http://127.0.0.1:5052",
            "--secrets",
            "/tmp/s",
        ])
        .unwrap();
        assert!(matches!(nodes.chain, ChainSource::BeaconNodes { .. }));
        let error = parse(&["--secrets", "/tmp/s"]).unwrap_err();
        assert!(error.contains("exactly one of --network"), "{error}");
        let error = parse(&[
            "--network",
            "mainnet",
            "--beacon-nodes",
            "http://x",
            "--secrets",
            "/tmp/s",
        ])
        .unwrap_err();
        assert!(error.contains("cannot be used with"), "{error}");
        let wrong = format!("0x{}", "11".repeat(32));
        let error = parse(&[
            "--network",
            "mainnet",
            "--genesis-validators-root",
            &wrong,
            "--secrets",
            "/tmp/s",
        ])
        .unwrap_err();
        assert!(error.contains("not mainnet's"), "{error}");
    }

    #[test]
    fn network_config_files() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ChainSpec::minimal();
        let file = dir.path().join("spec.json");
        std::fs::write(
            &file,
            serde_json::json!({"data": spec.raw_config()}).to_string(),
        )
        .unwrap();
        let root = format!("0x{}", "22".repeat(32));
        let config = parse(&[
            "--network-config",
            file.to_str().unwrap(),
            "--genesis-validators-root",
            &root,
            "--password-file",
            "/tmp/p",
        ])
        .unwrap();
        let ChainSource::Given { spec: parsed, .. } = config.chain else {
            panic!("given")
        };
        assert_eq!(*parsed, spec);
        std::fs::write(&file, "[1]").unwrap();
        let error = parse(&[
            "--network-config",
            file.to_str().unwrap(),
            "--genesis-validators-root",
            &root,
            "--password-file",
            "/tmp/p",
        ])
        .unwrap_err();
        assert!(error.contains("expected a JSON object"), "{error}");
    }

    #[test]
    fn fee_policy_and_options() {
        let vault = "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
        let config = parse(&[
            "--network",
            "mainnet",
            "--secrets",
            "/tmp/s",
            "--pool-vault",
            vault,
            "--header-only-blocks",
            "sign",
            "--coalescing",
            "disabled",
            "--http-port",
            "9100",
        ])
        .unwrap();
        let policy = config.fee_policy.unwrap();
        assert_eq!(policy.vault.to_string().to_lowercase(), vault);
        assert_eq!(policy.header_only, HeaderOnlyBlocks::Sign);
        assert_eq!(config.coalescing, Coalescing::Disabled);
        assert_eq!(config.listen.port(), 9100);
        let refuse = parse(&[
            "--network",
            "mainnet",
            "--secrets",
            "/tmp/s",
            "--pool-vault",
            vault,
        ])
        .unwrap();
        assert_eq!(
            refuse.fee_policy.unwrap().header_only,
            HeaderOnlyBlocks::Refuse,
            "refused by default"
        );
    }
}
