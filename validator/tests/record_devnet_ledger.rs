//! Records ledger fixtures from a real Lodestar 1.5.1 devnet into
//! `pool-registry/tests/fixtures/ledger/capella-devnet/` (read by
//! `pool-registry/tests/ledger_devnet.rs`). A tool, not a test: it records only with
//! `POOLVC_RECORD_FIXTURES=1` and otherwise prints that it did nothing.
//!
//! ```text
//! POOLVC_RECORD_FIXTURES=1 cargo test -p validator --test record_devnet_ledger
//! ```
//!
//! The chain (`scripts/devnet.sh beacon`: minimal preset, Capella from genesis, 2-second slots,
//! `SHARD_COMMITTEE_PERIOD = 1` so a genesis validator may exit from epoch 1) has 64 interop
//! validators; poolvc runs keys 0..=62 with the sample pool registry, so validator
//! [`ABSENT`] misses every duty. At slot 2 every validator's BLS credentials are changed to
//! the pool's address (withdrawals follow); in epoch 1 validator [`EXITING`] publishes a
//! voluntary exit signed with its interop key.
//!
//! Lodestar 1.5.1 drops finalized states from its caches and serves proposer duties for the
//! current epoch only, so every state-dependent answer is recorded as it becomes available:
//! proposer duties during their epoch, and at the end of each epoch the validators, committees
//! and sync committee of the state at its last slot. Blocks stay available and are read once
//! the chosen epochs are final. Chosen: the exit epoch (`active_exiting` → `exited_unslashed`),
//! the first epoch in which [`ABSENT`] has a proposer duty, and, when neither shows one, the
//! first epoch whose payloads carry withdrawals. Responses are written byte for byte as the
//! node sent them, except `el_values.json` (the `data` of poolvc's `/pool/v1/el-values`).
//!
//! Invariants: loopback only (free ports); every wait is bounded by the wall clock; the beacon
//! node and poolvc are stopped on success, failure, Ctrl-C and SIGTERM; the fixture directory
//! is replaced only once a complete recording is in memory.

#[expect(
    dead_code,
    reason = "the recorder uses a subset of the end-to-end helpers"
)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use tree_hash::TreeHash;
use types::{ChainSpec, DomainKind, Epoch, Hash256, SignedVoluntaryExit, VoluntaryExit};
use validator::testing::InteropKeypair;

use common::devnet::{self, Devnet, Process, SLOTS_PER_EPOCH, number, repo_root, start_poolvc};

/// Genesis validators (interop keys 0..64).
const VALIDATORS: u64 = 64;
/// The validator whose key poolvc does not run.
const ABSENT: u64 = 63;
/// The validator that exits.
const EXITING: u64 = 9;
/// Epochs a validator must be active before it may exit (minimal default: 64).
const SHARD_COMMITTEE_PERIOD: &str = "1";
/// Wall slot from which the credential change is published.
const CREDENTIALS_SLOT: u64 = 2;
/// Wall slot from which the exit is published (epoch 1: the exit is valid from then).
const EXIT_SLOT: u64 = SLOTS_PER_EPOCH + 2;
/// The recording gives up when the chosen epochs are not complete by this epoch (the absent
/// key has a proposer duty in an epoch with probability 1 − (63/64)^8 ≈ 12 %).
const MAX_EPOCH: u64 = 40;
/// Where the fixtures go.
const FIXTURES: &str = "pool-registry/tests/fixtures/ledger/capella-devnet";

fn main() -> ExitCode {
    if std::env::var("POOLVC_RECORD_FIXTURES").is_ok_and(|v| v == "1") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        return runtime.block_on(run());
    }
    eprintln!(
        "NOT RUN record_devnet_ledger: a fixture recorder, not a test; it records \
         pool-registry/tests/fixtures/ledger/capella-devnet from a Lodestar devnet with \
         POOLVC_RECORD_FIXTURES=1 cargo test -p validator --test record_devnet_ledger"
    );
    ExitCode::SUCCESS
}

