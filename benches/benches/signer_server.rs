//! `poolvc signer` under a slot's attestation burst: 10,000 keys loaded, 313 concurrent
//! `ATTESTATION` requests for one slot (what 10,000 keys sign per slot on mainnet), over HTTP
//! through the client's accept loop, each answered only after its slashing-protection record
//! is durable (SQLite, `synchronous=FULL`).
//!
//! Measured, same run, same keys and database: the time to the last of the 313 answers with
//! coalescing (one dispatcher: requests that arrive while a batch is in flight are signed as the
//! next batch, one hash-to-curve per signing root, one slashing-protection transaction per
//! batch) and without (every request its own transaction and its own hash-to-curve, all
//! concurrently). Electra data: one signing root for the whole slot, as on mainnet today.
//!
//! Then, printed (not criterion-measured): requests per second and p50/p99 latency at 1, 32 and
//! 313 concurrent requests, both modes, their rounds interleaved (the machine's load hits both
//! alike); the batch sizes coalescing formed.
//!
//! Every round votes for a new target epoch, so every check records a new attestation (the
//! durable path, never the "same data" shortcut).

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;
use serde_json::{Value, json};
use signer_server::{
    Chain, Coalescing, Keys, MessageKind, NoObserver, Outcome, Reloader, ServiceParts, SignerApi,
    SignerObserver, SignerService,
};
use slashing_protection::{SlashingProtection, SqliteConfig, SqliteStore};
use tokio_util::sync::CancellationToken;
use types::{ChainSpec, Epoch, Hash256, MainnetEthSpec, PublicKeyBytes};
use validator::http::{ServerLimits, serve_named};

const KEYS: u64 = 10_000;
/// Attestations per slot with 10,000 keys on mainnet (32 slots per epoch).
const BURST: usize = 313;
type E = MainnetEthSpec;

/// Records the coalesced batch sizes.
#[derive(Default)]
struct Batches(Mutex<Vec<usize>>);

impl SignerObserver for Batches {
    fn on_request(&self, _: Option<MessageKind>, _: Outcome, _: Duration) {}
    fn on_batch(&self, requests: usize) {
        self.0.lock().push(requests);
    }
}

struct Server {
    url: String,
    batches: Arc<Batches>,
}

