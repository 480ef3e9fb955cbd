//! The [`Committee`] service the validator drives: given a frame's report root (and body)
//! from the accounting pipeline it signs the node's vote (durably first), publishes it,
//! collects and verifies the other members' votes, records evidence and seals the
//! certificate, telling the caller through [`CommitteeEvent`]s.
//!
//! Sealing rule (so honest members holding the same votes seal identical certificates): a
//! frame is sealed as soon as every member is accounted for (voted, or proven equivocating)
//! while a quorum agrees, or `settle_window` after a quorum first agrees; the certificate is
//! [`crate::tally::certificate`] of the votes held then, stored once and never rewritten.
//!
//! Two tasks: "oracle-network" (the swarm) and "oracle-committee" (this state machine), plus
//! signature verification on the blocking pool, one batch at a time.

mod state;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use pool_registry::OracleStore;
use pool_registry::oracle::{OracleConfig, OracleVote};
use pool_registry::report::ReportSigner;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use types::{Address, Hash256};

use crate::error::{Error, Result};
use crate::metrics::{CommitteeEvent, OracleMetrics};
use crate::network::{NetCommand, NetworkConfig, NetworkLimits, spawn_network, topic_name};
use crate::spawn::TaskSpawner;
use crate::verify::VoteDomain;

/// The frame the chain is in now (the validator derives it from its slot clock and the
/// registry's frame geometry). Votes are accepted for frames in
/// `[current − frames_back, current + 1]`.
pub trait FrameClock: Send + Sync {
    /// The current frame.
    fn current_frame(&self) -> u64;
}

/// Report bodies and the frame a root belongs to, from the node's own store.
#[async_trait]
pub trait ReportBodyProvider: Send + Sync {
    /// The SSZ `PoolReport` whose root is `root`, if this node has it.
    async fn report_body(&self, root: Hash256) -> Option<Vec<u8>>;
    /// The frame of the report whose root is `root`, if this node has it: a vote claiming
    /// another frame for that root is a replay and is refused.
    async fn frame_of_root(&self, root: Hash256) -> Option<u64>;
}

/// A provider that knows nothing (votes are then checked without the replay guard).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReports;

#[async_trait]
impl ReportBodyProvider for NoReports {
    async fn report_body(&self, _: Hash256) -> Option<Vec<u8>> {
        None
    }
    async fn frame_of_root(&self, _: Hash256) -> Option<u64> {
        None
    }
}

/// Committee settings.
#[derive(Debug, Clone)]
pub struct CommitteeConfig {
    /// The report signing domain of the chain.
    pub domain: VoteDomain,
    /// The chain's genesis validators root (binds the gossip topic).
    pub genesis_validators_root: Hash256,
    /// The pool (its EL rewards vault; binds the gossip topic).
    pub pool: Address,
    /// The node's libp2p identity ([`crate::identity`]).
    pub keypair: Keypair,
    /// Where to listen.
    pub listen: Multiaddr,
    /// Wait for more votes this long once a quorum agrees.
    pub settle_window: Duration,
    /// Report a frame unagreed this long after its submission.
    pub agreement_deadline: Duration,
    /// How many frames back votes are accepted.
    pub frames_back: u64,
    /// How often unsealed frames ask peers for missing votes.
    pub catch_up_interval: Duration,
    /// Most votes verified in one batch.
    pub verify_batch: usize,
    /// Most votes waiting for verification (more are dropped).
    pub verify_queue: usize,
    /// Network limits.
    pub limits: NetworkLimits,
}

impl CommitteeConfig {
    /// Settings from the registry's `[oracle]` section (listen address, settle window,
    /// deadline) with default limits.
    pub fn from_registry(
        oracle: &OracleConfig,
        domain: VoteDomain,
        genesis_validators_root: Hash256,
        pool: Address,
        keypair: Keypair,
    ) -> Result<Self> {
        Ok(Self {
            domain,
            genesis_validators_root,
            pool,
            keypair,
            listen: crate::network::parse_multiaddr(&oracle.listen_address)?,
            settle_window: Duration::from_millis(oracle.settle_window_ms),
            agreement_deadline: Duration::from_secs(oracle.agreement_deadline_seconds),
            frames_back: 2,
            catch_up_interval: Duration::from_secs(5),
            verify_batch: 256,
            verify_queue: 4096,
            limits: NetworkLimits::default(),
        })
    }
}

/// The live registry's `[oracle]` section (read when a frame's membership is first needed).
pub type LiveOracleConfig = Arc<dyn Fn() -> Option<OracleConfig> + Send + Sync>;

