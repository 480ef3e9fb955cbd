//! The committee network: ONE libp2p [`Behaviour`] (permission list, connection limits,
//! gossipsub, two request-response protocols) and ONE swarm task that owns the swarm and talks
//! to the service through bounded channels ([`NetCommand`] in, [`NetEvent`] out).
//!
//! Invariants:
//! - permissioned: only the committee's peer ids may connect (the allow list closes any
//!   other connection); no discovery, committee peers are dialled at their registry
//!   addresses with exponential backoff;
//! - gossip is validated by the service BEFORE it is forwarded (`validate_messages`): the
//!   task reports each message's result back to gossipsub; a message the service cannot
//!   take (rate limit, full queue) is ignored, never queued without bound;
//! - a peer that keeps sending invalid input is penalised by gossipsub's score (invalid
//!   message deliveries) and banned for a while by the application (strikes).

mod codec;
mod peers;
mod task;

use std::time::Duration;

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::identity::Keypair;
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, PeerId};
use pool_registry::oracle::OracleVote;
use tokio::sync::{mpsc, oneshot};
use types::{Address, Hash256};

pub use codec::{
    MAX_REPORT_BYTES, MAX_VOTES_PER_RESPONSE, REPORT_PROTOCOL, ReportCodec, VOTES_PROTOCOL,
    VotesCodec,
};
pub use peers::{Dialer, GuardLimits, PeerGuard, Strike};
pub(crate) use task::{parse_multiaddr, spawn_network};

/// The gossip topic of a pool's committee on one chain: bound to the genesis validators
/// root, the pool (its EL rewards vault) and the protocol version.
pub fn topic_name(genesis_validators_root: Hash256, pool: Address) -> String {
    format!(
        "/poolvc/oracle/1/votes/{}/{}",
        hex::encode(genesis_validators_root),
        hex::encode(pool)
    )
}

/// Network limits (defaults suit a committee of up to 256 members).
#[derive(Debug, Clone)]
pub struct NetworkLimits {
    /// Per-peer rates, strikes and bans.
    pub guard: GuardLimits,
    /// Largest gossip frame accepted.
    pub max_transmit_size: usize,
    /// Capacity of the task → service event queue (overflowing gossip is ignored).
    pub event_queue: usize,
    /// Dial backoff: first delay.
    pub dial_backoff_min: Duration,
    /// Dial backoff: largest delay.
    pub dial_backoff_max: Duration,
    /// Gossipsub heartbeat.
    pub heartbeat: Duration,
    /// Timeout of a request-response exchange.
    pub request_timeout: Duration,
}

impl Default for NetworkLimits {
    fn default() -> Self {
        Self {
            guard: GuardLimits {
                gossip_rate: 64.0,
                gossip_burst: 1024.0,
                request_rate: 4.0,
                request_burst: 32.0,
                strikes_to_ban: 32,
                ban_duration: Duration::from_secs(600),
            },
            max_transmit_size: 16 * 1024,
            event_queue: 2048,
            dial_backoff_min: Duration::from_millis(500),
            dial_backoff_max: Duration::from_secs(30),
            heartbeat: Duration::from_millis(700),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// What the swarm task needs.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// The node's libp2p identity.
    pub keypair: Keypair,
    /// Where to listen.
    pub listen: Multiaddr,
    /// The gossip topic ([`topic_name`]).
    pub topic: String,
    /// Committee peers and where to dial them.
    pub peers: Vec<(PeerId, Vec<Multiaddr>)>,
    /// Limits.
    pub limits: NetworkLimits,
}

mod behaviour {
    #![expect(
        missing_docs,
        reason = "the NetworkBehaviour derive generates an undocumented event enum"
    )]
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{allow_block_list, connection_limits, gossipsub, request_response};

    use super::{ReportCodec, VotesCodec};

    /// The composed behaviour.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Only committee peers may connect.
        pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
        /// Connection counts per peer and pending.
        pub limits: connection_limits::Behaviour,
        /// Votes.
        pub gossipsub: gossipsub::Behaviour,
        /// The votes of a frame (catch-up).
        pub votes: request_response::Behaviour<VotesCodec>,
        /// A report body by root.
        pub reports: request_response::Behaviour<ReportCodec>,
    }
}

pub use behaviour::{Behaviour, BehaviourEvent};

/// What the service asks of the swarm task.
#[derive(Debug)]
pub enum NetCommand {
    /// Publish a vote (SSZ bytes) on the topic.
    Publish(Vec<u8>),
    /// The validation result of a gossip message.
    Validation {
        /// The message.
        message_id: MessageId,
        /// Who forwarded it.
        source: PeerId,
        /// Accept (forward), reject (penalise) or ignore.
        acceptance: MessageAcceptance,
    },
    /// Count a misbehaviour of a peer (invalid response, invalid vote).
    Penalize(PeerId),
    /// Ask a peer for the votes of a frame.
    RequestVotes {
        /// The peer.
        peer: PeerId,
        /// The frame.
        frame: u64,
    },
    /// Answer a votes request.
    RespondVotes {
        /// The request's channel.
        channel: ResponseChannel<Vec<OracleVote>>,
        /// The votes.
        votes: Vec<OracleVote>,
    },
    /// Ask a peer for a report body.
    RequestReport {
        /// The peer.
        peer: PeerId,
        /// The report root.
        root: Hash256,
        /// Where the answer goes (`None`: the peer does not have it).
        reply: oneshot::Sender<std::result::Result<Option<Vec<u8>>, String>>,
    },
    /// Answer a report request.
    RespondReport {
        /// The request's channel.
        channel: ResponseChannel<Option<Vec<u8>>>,
        /// The body, when known.
        body: Option<Vec<u8>>,
    },
    /// Replace the committee peers (allow list and dial targets).
    SetPeers(Vec<(PeerId, Vec<Multiaddr>)>),
    /// Another address for a committee peer.
    AddAddress(PeerId, Multiaddr),
    /// The addresses the node listens on.
    ListenAddresses(oneshot::Sender<Vec<Multiaddr>>),
    /// The connected committee peers.
    ConnectedPeers(oneshot::Sender<Vec<PeerId>>),
}

/// What the swarm task tells the service.
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message awaiting validation (within its sender's rate).
    Gossip {
        /// The message id to report the result for.
        message_id: MessageId,
        /// Who forwarded it.
        source: PeerId,
        /// The payload.
        data: Vec<u8>,
    },
    /// A peer asks for the votes of a frame.
    VotesRequest {
        /// The peer.
        peer: PeerId,
        /// The frame.
        frame: u64,
        /// Where to answer.
        channel: ResponseChannel<Vec<OracleVote>>,
    },
    /// A peer answered our votes request.
    VotesResponse {
        /// The peer.
        peer: PeerId,
        /// The frame asked for.
        frame: u64,
        /// The votes (unverified).
        votes: Vec<OracleVote>,
    },
    /// A peer asks for a report body.
    ReportRequest {
        /// The report root.
        root: Hash256,
        /// Where to answer.
        channel: ResponseChannel<Option<Vec<u8>>>,
    },
    /// A committee peer connected.
    Connected(PeerId),
    /// A committee peer subscribed to the votes topic (it can receive gossip now).
    Subscribed(PeerId),
    /// A committee peer's last connection closed.
    Disconnected(PeerId),
}

/// The service's ends of the swarm task's channels.
#[derive(Debug)]
pub struct NetworkHandle {
    /// Commands to the task.
    pub commands: mpsc::Sender<NetCommand>,
    /// Events from the task.
    pub events: mpsc::Receiver<NetEvent>,
    /// The node's peer id.
    pub local_peer_id: PeerId,
}
