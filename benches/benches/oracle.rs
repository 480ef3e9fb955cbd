//! Oracle committee benchmarks (targets in `docs/performance.md`, "Oracle committee").
//!
//! - `committee/agree_{4,16,64}`: committees of in-process members on loopback TCP (SQLite
//!   stores, real libp2p). Every member but one has voted; measured: from the last member's
//!   submission to the `Agreed` event on EVERY member (the other votes are held by every
//!   member first, so the clock covers the last vote's spread, verification, storage and the
//!   seal). Target < 1 s at 64.
//! - `verify/{batch,each}_{4,16,64}`: verifying that many votes of one frame for one root as
//!   one random-linear-combination batch (`oracle::verify_votes`) against one verification per
//!   vote (`oracle::verify_votes_individually`), same run. Target batch ≤ 0.35× at 64.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_main};
use libp2p::identity::{Keypair, ed25519};
use oracle::network::NetworkLimits;
use oracle::{
    Committee, CommitteeConfig, CommitteeDeps, CommitteeEvent, FrameClock, Membership, NoReports,
    OracleVote, Submission, TokioSpawner, VoteDomain,
};
use pool_registry::oracle::{OracleConfig, OracleMember};
use pool_registry::{OracleStore, SqliteLedgerStore};
use signer::bls::SecretKey;
use types::{Address, ChainSpec, Hash256};

const GVR: Hash256 = Hash256::repeat_byte(0x5a);

fn domain() -> VoteDomain {
    VoteDomain::new(&ChainSpec::mainnet(), GVR)
}

fn bls_key(i: u64) -> SecretKey {
    signer::derivation::interop_secret_key(i).expect("interop key")
}

fn identity(i: u64) -> Keypair {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
    bytes[31] = 0x42;
    Keypair::from(ed25519::Keypair::from(
        ed25519::SecretKey::try_from_bytes(bytes).expect("ed25519 key"),
    ))
}

fn oracle_config(keys: &[SecretKey], quorum: u16) -> OracleConfig {
    OracleConfig {
        members: keys
            .iter()
            .enumerate()
            .map(|(i, k)| OracleMember {
                index: i as u8,
                pubkey: k.public_key().to_bytes(),
                peer_id: identity(i as u64).public().to_peer_id().to_string(),
                addresses: Vec::new(),
            })
            .collect(),
        quorum,
        settle_window_ms: 3_600_000,
        agreement_deadline_seconds: 3600,
        listen_address: "/ip4/127.0.0.1/tcp/0".to_owned(),
    }
}

/// Counters printed per frame when `ORACLE_BENCH_TRACE` is set.
#[derive(Default)]
struct Counters {
    outcomes: parking_lot::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    bans: AtomicU64,
}

impl oracle::OracleMetrics for Counters {
    fn vote(&self, outcome: oracle::VoteOutcome) {
        *self.outcomes.lock().entry(outcome.as_str()).or_default() += 1;
    }
    fn peer_banned(&self) {
        self.bans.fetch_add(1, Ordering::Relaxed);
    }
}

struct Clock(Arc<AtomicU64>);

