//! The local Lodestar devnet for end-to-end tests: installed and started through
//! `scripts/devnet.sh`, queried over its Beacon API, stopped (whole process group) on drop.
//!
//! Everything is on loopback, every wait is bounded, every child is killed on drop.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Seconds per slot of the devnet.
pub(crate) const SECONDS_PER_SLOT: u64 = 2;
/// Slots per epoch (minimal preset).
pub(crate) const SLOTS_PER_EPOCH: u64 = 8;
/// The fee recipient every devnet block must pay (the pool vault).
pub(crate) const VAULT: &str = "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the repository")
        .to_path_buf()
}

/// Whether end-to-end tests are enabled (`POOLVC_E2E=1`); otherwise prints a loud `SKIPPED`
/// line straight to stderr (not captured by the test harness).
pub(crate) fn enabled(test: &str) -> bool {
    if std::env::var("POOLVC_E2E").is_ok_and(|v| v == "1") {
        return true;
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: end-to-end test against a real Lodestar devnet; set POOLVC_E2E=1 to run it"
    );
    false
}

/// Unix time now, in seconds.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Installs Lodestar into the script's cache (idempotent).
pub(crate) fn install() {
    let status = Command::new("bash")
        .arg(repo_root().join("scripts/devnet.sh"))
        .arg("install")
        .status()
        .expect("scripts/devnet.sh runs");
    assert!(
        status.success(),
        "scripts/devnet.sh install failed: {status}"
    );
}

/// A child process leading its own process group, stopped (group-wide) on drop.
pub(crate) struct Process {
    child: Option<Child>,
    name: String,
}

impl Process {
    /// Spawns `command` in a new process group.
    pub(crate) fn spawn(name: &str, mut command: Command) -> Self {
        command.process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            child: Some(child),
            name: name.to_owned(),
        }
    }

    /// Whether it has exited; its status if so.
    pub(crate) fn try_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("try_wait"))
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Sends SIGTERM to the group and waits up to `timeout`; SIGKILL after that.
    pub(crate) fn stop(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let pgid = i32::try_from(child.id()).ok()?;
        // SAFETY: `kill` has no memory-safety preconditions.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let status = self.wait_exit(timeout);
        if status.is_none() {
            eprintln!("{} did not stop within {timeout:?}: killing it", self.name);
            // SAFETY: as above.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = self.child.as_mut().map(Child::wait);
        }
        status
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.stop(Duration::from_secs(10));
    }
}

/// A running Lodestar dev beacon node.
pub(crate) struct Devnet {
    /// Where its files are.
    pub(crate) run_dir: PathBuf,
    /// Its REST API base URL.
    pub(crate) url: String,
    /// Genesis time (Unix seconds).
    pub(crate) genesis_time: u64,
    /// The node.
    pub(crate) beacon: Process,
    http: reqwest::Client,
}

