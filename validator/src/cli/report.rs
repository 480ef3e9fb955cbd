//! `poolvc report verify`: recompute a published report from a beacon node and say, field by
//! field, whether it matches (`crate::accounting::verify`).
//!
//! What the beacon chain does not hold comes from the pool's reports API (`--pool-api`) or
//! from files: the previous final report, the assignment snapshots of the covered frames and
//! the EL values recorded at block production. Without either, the snapshots are taken from
//! the registry file (right when the registry did not change during the covered frames; the
//! comparison of `assignments_root` tells).
//!
//! With `--oracle-pubkey`, the report's oracle signature (`--signature`, else the pool's
//! reports API) must also verify over the report's signing root on the beacon node's chain
//! (`docs/accounting.md`, report signing); a missing or invalid signature fails the check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use pool_registry::ledger::ElBlockValue;
use pool_registry::report::FrameReport;
use pool_registry::{FrameSnapshot, Registry};
use serde::de::DeserializeOwned;
use types::{
    ChainSpec, EthSpec, Hash256, MainnetEthSpec, MinimalEthSpec, Preset, PublicKeyBytes,
    SignatureBytes,
};

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
    /// else read from `--pool-api`) is verified too, and a missing or invalid one fails.
    #[arg(long)]
    pub oracle_pubkey: Option<PublicKeyBytes>,
    /// The report's oracle signature (hex), for `--oracle-pubkey` without `--pool-api`.
    #[arg(long, requires = "oracle_pubkey")]
    pub signature: Option<SignatureBytes>,
}

/// The outcome of a report's signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureOutcome {
    /// It verifies with the oracle key over the report's signing root on this chain.
    Valid,
    /// It does not verify (another key, another report, another chain, or not a signature).
    Invalid,
    /// The report carries no signature.
    Missing,
}

/// A report's signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The key it was checked against.
    pub oracle: PublicKeyBytes,
    /// The outcome.
    pub outcome: SignatureOutcome,
    /// Whether the pool stored the report as withheld (never signed).
    pub withheld: bool,
}

/// Checks `signature` over the signing root of the report with root `root` on the chain of
/// `genesis_validators_root`, against `oracle`.
pub fn check_report_signature(
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    root: Hash256,
    signature: Option<&SignatureBytes>,
    oracle: &PublicKeyBytes,
) -> SignatureOutcome {
    let Some(signature) = signature else {
        return SignatureOutcome::Missing;
    };
    let (Ok(key), Ok(signature)) = (
        signer::bls::PublicKey::from_bytes(oracle.as_slice()),
        signer::bls::Signature::from_bytes(signature.as_slice()),
    ) else {
        return SignatureOutcome::Invalid;
    };
    let signing_root =
        pool_registry::report::report_signing_root(spec, genesis_validators_root, root);
    if key.verify(signing_root.as_slice(), &signature) {
        SignatureOutcome::Valid
    } else {
        SignatureOutcome::Invalid
    }
}

/// The signature and status the reports API serves for a report.
#[derive(serde::Deserialize)]
struct ServedSignature {
    signature: Option<SignatureBytes>,
    status: String,
}

/// Finds the report's signature (given, or from the reports API) and checks it.
async fn signature_check(
    args: &VerifyArgs,
    oracle: &PublicKeyBytes,
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    root: Hash256,
) -> Result<SignatureCheck> {
    let (signature, withheld) = match (&args.signature, &args.pool_api) {
        (Some(signature), _) => (Some(*signature), false),
        (None, Some(api)) => {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(args.timeout_secs))
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
            let served: ServedSignature =
                get_api(&http, api, &format!("pool/v1/reports/by-root/{root}")).await?;
            (served.signature, served.status == "withheld")
        }
        (None, None) => {
            return Err(Error::Config(
                "--oracle-pubkey needs the report's signature: give --signature or --pool-api"
                    .into(),
            ));
        }
    };
    Ok(SignatureCheck {
        oracle: *oracle,
        outcome: check_report_signature(
            spec,
            genesis_validators_root,
            root,
            signature.as_ref(),
            oracle,
        ),
        withheld,
    })
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
    if args.oracle_pubkey.is_some() && args.signature.is_none() && args.pool_api.is_none() {
        return Err(Error::Config(
            "--oracle-pubkey needs the report's signature: give --signature or --pool-api".into(),
        ));
    }
    let report: FrameReport = read_json(&args.report)?;
    let registry = Registry::load(&args.registry)?;
    let timeouts = Timeouts::uniform(Duration::from_secs(args.timeout_secs));
    let client = BeaconNodeClient::new(&args.beacon_node, timeouts)?;
    let genesis = client.get_genesis().await?;
    let spec = client.get_config_spec().await?;
    let gvr = genesis.genesis_validators_root;
    let outcome = match spec.preset_base {
        Preset::Mainnet => {
            run::<MainnetEthSpec>(args, report, &registry, client, genesis, spec.clone()).await?
        }
        Preset::Minimal => {
            run::<MinimalEthSpec>(args, report, &registry, client, genesis, spec.clone()).await?
        }
    };
    let signature = match &args.oracle_pubkey {
        Some(oracle) => {
            Some(signature_check(args, oracle, &spec, gvr, outcome.published_root).await?)
        }
        None => None,
    };
    print(args.format, &outcome, signature.as_ref())?;
    Ok(outcome.matches() && signature.is_none_or(|s| s.outcome == SignatureOutcome::Valid))
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
    signature: Option<&SignatureCheck>,
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
                value["oracle_pubkey"] = serde_json::json!(check.oracle);
                value["signature"] = serde_json::json!(check.outcome);
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
                println!("{}", signature_line(check));
            }
        }
    }
    Ok(())
}

