//! The one swarm task: owns the swarm, applies commands, turns swarm events into
//! [`NetEvent`]s, enforces per-peer limits and keeps committee peers dialled.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
    PeerScoreThresholds, TopicScoreParams, ValidationMode,
};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, allow_block_list, connection_limits, noise, tcp, yamux,
};
use pool_registry::oracle::VOTE_SSZ_LEN;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::codec::{REPORT_PROTOCOL, VOTES_PROTOCOL};
use super::peers::{Dialer, PeerGuard, Strike};
use super::{Behaviour, BehaviourEvent, NetCommand, NetEvent, NetworkConfig, NetworkHandle};
use crate::error::{Error, Result};
use crate::metrics::{OracleMetrics, VoteOutcome};
use crate::spawn::TaskSpawner;

/// Gossipsub ignores a peer scored below this; the application then bans it too.
const GRAYLIST_THRESHOLD: f64 = -1000.0;

/// Stable across nodes (ids travel in IHAVE/IWANT): the first 20 bytes of SHA-256(data).
fn message_id(message: &gossipsub::Message) -> MessageId {
    let digest = ethereum_hashing::hash(&message.data);
    MessageId::from(&digest[..20])
}

fn build_behaviour(
    key: &libp2p::identity::Keypair,
    config: &NetworkConfig,
) -> std::result::Result<Behaviour, String> {
    let limits = &config.limits;
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(limits.max_transmit_size)
        .message_id_fn(message_id)
        .heartbeat_interval(limits.heartbeat)
        .flood_publish(true)
        // Votes are few and matter: deliver late under load rather than drop.
        .publish_queue_duration(Duration::from_secs(30))
        .forward_queue_duration(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("gossipsub configuration: {e}"))?;
    let mut gossipsub =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)
            .map_err(|e| format!("gossipsub: {e}"))?;
    let topic = IdentTopic::new(config.topic.clone());
    // Scores punish invalid messages only: votes are rare, so delivery-rate penalties would
    // punish quiet honest members, and every member may share one host (no IP colocation).
    let mut params = PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    };
    params.topics.insert(
        topic.hash(),
        TopicScoreParams {
            topic_weight: 1.0,
            time_in_mesh_weight: 0.0,
            first_message_deliveries_weight: 0.0,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            // Graylisted (then banned) from about 15 invalid messages, decaying by 10 % a second.
            invalid_message_deliveries_weight: -5.0,
            invalid_message_deliveries_decay: 0.9,
            ..TopicScoreParams::default()
        },
    );
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -100.0,
        publish_threshold: -500.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 100.0,
        opportunistic_graft_threshold: 5.0,
    };
    gossipsub
        .with_peer_score(params, thresholds)
        .map_err(|e| format!("gossipsub peer score: {e}"))?;
    gossipsub
        .subscribe(&topic)
        .map_err(|e| format!("gossipsub subscription: {e}"))?;
    let rr = request_response::Config::default()
        .with_request_timeout(limits.request_timeout)
        .with_max_concurrent_streams(64);
    let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
    for (peer, _) in &config.peers {
        allow.allow_peer(*peer);
    }
    Ok(Behaviour {
        allow,
        limits: connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established_per_peer(Some(2))
                .with_max_pending_incoming(Some(64)),
        ),
        gossipsub,
        votes: request_response::Behaviour::new(
            [(VOTES_PROTOCOL, ProtocolSupport::Full)],
            rr.clone(),
        ),
        reports: request_response::Behaviour::new([(REPORT_PROTOCOL, ProtocolSupport::Full)], rr),
    })
}

/// Builds the swarm, starts listening and spawns the swarm task ("oracle-network").
pub(crate) fn spawn_network(
    config: NetworkConfig,
    metrics: Arc<dyn OracleMetrics>,
    spawner: &dyn TaskSpawner,
    shutdown: CancellationToken,
) -> Result<NetworkHandle> {
    let behaviour_config = config.clone();
    let mut swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| Error::Network(format!("transport: {e}")))?
        .with_behaviour(|key| {
            build_behaviour(key, &behaviour_config)
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        })
        .map_err(|e| Error::Network(e.to_string()))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(std::time::Duration::from_secs(24 * 3600))
        })
        .build();
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| Error::Network(format!("cannot listen on {}: {e}", config.listen)))?;
    let local_peer_id = *swarm.local_peer_id();
    let (cmd_tx, cmd_rx) = mpsc::channel(1024);
    let (event_tx, event_rx) = mpsc::channel(config.limits.event_queue.max(1));
    let now = Instant::now();
    let mut dialer = Dialer::new(
        config.limits.dial_backoff_min,
        config.limits.dial_backoff_max,
    );
    dialer.set_peers(&config.peers, now);
    let state = NetworkTask {
        topic: IdentTopic::new(config.topic.clone()),
        guard: PeerGuard::new(config.limits.guard),
        dialer,
        connected: HashSet::new(),
        vote_requests: HashMap::new(),
        report_requests: HashMap::new(),
        events: event_tx,
        metrics,
    };
    spawner.spawn(
        "oracle-network",
        Box::pin(state.run(swarm, cmd_rx, shutdown)),
    );
    Ok(NetworkHandle {
        commands: cmd_tx,
        events: event_rx,
        local_peer_id,
    })
}

