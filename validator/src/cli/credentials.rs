//! `poolvc credentials set-withdrawal-address`: point validators' BLS (`0x00`) withdrawal
//! credentials at the pool's execution withdrawal address (see [`crate::credentials`]).
//!
//! Secrets (mnemonic, passphrase, keystore passwords) are read into zeroized buffers and never
//! logged; only public keys and signatures are printed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};
use pool_registry::Registry;
use signer::loader::PasswordSource;
use types::api::GenesisData;
use types::{
    ChainSpec, ExecutionAddress, ForkName, MainnetEthSpec, MinimalEthSpec, Preset,
    withdrawal_address,
};
use zeroize::Zeroizing;

use crate::beacon_node::{
    BeaconNodeClient, BeaconNodeFallback, Error as NodeError, FallbackConfig, NodeFailure, Timeouts,
};
use crate::clock::SlotClock;
use crate::credentials::{
    Chain, MAX_BATCH, Report, Request, Selection, Submission, WithdrawalKeys,
    set_withdrawal_address as run_changes,
};
use crate::error::{Error, Result};

/// `poolvc credentials ...`.
#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Change validators' BLS (0x00) withdrawal credentials to an execution address (once and
    /// for all: a change cannot be undone).
    SetWithdrawalAddress(Box<SetWithdrawalAddressArgs>),
}

/// Which validators (`all`, or indices and inclusive ranges: `0,4,10-20`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatorsArg {
    /// The pool's keys (`--registry`), else the validators of the withdrawal key source.
    All,
    /// These indices.
    Indices(Vec<u64>),
}

/// The most indices one list may expand to.
const MAX_LISTED_INDICES: u64 = 1 << 22;

/// A list of indices that does not parse (clap prints it after the flag's name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidIndices(String);

/// Parses `1,4,10-20` into indices (ranges inclusive).
fn parse_index_list<T>(text: &str) -> std::result::Result<Vec<T>, InvalidIndices>
where
    T: FromStr + Into<u64> + TryFrom<u64>,
{
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let number = |s: &str| {
            s.trim()
                .parse::<T>()
                .map_err(|_| InvalidIndices(format!("{s:?} is not an index")))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (number(a)?.into(), number(b)?.into());
                if a > b {
                    return Err(InvalidIndices(format!("range {part:?} is empty")));
                }
                if b - a >= MAX_LISTED_INDICES {
                    return Err(InvalidIndices(format!("range {part:?} is too long")));
                }
                for i in a..=b {
                    out.push(
                        T::try_from(i)
                            .map_err(|_| InvalidIndices(format!("{i} is out of range")))?,
                    );
                }
            }
            None => out.push(number(part)?),
        }
    }
    if out.is_empty() {
        return Err(InvalidIndices("no index given".into()));
    }
    Ok(out)
}

impl FromStr for ValidatorsArg {
    type Err = InvalidIndices;
    fn from_str(text: &str) -> std::result::Result<Self, InvalidIndices> {
        if text.trim().eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        parse_index_list::<u64>(text)
            .map(Self::Indices)
            .map_err(|e| {
                InvalidIndices(format!(
                    "expected `all` or validator indices like 0,4,10-20: {e}"
                ))
            })
    }
}

/// Mnemonic key indices (`0,3,7-9`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIndices(pub Vec<u32>);

impl FromStr for KeyIndices {
    type Err = InvalidIndices;
    fn from_str(text: &str) -> std::result::Result<Self, InvalidIndices> {
        parse_index_list::<u32>(text).map(Self)
    }
}

/// `poolvc credentials set-withdrawal-address`.
#[derive(Debug, Args)]
pub struct SetWithdrawalAddressArgs {
    /// Beacon node URLs (comma-separated): the best usable one is used, the others on failure.
    #[arg(long = "beacon-node", alias = "beacon-nodes", value_delimiter = ',', required = true, num_args = 1..)]
    pub beacon_nodes: Vec<String>,
    /// The execution address to withdraw to. Defaults to the pool's (from `--registry`), and
    /// must equal it when both are given.
    #[arg(long)]
    pub to: Option<ExecutionAddress>,
    /// The pool registry: its withdrawal credentials give the address, its keys are the
    /// validators `--validators all` means.
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// `all`, or validator indices and ranges (`0,4,10-20`).
    #[arg(long, default_value = "all")]
    pub validators: ValidatorsArg,
    /// Where the withdrawal keys come from.
    #[command(flatten)]
    pub keys: WithdrawalKeyArgs,
    /// Print the signed changes as a JSON array instead of submitting them.
    #[arg(long)]
    pub dry_run: bool,
    /// Changes per request (at most 512).
    #[arg(long, default_value_t = MAX_BATCH as u64, value_parser = clap::value_parser!(u64).range(1..=MAX_BATCH as u64))]
    pub batch_size: u64,
}