/// Records, or stops everything on Ctrl-C / SIGTERM (dropping the recording future drops the
/// processes, which stops their process groups).
async fn run() -> ExitCode {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM");
    tokio::select! {
        () = record() => ExitCode::SUCCESS,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("record_devnet_ledger: interrupted; nothing written");
            ExitCode::FAILURE
        }
        _ = terminate.recv() => {
            eprintln!("record_devnet_ledger: terminated; nothing written");
            ExitCode::FAILURE
        }
    }
}

/// Prints the tail of the logs if the recording fails.
struct LogsOnFailure(Vec<PathBuf>);

impl Drop for LogsOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for path in &self.0 {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!("==== last lines of {} ====\n{tail}", path.display());
        }
    }
}

/// Raw Beacon API access: the exact response text.
struct Raw {
    base: String,
    http: reqwest::Client,
}

impl Raw {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        }
    }

    /// `GET path`: `Ok(text)` on success, `Err(reason)` otherwise (404 included).
    async fn get(&self, path: &str) -> Result<String, RawError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| RawError::Transport(format!("GET {url}: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| RawError::Transport(format!("GET {url}: {e}")))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(RawError::Status(
                status.as_u16(),
                format!("GET {url}: {status} {text}"),
            ))
        }
    }
}

/// Why a raw request gave no answer.
#[derive(Debug)]
enum RawError {
    /// The node answered with this status.
    Status(u16, String),
    /// No answer.
    Transport(String),
}

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(_, text) | Self::Transport(text) => f.write_str(text),
        }
    }
}

/// The state-dependent answers at the end of one epoch (state at its last slot).
#[derive(Debug, Clone)]
struct EpochEnd {
    validators: String,
    committees: String,
    sync_committees: String,
}

impl EpochEnd {
    /// `(status, exit_epoch)` of validator `index`.
    fn status_of(&self, index: u64) -> (String, u64) {
        let value: Value = serde_json::from_str(&self.validators).expect("validators JSON");
        let entry = value["data"]
            .as_array()
            .expect("validator list")
            .iter()
            .find(|v| number(&v["index"]) == index)
            .unwrap_or_else(|| panic!("validator {index} missing from the recorded validators"));
        (
            entry["status"].as_str().expect("status").to_owned(),
            number(&entry["validator"]["exit_epoch"]),
        )
    }
}

/// Everything recorded while the chain runs.
#[derive(Debug, Default)]
struct Recording {
    /// Proposer duties by epoch, read during the epoch.
    duties: BTreeMap<u64, String>,
    /// End-of-epoch answers by epoch.
    ends: BTreeMap<u64, EpochEnd>,
    /// Epochs whose end state was no longer served when asked.
    lost: BTreeSet<u64>,
}

impl Recording {
    /// Whether epoch `e` has every state-dependent input.
    fn complete(&self, e: u64) -> bool {
        e >= 1
            && self.duties.contains_key(&e)
            && self.ends.contains_key(&(e - 1))
            && self.ends.contains_key(&e)
    }

    /// Slots of `validator`'s proposer duties in epoch `e`.
    fn duty_slots(&self, e: u64, validator: u64) -> Vec<u64> {
        let Some(text) = self.duties.get(&e) else {
            return Vec::new();
        };
        let value: Value = serde_json::from_str(text).expect("proposer duties JSON");
        value["data"]
            .as_array()
            .expect("duty list")
            .iter()
            .filter(|d| number(&d["validator_index"]) == validator)
            .map(|d| number(&d["slot"]))
            .collect()
    }

    /// The exit epoch of [`EXITING`] once the chain shows its exit.
    fn exit_epoch(&self) -> Option<u64> {
        self.ends.values().rev().find_map(|end| {
            let (status, exit_epoch) = end.status_of(EXITING);
            (status != "active_ongoing").then_some(exit_epoch)
        })
    }

    /// `(exit epoch, missed-proposal epoch)` once both are complete.
    fn chosen(&self) -> Option<(u64, u64)> {
        let exit = self.exit_epoch().filter(|x| self.complete(*x))?;
        let missed = self
            .ends
            .keys()
            .copied()
            .find(|e| self.complete(*e) && !self.duty_slots(*e, ABSENT).is_empty())?;
        Some((exit, missed))
    }
}

