//! One slot of attestations for 10,000 keys, through the validator client, against the mock
//! beacon node.
//!
//! Measured: from "the attestation data arrived" to "the attestations were published" — what
//! `AttestationService::sign_and_publish` does: build every attester's data, one slashing
//! protection batch (SQLite, durable commit) concurrently with one batch signature (one
//! hash-to-curve per committee), build the payload, one POST to the node. Mainnet preset,
//! Capella: 10,000 keys have 313 attestations per slot. The mock's own signature checks are off
//! (they would be the node's time, not the client's).
//!
//! Baseline in the same run (same store, same keys, same POST): the naive loop — per
//! attestation one slashing-protection transaction, then one signature with its own
//! hash-to-curve.
//!
//! Every iteration votes for a new target epoch, so every slashing check records a new
//! attestation (the durable path, not the "same data" shortcut).
//!
//! After the timings (printed, not criterion-measured): the resident memory with the 10,000
//! keys loaded (VmRSS / VmHWM from /proc/self/status), and the requests a whole client sends
//! per epoch with 1,000 and 10,000 keys (minimal preset, 2-second slots, one real epoch each).

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use signer::{LocalSigner, Signer};
use slashing_protection::{AttestationRequest, SlashingProtection, SqliteConfig, SqliteStore};
use ssz::BitList;
use types::{
    AttestationData, AttestationPhase0, ChainSpec, Checkpoint, DomainKind, Epoch, ForkName,
    Hash256, MainnetEthSpec, MinimalEthSpec, SignedRoot, Slot,
};
use validator::beacon_node::{BeaconNodeClient, BeaconNodeFallback, FallbackConfig, Timeouts};
use validator::client::{self, Keys};
use validator::config::{Config, DutyConfig, FeePolicy, KeySource, SlashingDb};
use validator::metrics::Metrics;
use validator::services::attestation::AttestationService;
use validator::services::duties::{AttesterEntry, DutiesStore};
use validator::services::head::head_channel;
use validator::services::{AttestationDataCache, Context, Tally};
use validator::store::{Defaults, Definitions, SigningState, StoreParts, ValidatorStore};
use validator::testing::{MockBeaconNode, MockConfig, spec_at, spec_with_slot_seconds};

const KEYS: u64 = 10_000;
type E = MainnetEthSpec;

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn signer(keys: u64) -> Arc<LocalSigner> {
    Arc::new(LocalSigner::new((0..keys).map(|i| {
        signer::derivation::interop_secret_key(i).expect("interop key")
    })))
}