impl FrameClock for Clock {
    fn current_frame(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct Running {
    counters: Arc<Counters>,
    committees: Vec<Committee>,
    stores: Vec<Arc<SqliteLedgerStore>>,
    frame: Arc<AtomicU64>,
    _dirs: Vec<tempfile::TempDir>,
}

async fn start_committee(n: u64) -> Running {
    let keys: Vec<SecretKey> = (0..n).map(bls_key).collect();
    let live = oracle_config(&keys, (n / 2 + 1) as u16);
    let frame = Arc::new(AtomicU64::new(1));
    let counters = Arc::new(Counters::default());
    let mut committees = Vec::new();
    let mut stores = Vec::new();
    let mut dirs = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(
            SqliteLedgerStore::open(dir.path().join("ledger.sqlite"))
                .await
                .expect("store"),
        );
        let config = CommitteeConfig {
            domain: domain(),
            genesis_validators_root: GVR,
            pool: Address::repeat_byte(0xbb),
            keypair: identity(i as u64),
            listen: "/ip4/127.0.0.1/tcp/0".parse().expect("multiaddr"),
            // Longer than any run: every certificate here is sealed by the last vote (all
            // members accounted for), which is what the clock measures.
            settle_window: Duration::from_secs(3600),
            agreement_deadline: Duration::from_secs(3600),
            frames_back: 2,
            catch_up_interval: Duration::from_secs(5),
            verify_batch: 256,
            verify_queue: 4096,
            limits: NetworkLimits {
                dial_backoff_max: Duration::from_secs(2),
                ..NetworkLimits::default()
            },
        };
        let live = live.clone();
        stores.push(Arc::clone(&store));
        let deps = CommitteeDeps {
            store,
            signer: Arc::new(key),
            live: Arc::new(move || Some(live.clone())),
            clock: Arc::new(Clock(Arc::clone(&frame))),
            reports: Arc::new(NoReports),
            metrics: Arc::clone(&counters) as Arc<dyn oracle::OracleMetrics>,
            spawner: Arc::new(TokioSpawner),
        };
        committees.push(Committee::start(config, deps).await.expect("start"));
        dirs.push(dir);
    }
    let mut addresses = Vec::new();
    for c in &committees {
        let address = loop {
            if let Some(a) = c
                .listen_addresses()
                .await
                .expect("listening")
                .into_iter()
                .next()
            {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        addresses.push((c.peer_id(), address));
    }
    for c in &committees {
        for (peer, address) in &addresses {
            if *peer != c.peer_id() {
                c.add_address(*peer, address.clone())
                    .await
                    .expect("address");
            }
        }
    }
    // Fully connected, and gossip subscriptions exchanged.
    for c in &committees {
        while c.connected_peers().await.expect("peers").len() < n as usize - 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    Running {
        counters,
        committees,
        stores,
        frame,
        _dirs: dirs,
    }
}

fn submission(frame: u64) -> Submission {
    Submission {
        frame,
        report_root: Hash256::from_slice(&[frame as u8; 32]),
        report_ssz: None,
        frame_ended_at: None,
    }
}

/// One frame: all but the last member vote and every member holds those votes; then the
/// clock runs from the last vote to the certificate on every member.
async fn one_frame(running: &Running) -> Duration {
    let frame = running.frame.fetch_add(1, Ordering::Relaxed) + 1;
    let mut events: Vec<_> = running.committees.iter().map(|c| c.subscribe()).collect();
    let (last, others) = running.committees.split_last().expect("members");
    for c in others {
        c.submit(submission(frame)).await.expect("vote");
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    for store in &running.stores {
        while store.votes(frame).await.expect("votes").len() < others.len() {
            assert!(
                Instant::now() < deadline,
                "frame {frame}: earlier votes not spread"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let start = Instant::now();
    last.submit(submission(frame)).await.expect("vote");
    let mut arrivals = Vec::new();
    for rx in &mut events {
        loop {
            match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
                Ok(Ok(CommitteeEvent::Agreed(cert))) if cert.frame == frame => {
                    assert_eq!(
                        cert.signers.len(),
                        running.committees.len(),
                        "sealed by the last vote"
                    );
                    break;
                }
                Ok(Ok(_)) => {}
                other => panic!("frame {frame}: no certificate: {other:?}"),
            }
        }
        arrivals.push(start.elapsed());
    }
    let elapsed = start.elapsed();
    if std::env::var_os("ORACLE_BENCH_TRACE").is_some() {
        let c = &running.counters;
        eprintln!(
            "frame {frame}: {} members, last certificate after {elapsed:?}, first {:?}; outcomes {:?}, bans {}",
            running.committees.len(),
            arrivals.iter().min(),
            c.outcomes.lock(),
            c.bans.load(Ordering::Relaxed),
        );
    }
    elapsed
}

fn bench_committee(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("committee");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    for n in [4u64, 16, 64] {
        let running = runtime.block_on(start_committee(n));
        group.bench_function(format!("agree_{n}"), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += one_frame(&running).await;
                    }
                    total
                })
            })
        });
        for committee in &running.committees {
            committee.shutdown();
        }
    }
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let domain = domain();
    let root = Hash256::repeat_byte(0x11);
    let mut group = c.benchmark_group("verify");
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    for n in [4u64, 16, 64] {
        let keys: Vec<SecretKey> = (0..n).map(bls_key).collect();
        let snapshot = oracle_config(&keys, (n / 2 + 1) as u16).snapshot(1);
        let membership = Membership::from_snapshot(&snapshot).expect("membership");
        let signing_root = domain.signing_root(root);
        let votes: Vec<OracleVote> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| OracleVote {
                frame: 1,
                report_root: root,
                member: i as u64,
                signature: k.sign(signing_root.as_slice()).to_bytes(),
            })
            .collect();
        assert!(
            oracle::verify_votes(&membership, &domain, &votes)
                .iter()
                .all(|v| *v)
        );
        group.bench_function(format!("batch_{n}"), |b| {
            b.iter(|| oracle::verify_votes(&membership, &domain, std::hint::black_box(&votes)))
        });
        group.bench_function(format!("each_{n}"), |b| {
            b.iter(|| {
                oracle::verify_votes_individually(
                    &membership,
                    &domain,
                    std::hint::black_box(&votes),
                )
            })
        });
    }
    group.finish();
}

// In a private module the generated `pub fn` needs no documentation.
mod harness {
    criterion::criterion_group!(benches, super::bench_verify, super::bench_committee);
}
criterion_main!(harness::benches);