fn end_slot(e: u64) -> u64 {
    (e + 1) * SLOTS_PER_EPOCH - 1
}

async fn record() {
    devnet::install();
    let dir = tempfile::Builder::new()
        .prefix("poolvc-record")
        .tempdir()
        .expect("temporary directory");
    let keys = dir.path().join("keys");
    let secrets = dir.path().join("secrets");
    // Keys 0..=62 only: validator 63 proposes and attests nothing.
    devnet::write_interop_keys(ABSENT, &keys, &secrets);
    let registry_text = common::pool::sample_registry();
    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, &registry_text).expect("registry");
    check_registry_keys(&registry_text);
    let poolvc_log = dir.path().join("poolvc.log");
    let _logs = LogsOnFailure(vec![dir.path().join("run/beacon.log"), poolvc_log.clone()]);
    let reports_port = devnet::free_port().to_string();
    let reports = Raw::new(&format!("http://127.0.0.1:{reports_port}"));

    let mut net = Devnet::start_with_params(
        &dir.path().join("run"),
        VALIDATORS,
        25,
        &[("SHARD_COMMITTEE_PERIOD", SHARD_COMMITTEE_PERIOD)],
    );
    // poolvc starts before genesis: a peerless Lodestar without a block for an epoch believes
    // it is syncing and refuses duties for good.
    let mut poolvc = start_poolvc(
        &net,
        &dir.path().join("poolvc"),
        &keys,
        &secrets,
        &poolvc_log,
        &[
            "--registry",
            registry.to_str().expect("utf-8 path"),
            "--reports",
            "--reports-port",
            &reports_port,
        ],
    );
    net.wait_ready(Duration::from_secs(60)).await;
    let node = Raw::new(&net.url);
    let spec_text = node.get("/eth/v1/config/spec").await.expect("config spec");

    let mut recording = Recording::default();
    let mut credentials_changed = false;
    let mut exit_submitted = None;
    let (exit_epoch, missed_epoch) = loop {
        alive(&mut net.beacon, &mut poolvc);
        let wall = net.wall_slot();
        assert!(
            wall < MAX_EPOCH * SLOTS_PER_EPOCH,
            "no complete recording by epoch {MAX_EPOCH}: exit epoch {:?}, absent key's duties in {:?}, lost end states {:?}",
            recording.exit_epoch(),
            recording
                .duties
                .keys()
                .filter(|e| !recording.duty_slots(**e, ABSENT).is_empty())
                .collect::<Vec<_>>(),
            recording.lost
        );
        if !credentials_changed && wall >= CREDENTIALS_SLOT {
            change_credentials(&net, &registry);
            credentials_changed = true;
        }
        if exit_submitted.is_none() && wall >= EXIT_SLOT {
            submit_exit(&net, &node, &spec_text).await;
            exit_submitted = Some(wall);
        }
        let epoch = wall / SLOTS_PER_EPOCH;
        if wall % SLOTS_PER_EPOCH >= 1 && !recording.duties.contains_key(&epoch) {
            match node
                .get(&format!("/eth/v1/validator/duties/proposer/{epoch}"))
                .await
            {
                Ok(text) => {
                    recording.duties.insert(epoch, text);
                }
                Err(e) => eprintln!("proposer duties of epoch {epoch} not served yet: {e}"),
            }
        }
        for e in 0..epoch {
            if recording.ends.contains_key(&e) || recording.lost.contains(&e) {
                continue;
            }
            if wall < end_slot(e) + 2 {
                continue;
            }
            match record_end(&node, e).await {
                Ok(end) => {
                    recording.ends.insert(e, end);
                }
                // Still possibly served: a slow node; give it an epoch.
                Err(err) if wall <= end_slot(e) + SLOTS_PER_EPOCH => {
                    eprintln!("end of epoch {e} not recorded yet: {err}");
                }
                Err(err) => {
                    eprintln!("end of epoch {e} lost: {err}");
                    recording.lost.insert(e);
                }
            }
        }
        if let Some(x) = recording.exit_epoch() {
            assert!(
                !recording.lost.contains(&x) && !recording.lost.contains(&(x - 1)),
                "the end states around the exit epoch {x} were lost: {:?}",
                recording.lost
            );
        }
        if let Some(chosen) = recording.chosen() {
            break chosen;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    eprintln!(
        "recorded: exit of validator {EXITING} at epoch {exit_epoch}; validator {ABSENT} misses \
         its proposal in epoch {missed_epoch}"
    );
    check_exit(&recording, exit_epoch);

    let mut epochs: BTreeSet<u64> = BTreeSet::from([exit_epoch, missed_epoch]);
    wait_final(&mut net, &mut poolvc, *epochs.last().expect("chosen")).await;
    let mut blocks = BTreeMap::new();
    for e in &epochs {
        blocks.insert(*e, epoch_blocks(&node, *e).await);
    }
    if !epochs.iter().any(|e| has_withdrawals(&blocks[e], *e)) {
        // Neither chosen epoch shows a withdrawal: add the first complete one that does.
        let mut found = None;
        for e in 1..*epochs.last().expect("chosen") {
            if recording.complete(e) {
                let b = epoch_blocks(&node, e).await;
                if has_withdrawals(&b, e) {
                    found = Some((e, b));
                    break;
                }
            }
        }
        let (e, b) = found.expect("an epoch whose payloads carry withdrawals");
        epochs.insert(e);
        blocks.insert(e, b);
    }
    let withdrawal_epochs: Vec<u64> = epochs
        .iter()
        .copied()
        .filter(|e| has_withdrawals(&blocks[e], *e))
        .collect();
    let missed_slots = recording.duty_slots(missed_epoch, ABSENT);
    for slot in &missed_slots {
        assert!(
            !blocks[&missed_epoch].contains_key(slot),
            "a canonical block at slot {slot}, whose proposer {ABSENT} runs nowhere"
        );
    }

    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    for e in &epochs {
        let dir = PathBuf::from(format!("epoch-{e}"));
        let start = &recording.ends[&(e - 1)];
        let end = &recording.ends[e];
        let el_values = reports
            .get(&format!(
                "/pool/v1/el-values?from_slot={}&to_slot={}",
                e * SLOTS_PER_EPOCH,
                end_slot(*e)
            ))
            .await
            .expect("poolvc's recorded EL values");
        let el_values: Value = serde_json::from_str(&el_values).expect("EL values JSON");
        let mut put = |name: &str, text: String| {
            files.insert(dir.join(name), text);
        };
        put("config_spec.json", spec_text.clone());
        put("registry.toml", registry_text.clone());
        put("validators_start.json", start.validators.clone());
        put("validators_end.json", end.validators.clone());
        put("committees.json", end.committees.clone());
        put("sync_committees.json", end.sync_committees.clone());
        put("proposer_duties.json", recording.duties[e].clone());
        put(
            "el_values.json",
            serde_json::to_string_pretty(&el_values["data"]).expect("EL values") + "\n",
        );
        for (slot, text) in &blocks[e] {
            put(&format!("blocks/{slot}.json"), text.clone());
        }
    }
    let genesis: Value =
        serde_json::from_str(&node.get("/eth/v1/beacon/genesis").await.expect("genesis"))
            .expect("genesis JSON");
    let manifest = json!({
        "source": "Lodestar 1.5.1 `dev` (scripts/devnet.sh beacon): minimal preset, Capella from genesis, 2-second slots, mock execution engine",
        "recorder": "POOLVC_RECORD_FIXTURES=1 cargo test -p validator --test record_devnet_ledger",
        "params": { "SHARD_COMMITTEE_PERIOD": SHARD_COMMITTEE_PERIOD },
        "genesis_time": net.genesis_time,
        "genesis_validators_root": genesis["data"]["genesis_validators_root"],
        "validators": VALIDATORS,
        "absent_validator": ABSENT,
        "exiting_validator": EXITING,
        "credentials_changed_at_slot": CREDENTIALS_SLOT,
        "exit_published_at_slot": exit_submitted,
        "epochs": epochs,
        "cases": {
            "withdrawals": withdrawal_epochs,
            "missed_proposal": missed_epoch,
            "voluntary_exit": exit_epoch,
        },
    });
    files.insert(
        PathBuf::from("recording.json"),
        serde_json::to_string_pretty(&manifest).expect("manifest") + "\n",
    );
    replace_fixtures(&repo_root().join(FIXTURES), &files);
    eprintln!(
        "wrote {} files into {FIXTURES}: epochs {epochs:?} (exit {exit_epoch}, missed proposal \
         {missed_epoch} at slots {missed_slots:?}, withdrawals in {withdrawal_epochs:?})",
        files.len()
    );

    let status = poolvc.stop(Duration::from_secs(30));
    eprintln!("poolvc stopped: {status:?}");
    net.beacon.stop(Duration::from_secs(30));
}

fn alive(beacon: &mut Process, poolvc: &mut Process) {
    assert!(beacon.try_status().is_none(), "Lodestar stopped");
    assert!(poolvc.try_status().is_none(), "poolvc stopped");
}

/// The sample registry lists exactly the 64 interop keys, validator i being key i.
fn check_registry_keys(text: &str) {
    let registry = pool_registry::Registry::parse(Path::new("registry.toml"), text)
        .expect("the sample registry parses");
    let listed: BTreeSet<_> = registry.keys().copied().collect();
    let interop: BTreeSet<_> = (0..VALIDATORS)
        .map(|i| InteropKeypair::new(i).pubkey)
        .collect();
    assert_eq!(
        listed, interop,
        "the sample registry lists the 64 interop keys"
    );
}

/// `poolvc credentials set-withdrawal-address` for all 64 keys (interop withdrawal keys).
fn change_credentials(net: &Devnet, registry: &Path) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args([
            "credentials",
            "set-withdrawal-address",
            "--beacon-node",
            &net.url,
        ])
        .args(["--interop-count", &VALIDATORS.to_string()])
        .arg("--registry")
        .arg(registry)
        .output()
        .expect("poolvc credentials runs");
    assert!(
        output.status.success(),
        "credential change: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "credentials: {}",
        String::from_utf8_lossy(&output.stdout).trim()
    );
}