/// Everything one slot needs: the client context, the duties of one slot, the mock.
struct Setup {
    runtime: tokio::runtime::Runtime,
    service: AttestationService<E>,
    store: Arc<ValidatorStore<E>>,
    signer: Arc<LocalSigner>,
    client: BeaconNodeClient,
    mock: MockBeaconNode<E>,
    duties: Vec<AttesterEntry>,
    slot: Slot,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rss_start = rss_kib("VmRSS:");
    let signer = signer(KEYS);
    let pubkeys = signer.public_keys();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec_at(&ChainSpec::mainnet(), ForkName::Capella).expect("spec");
    let setup = runtime.block_on(async {
        let genesis = validator::testing::now_secs() - 40 * spec.seconds_per_slot();
        let mock = MockBeaconNode::<E>::start(MockConfig::new(spec.clone(), genesis, &pubkeys))
            .await
            .expect("mock");
        mock.set_verification(false);
        let gvr = mock.genesis_validators_root();
        let slashing: Arc<dyn SlashingProtection> = Arc::new(
            SqliteStore::open(dir.path().join("slashing.sqlite"), gvr, SqliteConfig::default())
                .await
                .expect("sqlite"),
        );
        slashing.register_validators(&pubkeys).await.expect("register");
        let metrics = Arc::new(Metrics::new());
        let spec = Arc::new(spec.clone());
        let store = Arc::new(ValidatorStore::<E>::new(StoreParts {
            signer: signer.clone(),
            slashing,
            spec: spec.clone(),
            genesis_validators_root: gvr,
            definitions: Definitions::in_memory(
                Defaults {
                    fee_recipient: None,
                    gas_limit: 60_000_000,
                    graffiti: None,
                },
                None,
            ),
            fee_policy: None,
            metrics: metrics.clone(),
            initial_state: SigningState::Enabled,
        }));
        let client = BeaconNodeClient::new(&mock.url(), Timeouts::uniform(Duration::from_secs(10)))
            .expect("client");
        let fallback = Arc::new(BeaconNodeFallback::new(
            vec![client.clone()],
            FallbackConfig::new::<E>(),
        ));
        let (_sender, head) = head_channel();
        let ctx = Context {
            fallback,
            store: store.clone(),
            clock: mock.clock().clone(),
            spec: spec.clone(),
            duties: Arc::new(DutiesStore::new(spec.slots_per_epoch, 256)),
            head,
            metrics,
            config: Arc::new(DutyConfig::default()),
            tally: Arc::new(Tally::default()),
            attestation_data: Arc::new(AttestationDataCache::default()),
        };
        let validators = client
            .post_state_validators(types::api::StateId::Head, &[], &[])
            .await
            .expect("validators");
        store.apply_validator_data(&validators.data);
        let rss_loaded = rss_kib("VmRSS:");
        println!(
            "memory: VmRSS {} MiB at start, {} MiB with {KEYS} keys, store and slashing protection loaded (+{} MiB)",
            rss_start / 1024,
            rss_loaded / 1024,
            rss_loaded.saturating_sub(rss_start) / 1024
        );
        let slot = mock.clock().now_slot().expect("after genesis");
        let epoch = spec.compute_epoch_at_slot(slot);
        let indices: Vec<u64> = (0..KEYS).collect();
        let duties: Vec<AttesterEntry> = client
            .post_attester_duties(epoch, &indices)
            .await
            .expect("duties")
            .data
            .into_iter()
            .filter(|d| d.slot == slot)
            .map(|duty| AttesterEntry {
                duty,
                selection_proof: None,
                is_aggregator: false,
            })
            .collect();
        (mock, store, client, duties, slot, AttestationService::new(ctx))
    });
    let (mock, store, client, duties, slot, service) = setup;
    println!("attestations per slot: {}", duties.len());
    Setup {
        runtime,
        service,
        store,
        signer,
        client,
        mock,
        duties,
        slot,
        _dir: dir,
    }
}

fn data_for(slot: Slot, target: u64) -> AttestationData {
    AttestationData {
        slot,
        index: 0,
        beacon_block_root: Hash256::repeat_byte(0x11),
        source: Checkpoint {
            epoch: Epoch(target - 1),
            root: Hash256::repeat_byte(0x22),
        },
        target: Checkpoint {
            epoch: Epoch(target),
            root: Hash256::repeat_byte(0x33),
        },
    }
}

/// The naive loop: per attestation one slashing transaction and one signature; one POST.
async fn naive(setup: &Setup, data: AttestationData) -> usize {
    let slashing = setup.store.slashing_protection();
    let domain = setup.store.spec().get_domain(
        DomainKind::BeaconAttester,
        data.target.epoch,
        setup.store.genesis_validators_root(),
    );
    let mut out = Vec::with_capacity(setup.duties.len());
    for entry in &setup.duties {
        let duty = entry.duty;
        let mut data = data;
        data.index = duty.committee_index;
        let root = data.signing_root(domain);
        let result = slashing
            .check_and_insert_attestations(&[AttestationRequest {
                pubkey: duty.pubkey,
                source: data.source.epoch,
                target: data.target.epoch,
                signing_root: root,
            }])
            .await
            .expect("slashing check");
        if result.first().is_some_and(Result::is_ok) {
            let message = signer::SignableMessage {
                fork_info: None,
                signable: signer::Signable::Attestation(data),
            };
            let signature = setup
                .signer
                .sign(root, message, duty.pubkey)
                .await
                .expect("sign");
            let mut bits = BitList::with_capacity(duty.committee_length as usize).expect("bits");
            bits.set(duty.validator_committee_index as usize, true)
                .expect("bit");
            out.push(AttestationPhase0::<E> {
                aggregation_bits: bits,
                data,
                signature,
            });
        }
    }
    setup
        .client
        .post_attestations::<E>(ForkName::Capella, &out)
        .await
        .expect("publish");
    out.len()
}