/// The withdrawal key source: exactly one of a mnemonic, keystores, or interop keys.
#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("withdrawal_key_source")
        .required(true)
        .args(["mnemonic_file", "withdrawal_keystores", "interop_count"])
))]
pub struct WithdrawalKeyArgs {
    /// A file holding the BIP-39 mnemonic; withdrawal keys are `m/12381/3600/i/0`.
    #[arg(long)]
    pub mnemonic_file: Option<PathBuf>,
    /// A file holding the mnemonic's passphrase (none by default).
    #[arg(long, requires = "mnemonic_file")]
    pub passphrase_file: Option<PathBuf>,
    /// Mnemonic key indices `i` (`0,3,7-9`).
    #[arg(long, requires = "mnemonic_file", conflicts_with_all = ["start_index", "count"])]
    pub key_indices: Option<KeyIndices>,
    /// First mnemonic key index (with `--count`).
    #[arg(long, requires = "count")]
    pub start_index: Option<u32>,
    /// Number of mnemonic keys from `--start-index` (default 0).
    #[arg(long, requires = "mnemonic_file")]
    pub count: Option<u32>,
    /// A directory of EIP-2335 keystores of the withdrawal keys.
    #[arg(long)]
    pub withdrawal_keystores: Option<PathBuf>,
    /// Directory of per-key password files named `0x<withdrawal pubkey>`.
    #[arg(
        long,
        requires = "withdrawal_keystores",
        conflicts_with = "password_file"
    )]
    pub secrets: Option<PathBuf>,
    /// One password file for every withdrawal keystore.
    #[arg(long, requires = "withdrawal_keystores")]
    pub password_file: Option<PathBuf>,
    /// Development chains: interop keys `0..N`, each its validator's withdrawal key.
    #[arg(long)]
    pub interop_count: Option<u64>,
}