type ReportReply = oneshot::Sender<std::result::Result<Option<Vec<u8>>, String>>;

struct NetworkTask {
    topic: IdentTopic,
    guard: PeerGuard,
    dialer: Dialer,
    connected: HashSet<PeerId>,
    vote_requests: HashMap<OutboundRequestId, u64>,
    report_requests: HashMap<OutboundRequestId, ReportReply>,
    events: mpsc::Sender<NetEvent>,
    metrics: Arc<dyn OracleMetrics>,
}

impl NetworkTask {
    async fn run(
        mut self,
        mut swarm: Swarm<Behaviour>,
        mut commands: mpsc::Receiver<NetCommand>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => self.command(&mut swarm, command),
                    None => break,
                },
                event = swarm.select_next_some() => self.swarm_event(&mut swarm, event),
                _ = tick.tick() => self.maintain(&mut swarm),
            }
        }
        tracing::debug!("oracle network stopped");
    }

    fn maintain(&mut self, swarm: &mut Swarm<Behaviour>) {
        let now = Instant::now();
        // A peer gossipsub has graylisted for invalid messages is disconnected and banned.
        let graylisted: Vec<PeerId> = self
            .connected
            .iter()
            .filter(|p| {
                swarm
                    .behaviour()
                    .gossipsub
                    .peer_score(p)
                    .is_some_and(|score| score <= GRAYLIST_THRESHOLD)
            })
            .copied()
            .collect();
        for peer in graylisted {
            self.ban(swarm, peer);
        }
        for peer in self.guard.expire_bans(now) {
            if self.dialer.knows(&peer) {
                swarm.behaviour_mut().allow.allow_peer(peer);
                self.dialer.reset(&peer, now);
                tracing::info!(%peer, "oracle peer ban ended");
            }
        }
        let guard = &self.guard;
        let connected = &self.connected;
        for (peer, addresses) in self
            .dialer
            .due(now, |p| connected.contains(p) || guard.is_banned(p))
        {
            let opts = DialOpts::peer_id(peer)
                .addresses(addresses)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(error) = swarm.dial(opts) {
                tracing::debug!(%peer, %error, "dial not started");
            }
        }
    }

    fn strike(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        if self.guard.strike(peer, Instant::now()) == Strike::Ban {
            self.banned(swarm, peer);
        }
    }

    fn ban(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        if self.guard.ban(peer, Instant::now()) {
            self.banned(swarm, peer);
        }
    }

    fn banned(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        tracing::warn!(%peer, "oracle peer banned for repeated invalid input");
        self.metrics.peer_banned();
        // Closes its connections and refuses new ones until the ban ends.
        swarm.behaviour_mut().allow.disallow_peer(peer);
    }

    fn command(&mut self, swarm: &mut Swarm<Behaviour>, command: NetCommand) {
        let b = swarm.behaviour_mut();
        match command {
            NetCommand::Publish(data) => {
                if let Err(error) = b.gossipsub.publish(self.topic.clone(), data) {
                    // No peer yet, or already published: catch-up requests cover both.
                    tracing::debug!(%error, "vote not published");
                }
            }
            NetCommand::Validation {
                message_id,
                source,
                acceptance,
            } => {
                let reject = matches!(acceptance, MessageAcceptance::Reject);
                b.gossipsub
                    .report_message_validation_result(&message_id, &source, acceptance);
                if reject {
                    self.strike(swarm, source);
                }
            }
            NetCommand::Penalize(peer) => self.strike(swarm, peer),
            NetCommand::RequestVotes { peer, frame } => {
                let id = b.votes.send_request(&peer, frame);
                self.vote_requests.insert(id, frame);
            }
            NetCommand::RespondVotes { channel, votes } => {
                // Fails only when the requester left: nothing to do.
                let _ = b.votes.send_response(channel, votes);
            }
            NetCommand::RequestReport { peer, root, reply } => {
                let id = b.reports.send_request(&peer, root);
                self.report_requests.insert(id, reply);
            }
            NetCommand::RespondReport { channel, body } => {
                let _ = b.reports.send_response(channel, body);
            }
            NetCommand::SetPeers(peers) => {
                let keep: HashSet<PeerId> = peers.iter().map(|(p, _)| *p).collect();
                let old: Vec<PeerId> = b.allow.allowed_peers().iter().copied().collect();
                for peer in old.into_iter().filter(|p| !keep.contains(p)) {
                    b.allow.disallow_peer(peer);
                }
                for peer in &keep {
                    if !self.guard.is_banned(peer) {
                        b.allow.allow_peer(*peer);
                    }
                }
                self.dialer.set_peers(&peers, Instant::now());
            }
            NetCommand::AddAddress(peer, address) => {
                self.dialer.add_address(peer, address, Instant::now());
            }
            NetCommand::ListenAddresses(reply) => {
                let _ = reply.send(swarm.listeners().cloned().collect());
            }
            NetCommand::ConnectedPeers(reply) => {
                let _ = reply.send(self.connected.iter().copied().collect());
            }
        }
    }

    fn emit(&self, event: NetEvent) {
        if let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event) {
            tracing::debug!(?event, "oracle service busy; network event dropped");
        }
    }

    fn swarm_event(&mut self, swarm: &mut Swarm<Behaviour>, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => {
                self.dialer.connected(&peer_id, Instant::now());
                if num_established.get() == 1 && self.connected.insert(peer_id) {
                    self.metrics.peers(self.connected.len());
                    self.emit(NetEvent::Connected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } if self.connected.remove(&peer_id) => {
                self.metrics.peers(self.connected.len());
                self.emit(NetEvent::Disconnected(peer_id));
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "oracle network listening");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.gossip(swarm, event),
            SwarmEvent::Behaviour(BehaviourEvent::Votes(event)) => self.votes(swarm, event),
            SwarmEvent::Behaviour(BehaviourEvent::Reports(event)) => self.reports(swarm, event),
            _ => {}
        }
    }

    fn gossip(&mut self, swarm: &mut Swarm<Behaviour>, event: gossipsub::Event) {
        if let gossipsub::Event::Subscribed { peer_id, topic, .. } = &event {
            if *topic == self.topic.hash() {
                self.emit(NetEvent::Subscribed(*peer_id));
            }
            return;
        }
        let gossipsub::Event::Message {
            propagation_source: source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let verdict = |swarm: &mut Swarm<Behaviour>, acceptance| {
            swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&message_id, &source, acceptance)
        };
        if !self.guard.allow_gossip(source, Instant::now()) {
            verdict(swarm, MessageAcceptance::Ignore);
            self.metrics.vote(VoteOutcome::Dropped);
            self.strike(swarm, source);
            return;
        }
        if message.topic != self.topic.hash() || message.data.len() != VOTE_SSZ_LEN {
            // The size cap, checked before anything else touches the payload.
            verdict(swarm, MessageAcceptance::Reject);
            self.metrics.vote(VoteOutcome::Malformed);
            self.strike(swarm, source);
            return;
        }
        let event = NetEvent::Gossip {
            message_id: message_id.clone(),
            source,
            data: message.data,
        };
        if self.events.try_send(event).is_err() {
            // Backpressure: drop rather than queue without bound.
            verdict(swarm, MessageAcceptance::Ignore);
            self.metrics.vote(VoteOutcome::Dropped);
        }
    }

    fn votes(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        event: request_response::Event<u64, Vec<super::OracleVote>>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request: frame,
                    channel,
                    ..
                } => {
                    if self.guard.allow_request(peer, Instant::now()) {
                        self.emit(NetEvent::VotesRequest {
                            peer,
                            frame,
                            channel,
                        });
                    } else {
                        self.strike(swarm, peer);
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(frame) = self.vote_requests.remove(&request_id) {
                        self.emit(NetEvent::VotesResponse {
                            peer,
                            frame,
                            votes: response,
                        });
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.vote_requests.remove(&request_id);
                tracing::debug!(%peer, %error, "votes request failed");
            }
            _ => {}
        }
    }

    fn reports(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        event: request_response::Event<types::Hash256, Option<Vec<u8>>>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request: root,
                    channel,
                    ..
                } => {
                    if self.guard.allow_request(peer, Instant::now()) {
                        self.emit(NetEvent::ReportRequest { root, channel });
                    } else {
                        self.strike(swarm, peer);
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.report_requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.report_requests.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            _ => {}
        }
    }
}

/// Parses a registry multiaddr string.
pub(crate) fn parse_multiaddr(text: &str) -> Result<Multiaddr> {
    text.parse()
        .map_err(|e| Error::Config(format!("multiaddr {text:?}: {e}")))
}