/// Signs [`EXITING`]'s voluntary exit for the current epoch with its interop key and
/// publishes it.
async fn submit_exit(net: &Devnet, node: &Raw, spec_text: &str) {
    let spec_value: Value = serde_json::from_str(spec_text).expect("config spec JSON");
    let spec = ChainSpec::from_config_map(spec_value["data"].as_object().expect("spec map"))
        .expect("the node's chain config");
    let genesis: Value =
        serde_json::from_str(&node.get("/eth/v1/beacon/genesis").await.expect("genesis"))
            .expect("genesis JSON");
    let root: Hash256 = serde_json::from_value(genesis["data"]["genesis_validators_root"].clone())
        .expect("genesis validators root");
    let epoch = Epoch(net.wall_slot() / SLOTS_PER_EPOCH);
    let message = VoluntaryExit {
        epoch,
        validator_index: EXITING,
    };
    let domain = spec.get_domain(DomainKind::VoluntaryExit, epoch, root);
    let signing_root = types::compute_signing_root(message.tree_hash_root(), domain);
    let signed = SignedVoluntaryExit {
        message,
        signature: InteropKeypair::new(EXITING).sign(signing_root),
    };
    let url = format!("{}/eth/v1/beacon/pool/voluntary_exits", net.url);
    let response = reqwest::Client::new()
        .post(&url)
        .timeout(Duration::from_secs(10))
        .json(&signed)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {url}: {status} {body}");
    eprintln!("voluntary exit of validator {EXITING} published in epoch {epoch}");
}

