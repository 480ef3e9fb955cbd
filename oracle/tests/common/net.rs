//! In-process committee members on loopback TCP.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use libp2p::{Multiaddr, PeerId};
use oracle::network::NetworkLimits;
use oracle::{
    Committee, CommitteeConfig, CommitteeDeps, CommitteeEvent, FrameClock, OracleMetrics,
    ReportBodyProvider, Submission, TokioSpawner, VoteOutcome,
};
use parking_lot::Mutex;
use pool_registry::SqliteLedgerStore;
use tokio::sync::broadcast;
use types::{Address, Hash256};

use super::*;

/// Generous bound for anything awaited on a busy machine.
pub const PATIENCE: Duration = Duration::from_secs(90);

pub struct FixedClock(pub AtomicU64);

impl FrameClock for FixedClock {
    fn current_frame(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counts vote outcomes and bans.
#[derive(Default)]
pub struct Counts {
    pub votes: Mutex<HashMap<VoteOutcome, usize>>,
    pub bans: AtomicUsize,
    pub agreed: AtomicUsize,
    pub dissent: AtomicUsize,
    pub evidence: AtomicUsize,
}

impl Counts {
    pub fn of(&self, outcome: VoteOutcome) -> usize {
        self.votes.lock().get(&outcome).copied().unwrap_or(0)
    }
}

impl OracleMetrics for Counts {
    fn vote(&self, outcome: VoteOutcome) {
        *self.votes.lock().entry(outcome).or_default() += 1;
    }
    fn agreed(&self, _: u64, _: Option<Duration>) {
        self.agreed.fetch_add(1, Ordering::Relaxed);
    }
    fn dissent(&self, _: u64) {
        self.dissent.fetch_add(1, Ordering::Relaxed);
    }
    fn evidence(&self, _: u64) {
        self.evidence.fetch_add(1, Ordering::Relaxed);
    }
    fn peer_banned(&self) {
        self.bans.fetch_add(1, Ordering::Relaxed);
    }
}

/// Report bodies known to this node, by root.
#[derive(Default)]
pub struct Bodies(pub Mutex<HashMap<Hash256, (u64, Vec<u8>)>>);

#[async_trait]
impl ReportBodyProvider for Bodies {
    async fn report_body(&self, root: Hash256) -> Option<Vec<u8>> {
        self.0.lock().get(&root).map(|(_, b)| b.clone())
    }
    async fn frame_of_root(&self, root: Hash256) -> Option<u64> {
        self.0.lock().get(&root).map(|(f, _)| *f)
    }
}

pub struct Node {
    pub index: u64,
    pub committee: Committee,
    pub store: Arc<SqliteLedgerStore>,
    pub events: broadcast::Receiver<CommitteeEvent>,
    pub metrics: Arc<Counts>,
    pub bodies: Arc<Bodies>,
    pub address: Multiaddr,
}

pub struct Setup {
    pub n: u64,
    pub quorum: u16,
    pub frame: u64,
    pub settle: Duration,
    pub deadline: Duration,
}

impl Setup {
    pub fn new(n: u64, quorum: u16) -> Self {
        Self {
            n,
            quorum,
            frame: 5,
            settle: Duration::from_millis(500),
            deadline: Duration::from_secs(3600),
        }
    }

    /// Starts member `index` with its data in `dir` (a restart reuses the directory).
    pub async fn start(&self, index: u64, dir: &Path) -> Node {
        let store = Arc::new(
            SqliteLedgerStore::open(dir.join("ledger.sqlite"))
                .await
                .unwrap(),
        );
        let live = oracle_config(self.n, self.quorum);
        let metrics = Arc::new(Counts::default());
        let bodies = Arc::new(Bodies::default());
        let config = CommitteeConfig {
            domain: domain(),
            genesis_validators_root: GVR,
            pool: Address::repeat_byte(0xbb),
            keypair: identity(index),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            settle_window: self.settle,
            agreement_deadline: self.deadline,
            frames_back: 2,
            catch_up_interval: Duration::from_millis(500),
            verify_batch: 256,
            verify_queue: 4096,
            limits: NetworkLimits {
                dial_backoff_min: Duration::from_millis(100),
                dial_backoff_max: Duration::from_secs(1),
                heartbeat: Duration::from_millis(300),
                ..NetworkLimits::default()
            },
        };
        let deps = CommitteeDeps {
            store: store.clone(),
            signer: Arc::new(bls_key(index)),
            live: Arc::new(move || Some(live.clone())),
            clock: Arc::new(FixedClock(AtomicU64::new(self.frame))),
            reports: bodies.clone(),
            metrics: metrics.clone(),
            spawner: Arc::new(TokioSpawner),
        };
        let committee = Committee::start(config, deps).await.unwrap();
        let events = committee.subscribe();
        let address = wait_for(|| async {
            committee
                .listen_addresses()
                .await
                .unwrap()
                .into_iter()
                .next()
        })
        .await;
        Node {
            index,
            committee,
            store,
            events,
            metrics,
            bodies,
            address,
        }
    }

    pub fn submission(&self, report_root: Hash256) -> Submission {
        Submission {
            frame: self.frame,
            report_root,
            report_ssz: None,
            frame_ended_at: None,
        }
    }
}

impl Node {
    pub fn peer_id(&self) -> PeerId {
        self.committee.peer_id()
    }

    /// The next event matching `pred` (bounded wait).
    pub async fn event(&mut self, pred: impl Fn(&CommitteeEvent) -> bool) -> CommitteeEvent {
        tokio::time::timeout(PATIENCE, async {
            loop {
                match self.events.recv().await {
                    Ok(event) if pred(&event) => return event,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => panic!("events closed"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("member {}: no matching event in time", self.index))
    }

    pub async fn certificate(&mut self) -> oracle::QuorumCertificate {
        match self.event(|e| matches!(e, CommitteeEvent::Agreed(_))).await {
            CommitteeEvent::Agreed(cert) => cert,
            _ => unreachable!(),
        }
    }
}

/// Tells every node where every other one listens.
pub async fn connect(nodes: &[&Node]) {
    for a in nodes {
        for b in nodes {
            if a.index != b.index {
                a.committee
                    .add_address(b.peer_id(), b.address.clone())
                    .await
                    .unwrap();
            }
        }
    }
}

/// Polls `probe` (every 50 ms, bounded) until it returns `Some`.
pub async fn wait_for<T, F, Fut>(probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("condition not reached in time")
}
