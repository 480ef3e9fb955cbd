//! `poolvc signer` from the outside.
//!
//! - poolvc's own remote-signer client against poolvc's signer: a client with
//!   `--remote-signer-url` pointing at an in-process `poolvc signer` performs every duty of its
//!   remote keys on the mock beacon node (which verifies every published signature), and the
//!   signer records the slashable ones in its own slashing protection too;
//! - the binary: keys reloaded on SIGHUP; the bearer token; EIP-3076 history imported into the
//!   signer's database with `poolvc slashing-protection import` and exported again after it
//!   signed; metrics served.

#[expect(
    dead_code,
    reason = "the keymanager tests' harness, of which this binary uses a part"
)]
#[path = "keymanager/harness.rs"]
mod harness;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use signer_server::{Coalescing, FeePolicy, HeaderOnlyBlocks, KeySource, MessageKind, Outcome};
use slashing_protection::SlashingProtection;
use tokio_util::sync::CancellationToken;
use types::{ForkName, Hash256, Slot};
use validator::cli::signer::{ChainSource, SignerConfig};
use validator::config::SlashingDb;

use harness::{pubkey, wait_for_attesters};

fn signer_config(dir: &Path, spec: types::ChainSpec, gvr: Hash256) -> SignerConfig {
    SignerConfig {
        datadir: dir.to_path_buf(),
        chain: ChainSource::Given {
            spec: Box::new(spec),
            genesis_validators_root: gvr,
        },
        keys: KeySource {
            keystores_dir: dir.join("keystores"),
            passwords: signer::loader::PasswordSource::PerKeyFiles(dir.join("secrets")),
            key_cache: Some(dir.join("key_cache.json")),
        },
        slashing_db: SlashingDb::Sqlite(dir.join("slashing_protection.sqlite")),
        fee_policy: Some(FeePolicy {
            vault: harness::VAULT,
            // poolvc's client sends Deneb blocks as headers: it checks the fee recipient itself.
            header_only: HeaderOnlyBlocks::Sign,
        }),
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections: 64,
        token_file: None,
        coalescing: Coalescing::Enabled,
        metrics: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poolvc_run_signs_every_duty_through_poolvc_signer() {
    let node = harness::mock(ForkName::Deneb).await;
    let spec = harness::spec(ForkName::Deneb);
    let now = node.slot().as_u64();
    let local = [0u64, 1];
    let proposer = (now + 5..now + 14)
        .filter_map(|s| node.mock.proposer(Slot(s)))
        .find(|p| !local.contains(p))
        .expect("a proposer soon");
    let member = node
        .mock
        .sync_committee(spec.compute_epoch_at_slot(Slot(now)))
        .into_iter()
        .find(|i| !local.contains(i) && *i != proposer)
        .expect("a sync committee member");
    let mut remote: Vec<u64> = vec![proposer, member, 40, 41, 42];
    remote.sort_unstable();
    remote.dedup();

    // The signer holds the remote keys (keystores in its own directory).
    let signer_dir = tempfile::tempdir().unwrap();
    for index in &remote {
        harness::write_keystores(signer_dir.path(), *index, 1);
    }
    let config = signer_config(
        signer_dir.path(),
        spec.clone(),
        node.genesis_validators_root,
    );
    let signer = validator::web3signer::start(&config, &CancellationToken::new())
        .await
        .expect("signer starts");
    let signer_url = format!("http://{}", signer.addr());
    let signer_metrics = signer.metrics().clone();
    let signer_slashing = signer.slashing_protection().clone();
    let (stop_signer, signer_stopped) = tokio::sync::oneshot::channel::<()>();
    let signer_task = tokio::spawn(signer.run_until(async move {
        let _ = signer_stopped.await;
        "test".to_owned()
    }));

    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let mut client_config = harness::config(dir.path(), &node, 0, false);
    client_config.duties.builder = validator::config::BuilderMode::Enabled;
    client_config.remote_signer.url = Some(signer_url);
    let running = harness::start(&client_config).await;
    let start = node.slot();

    assert!(
        wait_for_attesters(&node, &remote, start, harness::ATTESTATION_WAIT_SLOTS).await,
        "the signer's keys attest: {:?}",
        harness::attesters_after(&node, start)
    );
    let published = node.mock.published();
    assert!(
        published
            .blocks
            .iter()
            .any(|b| b.proposer_index == proposer),
        "the signer's proposer proposes"
    );
    assert!(
        published
            .sync_messages
            .iter()
            .any(|m| m.validator_index == member),
        "sync committee messages"
    );
    assert!(
        published
            .contributions
            .iter()
            .any(|c| c.message.aggregator_index == member),
        "sync contributions"
    );
    assert!(
        published
            .registrations
            .iter()
            .any(|r| r.message.pubkey == pubkey(40)),
        "builder registrations"
    );
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );
    running.stop().await;

    // The signer counted what it signed and recorded the slashable messages itself.
    let signer_side = &signer_metrics.signer;
    for kind in [
        MessageKind::Attestation,
        MessageKind::Block,
        MessageKind::RandaoReveal,
        MessageKind::SyncCommitteeMessage,
        MessageKind::ValidatorRegistration,
    ] {
        assert!(
            signer_side.count(Some(kind), Outcome::Signed) > 0,
            "{kind:?} signed by the signer"
        );
    }
    assert_eq!(signer_side.count(None, Outcome::BadRequest), 0);
    for index in &remote {
        let state = signer_slashing
            .validator_state(&pubkey(*index))
            .await
            .unwrap()
            .expect("registered");
        assert!(
            state.last_attestation.is_some(),
            "key {index}: recorded by the signer"
        );
    }
    let state = signer_slashing
        .validator_state(&pubkey(proposer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        state.last_block.is_some(),
        "the block recorded by the signer"
    );
    let _ = stop_signer.send(());
    tokio::time::timeout(Duration::from_secs(30), signer_task)
        .await
        .expect("the signer stops")
        .expect("signer task");
}

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `poolvc signer` as a child process, killed on drop.
struct SignerProcess {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for SignerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const GVR: &str = "0x4242424242424242424242424242424242424242424242424242424242424242";

impl SignerProcess {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let port = free_port();
        let log = std::fs::File::create(dir.join("signer.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_poolvc"))
            .arg("signer")
            .arg("--datadir")
            .arg(dir)
            .args(["--network", "minimal", "--genesis-validators-root", GVR])
            .arg("--keystores")
            .arg(dir.join("keystores"))
            .arg("--secrets")
            .arg(dir.join("secrets"))
            .args(["--http-port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("poolvc signer starts");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// Waits (bounded) until `/upcheck` answers.
    async fn ready(&mut self, dir: &Path) {
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "poolvc signer exited ({status}): {}",
                    std::fs::read_to_string(dir.join("signer.log")).unwrap_or_default()
                );
            }
            if let Ok(response) = self.http.get(format!("{}/upcheck", self.url)).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("poolvc signer did not answer");
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn sign(&self, index: u64, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/api/v1/eth2/sign/{}", self.url, pubkey(index)))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
    }

    /// Stops it with SIGTERM; returns whether it exited successfully.
    fn stop(mut self) -> bool {
        self.signal(libc::SIGTERM);
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

fn attestation(source: u64, target: u64, byte: u8) -> Value {
    json!({
        "type": "ATTESTATION",
        "fork_info": {
            "fork": {"previous_version": "0x00000001", "current_version": "0x00000001", "epoch": "0"},
            "genesis_validators_root": GVR,
        },
        "attestation": {
            "slot": (target * 8).to_string(),
            "index": "0",
            "beacon_block_root": Hash256::repeat_byte(byte),
            "source": {"epoch": source.to_string(), "root": Hash256::ZERO},
            "target": {"epoch": target.to_string(), "root": Hash256::ZERO},
        },
    })
}

fn run_poolvc(args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(args)
        .output()
        .expect("poolvc runs");
    assert!(
        output.status.success(),
        "poolvc {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_on_sighup_requires_its_token_and_shares_the_interchange_commands() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path();
    harness::write_keystores(datadir, 0, 1);
    // EIP-3076 history of key 0 imported into the signer's database before it starts.
    let interchange = json!({
        "metadata": {"interchange_format_version": "5", "genesis_validators_root": GVR},
        "data": [{
            "pubkey": pubkey(0),
            "signed_blocks": [],
            "signed_attestations": [{"source_epoch": "4", "target_epoch": "5"}],
        }],
    });
    let file = datadir.join("interchange.json");
    std::fs::write(&file, interchange.to_string()).unwrap();
    let datadir_arg = datadir.to_str().unwrap();
    run_poolvc(&[
        "slashing-protection",
        "import",
        "--datadir",
        datadir_arg,
        "--file",
        file.to_str().unwrap(),
    ]);

    let token_file = datadir.join("signer-token");
    let metrics_port = free_port().to_string();
    let mut signer = SignerProcess::start(
        datadir,
        &[
            "--token-file",
            token_file.to_str().unwrap(),
            "--metrics",
            "--metrics-port",
            &metrics_port,
        ],
    );
    signer.ready(datadir).await;
    let token = std::fs::read_to_string(&token_file).unwrap();
    let token = token.trim();

    // The token: required beyond /upcheck and /healthcheck.
    let (status, _) = signer.get("/api/v1/eth2/publicKeys", None).await;
    assert_eq!(status, 401);
    let (status, _) = signer.get("/api/v1/eth2/publicKeys", Some("00")).await;
    assert_eq!(status, 403);
    let (status, keys) = signer.get("/api/v1/eth2/publicKeys", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(keys, json!([pubkey(0)]));
    let (status, _) = signer.get("/healthcheck", None).await;
    assert_eq!(status, 200);

    // The imported history holds: at or below it refused, above it signed.
    let (status, body) = signer.sign(0, &attestation(4, 5, 1), Some(token)).await;
    assert_eq!(status, 412, "{body}");
    let (status, body) = signer.sign(0, &attestation(5, 6, 1), Some(token)).await;
    assert_eq!(status, 200, "{body}");

    // SIGHUP: a keystore added meanwhile is loaded.
    harness::write_keystores(datadir, 1, 1);
    let (_, status) = signer.get("/reload", Some(token)).await;
    assert_eq!(status["status"], "idle", "{status}");
    signer.signal(libc::SIGHUP);
    let mut done = Value::Null;
    for _ in 0..300 {
        let (_, status) = signer.get("/reload", Some(token)).await;
        if status["status"] == "completed" {
            done = status;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "completed", "the reload after SIGHUP ended");
    let (_, keys) = signer.get("/api/v1/eth2/publicKeys", Some(token)).await;
    assert_eq!(
        keys.as_array().map(Vec::len),
        Some(2),
        "the new key: {keys}"
    );
    let (status, body) = signer.sign(1, &attestation(1, 2, 1), Some(token)).await;
    assert_eq!(status, 200, "{body}");

    // Metrics of the signer.
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains("poolvc_signer_requests_total{kind=\"attestation\",outcome=\"slashable\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("poolvc_signer_keys 2"), "{metrics}");
    assert!(signer.stop(), "a clean stop on SIGTERM");

    // Exported from the signer's database: its own signatures are in the history.
    let export = datadir.join("export.json");
    run_poolvc(&[
        "slashing-protection",
        "export",
        "--datadir",
        datadir_arg,
        "--file",
        export.to_str().unwrap(),
    ]);
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let attestations: Vec<&Value> = exported["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["pubkey"] == json!(pubkey(0)))
        .flat_map(|d| d["signed_attestations"].as_array().unwrap())
        .collect();
    assert!(
        attestations
            .iter()
            .any(|a| a["source_epoch"] == "5" && a["target_epoch"] == "6"),
        "{exported}"
    );
}