/// The answers of the state at the end of epoch `e`.
async fn record_end(node: &Raw, e: u64) -> Result<EpochEnd, RawError> {
    let slot = end_slot(e);
    let ids: Vec<String> = (0..VALIDATORS)
        .map(|i| format!("id={}", InteropKeypair::new(i).pubkey))
        .collect();
    let validators = node
        .get(&format!(
            "/eth/v1/beacon/states/{slot}/validators?{}",
            ids.join("&")
        ))
        .await?;
    let count = serde_json::from_str::<Value>(&validators)
        .ok()
        .and_then(|v| v["data"].as_array().map(Vec::len));
    if count != Some(VALIDATORS as usize) {
        return Err(RawError::Status(
            200,
            format!("validators at slot {slot}: {count:?} entries, expected {VALIDATORS}"),
        ));
    }
    let committees = node
        .get(&format!(
            "/eth/v1/beacon/states/{slot}/committees?epoch={e}"
        ))
        .await?;
    let sync_committees = node
        .get(&format!(
            "/eth/v1/beacon/states/{slot}/sync_committees?epoch={e}"
        ))
        .await?;
    Ok(EpochEnd {
        validators,
        committees,
        sync_committees,
    })
}

/// The exit epoch's boundaries show the transition the fixture is for.
fn check_exit(recording: &Recording, x: u64) {
    let (before, exit_before) = recording.ends[&(x - 1)].status_of(EXITING);
    let (after, exit_after) = recording.ends[&x].status_of(EXITING);
    assert_eq!(
        (before.as_str(), after.as_str(), exit_before, exit_after),
        ("active_exiting", "exited_unslashed", x, x),
        "validator {EXITING} around its exit epoch {x}"
    );
}

