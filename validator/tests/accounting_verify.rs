//! Accounting reads and `poolvc report verify` against a node serving a conformance case
//! (`pool-registry/tests/fixtures/conformance/`): an in-test HTTP server answers the Beacon API
//! from the case's recorded responses, and the reports API from the case's published values
//! and expected reports. Asked for a block by slot, the server answers an orphaned block (a
//! node once answered a wrong root for a finalized slot): accounting must find every canonical
//! block from the finalized checkpoint by parent roots, and reproduce the case's ledgers and
//! reports exactly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use pool_registry::ledger::{ElBlockValue, ValidatorEpoch, account_epoch};
use pool_registry::{FrameParameters, FrameSnapshot};
use serde_json::{Value, json};
use types::{ChainSpec, Checkpoint, Epoch, MinimalEthSpec};
use validator::accounting::EpochFetcher;
use validator::beacon_node::{BeaconNodeClient, BeaconNodeFallback, FallbackConfig, Timeouts};

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pool-registry/tests/fixtures/conformance")
        .join(name)
}

/// A conformance case served over HTTP.
struct CaseNode {
    dir: PathBuf,
    /// Blocks asked for by slot (never, if accounting walks parent roots).
    by_slot: AtomicUsize,
    /// Whether the reports API publishes every report as final.
    lie_about_status: AtomicBool,
}

fn read(dir: &Path, path: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(path)).ok()?;
    Some(serde_json::from_str(&text).expect("case files are JSON"))
}

fn query(uri: &Uri, name: &str) -> Option<u64> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"code": 404, "message": format!("{what} not found")})),
    )
        .into_response()
}

fn json_response(value: Option<Value>, what: &str) -> Response {
    match value {
        Some(value) => axum::Json(value).into_response(),
        None => not_found(what),
    }
}

impl CaseNode {
    fn file(&self, path: &str) -> Option<Value> {
        read(&self.dir, path)
    }

    /// The slot of the block with `root`.
    fn slot_of(&self, root: &str) -> Option<u64> {
        let block = self.file(&format!("beacon/blocks/{root}.json"))?;
        block["data"]["message"]["slot"].as_str()?.parse().ok()
    }

    fn frames(&self) -> Vec<u64> {
        let case = self.file("case.json").expect("case.json");
        let n = |f: &str| case[f].as_str().unwrap().parse::<u64>().unwrap();
        (n("first_frame")..=n("last_frame")).collect()
    }

    fn beacon(&self, method: &Method, uri: &Uri, parts: &[&str]) -> Response {
        match (method.as_str(), parts) {
            ("GET", ["eth", "v1", "beacon", "genesis"]) => {
                json_response(self.file("genesis.json"), "genesis")
            }
            ("GET", ["eth", "v1", "config", "spec"]) => {
                json_response(self.file("config_spec.json"), "spec")
            }
            ("GET", ["eth", "v1", "node", "syncing"]) => axum::Json(json!({"data": {
                "head_slot": "1000", "sync_distance": "0", "is_syncing": false,
                "is_optimistic": false, "el_offline": false}}))
            .into_response(),
            ("GET", ["eth", "v1", "node", "version"]) => {
                axum::Json(json!({"data": {"version": "conformance/1"}})).into_response()
            }
            (
                "GET",
                [
                    "eth",
                    "v1",
                    "beacon",
                    "states",
                    "head",
                    "finality_checkpoints",
                ],
            ) => json_response(self.file("beacon/finality_checkpoints.json"), "finality"),
            ("GET", ["eth", "v2", "beacon", "blocks", id]) if id.starts_with("0x") => {
                json_response(self.file(&format!("beacon/blocks/{id}.json")), "block")
            }
            ("GET", ["eth", "v2", "beacon", "blocks", _slot]) => {
                self.by_slot.fetch_add(1, Ordering::SeqCst);
                // A wrong answer: an orphaned block of the case.
                let orphan = std::fs::read_dir(self.dir.join("beacon/blocks"))
                    .unwrap()
                    .filter_map(|e| read(&e.unwrap().path(), ""))
                    .find(|b| b["finalized"] == false);
                json_response(orphan, "block")
            }
            ("POST", ["eth", "v1", "beacon", "states", slot, "validators"]) => json_response(
                self.file(&format!("beacon/validators/{slot}.json")),
                "state",
            ),
            ("GET", ["eth", "v1", "beacon", "states", slot, "pending_deposits"]) => json_response(
                self.file(&format!("beacon/pending_deposits/{slot}.json")),
                "state",
            ),
            ("GET", ["eth", "v1", "beacon", "states", _, "committees"]) => {
                let epoch = query(uri, "epoch").unwrap_or_default();
                json_response(
                    self.file(&format!("beacon/committees/{epoch}.json")),
                    "state",
                )
            }
            ("GET", ["eth", "v1", "beacon", "states", _, "sync_committees"]) => {
                let epoch = query(uri, "epoch").unwrap_or_default();
                json_response(
                    self.file(&format!("beacon/sync_committees/{epoch}.json")),
                    "state",
                )
            }
            ("GET", ["eth", "v1", "validator", "duties", "proposer", epoch]) => json_response(
                self.file(&format!("beacon/proposer_duties/{epoch}.json")),
                "duties",
            ),
            ("POST", ["eth", "v1", "beacon", "rewards", "attestations", epoch]) => json_response(
                self.file(&format!("beacon/rewards/attestations_{epoch}.json")),
                "rewards",
            ),
            ("GET", ["eth", "v1", "beacon", "rewards", "blocks", root]) => json_response(
                self.slot_of(root)
                    .and_then(|s| self.file(&format!("beacon/rewards/blocks_{s}.json"))),
                "rewards",
            ),
            ("POST", ["eth", "v1", "beacon", "rewards", "sync_committee", root]) => json_response(
                self.slot_of(root)
                    .and_then(|s| self.file(&format!("beacon/rewards/sync_committee_{s}.json"))),
                "rewards",
            ),
            _ => not_found("route"),
        }
    }