struct Setup {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    coalesced: Server,
    plain: Server,
    pubkeys: Vec<PublicKeyBytes>,
    spec: ChainSpec,
    gvr: Hash256,
    /// The next target epoch (every round votes for a new one).
    epoch: AtomicU64,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

async fn serve(
    keys: Arc<Keys>,
    slashing: Arc<dyn SlashingProtection>,
    chain: Chain,
    coalescing: Coalescing,
    shutdown: &CancellationToken,
) -> Server {
    let batches = Arc::new(Batches::default());
    let service = Arc::new(SignerService::<E>::new(ServiceParts {
        chain,
        keys: keys.clone(),
        slashing,
        fee_policy: None,
        coalescing,
        observer: batches.clone(),
    }));
    {
        let service = service.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { service.run_dispatcher(shutdown).await });
    }
    let api = Arc::new(SignerApi {
        service,
        reloader: Arc::new(Reloader::new(keys, Arc::new(NoObserver))),
        token: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let limits = ServerLimits {
        max_connections: 2048,
        ..ServerLimits::default()
    };
    tokio::spawn(serve_named(
        listener,
        signer_server::router(api),
        shutdown.clone(),
        limits,
        "signer API",
    ));
    Server { url, batches }
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = ChainSpec::mainnet();
    let gvr = Hash256::repeat_byte(0x42);
    let started = Instant::now();
    let (coalesced, plain, pubkeys, shutdown) = runtime.block_on(async {
        let slashing: Arc<dyn SlashingProtection> = Arc::new(
            SqliteStore::open(
                dir.path().join("slashing.sqlite"),
                gvr,
                SqliteConfig::default(),
            )
            .await
            .expect("sqlite"),
        );
        let secrets = (0..KEYS)
            .map(|i| signer::derivation::interop_secret_key(i).expect("interop key"))
            .collect();
        let keys = Arc::new(
            Keys::from_secret_keys(secrets, slashing.clone())
                .await
                .expect("keys"),
        );
        let pubkeys = keys.public_keys();
        let shutdown = CancellationToken::new();
        let chain = Chain::new(spec.clone(), gvr);
        let coalesced = serve(
            keys.clone(),
            slashing.clone(),
            chain.clone(),
            Coalescing::Enabled,
            &shutdown,
        )
        .await;
        let plain = serve(keys, slashing, chain, Coalescing::Disabled, &shutdown).await;
        (coalesced, plain, pubkeys, shutdown)
    });
    println!(
        "setup: {KEYS} keys loaded and registered in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Setup {
        runtime,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        coalesced,
        plain,
        pubkeys,
        gvr,
        // An Electra epoch of mainnet.
        epoch: AtomicU64::new(400_000),
        spec,
        shutdown,
        _dir: dir,
    }
}

impl Setup {
    /// One slot's attestation request for a fresh target epoch (the same for every key).
    fn request(&self) -> Vec<u8> {
        let target = self.epoch.fetch_add(1, Ordering::Relaxed);
        let fork = self.spec.fork_at_epoch(Epoch(target));
        let body: Value = json!({
            "type": "ATTESTATION",
            "fork_info": {"fork": fork, "genesis_validators_root": self.gvr},
            "attestation": {
                "slot": (target * 32 + 5).to_string(),
                "index": "0",
                "beacon_block_root": Hash256::repeat_byte(0x11),
                "source": {"epoch": (target - 1).to_string(), "root": Hash256::repeat_byte(0x22)},
                "target": {"epoch": target.to_string(), "root": Hash256::repeat_byte(0x33)},
            },
        });
        body.to_string().into_bytes()
    }

    /// `concurrency` keys sign one slot's attestation at once; returns each request's latency
    /// and the time to the last answer.
    fn round(&self, server: &Server, concurrency: usize) -> (Vec<Duration>, Duration) {
        let body = bytes::Bytes::from(self.request());
        self.runtime.block_on(async {
            let started = Instant::now();
            let answers =
                futures::future::join_all(self.pubkeys[..concurrency].iter().map(|pubkey| {
                    let request = self
                        .http
                        .post(format!("{}/api/v1/eth2/sign/{pubkey}", server.url))
                        .header("content-type", "application/json")
                        .body(body.clone());
                    async move {
                        let sent = Instant::now();
                        let response = request.send().await.expect("request");
                        assert!(response.status().is_success(), "{}", response.status());
                        let _ = response.bytes().await.expect("answer");
                        sent.elapsed()
                    }
                }))
                .await;
            (answers, started.elapsed())
        })
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn burst(c: &mut Criterion) {
    let setup = setup();
    // Warm both servers' connections and code paths.
    for server in [&setup.coalesced, &setup.plain] {
        setup.round(server, BURST);
    }
    let mut group = c.benchmark_group(format!("signer {BURST} attestations, {KEYS} keys"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, server) in [
        ("coalesced", &setup.coalesced),
        ("per request", &setup.plain),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| (0..iterations).map(|_| setup.round(server, BURST).1).sum())
        });
    }
    group.finish();

    println!(
        "\nrequests/s and latency (each round a new slot; {KEYS} keys loaded; the two modes' rounds interleaved, so both see the same load):"
    );
    println!(
        "| concurrent | mode | rounds | requests/s | p50 latency (ms) | p99 latency (ms) | batch sizes (coalesced) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---|");
    for concurrency in [1usize, 32, BURST] {
        let rounds = match concurrency {
            1 => 300,
            32 => 60,
            _ => 16,
        };
        let servers = [
            ("coalesced", &setup.coalesced),
            ("per request", &setup.plain),
        ];
        let mut latencies = [Vec::new(), Vec::new()];
        let mut totals = [Duration::ZERO; 2];
        setup.coalesced.batches.0.lock().clear();
        for _ in 0..rounds {
            for (i, (_, server)) in servers.iter().enumerate() {
                let (answers, elapsed) = setup.round(server, concurrency);
                latencies[i].extend(answers);
                totals[i] += elapsed;
            }
        }
        for (i, (name, _)) in servers.iter().enumerate() {
            latencies[i].sort();
            let summary = if i == 0 {
                let batches = setup.coalesced.batches.0.lock().clone();
                let max = batches.iter().max().copied().unwrap_or(0);
                format!(
                    "{} batches, mean {:.1}, max {max}",
                    batches.len(),
                    batches.iter().sum::<usize>() as f64 / batches.len().max(1) as f64
                )
            } else {
                "—".to_owned()
            };
            println!(
                "| {concurrency} | {name} | {rounds} | {:.0} | {:.2} | {:.2} | {summary} |",
                latencies[i].len() as f64 / totals[i].as_secs_f64(),
                percentile(&latencies[i], 0.50).as_secs_f64() * 1e3,
                percentile(&latencies[i], 0.99).as_secs_f64() * 1e3,
            );
        }
    }
    setup.shutdown.cancel();
}

criterion_group!(benches, burst);
criterion_main!(benches);