/// The text line of a signature check.
fn signature_line(check: &SignatureCheck) -> String {
    let what = match (check.outcome, check.withheld) {
        (SignatureOutcome::Valid, _) => "valid".to_owned(),
        (SignatureOutcome::Invalid, _) => {
            "INVALID: it does not verify over the report's signing root on this chain".to_owned()
        }
        (SignatureOutcome::Missing, true) => {
            "MISSING: the pool withheld the report (withheld reports are never signed)".to_owned()
        }
        (SignatureOutcome::Missing, false) => "MISSING: the report carries none".to_owned(),
    };
    format!("signature by oracle {}: {what}", check.oracle)
}

#[cfg(test)]
mod tests {
    use pool_registry::report::{ReportSigner, report_signing_root};

    use super::*;

    #[test]
    fn report_signature_checks() {
        let spec = ChainSpec::minimal();
        let gvr = Hash256::repeat_byte(0x42);
        let root = Hash256::repeat_byte(0x07);
        let key = signer::bls::SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let oracle = ReportSigner::public_key(&key);
        let signature = key
            .sign(report_signing_root(&spec, gvr, root).as_slice())
            .to_bytes();
        let check = |gvr, root, signature: Option<&SignatureBytes>, oracle: &PublicKeyBytes| {
            check_report_signature(&spec, gvr, root, signature, oracle)
        };
        assert_eq!(
            check(gvr, root, Some(&signature), &oracle),
            SignatureOutcome::Valid
        );
        let other_key =
            ReportSigner::public_key(&signer::bls::SecretKey::from_bytes(&[0x12; 32]).unwrap());
        assert_eq!(
            check(gvr, root, Some(&signature), &other_key),
            SignatureOutcome::Invalid,
            "another oracle"
        );
        assert_eq!(
            check(gvr, Hash256::repeat_byte(0x08), Some(&signature), &oracle),
            SignatureOutcome::Invalid,
            "another report"
        );
        assert_eq!(
            check(Hash256::repeat_byte(0x43), root, Some(&signature), &oracle),
            SignatureOutcome::Invalid,
            "another chain"
        );
        assert_eq!(
            check(gvr, root, Some(&SignatureBytes::repeat_byte(0xab)), &oracle),
            SignatureOutcome::Invalid,
            "not a signature"
        );
        assert_eq!(check(gvr, root, None, &oracle), SignatureOutcome::Missing);
        let line = signature_line(&SignatureCheck {
            oracle,
            outcome: SignatureOutcome::Missing,
            withheld: true,
        });
        assert!(
            line.contains("MISSING") && line.contains("withheld"),
            "{line}"
        );
    }

    #[test]
    fn signature_flags_parse() {
        use clap::Parser;

        use crate::cli::{Cli, Command};
        let key = "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c";
        let base = [
            "poolvc",
            "report",
            "verify",
            "report.json",
            "--beacon-node",
            "http://127.0.0.1:5052",
            "--registry",
            "registry.toml",
        ];
        let parse = |extra: &[&str]| Cli::try_parse_from(base.iter().chain(extra));
        let Ok(Cli {
            command: Command::Report(ReportCommand::Verify(args)),
        }) = parse(&[
            "--oracle-pubkey",
            key,
            "--pool-api",
            "http://127.0.0.1:5065",
        ])
        else {
            panic!("parses");
        };
        assert_eq!(
            args.oracle_pubkey.map(|k| k.to_string()).as_deref(),
            Some(key)
        );
        let err = parse(&["--oracle-pubkey", "0x1234"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--oracle-pubkey"), "{err}");
        let signature = format!("0x{}", "ab".repeat(96));
        let err = parse(&["--signature", &signature]).unwrap_err().to_string();
        assert!(
            err.contains("--oracle-pubkey"),
            "--signature needs it: {err}"
        );
    }
}
