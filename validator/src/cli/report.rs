//! `poolvc report verify`: recompute a published report from a beacon node and say, field by
//! field, whether it matches (`crate::accounting::verify`).
//!
//! What the beacon chain does not hold comes from the pool's reports API (`--pool-api`): the
//! report's parameters as published with it (frame geometry, sanity limits), the pool's first
//! frame, the covered frames' snapshots and parameters, the previous final report, the EL
//! values recorded at block production and the summaries of the negative-rebase window's
//! earlier epochs; with them the report's status is checked too. Without the API, the registry
//! file stands in for the published values (right when the registry did not change during the
//! covered frames; the comparison of `assignments_root` tells) and files may give the previous
//! report, snapshots and EL values; the status is then not checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use pool_registry::ledger::{ElBlockValue, EpochSummary};
use pool_registry::report::{FrameReport, ReportParameters, ReportStatus, SanityViolation};
use pool_registry::{FrameConfig, FrameParameters, FrameSnapshot, Registry};
use serde::de::DeserializeOwned;
use types::{Epoch, EthSpec, Hash256, MainnetEthSpec, MinimalEthSpec, Preset};

use super::report_signature;
use crate::accounting::verify::{
    PublishedStatus, StatusCheck, Verification, VerifyInputs, recompute, report_root,
};
use crate::beacon_node::{BeaconNodeClient, BeaconNodeFallback, FallbackConfig, Timeouts};
use crate::error::{Error, Result};
use crate::http::reports::{EL_VALUES_MAX_SLOTS, EPOCHS_MAX};

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
    /// The pool's registry file (frame geometry, credentials, vault, sanity limits): used
    /// without `--pool-api` only; with it the published values are used.
    #[arg(long, required_unless_present = "pool_api")]
    pub registry: Option<PathBuf>,
    /// The pool's reports API: the report's parameters and status, the snapshots and
    /// parameters of the covered frames, the previous report, the EL values and the
    /// negative-rebase window's summaries are read from it.
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

/// What `/pool/v1/pool` says that verification uses.
#[derive(serde::Deserialize)]
struct PoolInfo {
    first_frame: Option<String>,
}

/// What `/pool/v1/reports/{frame}` says that verification uses.
#[derive(serde::Deserialize)]
struct ReportInfo {
    root: Hash256,
    status: ReportStatus,
    withheld_reasons: Vec<SanityViolation>,
    parameters: Option<ReportParameters>,
}

/// One row of `/pool/v1/epochs`.
#[derive(serde::Deserialize)]
struct EpochRow {
    epoch: String,
    validators: String,
    cl_income_gwei: String,
    newly_slashed: String,
    unexplained_gwei: String,
}