fn bench_slot(c: &mut Criterion) {
    let setup = setup();
    let target = Cell::new(1_000u64);
    let mut group = c.benchmark_group(format!("vc_slot_{KEYS}_keys"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("batched", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let data = data_for(setup.slot, target.get());
                target.set(target.get() + 1);
                // The mock keeps every request it got; not the client's memory or time.
                setup.mock.clear_requests();
                let started = Instant::now();
                let published = setup.runtime.block_on(setup.service.sign_and_publish(
                    setup.slot,
                    data,
                    &setup.duties,
                ));
                total += started.elapsed();
                assert_eq!(published, setup.duties.len(), "every attestation published");
            }
            total
        });
    });
    group.bench_function("naive", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let data = data_for(setup.slot, target.get());
                target.set(target.get() + 1);
                // The mock keeps every request it got; not the client's memory or time.
                setup.mock.clear_requests();
                let started = Instant::now();
                let published = setup.runtime.block_on(naive(&setup, data));
                total += started.elapsed();
                assert_eq!(published, setup.duties.len());
            }
            total
        });
    });
    group.finish();
    assert!(
        setup.mock.rejected().is_empty(),
        "{:?}",
        setup.mock.rejected()
    );
    println!(
        "memory: VmHWM {} MiB at the end of the slot benchmark",
        rss_kib("VmHWM:") / 1024
    );
}

/// Runs a whole client with `keys` keys for one epoch (minimal preset, 2-second slots) and
/// returns the requests it sent during that epoch, by route.
fn requests_per_epoch(keys: u64) -> BTreeMap<String, usize> {
    type M = MinimalEthSpec;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let spec = spec_with_slot_seconds(
            &spec_at(&ChainSpec::minimal(), ForkName::Capella).expect("spec"),
            2,
        )
        .expect("spec");
        let spe = spec.slots_per_epoch;
        let signer = signer(keys);
        let pubkeys = signer.public_keys();
        let genesis = validator::testing::now_secs() - 2 * 5;
        let mock = MockBeaconNode::<M>::start(MockConfig::new(spec, genesis, &pubkeys))
            .await
            .expect("mock");
        mock.set_verification(false);
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            datadir: dir.path().to_path_buf(),
            beacon_nodes: vec![mock.url()],
            broadcast: Default::default(),
            keys: KeySource {
                keystores_dir: dir.path().join("keys"),
                passwords: signer::loader::PasswordSource::SharedFile(dir.path().join("pw")),
                key_cache: None,
            },
            slashing_db: SlashingDb::Sqlite(dir.path().join("slashing.sqlite")),
            duties: DutyConfig {
                fee_policy: Some(FeePolicy {
                    vault: types::ExecutionAddress::repeat_byte(0x5a),
                    allow_other: false,
                }),
                doppelganger_epochs: 0,
                ..DutyConfig::default()
            },
            pool: None,
            keymanager: None,
            remote_signer: Default::default(),
        };
        let (genesis, spec) = client::bootstrap(
            &config.beacon_nodes,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("bootstrap");
        let running = client::start(&config, Keys::Signer(signer), genesis, spec)
            .await
            .expect("client");
        // Epoch 1 (slots 8..16) is observed whole.
        let end = mock.clock().duration_to_slot(Slot(2 * spe)) + Duration::from_millis(100);
        running
            .run_until(async move {
                tokio::time::sleep(end).await;
                "bench".to_owned()
            })
            .await;
        let mut routes = BTreeMap::new();
        for request in mock.requests() {
            if request.slot >= Slot(spe) && request.slot < Slot(2 * spe) {
                *routes
                    .entry(format!("{} {}", request.method, request.route))
                    .or_insert(0) += 1;
            }
        }
        routes
    })
}

fn bench_requests(_: &mut Criterion) {
    let small = requests_per_epoch(1_000);
    let large = requests_per_epoch(KEYS);
    let total = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    println!(
        "requests per epoch (minimal preset, 8 slots): {} with 1,000 keys, {} with {KEYS} keys",
        total(&small),
        total(&large)
    );
    let routes: std::collections::BTreeSet<&String> = small.keys().chain(large.keys()).collect();
    for route in routes {
        println!(
            "  {route:70} {:>5} {:>5}",
            small.get(route).unwrap_or(&0),
            large.get(route).unwrap_or(&0)
        );
    }
}

criterion_group!(benches, bench_slot, bench_requests);
criterion_main!(benches);
