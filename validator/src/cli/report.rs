//! `poolvc report verify`: recompute a published report from a beacon node and say, field by
//! field, whether it matches (`crate::accounting::verify`).
//!
//! What the beacon chain does not hold comes from the pool's reports API (`--pool-api`) or
//! from files: the previous final report, the assignment snapshots of the covered frames and
//! the EL values recorded at block production. Without either, the snapshots are taken from
//! the registry file (right when the registry did not change during the covered frames; the
//! comparison of `assignments_root` tells).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use pool_registry::ledger::ElBlockValue;
use pool_registry::report::FrameReport;
use pool_registry::{FrameSnapshot, Registry};
use serde::de::DeserializeOwned;
use types::{EthSpec, Hash256, MainnetEthSpec, MinimalEthSpec, Preset};

use super::report_signature;
use crate::accounting::verify::{Verification, VerifyInputs, recompute};
use crate::beacon_node::{BeaconNodeClient, BeaconNodeFallback, FallbackConfig, Timeouts};
use crate::error::{Error, Result};

/// `poolvc report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Recompute a report from a beacon node and compare it field by field.
    Verify(Box<VerifyArgs>),
}

/// How the verification is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per differing field.
    Text,
    /// One JSON object.
    Json,
}

/// `poolvc report verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The report: its canonical JSON, as `/pool/v1/reports/{frame}/canonical` serves it.
    pub report: PathBuf,
    /// The beacon node to recompute from (it must have the covered epochs' states).
    #[arg(long)]
    pub beacon_node: String,
    /// The pool's registry file (frame geometry, credentials, vault, sanity limits).
    #[arg(long)]
    pub registry: PathBuf,
    /// The pool's reports API: the previous report, snapshots and EL values are read from it.
    #[arg(long, conflicts_with_all = ["previous", "snapshots", "el_values"])]
    pub pool_api: Option<String>,
    /// The previous final report's canonical JSON.
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// A frame's assignment snapshot (JSON, as `/pool/v1/frames/{frame}/snapshot` serves its
    /// `snapshot`); repeat for each covered frame.
    #[arg(long = "snapshot")]
    pub snapshots: Vec<PathBuf>,
    /// The recorded EL values (a JSON array, as `/pool/v1/el-values` serves its `data`).
    #[arg(long)]
    pub el_values: Option<PathBuf>,
    /// Per-request timeout in seconds (states may be rebuilt by the node on request).
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// The oracle public key the report must be signed with: its signature (`--signature`,
    /// else read from `--pool-api`) is verified over the report's signing root on the beacon
    /// node's chain too, and a missing or invalid one fails (`super::report_signature`).
    #[arg(long)]
    pub oracle_pubkey: Option<types::PublicKeyBytes>,
    /// The report's oracle signature (hex), for `--oracle-pubkey` without `--pool-api`.
    #[arg(long, requires = "oracle_pubkey")]
    pub signature: Option<types::SignatureBytes>,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&text).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}

/// The `data` of a reports API response.
#[derive(serde::Deserialize)]
struct Data<T> {
    data: T,
}

/// The snapshot route's payload.
#[derive(serde::Deserialize)]
struct SnapshotData {
    snapshot: FrameSnapshot,
}

async fn get_api<T: DeserializeOwned>(http: &reqwest::Client, base: &str, path: &str) -> Result<T> {
    let url = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let response = http.get(&url).send().await.map_err(|e| Error::PoolApi {
        url: url.clone(),
        detail: e.to_string(),
    })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| Error::PoolApi {
        url: url.clone(),
        detail: e.to_string(),
    })?;
    if !status.is_success() {
        return Err(Error::PoolApi {
            detail: format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
            url,
        });
    }
    serde_json::from_slice(&body).map_err(|e| Error::PoolApi {
        url,
        detail: format!("invalid JSON: {e}"),
    })
}