impl EpochRow {
    fn summary(&self, url: &str) -> Result<EpochSummary> {
        let bad = |field: &str| Error::PoolApi {
            url: url.to_owned(),
            detail: format!("`{field}` of an epoch summary is not a decimal integer"),
        };
        Ok(EpochSummary {
            epoch: Epoch(self.epoch.parse().map_err(|_| bad("epoch"))?),
            validators: self.validators.parse().map_err(|_| bad("validators"))?,
            cl_income: self
                .cl_income_gwei
                .parse()
                .map_err(|_| bad("cl_income_gwei"))?,
            newly_slashed: self
                .newly_slashed
                .parse()
                .map_err(|_| bad("newly_slashed"))?,
            unexplained: self
                .unexplained_gwei
                .parse()
                .map_err(|_| bad("unexplained_gwei"))?,
        })
    }
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

/// `[from, to]` in pieces of at most `size`.
fn chunks(from: u64, to: u64, size: u64) -> impl Iterator<Item = (u64, u64)> {
    (from..=to)
        .step_by(usize::try_from(size).unwrap_or(usize::MAX))
        .map(move |start| (start, start.saturating_add(size - 1).min(to)))
}

/// The frames a report covers.
fn covered_frames(frames: FrameConfig, report: &FrameReport) -> Result<(u64, u64)> {
    let first = frames.frame_of(report.first_epoch).ok_or_else(|| {
        Error::Config(format!(
            "epoch {} is before the pool's first frame",
            report.first_epoch
        ))
    })?;
    Ok((first, report.frame))
}

/// Gathers the published values from the pool's reports API.
async fn from_api(
    args: &VerifyArgs,
    api: &str,
    report: FrameReport,
    spe: u64,
) -> Result<VerifyInputs> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
    let info: ReportInfo =
        get_api(&http, api, &format!("pool/v1/reports/{}", report.frame)).await?;
    if info.root != report_root(&report)? {
        tracing::warn!(frame = report.frame, published = %info.root, "the pool publishes another report for this frame; its parameters and status are used");
    }
    let parameters = info.parameters.ok_or_else(|| {
        Error::Config(format!(
            "the pool publishes no parameters for the report of frame {} (stored before they were recorded): verify it with --registry instead of --pool-api",
            report.frame
        ))
    })?;
    let frames = FrameConfig {
        start_epoch: parameters.frame_start_epoch,
        epochs: parameters.frame_epochs,
    };
    let (first_frame, last_frame) = covered_frames(frames, &report)?;
    let pool: PoolInfo = get_api(&http, api, "pool/v1/pool").await?;
    let pool_first_frame = match pool.first_frame.as_deref().map(str::parse::<u64>) {
        Some(Ok(frame)) => frame,
        Some(Err(_)) => {
            return Err(Error::PoolApi {
                url: format!("{api}/pool/v1/pool"),
                detail: "`first_frame` is not a decimal integer".to_owned(),
            });
        }
        None => first_frame,
    };
    let mut snapshots = BTreeMap::new();
    let mut frame_parameters = BTreeMap::new();
    for frame in first_frame..=last_frame {
        let data: Data<SnapshotData> =
            get_api(&http, api, &format!("pool/v1/frames/{frame}/snapshot")).await?;
        snapshots.insert(frame, data.data.snapshot);
        let data: Data<FrameParameters> =
            get_api(&http, api, &format!("pool/v1/frames/{frame}/parameters")).await?;
        frame_parameters.insert(frame, data.data);
    }
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
    let mut el_values = Vec::new();
    let (from_slot, to_slot) = (
        report.first_epoch.start_slot(spe).as_u64(),
        report.last_epoch.end_slot(spe).as_u64(),
    );
    for (from, to) in chunks(from_slot, to_slot, EL_VALUES_MAX_SLOTS) {
        let values: Data<Vec<ElBlockValue>> = get_api(
            &http,
            api,
            &format!("pool/v1/el-values?from_slot={from}&to_slot={to}"),
        )
        .await?;
        el_values.extend(values.data);
    }
    // The window's epochs before the report, as the pool stored them.
    let window_start = report.last_epoch.as_u64().saturating_sub(
        parameters
            .sanity_limits
            .negative_rebase_window_epochs
            .saturating_sub(1),
    );
    let mut window = Vec::new();
    if let Some(before) = report.first_epoch.as_u64().checked_sub(1)
        && window_start <= before
    {
        for (from, to) in chunks(window_start, before, EPOCHS_MAX) {
            let path = format!("pool/v1/epochs?from_epoch={from}&to_epoch={to}");
            let rows: Data<Vec<EpochRow>> = get_api(&http, api, &path).await?;
            for row in &rows.data {
                window.push(row.summary(&format!("{api}/{path}"))?);
            }
        }
    }
    Ok(VerifyInputs {
        frames,
        sanity: parameters.sanity_limits,
        first_frame: pool_first_frame,
        snapshots,
        parameters: frame_parameters,
        previous,
        el_values,
        window: Some(window),
        published: Some(PublishedStatus {
            status: info.status,
            violations: info.withheld_reasons,
            parameters: Some(parameters),
        }),
        report,
    })
}