    /// The reports API answers, from the case's published values and expected outputs.
    fn pool(&self, uri: &Uri, parts: &[&str]) -> Response {
        let outcome = |f: &str| self.file(&format!("expected/reports/{f}/outcome.json"));
        match parts {
            ["pool", "v1", "pool"] => axum::Json(json!({"first_frame": "0"})).into_response(),
            ["pool", "v1", "reports", f] => json_response(
                outcome(f).map(|o| {
                    if self.lie_about_status.load(Ordering::SeqCst) {
                        json!({"root": o["root"], "status": "final",
                               "withheld_reasons": [], "parameters": o["parameters"]})
                    } else {
                        json!({"root": o["root"], "status": o["status"],
                               "withheld_reasons": o["violations"], "parameters": o["parameters"]})
                    }
                }),
                "report",
            ),
            ["pool", "v1", "reports", "by-root", root, "canonical"] => {
                let frame = self
                    .frames()
                    .into_iter()
                    .find(|f| outcome(&f.to_string()).is_some_and(|o| o["root"] == *root));
                match frame {
                    Some(f) => {
                        let path = format!("expected/reports/{f}/report.json");
                        let text = std::fs::read_to_string(self.dir.join(path)).unwrap();
                        ([(header::CONTENT_TYPE, "application/json")], text).into_response()
                    }
                    None => not_found("report"),
                }
            }
            [
                "pool",
                "v1",
                "frames",
                f,
                kind @ ("snapshot" | "parameters"),
            ] => json_response(self.file(&format!("pool/frames/{f}/{kind}.json")), "frame"),
            ["pool", "v1", "el-values"] => {
                let (from, to) = (query(uri, "from_slot"), query(uri, "to_slot"));
                let values = self.file("pool/el_values.json").unwrap()["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| {
                        let slot: u64 = v["slot"].as_str().unwrap().parse().unwrap();
                        Some(slot) >= from && Some(slot) <= to
                    })
                    .cloned()
                    .collect::<Vec<_>>();
                axum::Json(json!({ "data": values })).into_response()
            }
            ["pool", "v1", "epochs"] => {
                let (from, to) = (
                    query(uri, "from_epoch").unwrap(),
                    query(uri, "to_epoch").unwrap(),
                );
                let rows: Vec<Value> = (from..=to)
                    .filter_map(|e| {
                        let ledger = self.file(&format!("expected/ledger/{e}.json"))?;
                        let records = ledger["records"].as_array().unwrap();
                        let sum = |f: &dyn Fn(&Value) -> i64| records.iter().map(f).sum::<i64>();
                        Some(json!({
                            "epoch": e.to_string(),
                            "validators": records.len().to_string(),
                            "cl_income_gwei": sum(&|r| r["income"].as_i64().unwrap()).to_string(),
                            "newly_slashed": sum(&|r| i64::from(r["slashed_end"] == true && r["slashed_start"] == false)).to_string(),
                            "unexplained_gwei": sum(&|r| r["breakdown"]["unexplained"].as_i64().unwrap_or(0)).to_string(),
                        }))
                    })
                    .collect();
                axum::Json(json!({ "data": rows })).into_response()
            }
            _ => not_found("route"),
        }
    }
}