/// Gathers the inputs the chain does not hold.
async fn gather(
    args: &VerifyArgs,
    report: FrameReport,
    registry: &Registry,
    spe: u64,
) -> Result<VerifyInputs> {
    let pool = registry.pool().clone();
    let frames = pool.frame;
    let first_frame = frames.frame_of(report.first_epoch).ok_or_else(|| {
        Error::Config(format!(
            "epoch {} is before the pool's first frame",
            report.first_epoch
        ))
    })?;
    let last_frame = report.frame;
    let (from_slot, to_slot) = (
        report.first_epoch.start_slot(spe),
        report.last_epoch.end_slot(spe),
    );
    let mut snapshots = BTreeMap::new();
    let (previous, el_values) = if let Some(api) = &args.pool_api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(args.timeout_secs))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let previous = if report.previous_report_root == Hash256::ZERO {
            None
        } else {
            Some(
                get_api::<FrameReport>(
                    &http,
                    api,
                    &format!(
                        "pool/v1/reports/by-root/{}/canonical",
                        report.previous_report_root
                    ),
                )
                .await?,
            )
        };
        for frame in first_frame..=last_frame {
            let data: Data<SnapshotData> =
                get_api(&http, api, &format!("pool/v1/frames/{frame}/snapshot")).await?;
            snapshots.insert(frame, data.data.snapshot);
        }
        let values: Data<Vec<ElBlockValue>> = get_api(
            &http,
            api,
            &format!("pool/v1/el-values?from_slot={from_slot}&to_slot={to_slot}"),
        )
        .await?;
        (previous, values.data)
    } else {
        for path in &args.snapshots {
            let snapshot: FrameSnapshot = read_json(path)?;
            snapshots.insert(snapshot.frame, snapshot);
        }
        if args.snapshots.is_empty() {
            for frame in first_frame..=last_frame {
                snapshots.insert(frame, registry.snapshot(frame));
            }
        }
        let previous = args
            .previous
            .as_deref()
            .map(read_json::<FrameReport>)
            .transpose()?;
        let el_values = args
            .el_values
            .as_deref()
            .map(read_json::<Vec<ElBlockValue>>)
            .transpose()?
            .unwrap_or_default();
        (previous, el_values)
    };
    Ok(VerifyInputs {
        report,
        pool,
        snapshots,
        previous,
        el_values,
    })
}

/// Runs `poolvc report verify`; `Ok(true)` when the report matches (and, with
/// `--oracle-pubkey`, its signature verifies).
pub async fn verify(args: &VerifyArgs) -> Result<bool> {
    report_signature::check_args(args)?;
    let report: FrameReport = read_json(&args.report)?;
    let registry = Registry::load(&args.registry)?;
    let timeouts = Timeouts::uniform(Duration::from_secs(args.timeout_secs));
    let client = BeaconNodeClient::new(&args.beacon_node, timeouts)?;
    let genesis = client.get_genesis().await?;
    let spec = client.get_config_spec().await?;
    let signing = (spec.clone(), genesis.genesis_validators_root);
    let outcome = match spec.preset_base {
        Preset::Mainnet => {
            run::<MainnetEthSpec>(args, report, &registry, client, genesis, spec).await?
        }
        Preset::Minimal => {
            run::<MinimalEthSpec>(args, report, &registry, client, genesis, spec).await?
        }
    };
    let signature = report_signature::check(args, &signing.0, signing.1, &outcome).await?;
    print(args.format, &outcome, signature.as_ref())?;
    Ok(outcome.matches() && signature.is_none_or(|s| s.is_valid()))
}

async fn run<E: EthSpec>(
    args: &VerifyArgs,
    report: FrameReport,
    registry: &Registry,
    client: BeaconNodeClient,
    genesis: types::api::GenesisData,
    spec: types::ChainSpec,
) -> Result<Verification> {
    let inputs = gather(args, report, registry, spec.slots_per_epoch).await?;
    let mut config = FallbackConfig::new::<E>();
    config.expected_genesis = Some(genesis);
    config.expected_spec = Some(spec.clone());
    let fallback = Arc::new(BeaconNodeFallback::new(vec![client], config));
    fallback.update_all_health().await;
    Ok(recompute::<E>(
        fallback,
        Arc::new(spec),
        genesis.genesis_validators_root,
        &inputs,
    )
    .await?)
}

fn print(
    format: OutputFormat,
    outcome: &Verification,
    signature: Option<&report_signature::SignatureCheck>,
) -> Result<()> {
    let report = &outcome.recomputed.report;
    match format {
        OutputFormat::Json => {
            let mut value = serde_json::json!({
                "frame": report.frame.to_string(),
                "first_epoch": report.first_epoch.to_string(),
                "last_epoch": report.last_epoch.to_string(),
                "published_root": outcome.published_root,
                "recomputed_root": outcome.recomputed.root,
                "matches": outcome.matches(),
                "differences": outcome.diffs,
            });
            if let Some(check) = signature {
                check.add_to_json(&mut value);
            }
            println!("{value}");
        }
        OutputFormat::Text => {
            if outcome.matches() {
                println!(
                    "report of frame {} (epochs {}..={}) matches the beacon node: root {}",
                    report.frame, report.first_epoch, report.last_epoch, outcome.published_root
                );
            } else {
                println!(
                    "report of frame {} (epochs {}..={}) DIFFERS from the beacon node: published root {}, recomputed root {}; {} field(s) differ:",
                    report.frame,
                    report.first_epoch,
                    report.last_epoch,
                    outcome.published_root,
                    outcome.recomputed.root,
                    outcome.diffs.len()
                );
                for diff in &outcome.diffs {
                    println!(
                        "  {}: published {}, recomputed {}",
                        diff.path, diff.actual, diff.expected
                    );
                }
            }
            if let Some(check) = signature {
                println!("{}", check.line());
            }
        }
    }
    Ok(())
}