/// Waits (bounded) until every block of epoch `last + 1` is final.
async fn wait_final(net: &mut Devnet, poolvc: &mut Process, last: u64) {
    let deadline = (last + 8) * SLOTS_PER_EPOCH;
    loop {
        alive(&mut net.beacon, poolvc);
        let (_, finalized) = net.finality().await;
        if finalized >= last + 2 {
            return;
        }
        assert!(
            net.wall_slot() < deadline,
            "epoch {} not finalized by slot {deadline} (finalized {finalized})",
            last + 2
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The raw canonical blocks of epochs `e` and `e + 1`, by slot (skipped slots absent).
async fn epoch_blocks(node: &Raw, e: u64) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for slot in e * SLOTS_PER_EPOCH..(e + 2) * SLOTS_PER_EPOCH {
        match node.get(&format!("/eth/v2/beacon/blocks/{slot}")).await {
            Ok(text) => {
                let value: Value = serde_json::from_str(&text).expect("block JSON");
                // Some nodes answer a skipped slot with the block before it.
                if number(&value["data"]["message"]["slot"]) == slot {
                    out.insert(slot, text);
                }
            }
            Err(RawError::Status(404, _)) => {}
            Err(e) => panic!("block at slot {slot}: {e}"),
        }
    }
    out
}

/// Whether the payloads of epoch `e`'s blocks carry a non-zero withdrawal.
fn has_withdrawals(blocks: &BTreeMap<u64, String>, e: u64) -> bool {
    blocks
        .iter()
        .filter(|(slot, _)| **slot / SLOTS_PER_EPOCH == e)
        .any(|(_, text)| {
            let value: Value = serde_json::from_str(text).expect("block JSON");
            value["data"]["message"]["body"]["execution_payload"]["withdrawals"]
                .as_array()
                .is_some_and(|list| list.iter().any(|w| number(&w["amount"]) > 0))
        })
}

/// Replaces the fixture directory with `files`: written beside it first, then swapped in, so
/// a failed write leaves the previous fixtures in place.
fn replace_fixtures(target: &Path, files: &BTreeMap<PathBuf, String>) {
    let staging = target.with_extension("new");
    let previous = target.with_extension("old");
    for stale in [&staging, &previous] {
        if stale.exists() {
            std::fs::remove_dir_all(stale)
                .unwrap_or_else(|e| panic!("remove {}: {e}", stale.display()));
        }
    }
    for (name, text) in files {
        let path = staging.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent"))
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    if target.exists() {
        std::fs::rename(target, &previous)
            .unwrap_or_else(|e| panic!("move {} aside: {e}", target.display()));
    }
    std::fs::rename(&staging, target)
        .unwrap_or_else(|e| panic!("move {} in place: {e}", staging.display()));
    if previous.exists() {
        std::fs::remove_dir_all(&previous)
            .unwrap_or_else(|e| panic!("remove {}: {e}", previous.display()));
    }
}
