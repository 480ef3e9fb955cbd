//! A whole client with the Keymanager API against the mock beacon node, keys loaded from
//! keystores on disk (so imports, deletions and restarts touch real files and the key cache).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use signer::keystore::{Kdf, Keystore};
use slashing_protection::SlashingProtection;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use types::{ChainSpec, ExecutionAddress, ForkName, MinimalEthSpec, PublicKeyBytes, Slot};
use validator::cli::keys::{InteropArgs, KdfChoice, interop};
use validator::client::{self, Keys};
use validator::config::{Config, DutyConfig, FeePolicy, KeySource, KeymanagerConfig, SlashingDb};
use validator::executor::ShutdownReason;
use validator::metrics::Metrics;
use validator::testing::{TestNode, spec_at, spec_with_slot_seconds};

pub(crate) type E = MinimalEthSpec;

/// Slot length of these tests.
pub(crate) const SLOT_SECONDS: u64 = 2;
/// The pool vault of these tests.
pub(crate) const VAULT: ExecutionAddress = ExecutionAddress::new([0x5a; 20]);

/// The minimal preset with `fork` from genesis and 2-second slots.
pub(crate) fn spec(fork: ForkName) -> ChainSpec {
    let spec = spec_at(&ChainSpec::minimal(), fork).expect("fork spec");
    spec_with_slot_seconds(&spec, SLOT_SECONDS).expect("slot duration")
}

/// A mock with 64 interop validators whose genesis was 12 slots ago.
pub(crate) async fn mock(fork: ForkName) -> TestNode<E> {
    mock_since(fork, 12).await
}

/// A mock with 64 interop validators whose genesis was `slots_ago` slots ago.
pub(crate) async fn mock_since(fork: ForkName, slots_ago: u64) -> TestNode<E> {
    TestNode::start(spec(fork), 64, slots_ago)
        .await
        .expect("mock starts")
}

/// The interop public key of validator `index`.
pub(crate) fn pubkey(index: u64) -> PublicKeyBytes {
    signer::derivation::interop_secret_key(index)
        .expect("interop key")
        .public_key()
        .to_bytes()
}

/// Writes keystores (and per-key password files) of interop keys `first..first + count`.
pub(crate) fn write_keystores(datadir: &Path, first: u64, count: u64) {
    interop(&InteropArgs {
        count,
        first,
        keystores: datadir.join("keystores"),
        secrets: datadir.join("secrets"),
        kdf: KdfChoice::Pbkdf2,
    })
    .expect("interop keystores");
}

/// An EIP-2335 keystore of interop key `index` under `password`, as JSON text.
pub(crate) fn keystore_json(index: u64, password: &str) -> String {
    let secret = signer::derivation::interop_secret_key(index).expect("interop key");
    Keystore::encrypt(
        &secret,
        password,
        Kdf::pbkdf2(1024),
        &format!("m/12381/3600/{index}/0/0"),
    )
    .expect("encrypt")
    .to_json_string()
}

/// A configuration over `node` with keystores, per-key passwords and the key cache in
/// `datadir`, the pool vault as fee recipient (`allow_other` as given), and the Keymanager API
/// on a free loopback port.
pub(crate) fn config(
    datadir: &Path,
    node: &TestNode<E>,
    doppelganger_epochs: u64,
    allow_other: bool,
) -> Config {
    Config {
        datadir: datadir.to_path_buf(),
        beacon_nodes: vec![node.mock.url()],
        broadcast: Default::default(),
        keys: KeySource {
            keystores_dir: datadir.join("keystores"),
            passwords: signer::loader::PasswordSource::PerKeyFiles(datadir.join("secrets")),
            key_cache: Some(datadir.join("key_cache.json")),
        },
        slashing_db: SlashingDb::Sqlite(datadir.join("slashing_protection.sqlite")),
        duties: DutyConfig {
            fee_policy: Some(FeePolicy {
                vault: VAULT,
                allow_other,
            }),
            doppelganger_epochs,
            ..DutyConfig::default()
        },
        pool: None,
        keymanager: Some(KeymanagerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            token_file: datadir.join("api-token.txt"),
            max_body_bytes: 1 << 20,
            decrypt_threads: 2,
        }),
        remote_signer: Default::default(),
    }
}

/// A client running in the background.
pub(crate) struct Running {
    /// The Keymanager API's address.
    pub(crate) addr: SocketAddr,
    /// The client's metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// Its slashing protection.
    pub(crate) slashing: Arc<dyn SlashingProtection>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<ShutdownReason>,
}

impl Running {
    /// Stops the client gracefully.
    pub(crate) async fn stop(self) -> ShutdownReason {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the client stops")
            .expect("client task")
    }
}