async fn handle(
    State(node): State<Arc<CaseNode>>,
    method: Method,
    uri: Uri,
    _body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if parts.first() == Some(&"pool") {
        node.pool(&uri, &parts)
    } else {
        node.beacon(&method, &uri, &parts)
    }
}

/// Serves `case` on a loopback port until the runtime ends.
async fn serve(case: &str) -> (Arc<CaseNode>, SocketAddr) {
    let node = Arc::new(CaseNode {
        dir: case_dir(case),
        by_slot: AtomicUsize::new(0),
        lie_about_status: AtomicBool::new(false),
    });
    let app = Router::new().fallback(handle).with_state(node.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (node, addr)
}

fn spec_of(dir: &Path) -> ChainSpec {
    let map = read(dir, "config_spec.json").unwrap()["data"].clone();
    ChainSpec::from_config_map(map.as_object().unwrap()).unwrap()
}

fn data<T: serde::de::DeserializeOwned>(dir: &Path, path: &str) -> T {
    serde_json::from_value(read(dir, path).unwrap()["data"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_inputs_reproduce_the_case_ledgers_without_slot_lookups() {
    // `electra-fork`: the state at the end of epoch 1 is before Electra and the node has no
    // pending deposits for it (404): epoch 2 must not ask.
    for case in ["normal", "deposits-electra", "electra-fork", "slashing"] {
        let (node, addr) = serve(case).await;
        let dir = case_dir(case);
        let spec = Arc::new(spec_of(&dir));
        let client = BeaconNodeClient::new(
            &format!("http://{addr}"),
            Timeouts::uniform(std::time::Duration::from_secs(30)),
        )
        .unwrap();
        let fallback = Arc::new(BeaconNodeFallback::new(
            vec![client],
            FallbackConfig::new::<MinimalEthSpec>(),
        ));
        let finalized: Checkpoint = serde_json::from_value(
            read(&dir, "beacon/finality_checkpoints.json").unwrap()["data"]["finalized"].clone(),
        )
        .unwrap();
        let el_values: Vec<ElBlockValue> = data(&dir, "pool/el_values.json");
        let mut fetcher = EpochFetcher::<MinimalEthSpec>::new(fallback, spec.clone());
        let mut checked = 0;
        for frame in node.frames() {
            let snapshot: FrameSnapshot =
                serde_json::from_value(read(&dir, &format!("pool/frames/{frame}/snapshot.json")).unwrap()["data"]["snapshot"].clone())
                    .unwrap();
            let parameters: FrameParameters =
                data(&dir, &format!("pool/frames/{frame}/parameters.json"));
            let keys: Vec<_> = snapshot.assignments.keys().copied().collect();
            let frames = parameters.frames();
            for e in frames.first_epoch(frame).as_u64()..=frames.last_epoch(frame).as_u64() {
                let epoch = Epoch(e);
                let values = el_values
                    .iter()
                    .filter(|v| v.slot.epoch(spec.slots_per_epoch) == epoch)
                    .cloned()
                    .collect();
                let inputs = fetcher
                    .fetch(epoch, finalized, &keys, values)
                    .await
                    .unwrap_or_else(|err| panic!("{case} epoch {e}: {err}"));
                let ledger = account_epoch(
                    &spec,
                    &keys.iter().copied().collect(),
                    parameters.withdrawal_credentials,
                    parameters.el_rewards_vault,
                    &inputs,
                )
                .unwrap();
                let expected: Vec<ValidatorEpoch> = serde_json::from_value(
                    read(&dir, &format!("expected/ledger/{e}.json")).unwrap()["records"].clone(),
                )
                .unwrap();
                assert_eq!(ledger.records, expected, "{case} epoch {e}");
                checked += 1;
            }
        }
        assert!(checked >= 2, "{case}");
        assert_eq!(
            node.by_slot.load(Ordering::SeqCst),
            0,
            "{case}: no block is read by slot"
        );
    }
}

/// Runs `poolvc report verify` against the case node (beacon node and reports API at once).
fn report_verify(addr: SocketAddr, report: &Path, extra: &[&str]) -> std::process::Output {
    let url = format!("http://{addr}");
    std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args([
            "report",
            "verify",
            "--beacon-node",
            &url,
            "--pool-api",
            &url,
        ])
        .args(extra)
        .arg(report)
        .output()
        .expect("poolvc report verify runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_verify_reproduces_reports_and_status_from_published_values() {
    let tmp = tempfile::tempdir().unwrap();
    for (case, frames) in [("normal", 0..=1u64), ("sanity-breach", 0..=3)] {
        let (_node, addr) = serve(case).await;
        let dir = case_dir(case);
        for frame in frames {
            let report = dir.join(format!("expected/reports/{frame}/report.json"));
            let status =
                read(&dir, &format!("expected/reports/{frame}/outcome.json")).unwrap()["status"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            let output = report_verify(addr, &report, &[]);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success()
                    && stdout.contains("matches the beacon node")
                    && stdout.contains(&format!(
                        "status {status} (limits and window as published) reproduced"
                    )),
                "{case} frame {frame}: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        // A figure changed in a report: caught, field named, exit code 1.
        let report = dir.join("expected/reports/1/report.json");
        let mut tampered: Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        tampered["operators"][1]["tally"]["head_timely"] = json!("0");
        let file = tmp.path().join(format!("{case}-tampered.json"));
        std::fs::write(&file, tampered.to_string()).unwrap();
        let output = report_verify(addr, &file, &["--format", "json"]);
        let verdict: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{case}: {e}: {}", String::from_utf8_lossy(&output.stderr)));
        assert_eq!(output.status.code(), Some(1), "{verdict}");
        assert_eq!(verdict["matches"], false);
        assert_eq!(
            verdict["differences"][0]["path"],
            "operators[id=2].tally.head_timely"
        );
    }
}

/// The status is checked against the published one: a pool publishing a withheld report as
/// final is caught; without the reports API (a registry file and files instead), the status is
/// not checked, and the output says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_checked_against_the_published_one() {
    let (node, addr) = serve("sanity-breach").await;
    let dir = case_dir("sanity-breach");
    node.lie_about_status.store(true, Ordering::SeqCst);
    let report = dir.join("expected/reports/0/report.json");
    let output = report_verify(addr, &report, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("matches the beacon node") && stdout.contains("status DIFFERS"),
        "{stdout}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let registry = tmp.path().join("registry.toml");
    std::fs::write(
        &registry,
        format!(
            "[pool]\nname = \"case\"\nwithdrawal_credentials = \"0x01{}{}\"\nel_rewards_vault = \"0x{}\"\nframe_epochs = 1\nframe_start_epoch = 1\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n[pool.shares]\ninitial_total_shares = \"512000000000000000000\"\n",
            "00".repeat(11),
            "aa".repeat(20),
            "bb".repeat(20)
        ),
    )
    .unwrap();
    let mut args: Vec<std::ffi::OsString> = vec!["--registry".into(), registry.into()];
    for frame in 0..=1 {
        let snapshot =
            read(&dir, &format!("pool/frames/{frame}/snapshot.json")).unwrap()["data"]["snapshot"]
                .clone();
        let path = tmp.path().join(format!("snapshot-{frame}.json"));
        std::fs::write(&path, snapshot.to_string()).unwrap();
        args.extend(["--snapshot".into(), path.into()]);
    }
    let values = read(&dir, "pool/el_values.json").unwrap()["data"].clone();
    let path = tmp.path().join("el_values.json");
    std::fs::write(&path, values.to_string()).unwrap();
    args.extend(["--el-values".into(), path.into()]);
    let url = format!("http://{addr}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["report", "verify", "--beacon-node", &url])
        .args(&args)
        .arg(dir.join("expected/reports/1/report.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success()
            && stdout.contains("matches the beacon node")
            && stdout.contains("status not checked"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