/// Gathers the values from the registry file and the files given.
fn from_files(args: &VerifyArgs, report: FrameReport) -> Result<VerifyInputs> {
    let path = args
        .registry
        .as_deref()
        .ok_or_else(|| Error::Config("give --pool-api or --registry".to_owned()))?;
    let registry = Registry::load(path)?;
    let pool = registry.pool();
    let (first_frame, last_frame) = covered_frames(pool.frame, &report)?;
    let mut snapshots = BTreeMap::new();
    for path in &args.snapshots {
        let snapshot: FrameSnapshot = read_json(path)?;
        snapshots.insert(snapshot.frame, snapshot);
    }
    if args.snapshots.is_empty() {
        for frame in first_frame..=last_frame {
            snapshots.insert(frame, registry.snapshot(frame));
        }
    }
    let parameters = (first_frame..=last_frame)
        .map(|frame| (frame, registry.frame_parameters(frame)))
        .collect();
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
    Ok(VerifyInputs {
        frames: pool.frame,
        sanity: pool.sanity,
        // Where the pool's ledger starts is published only by the API: the report's own
        // first frame stands in.
        first_frame,
        snapshots,
        parameters,
        previous,
        el_values,
        window: None,
        published: None,
        report,
    })
}

/// Runs `poolvc report verify`; `Ok(true)` when the report matches (and, with
/// `--oracle-pubkey`, its signature verifies).
pub async fn verify(args: &VerifyArgs) -> Result<bool> {
    report_signature::check_args(args)?;
    let report: FrameReport = read_json(&args.report)?;
    let timeouts = Timeouts::uniform(Duration::from_secs(args.timeout_secs));
    let client = BeaconNodeClient::new(&args.beacon_node, timeouts)?;
    let genesis = client.get_genesis().await?;
    let spec = client.get_config_spec().await?;
    let inputs = match &args.pool_api {
        Some(api) => from_api(args, api, report, spec.slots_per_epoch).await?,
        None => from_files(args, report)?,
    };
    let signing = (spec.clone(), genesis.genesis_validators_root);
    let outcome = match spec.preset_base {
        Preset::Mainnet => run::<MainnetEthSpec>(&inputs, client, genesis, spec).await?,
        Preset::Minimal => run::<MinimalEthSpec>(&inputs, client, genesis, spec).await?,
    };
    let signature = report_signature::check(args, &signing.0, signing.1, &outcome).await?;
    print(args.format, &outcome, signature.as_ref())?;
    Ok(outcome.matches() && signature.is_none_or(|s| s.is_valid()))
}

async fn run<E: EthSpec>(
    inputs: &VerifyInputs,
    client: BeaconNodeClient,
    genesis: types::api::GenesisData,
    spec: types::ChainSpec,
) -> Result<Verification> {
    let mut config = FallbackConfig::new::<E>();
    config.expected_genesis = Some(genesis);
    config.expected_spec = Some(spec.clone());
    let fallback = Arc::new(BeaconNodeFallback::new(vec![client], config));
    fallback.update_all_health().await;
    Ok(recompute::<E>(
        fallback,
        Arc::new(spec),
        genesis.genesis_validators_root,
        inputs,
    )
    .await?)
}

fn print(
    format: OutputFormat,
    outcome: &Verification,
    signature: Option<&report_signature::SignatureCheck>,
) -> Result<()> {
    let report = &outcome.recomputed.report;
    let status = match &outcome.status {
        StatusCheck::Matches => serde_json::json!({
            "checked": true,
            "matches": true,
            "status": outcome.recomputed.status.as_str(),
        }),
        StatusCheck::Differs { detail } => serde_json::json!({
            "checked": true,
            "matches": false,
            "detail": detail,
        }),
        StatusCheck::NotChecked { reason } => serde_json::json!({
            "checked": false,
            "reason": reason,
        }),
    };
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
                "status_check": status,
            });
            if let Some(check) = signature {
                check.add_to_json(&mut value);
            }
            println!("{value}");
        }
        OutputFormat::Text => {
            let content_matches =
                outcome.diffs.is_empty() && outcome.recomputed.root == outcome.published_root;
            if content_matches {
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
            match &outcome.status {
                StatusCheck::Matches => println!(
                    "status {} (limits and window as published) reproduced",
                    outcome.recomputed.status.as_str()
                ),
                StatusCheck::Differs { detail } => println!("status DIFFERS: {detail}"),
                StatusCheck::NotChecked { reason } => println!("status not checked: {reason}"),
            }
            if let Some(check) = signature {
                println!("{}", check.line());
            }
        }
    }
    Ok(())
}