/// Reads a secret file into a zeroized string, without its trailing newline.
fn read_secret(path: &Path, what: &'static str) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(what, path, e))?);
    Ok(Zeroizing::new(
        text.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

impl WithdrawalKeyArgs {
    /// Loads the keys (KDFs and derivations on the blocking pool).
    async fn load(&self) -> Result<WithdrawalKeys> {
        if let Some(count) = self.interop_count {
            tracing::warn!("interop keys are public knowledge: development and test networks only");
            return blocking(move || WithdrawalKeys::interop(count)).await;
        }
        if let Some(file) = &self.mnemonic_file {
            let indices = match (&self.key_indices, self.count) {
                (Some(KeyIndices(indices)), _) => indices.clone(),
                (None, Some(count)) => {
                    let start = self.start_index.unwrap_or(0);
                    let end = start
                        .checked_add(count)
                        .ok_or_else(|| Error::Config("--start-index + --count overflows".into()))?;
                    (start..end).collect()
                }
                (None, None) => {
                    return Err(Error::Config(
                        "with --mnemonic-file, give --key-indices or --count".into(),
                    ));
                }
            };
            let mnemonic = read_secret(file, "read mnemonic file")?;
            let passphrase = match &self.passphrase_file {
                Some(path) => read_secret(path, "read passphrase file")?,
                None => Zeroizing::new(String::new()),
            };
            return blocking(move || {
                WithdrawalKeys::from_mnemonic(&mnemonic, &passphrase, &indices)
            })
            .await;
        }
        if let Some(dir) = &self.withdrawal_keystores {
            let passwords = match (&self.secrets, &self.password_file) {
                (Some(dir), None) => PasswordSource::PerKeyFiles(dir.clone()),
                (None, Some(file)) => PasswordSource::SharedFile(file.clone()),
                _ => {
                    return Err(Error::Config(
                        "with --withdrawal-keystores, give exactly one of --secrets and --password-file"
                            .into(),
                    ));
                }
            };
            let dir = dir.clone();
            return blocking(move || WithdrawalKeys::from_keystores(&dir, passwords)).await;
        }
        Err(Error::Config(
            "give one of --mnemonic-file, --withdrawal-keystores and --interop-count".into(),
        ))
    }
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job).await.map_err(|e| {
        Error::Task(crate::executor::TaskFailed {
            task: "withdrawal-key-loading".into(),
            reason: e.to_string(),
        })
    })?
}

/// The address to use: `--to`, else the registry pool's; both must agree.
fn target_address(
    to: Option<ExecutionAddress>,
    registry: Option<&Registry>,
) -> Result<ExecutionAddress> {
    let pool = registry
        .map(|r| {
            withdrawal_address(&r.pool().withdrawal_credentials).ok_or_else(|| {
                Error::Config(format!(
                    "the pool's withdrawal credentials in {} are not an execution address",
                    r.source().display()
                ))
            })
        })
        .transpose()?;
    match (to, pool) {
        (Some(to), Some(pool)) if to != pool => Err(Error::Config(format!(
            "--to {to} differs from the pool's withdrawal address {pool} in the registry"
        ))),
        (Some(to), _) => Ok(to),
        (None, Some(pool)) => Ok(pool),
        (None, None) => Err(Error::Config(
            "no withdrawal address: give --to or --registry".into(),
        )),
    }
}

/// Genesis and config from the first node that answers (no waiting: this is a one-shot
/// command), then a fallback over every node checked against that chain.
async fn connect(urls: &[String]) -> Result<(BeaconNodeFallback, GenesisData, ChainSpec)> {
    // Generous: a one-shot command may wait on a slow node rather than give up mid-way.
    let timeouts = Timeouts::uniform(Duration::from_secs(30));
    let clients = urls
        .iter()
        .map(|url| BeaconNodeClient::new(url.trim(), timeouts))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut failures = Vec::new();
    let mut reference = None;
    for client in &clients {
        let answer = async {
            Ok::<_, NodeError>((client.get_genesis().await?, client.get_config_spec().await?))
        }
        .await;
        match answer {
            Ok(found) => {
                reference = Some(found);
                break;
            }
            Err(error) => failures.push(NodeFailure {
                node: client.url().to_owned(),
                error,
            }),
        }
    }
    let Some((genesis, spec)) = reference else {
        return Err(NodeError::AllNodesFailed(failures).into());
    };
    let mut config = FallbackConfig::new::<MainnetEthSpec>();
    if spec.preset_base == Preset::Minimal {
        config = FallbackConfig::new::<MinimalEthSpec>();
    }
    config.expected_genesis = Some(genesis);
    config.expected_spec = Some(spec.clone());
    let fallback = BeaconNodeFallback::new(clients, config);
    fallback.update_all_health().await;
    if fallback.best().is_none() {
        return Err(Error::Config(
            "no beacon node is usable (other chain, config or preset)".into(),
        ));
    }
    Ok((fallback, genesis, spec))
}

/// Runs `poolvc credentials set-withdrawal-address`.
pub async fn set_withdrawal_address(args: &SetWithdrawalAddressArgs) -> Result<Report> {
    let registry = args
        .registry
        .as_ref()
        .map(|path| Registry::load(path).map_err(|e| Error::Config(e.to_string())))
        .transpose()?;
    let to = target_address(args.to, registry.as_ref())?;
    let keys = args.keys.load().await?;
    let selection = match (&args.validators, &registry) {
        (ValidatorsArg::Indices(indices), _) => Selection::Indices(indices.clone()),
        (ValidatorsArg::All, Some(registry)) => {
            let mut pool_keys: Vec<_> = registry.keys().copied().collect();
            pool_keys.sort();
            Selection::Keys(pool_keys)
        }
        (ValidatorsArg::All, None) if !keys.signing_pubkeys().is_empty() => {
            let mut seen = HashSet::new();
            Selection::Keys(
                keys.signing_pubkeys()
                    .iter()
                    .copied()
                    .filter(|k| seen.insert(*k))
                    .collect(),
            )
        }
        (ValidatorsArg::All, None) => {
            return Err(Error::Config(
                "withdrawal keystores do not name their validators: give --validators INDICES \
                 or --registry (whose pool keys are then changed)"
                    .into(),
            ));
        }
    };
    let (fallback, genesis, spec) = connect(&args.beacon_nodes).await?;
    let clock = SlotClock::from_spec(genesis.genesis_time, &spec);
    let epoch = clock.now_epoch().unwrap_or_default();
    if spec.fork_name_at_epoch(epoch) < ForkName::Capella {
        return Err(Error::Config(format!(
            "the chain is at epoch {epoch} ({}): credential changes are only accepted from Capella on",
            spec.fork_name_at_epoch(epoch)
        )));
    }
    tracing::info!(
        withdrawal_keys = keys.len(),
        %to,
        "changing BLS withdrawal credentials"
    );
    let chain = Chain {
        spec: Arc::new(spec),
        genesis_validators_root: genesis.genesis_validators_root,
    };
    let request = Request {
        to,
        selection,
        keys: &keys,
        submission: if args.dry_run {
            Submission::DryRun
        } else {
            Submission::Publish
        },
        batch_size: usize::try_from(args.batch_size).unwrap_or(MAX_BATCH),
    };
    run_changes(&fallback, &chain, &request).await
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(
        args: &[&str],
    ) -> std::result::Result<SetWithdrawalAddressArgs, crate::cli::ParseFailure> {
        let mut full = vec!["poolvc", "credentials", "set-withdrawal-address"];
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full)?;
        let Command::Credentials(CredentialsCommand::SetWithdrawalAddress(args)) = cli.command
        else {
            return Err("not set-withdrawal-address".into());
        };
        Ok(*args)
    }

    const TO: &str = "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

    #[test]
    fn flags_parse_and_conflict_with_reasons() {
        let args = parse(&[
            "--beacon-node",
            "http://a:1",
            "--to",
            TO,
            "--interop-count",
            "4",
            "--validators",
            "0,2-3",
        ])
        .unwrap();
        assert_eq!(args.validators, ValidatorsArg::Indices(vec![0, 2, 3]));
        assert_eq!(args.batch_size, 512);
        let err = parse(&["--beacon-node", "http://a:1", "--to", TO]).unwrap_err();
        assert!(err.contains("--mnemonic-file"), "{err}");
        let err = parse(&[
            "--beacon-node",
            "http://a:1",
            "--interop-count",
            "4",
            "--mnemonic-file",
            "/m",
        ])
        .unwrap_err();
        assert!(err.contains("cannot be used with"), "{err}");
        let err = parse(&[
            "--beacon-node",
            "http://a:1",
            "--interop-count",
            "4",
            "--validators",
            "5-2",
        ])
        .unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = parse(&[
            "--beacon-node",
            "http://a:1",
            "--interop-count",
            "4",
            "--batch-size",
            "513",
        ])
        .unwrap_err();
        assert!(err.contains("513"), "{err}");
        let err = parse(&[
            "--beacon-node",
            "http://a:1",
            "--interop-count",
            "4",
            "--to",
            "0x12",
        ])
        .unwrap_err();
        assert!(err.contains("--to"), "{err}");
    }

    #[test]
    fn address_comes_from_to_or_the_registry_and_they_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.toml");
        let text = format!(
            "[pool]\nname = \"p\"\nwithdrawal_credentials = \"0x010000000000000000000000{}\"\n\
             el_rewards_vault = \"0x{}\"\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n\
             [pool.shares]\ninitial_total_shares = \"1000\"\n",
            "5a".repeat(20),
            "11".repeat(20)
        );
        std::fs::write(&path, text).unwrap();
        let registry = Registry::load(&path).unwrap();
        let to: ExecutionAddress = TO.parse().unwrap();
        assert_eq!(target_address(None, Some(&registry)).unwrap(), to);
        assert_eq!(target_address(Some(to), Some(&registry)).unwrap(), to);
        let other = ExecutionAddress::repeat_byte(1);
        let err = target_address(Some(other), Some(&registry)).unwrap_err();
        assert!(err.to_string().contains("differs"), "{err}");
        assert_eq!(target_address(Some(other), None).unwrap(), other);
        assert!(
            target_address(None, None)
                .unwrap_err()
                .to_string()
                .contains("--to")
        );
    }
}