impl Devnet {
    /// Starts Lodestar with `validators` genesis validators, genesis `delay` seconds from now and
    /// chain config overrides `params` (`scripts/devnet.sh beacon --param`).
    pub(crate) fn start_with_params(
        run_dir: &Path,
        validators: u64,
        delay: u64,
        params: &[(&str, &str)],
    ) -> Self {
        let rest_port = free_port();
        let p2p_port = free_port();
        let genesis_time = now() + delay;
        std::fs::create_dir_all(run_dir).expect("run directory");
        let log = std::fs::File::create(run_dir.join("beacon.log")).expect("beacon log");
        let mut command = Command::new("bash");
        command
            .arg(repo_root().join("scripts/devnet.sh"))
            .arg("beacon")
            .arg("--run-dir")
            .arg(run_dir)
            .args(["--rest-port", &rest_port.to_string()])
            .args(["--p2p-port", &p2p_port.to_string()])
            .args(["--validators", &validators.to_string()])
            .args(["--genesis-time", &genesis_time.to_string()])
            .args(
                params
                    .iter()
                    .flat_map(|(key, value)| ["--param".to_owned(), format!("{key}={value}")]),
            )
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log));
        let beacon = Process::spawn("lodestar", command);
        Self {
            run_dir: run_dir.to_path_buf(),
            url: format!("http://127.0.0.1:{rest_port}"),
            genesis_time,
            beacon,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        }
    }

    /// `GET path` as JSON; `None` on 404.
    pub(crate) async fn get(&self, path: &str) -> Option<Value> {
        let url = format!("{}{path}", self.url);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        assert!(
            response.status().is_success(),
            "GET {url}: {}",
            response.status()
        );
        Some(
            response
                .json()
                .await
                .unwrap_or_else(|e| panic!("GET {url}: {e}")),
        )
    }

    /// `GET path` as JSON; `None` on any failure (for answers that may not be ready yet).
    pub(crate) async fn try_get(&self, path: &str) -> Option<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// `POST path` with a JSON body; `(status, body text)`.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> (reqwest::StatusCode, String) {
        let url = format!("{}{path}", self.url);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// The node's chain config and genesis validators root.
    pub(crate) async fn chain(&self) -> (types::ChainSpec, types::Hash256) {
        let spec = self.get("/eth/v1/config/spec").await.expect("config spec");
        let spec = types::ChainSpec::from_config_map(spec["data"].as_object().expect("spec map"))
            .expect("the node's chain config");
        let genesis = self.get("/eth/v1/beacon/genesis").await.expect("genesis");
        let root = serde_json::from_value(genesis["data"]["genesis_validators_root"].clone())
            .expect("genesis validators root");
        (spec, root)
    }

    /// Waits until the REST API answers (bounded).
    pub(crate) async fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.beacon.try_status() {
                panic!(
                    "Lodestar exited ({status}); see {}",
                    self.run_dir.join("beacon.log").display()
                );
            }
            let url = format!("{}/eth/v1/node/version", self.url);
            if self
                .http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("Lodestar's REST API not up within {timeout:?}");
    }

    /// The current slot by wall clock (0 before genesis).
    pub(crate) fn wall_slot(&self) -> u64 {
        now().saturating_sub(self.genesis_time) / SECONDS_PER_SLOT
    }

    /// `(justified, finalized)` epochs of the head state.
    pub(crate) async fn finality(&self) -> (u64, u64) {
        let value = self
            .get("/eth/v1/beacon/states/head/finality_checkpoints")
            .await
            .expect("finality checkpoints");
        let epoch = |name: &str| number(&value["data"][name]["epoch"]);
        (epoch("current_justified"), epoch("finalized"))
    }

    /// The canonical block at `slot` (`None` for an empty slot).
    pub(crate) async fn block(&self, slot: u64) -> Option<Value> {
        let block = self.get(&format!("/eth/v2/beacon/blocks/{slot}")).await?;
        (number(&block["data"]["message"]["slot"]) == slot).then_some(block)
    }

    /// The committees of `epoch`: `(slot, index) -> members`, from the head state (which serves
    /// the previous, current and next epoch only: poll at least once per epoch); `None` when the
    /// head state does not serve that epoch.
    pub(crate) async fn committees(
        &self,
        epoch: u64,
    ) -> Option<std::collections::BTreeMap<(u64, u64), Vec<u64>>> {
        let state = epoch * SLOTS_PER_EPOCH;
        let url = format!(
            "{}/eth/v1/beacon/states/head/committees?epoch={epoch}",
            self.url
        );
        let response = self.http.get(&url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let value: Value = response.json().await.ok()?;
        let list: Vec<(u64, u64, Vec<u64>)> = value["data"]
            .as_array()
            .expect("committee list")
            .iter()
            .map(|c| {
                let members = c["validators"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .map(number)
                    .collect();
                (number(&c["slot"]), number(&c["index"]), members)
            })
            .collect();
        // Lodestar 1.5.1 labels the slot's position in the epoch `index` and the committee
        // index `slot`: the spec's form has every slot of the epoch among the slots.
        let slots: BTreeSet<u64> = list.iter().map(|(slot, _, _)| *slot).collect();
        let spec_form = slots == (state..state + SLOTS_PER_EPOCH).collect();
        Some(
            list.into_iter()
                .map(|(slot, index, members)| {
                    if spec_form {
                        ((slot, index), members)
                    } else {
                        ((state + index, slot), members)
                    }
                })
                .collect(),
        )
    }
}

/// A quoted or bare JSON integer.
pub(crate) fn number(value: &Value) -> u64 {
    match value {
        Value::String(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("not a number {s:?}: {e}")),
        Value::Number(n) => n.as_u64().expect("unsigned"),
        other => panic!("not a number: {other}"),
    }
}

/// The bits of a hex SSZ bitlist (length marker removed) or bitvector (`bitlist = false`).
pub(crate) fn bits(hex: &str, bitlist: bool) -> Vec<bool> {
    let bytes = hex::decode(hex.trim_start_matches("0x")).expect("hex bits");
    let mut out: Vec<bool> = bytes
        .iter()
        .flat_map(|byte| (0..8).map(move |i| byte >> i & 1 == 1))
        .collect();
    if bitlist {
        let marker = out.iter().rposition(|b| *b).expect("bitlist length marker");
        out.truncate(marker);
    }
    out
}

/// `(target epoch, validator)` of every vote included in `block` (phase0..Capella shapes).
pub(crate) fn included_votes(
    block: &Value,
    committees: &std::collections::BTreeMap<u64, std::collections::BTreeMap<(u64, u64), Vec<u64>>>,
) -> BTreeSet<(u64, u64)> {
    let mut votes = BTreeSet::new();
    let attestations = block["data"]["message"]["body"]["attestations"]
        .as_array()
        .expect("attestations");
    for attestation in attestations {
        let data = &attestation["data"];
        let slot = number(&data["slot"]);
        let index = number(&data["index"]);
        let target = number(&data["target"]["epoch"]);
        let epoch = slot / SLOTS_PER_EPOCH;
        let Some(members) = committees.get(&epoch).and_then(|c| c.get(&(slot, index))) else {
            panic!("no committee {index} at slot {slot}");
        };
        let set = bits(
            attestation["aggregation_bits"].as_str().expect("bits"),
            true,
        );
        assert_eq!(
            set.len(),
            members.len(),
            "aggregation bits of committee {index} at {slot}"
        );
        for (member, voted) in members.iter().zip(set) {
            if voted {
                votes.insert((target, *member));
            }
        }
    }
    votes
}

/// Starts `poolvc run` with `keys`/`secrets` and extra `args`, stderr to `log`.
pub(crate) fn start_poolvc(
    devnet: &Devnet,
    datadir: &Path,
    keys: &Path,
    secrets: &Path,
    log: &Path,
    args: &[&str],
) -> Process {
    let log = std::fs::File::create(log).expect("poolvc log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_poolvc"));
    command
        .arg("run")
        .arg("--datadir")
        .arg(datadir)
        .args(["--beacon-nodes", &devnet.url])
        .arg("--keystores")
        .arg(keys)
        .arg("--secrets")
        .arg(secrets)
        .args(["--pool-vault", VAULT])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    Process::spawn("poolvc", command)
}

/// Writes `count` interop keystores with the binary.
pub(crate) fn write_interop_keys(count: u64, keys: &Path, secrets: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["keys", "interop", "--count", &count.to_string()])
        .arg("--keystores")
        .arg(keys)
        .arg("--secrets")
        .arg(secrets)
        .output()
        .expect("poolvc keys interop");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