/// Starts the client of `config`, loading keys from its keystores.
pub(crate) async fn try_start(config: &Config) -> validator::Result<Running> {
    try_start_with(config, Keys::FromConfig).await
}

/// Starts the client of `config` with `keys`.
pub(crate) async fn try_start_with(config: &Config, keys: Keys) -> validator::Result<Running> {
    // Shown with a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    let (genesis, spec) =
        client::bootstrap(&config.beacon_nodes, &CancellationToken::new()).await?;
    let client = client::start(config, keys, genesis, spec).await?;
    let addr = client
        .keymanager_addr()
        .expect("the Keymanager API is served");
    let metrics = client.metrics().clone();
    let slashing = client.slashing_protection().clone();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(client.run_until(async move {
        let _ = stopped.await;
        "test".to_owned()
    }));
    Ok(Running {
        addr,
        metrics,
        slashing,
        stop,
        task,
    })
}

/// [`try_start`] that must succeed.
pub(crate) async fn start(config: &Config) -> Running {
    try_start(config).await.expect("client starts")
}

/// A Keymanager API client with the datadir's token.
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// A client of `addr` using the token in `datadir`.
    pub(crate) fn new(addr: SocketAddr, datadir: &Path) -> Self {
        let token = std::fs::read_to_string(datadir.join("api-token.txt")).expect("token file");
        Self {
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
            token: token.trim().to_owned(),
        }
    }

    /// `method path` with `body` (JSON) and the given `Authorization` header (none: `None`).
    pub(crate) async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        authorization: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{path}: non-JSON answer {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, value)
    }

    /// An authenticated request.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let bearer = format!("Bearer {}", self.token);
        self.send_with(method, path, body, Some(&bearer)).await
    }

    /// An authenticated request; the answer with its headers and its raw body.
    pub(crate) async fn send_full(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        (status, headers, text)
    }

    /// An authenticated request with a raw body.
    pub(crate) async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let value = response.json().await.unwrap_or(Value::Null);
        (status, value)
    }

    /// The local keys listed by `GET /eth/v1/keystores`.
    pub(crate) async fn local_keys(&self) -> Vec<PublicKeyBytes> {
        let (status, body) = self.send(Method::GET, "/eth/v1/keystores", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|k| {
                k["validating_pubkey"]
                    .as_str()
                    .expect("pubkey")
                    .parse()
                    .expect("pubkey hex")
            })
            .collect()
    }

    /// The token.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

/// The statuses of a per-item answer (`data[].status`).
pub(crate) fn statuses(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {body}"))
        .iter()
        .map(|item| item["status"].as_str().expect("status").to_owned())
        .collect()
}

/// The validator indices with an attestation published after `slot`.
pub(crate) fn attesters_after(node: &TestNode<E>, slot: Slot) -> Vec<u64> {
    let mut indices: Vec<u64> = node
        .mock
        .published()
        .attestations
        .iter()
        .filter(|a| a.data.slot > slot)
        .map(|a| a.validator_index)
        .collect();
    indices.sort_unstable();
    indices.dedup();
    indices
}

/// Slots a test waits for every key to have attested once: two epochs (a key attests once per
/// epoch, at a slot of its committee) and a little.
pub(crate) const ATTESTATION_WAIT_SLOTS: u64 = 18;

/// Waits until the mock's slot is at least `slot`.
pub(crate) async fn wait_until_slot(node: &TestNode<E>, slot: Slot) {
    while node.slot() < slot {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (up to `slots` slots) until every validator of `indices` attested after `slot`.
pub(crate) async fn wait_for_attesters(
    node: &TestNode<E>,
    indices: &[u64],
    slot: Slot,
    slots: u64,
) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(slots * SLOT_SECONDS);
    while tokio::time::Instant::now() < deadline {
        let seen = attesters_after(node, slot);
        if indices.iter().all(|i| seen.contains(i)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// The keystore files in `datadir/keystores`.
pub(crate) fn keystore_files(datadir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(datadir.join("keystores"))
        .expect("keystores dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The pubkeys the key cache file indexes.
pub(crate) fn cached_pubkeys(datadir: &Path) -> Vec<PublicKeyBytes> {
    let text = std::fs::read(datadir.join("key_cache.json")).expect("key cache");
    let cache: Value = serde_json::from_slice(&text).expect("key cache JSON");
    let mut keys: Vec<PublicKeyBytes> = cache["keystores"]
        .as_array()
        .expect("index")
        .iter()
        .map(|e| e["pubkey"].as_str().expect("pubkey").parse().expect("hex"))
        .collect();
    keys.sort();
    keys
}