/// What the committee uses.
#[derive(Clone)]
pub struct CommitteeDeps {
    /// Memberships, own votes, received votes, evidence, certificates.
    pub store: Arc<dyn OracleStore>,
    /// The node's oracle key.
    pub signer: Arc<dyn ReportSigner>,
    /// The live registry's committee.
    pub live: LiveOracleConfig,
    /// The current frame.
    pub clock: Arc<dyn FrameClock>,
    /// Report bodies by root.
    pub reports: Arc<dyn ReportBodyProvider>,
    /// Metric hooks.
    pub metrics: Arc<dyn OracleMetrics>,
    /// Spawns the named tasks.
    pub spawner: Arc<dyn TaskSpawner>,
}

/// One frame's result from the accounting pipeline.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The frame.
    pub frame: u64,
    /// The report root (`hash_tree_root(PoolReport)`).
    pub report_root: Hash256,
    /// The SSZ `PoolReport`, served to members that dissent.
    pub report_ssz: Option<Vec<u8>>,
    /// When the frame ended (for the time-to-agreement metric).
    pub frame_ended_at: Option<SystemTime>,
}

pub(crate) enum ServiceCommand {
    Submit(Submission, oneshot::Sender<Result<OracleVote>>),
    FetchReport {
        frame: u64,
        root: Hash256,
        reply: oneshot::Sender<Result<Vec<u8>>>,
    },
}

/// A running committee member.
#[derive(Debug, Clone)]
pub struct Committee {
    commands: mpsc::Sender<ServiceCommand>,
    net: mpsc::Sender<NetCommand>,
    events: broadcast::Sender<CommitteeEvent>,
    peer_id: PeerId,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for ServiceCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Submit(s, _) => write!(f, "Submit(frame {})", s.frame),
            Self::FetchReport { frame, root, .. } => write!(f, "FetchReport({frame}, {root})"),
        }
    }
}

impl Committee {
    /// Starts the network and the committee tasks. Own votes recorded before a restart are
    /// reloaded and sent again (the same votes); stored certificates are never resealed.
    pub async fn start(config: CommitteeConfig, deps: CommitteeDeps) -> Result<Self> {
        let shutdown = CancellationToken::new();
        let live = (deps.live)();
        let peers = match &live {
            Some(oracle) => state::peer_list(oracle),
            None => Vec::new(),
        };
        let net_config = NetworkConfig {
            keypair: config.keypair.clone(),
            listen: config.listen.clone(),
            topic: topic_name(config.genesis_validators_root, config.pool),
            peers,
            limits: config.limits.clone(),
        };
        let handle = spawn_network(
            net_config,
            Arc::clone(&deps.metrics),
            deps.spawner.as_ref(),
            shutdown.clone(),
        )?;
        let (events, _) = broadcast::channel(1024);
        let (commands, command_rx) = mpsc::channel(64);
        let peer_id = handle.local_peer_id;
        let net = handle.commands.clone();
        let service = match state::Service::load(config, deps.clone(), handle, events.clone()).await
        {
            Ok(service) => service,
            Err(error) => {
                // The network task is already running: stop it.
                shutdown.cancel();
                return Err(error);
            }
        };
        deps.spawner.spawn(
            "oracle-committee",
            Box::pin(service.run(command_rx, shutdown.clone())),
        );
        Ok(Self {
            commands,
            net,
            events,
            peer_id,
            shutdown,
        })
    }

    /// Signs (durably first), publishes and tallies the node's vote for a frame; returns the
    /// vote. A second root for a voted frame is refused; the same root returns the same vote.
    pub async fn submit(&self, submission: Submission) -> Result<OracleVote> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(ServiceCommand::Submit(submission, tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// The agreed (or any voted) report body of `root` in `frame`, fetched from a member that
    /// voted it and checked against the root: what a dissenting node diffs with its own.
    pub async fn fetch_report(&self, frame: u64, root: Hash256) -> Result<Vec<u8>> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(ServiceCommand::FetchReport {
                frame,
                root,
                reply: tx,
            })
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Events from now on (a receiver that lags loses the oldest ones).
    pub fn subscribe(&self) -> broadcast::Receiver<CommitteeEvent> {
        self.events.subscribe()
    }

    /// The node's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the node listens on.
    pub async fn listen_addresses(&self) -> Result<Vec<Multiaddr>> {
        let (tx, rx) = oneshot::channel();
        self.net
            .send(NetCommand::ListenAddresses(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// The connected committee peers.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>> {
        let (tx, rx) = oneshot::channel();
        self.net
            .send(NetCommand::ConnectedPeers(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Another address to dial a committee peer at.
    pub async fn add_address(&self, peer: PeerId, address: Multiaddr) -> Result<()> {
        self.net
            .send(NetCommand::AddAddress(peer, address))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Stops both tasks (connections close).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// A raw gossip publication, bypassing every check: for tests that play a faulty member.
    #[cfg(feature = "testing")]
    pub async fn publish_raw(&self, data: Vec<u8>) -> Result<()> {
        self.net
            .send(NetCommand::Publish(data))
            .await
            .map_err(|_| Error::Stopped)
    }
}
