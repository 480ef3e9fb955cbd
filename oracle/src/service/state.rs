//! The committee task's state machine: frames in the acceptance window, their tallies,
//! verification batches and the sealing timers.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use pool_registry::oracle::{OracleConfig, OracleVote, QuorumCertificate};
use ssz::Decode;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tree_hash::TreeHash;
use types::Hash256;

use super::{CommitteeConfig, CommitteeDeps, ServiceCommand, Submission};
use crate::error::{Error, Result};
use crate::membership::Membership;
use crate::metrics::{CommitteeEvent, VoteOutcome};
use crate::network::{NetCommand, NetEvent, NetworkHandle};
use crate::own_vote::OwnVoter;
use crate::tally::{FrameTally, Inserted, Screen};
use crate::verify::verify_votes;

/// Committee peers and their dial addresses from a registry section.
pub(super) fn peer_list(oracle: &OracleConfig) -> Vec<(PeerId, Vec<libp2p::Multiaddr>)> {
    oracle
        .members
        .iter()
        .filter_map(|m| {
            let peer: PeerId = m.peer_id.parse().ok()?;
            let addresses = m.addresses.iter().filter_map(|a| a.parse().ok()).collect();
            Some((peer, addresses))
        })
        .collect()
}

/// Where a vote came from (what to do with its verdict).
#[derive(Debug, Clone)]
enum Origin {
    Gossip {
        message_id: MessageId,
        source: PeerId,
    },
    Response {
        peer: PeerId,
    },
}

#[derive(Debug)]
struct FrameState {
    membership: Arc<Membership>,
    tally: FrameTally,
    own: Option<OracleVote>,
    frame_ended_at: Option<SystemTime>,
    body: Option<Arc<Vec<u8>>>,
    sealed: Option<QuorumCertificate>,
    settle_at: Option<Instant>,
    deadline: Option<Instant>,
    unagreed_reported: bool,
}

type Verified = Vec<(OracleVote, Origin, bool)>;

/// Votes of one frame waiting for one verification call.
type FrameBatch = (Arc<Membership>, Vec<(OracleVote, Origin)>);

pub(super) struct Service {
    config: CommitteeConfig,
    deps: CommitteeDeps,
    voter: OwnVoter,
    net: mpsc::Sender<NetCommand>,
    net_events: mpsc::Receiver<NetEvent>,
    events: broadcast::Sender<CommitteeEvent>,
    frames: BTreeMap<u64, FrameState>,
    memberships: HashMap<u64, Arc<Membership>>,
    pending: VecDeque<(OracleVote, Origin)>,
    verifying: bool,
    verified_tx: mpsc::Sender<Verified>,
    verified_rx: mpsc::Receiver<Verified>,
    connected: HashSet<PeerId>,
    last_catch_up: Instant,
    catch_up_cursor: usize,
}

impl Service {
    /// Reloads the window's frames: own votes (sent again), stored votes, certificates.
    pub(super) async fn load(
        config: CommitteeConfig,
        deps: CommitteeDeps,
        network: NetworkHandle,
        events: broadcast::Sender<CommitteeEvent>,
    ) -> Result<Self> {
        let voter = OwnVoter::new(
            Arc::clone(&deps.store),
            Arc::clone(&deps.signer),
            config.domain,
        );
        let (verified_tx, verified_rx) = mpsc::channel(4);
        let mut service = Self {
            config,
            deps,
            voter,
            net: network.commands,
            net_events: network.events,
            events,
            frames: BTreeMap::new(),
            memberships: HashMap::new(),
            pending: VecDeque::new(),
            verifying: false,
            verified_tx,
            verified_rx,
            connected: HashSet::new(),
            last_catch_up: Instant::now(),
            catch_up_cursor: 0,
        };
        let (low, high) = service.window();
        for own in service.deps.store.own_votes_from(low).await? {
            if own.frame > high {
                continue;
            }
            let frame = own.frame;
            let state = service.frame_state(frame).await?;
            state.own = Some(own.clone());
            let tally_vote = own.clone();
            let membership = Arc::clone(&state.membership);
            state.tally.insert(&membership, tally_vote);
            // The recorded vote, never a new one (a crash may have kept it from leaving).
            service.publish(&own).await;
        }
        for frame in low..=high {
            let votes = service.deps.store.votes(frame).await?;
            let certificate = service.deps.store.certificate(frame).await?;
            if votes.is_empty() && certificate.is_none() && !service.frames.contains_key(&frame) {
                continue;
            }
            let state = service.frame_state(frame).await?;
            let membership = Arc::clone(&state.membership);
            for vote in votes {
                // Stored votes were verified before they were stored.
                state.tally.insert(&membership, vote);
            }
            state.sealed = certificate;
        }
        Ok(service)
    }

    fn window(&self) -> (u64, u64) {
        let current = self.deps.clock.current_frame();
        (
            current.saturating_sub(self.config.frames_back),
            current.saturating_add(1),
        )
    }

    fn emit(&self, event: CommitteeEvent) {
        // No subscriber is not an error.
        let _ = self.events.send(event);
    }

    async fn net(&self, command: NetCommand) {
        // Fails only at shutdown.
        let _ = self.net.send(command).await;
    }

    async fn publish(&self, vote: &OracleVote) {
        self.net(NetCommand::Publish(vote.to_ssz())).await;
    }

    async fn membership(&mut self, frame: u64) -> Result<Arc<Membership>> {
        if let Some(m) = self.memberships.get(&frame) {
            return Ok(Arc::clone(m));
        }
        let snapshot = match self.deps.store.membership(frame).await? {
            Some(snapshot) => snapshot,
            None => {
                let live = (self.deps.live)().ok_or_else(|| Error::Membership {
                    frame,
                    message: "the registry has no [oracle] section".to_owned(),
                })?;
                // First use of the frame: its membership is the live registry's, stored.
                self.deps
                    .store
                    .ensure_membership(&live.snapshot(frame))
                    .await?
            }
        };
        let membership = Arc::new(Membership::from_snapshot(&snapshot)?);
        self.memberships.insert(frame, Arc::clone(&membership));
        self.refresh_peers().await;
        Ok(membership)
    }

    /// Committee peers = the live registry's members plus every member of a frame in use.
    async fn refresh_peers(&self) {
        let mut peers = match (self.deps.live)() {
            Some(oracle) => peer_list(&oracle),
            None => Vec::new(),
        };
        for m in self.memberships.values() {
            for member in m.members() {
                if !peers.iter().any(|(p, _)| *p == member.peer_id) {
                    peers.push((member.peer_id, Vec::new()));
                }
            }
        }
        self.net(NetCommand::SetPeers(peers)).await;
    }

    async fn frame_state(&mut self, frame: u64) -> Result<&mut FrameState> {
        if !self.frames.contains_key(&frame) {
            let membership = self.membership(frame).await?;
            self.frames.insert(
                frame,
                FrameState {
                    membership,
                    tally: FrameTally::new(frame),
                    own: None,
                    frame_ended_at: None,
                    body: None,
                    sealed: None,
                    settle_at: None,
                    deadline: None,
                    unagreed_reported: false,
                },
            );
        }
        Ok(self.frames.get_mut(&frame).expect("inserted above"))
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<ServiceCommand>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => break,
                },
                Some(event) = self.net_events.recv() => self.net_event(event).await,
                Some(results) = self.verified_rx.recv() => self.verified(results).await,
                _ = tick.tick() => self.timers().await,
            }
            self.dispatch_verification();
        }
        tracing::debug!("oracle committee stopped");
    }

    async fn command(&mut self, command: ServiceCommand) {
        match command {
            ServiceCommand::Submit(submission, reply) => {
                let _ = reply.send(self.submit(submission).await);
            }
            ServiceCommand::FetchReport { frame, root, reply } => {
                self.fetch_report(frame, root, reply);
            }
        }
    }

    async fn submit(&mut self, submission: Submission) -> Result<OracleVote> {
        let frame = submission.frame;
        let membership = self.membership(frame).await?;
        // Durable in the own-vote table when this returns: it may leave the process now.
        let vote = self.voter.vote(&membership, submission.report_root).await?;
        self.publish(&vote).await;
        self.deps.store.record_vote(&vote).await?;
        let deadline = Instant::now() + self.config.agreement_deadline;
        let state = self.frame_state(frame).await?;
        state.own = Some(vote.clone());
        state.frame_ended_at = submission.frame_ended_at;
        state.body = submission.report_ssz.map(Arc::new);
        state.deadline.get_or_insert(deadline);
        let evidence = state.tally.insert(&membership, vote.clone());
        if let Inserted::Evidence(evidence) = evidence {
            // Impossible for an honest node (one root per frame); recorded all the same.
            self.deps.store.record_evidence(&evidence).await?;
            self.emit(CommitteeEvent::Evidence(*evidence));
        }
        self.check_seal(frame).await;
        Ok(vote)
    }

    fn fetch_report(&self, frame: u64, root: Hash256, reply: oneshot::Sender<Result<Vec<u8>>>) {
        let peers: Vec<PeerId> = match self.frames.get(&frame) {
            Some(state) => state
                .tally
                .agreeing(root)
                .indices()
                .filter_map(|i| state.membership.member(u64::from(i)).map(|m| m.peer_id))
                .filter(|p| self.connected.contains(p))
                .collect(),
            None => Vec::new(),
        };
        let net = self.net.clone();
        self.deps.spawner.spawn(
            "oracle-fetch-report",
            Box::pin(async move {
                let _ = reply.send(fetch_from(net, peers, frame, root).await);
            }),
        );
    }

    async fn net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Gossip {
                message_id,
                source,
                data,
            } => {
                let origin = Origin::Gossip { message_id, source };
                match pool_registry::oracle::OracleVote::from_ssz(&data) {
                    Ok(vote) => self.screen(vote, origin).await,
                    Err(_) => self.verdict(origin, VoteOutcome::Malformed).await,
                }
            }
            NetEvent::VotesResponse { peer, frame, votes } => {
                for vote in votes {
                    let origin = Origin::Response { peer };
                    if vote.frame != frame {
                        self.verdict(origin, VoteOutcome::WrongFrame).await;
                    } else {
                        self.screen(vote, origin).await;
                    }
                }
            }
            NetEvent::VotesRequest { frame, channel, .. } => {
                let votes = match self.frames.get(&frame) {
                    Some(state) => state.tally.votes().cloned().collect(),
                    None => self.deps.store.votes(frame).await.unwrap_or_default(),
                };
                self.net(NetCommand::RespondVotes { channel, votes }).await;
            }
            NetEvent::ReportRequest { root, channel } => {
                let cached = self
                    .frames
                    .values()
                    .find(|s| s.own.as_ref().is_some_and(|v| v.report_root == root))
                    .and_then(|s| s.body.as_ref().map(|b| b.as_ref().clone()));
                let body = match cached {
                    Some(body) => Some(body),
                    None => self.deps.reports.report_body(root).await,
                };
                self.net(NetCommand::RespondReport { channel, body }).await;
            }
            NetEvent::Connected(peer) => {
                self.connected.insert(peer);
                // Every frame of the window, known here or not: the peer may hold votes of
                // a frame this node has not seen yet (after a restart or a partition).
                let (low, high) = self.window();
                for frame in low..=high {
                    self.net(NetCommand::RequestVotes { peer, frame }).await;
                }
            }
            NetEvent::Subscribed(_) => {
                // A peer can take gossip now: send the unsealed own votes again (the same
                // recorded votes; peers that have them drop the duplicates).
                let own: Vec<OracleVote> = self
                    .frames
                    .values()
                    .filter(|s| s.sealed.is_none())
                    .filter_map(|s| s.own.clone())
                    .collect();
                for vote in own {
                    self.publish(&vote).await;
                }
            }
            NetEvent::Disconnected(peer) => {
                self.connected.remove(&peer);
            }
        }
    }

    /// The checks before any signature work; a vote worth verifying is queued.
    async fn screen(&mut self, vote: OracleVote, origin: Origin) {
        let (low, high) = self.window();
        if vote.frame < low || vote.frame > high {
            return self.verdict(origin, VoteOutcome::WrongFrame).await;
        }
        let screen = match self.frame_state(vote.frame).await {
            Ok(state) => state.tally.screen(&state.membership, &vote),
            Err(error) => {
                tracing::warn!(frame = vote.frame, %error, "no membership for a received vote");
                return self.verdict(origin, VoteOutcome::Dropped).await;
            }
        };
        let outcome = match screen {
            Screen::New => {
                if let Some(frame) = self.deps.reports.frame_of_root(vote.report_root).await
                    && frame != vote.frame
                {
                    // A vote of another frame replayed under this one (checked after the
                    // cheap screen: it may read the store).
                    return self.verdict(origin, VoteOutcome::WrongFrame).await;
                }
                if self.pending.len() >= self.config.verify_queue {
                    VoteOutcome::Dropped
                } else {
                    self.pending.push_back((vote, origin));
                    return;
                }
            }
            Screen::WrongFrame => VoteOutcome::WrongFrame,
            Screen::NotAMember => VoteOutcome::NotAMember,
            Screen::Duplicate => VoteOutcome::Duplicate,
            Screen::Equivocator => VoteOutcome::FromEquivocator,
        };
        self.verdict(origin, outcome).await;
    }

    /// Reports a vote's outcome: to gossipsub (forward, penalise or drop), as a strike for
    /// a responding peer, and to the metrics.
    async fn verdict(&self, origin: Origin, outcome: VoteOutcome) {
        self.deps.metrics.vote(outcome);
        match origin {
            Origin::Gossip { message_id, source } => {
                let acceptance = if outcome == VoteOutcome::Accepted {
                    MessageAcceptance::Accept
                } else if outcome.is_invalid() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                };
                self.net(NetCommand::Validation {
                    message_id,
                    source,
                    acceptance,
                })
                .await;
            }
            Origin::Response { peer } if outcome.is_invalid() => {
                self.net(NetCommand::Penalize(peer)).await;
            }
            Origin::Response { .. } => {}
        }
    }

    /// Starts one verification batch on the blocking pool when none is running.
    fn dispatch_verification(&mut self) {
        if self.verifying || self.pending.is_empty() {
            return;
        }
        let n = self.pending.len().min(self.config.verify_batch.max(1));
        let batch: Vec<(OracleVote, Origin)> = self.pending.drain(..n).collect();
        let mut by_frame: BTreeMap<u64, FrameBatch> = BTreeMap::new();
        for (vote, origin) in batch {
            let Some(state) = self.frames.get(&vote.frame) else {
                continue;
            };
            by_frame
                .entry(vote.frame)
                .or_insert_with(|| (Arc::clone(&state.membership), Vec::new()))
                .1
                .push((vote, origin));
        }
        let domain = self.config.domain;
        let tx = self.verified_tx.clone();
        self.verifying = true;
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for (membership, items) in by_frame.into_values() {
                let votes: Vec<OracleVote> = items.iter().map(|(v, _)| v.clone()).collect();
                let valid = verify_votes(&membership, &domain, &votes);
                out.extend(
                    items
                        .into_iter()
                        .zip(valid)
                        .map(|((vote, origin), ok)| (vote, origin, ok)),
                );
            }
            // The receiver lives as long as the service; at shutdown nobody needs this.
            let _ = tx.blocking_send(out);
        });
    }

    async fn verified(&mut self, results: Verified) {
        self.verifying = false;
        let mut touched = Vec::new();
        let mut to_record = Vec::new();
        let mut evidence = Vec::new();
        let mut verdicts = Vec::with_capacity(results.len());
        for (vote, origin, valid) in results {
            if !valid {
                verdicts.push((origin, VoteOutcome::BadSignature));
                continue;
            }
            let frame = vote.frame;
            let Some(state) = self.frames.get_mut(&frame) else {
                continue;
            };
            let membership = Arc::clone(&state.membership);
            let outcome = match state.tally.insert(&membership, vote.clone()) {
                Inserted::Ignored => VoteOutcome::Duplicate,
                Inserted::New => VoteOutcome::Accepted,
                Inserted::Evidence(e) => {
                    tracing::warn!(frame, member = vote.member, "oracle member equivocated");
                    evidence.push(*e);
                    VoteOutcome::Accepted
                }
            };
            if outcome == VoteOutcome::Accepted {
                to_record.push(vote);
            }
            verdicts.push((origin, outcome));
            touched.push(frame);
        }
        for e in evidence {
            if let Err(error) = self.deps.store.record_evidence(&e).await {
                tracing::error!(frame = e.frame(), %error, "cannot record equivocation evidence");
            }
            self.deps.metrics.evidence(e.frame());
            self.emit(CommitteeEvent::Evidence(e));
        }
        // Forward and seal first (the certificate is stored durably when sealed), then record
        // the batch in one transaction: a vote lost in a crash comes back through catch-up.
        for (origin, outcome) in verdicts {
            self.verdict(origin, outcome).await;
        }
        touched.sort_unstable();
        touched.dedup();
        for frame in touched {
            self.check_seal(frame).await;
        }
        if !to_record.is_empty()
            && let Err(error) = self.deps.store.record_votes(&to_record).await
        {
            tracing::error!(%error, "cannot record verified votes");
        }
    }

    /// Seals at once when every member is accounted for, or arms the settle timer when a
    /// quorum first agrees.
    async fn check_seal(&mut self, frame: u64) {
        let settle = self.config.settle_window;
        let Some(state) = self.frames.get_mut(&frame) else {
            return;
        };
        if state.sealed.is_some() {
            return;
        }
        if state.tally.agreed_root(&state.membership).is_none() {
            state.settle_at = None;
            return;
        }
        if state.tally.all_accounted_for(&state.membership) {
            self.seal(frame).await;
        } else if state.settle_at.is_none() {
            state.settle_at = Some(Instant::now() + settle);
        }
    }

    async fn seal(&mut self, frame: u64) {
        let Some(state) = self.frames.get_mut(&frame) else {
            return;
        };
        let Some(mut certificate) = state.tally.certificate(&state.membership) else {
            return;
        };
        match self.deps.store.store_certificate(&certificate).await {
            Ok(_) => {}
            Err(pool_registry::Error::Conflict { .. }) => {
                // Sealed before a restart with other votes: the stored one stands.
                match self.deps.store.certificate(frame).await {
                    Ok(Some(stored)) => certificate = stored,
                    _ => return,
                }
            }
            Err(error) => {
                tracing::error!(frame, %error, "cannot store the certificate; retrying");
                return;
            }
        }
        state.sealed = Some(certificate.clone());
        state.settle_at = None;
        let since_end = state
            .frame_ended_at
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        let ours = state.own.as_ref().map(|v| v.report_root);
        tracing::info!(frame, root = %certificate.report_root, signers = certificate.signers.len(), "oracle certificate sealed");
        self.deps.metrics.agreed(frame, since_end);
        self.emit(CommitteeEvent::Agreed(certificate.clone()));
        if let Some(ours) = ours.filter(|r| *r != certificate.report_root) {
            self.deps.metrics.dissent(frame);
            self.emit(CommitteeEvent::Dissent {
                frame,
                ours,
                agreed: certificate.report_root,
            });
        }
    }

    async fn timers(&mut self) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .frames
            .iter()
            .filter(|(_, s)| s.sealed.is_none() && s.settle_at.is_some_and(|t| t <= now))
            .map(|(f, _)| *f)
            .collect();
        for frame in due {
            self.seal(frame).await;
        }
        for (frame, state) in self.frames.iter_mut() {
            if state.sealed.is_none()
                && !state.unagreed_reported
                && state.deadline.is_some_and(|t| t <= now)
            {
                state.unagreed_reported = true;
                self.deps.metrics.unagreed(*frame);
                let _ = self.events.send(CommitteeEvent::Unagreed {
                    frame: *frame,
                    roots: state.tally.roots().into_iter().collect(),
                });
            }
        }
        if now.duration_since(self.last_catch_up) >= self.config.catch_up_interval {
            self.last_catch_up = now;
            self.catch_up().await;
        }
        let (low, _) = self.window();
        self.frames.retain(|f, _| *f >= low);
        self.memberships.retain(|f, _| *f >= low);
    }

    /// Asks, per unsealed frame, ONE connected member whose vote is missing (rotating) for
    /// that frame's votes: recovers gossip lost in a partition without a request storm
    /// (connecting peers already exchange every frame's votes).
    async fn catch_up(&mut self) {
        self.catch_up_cursor = self.catch_up_cursor.wrapping_add(1);
        let mut requests = Vec::new();
        for (frame, state) in &self.frames {
            if state.sealed.is_some() {
                continue;
            }
            let voted = state
                .tally
                .votes()
                .map(|v| v.member)
                .collect::<HashSet<_>>();
            let candidates: Vec<PeerId> = state
                .membership
                .members()
                .filter(|m| !voted.contains(&u64::from(m.index)))
                .map(|m| m.peer_id)
                .filter(|p| self.connected.contains(p))
                .collect();
            if !candidates.is_empty() {
                requests.push((candidates[self.catch_up_cursor % candidates.len()], *frame));
            }
        }
        for (peer, frame) in requests {
            self.net(NetCommand::RequestVotes { peer, frame }).await;
        }
    }
}

/// Asks `peers` in turn for the body of `root` and checks it hashes to `root` and is frame
/// `frame`'s report.
async fn fetch_from(
    net: mpsc::Sender<NetCommand>,
    peers: Vec<PeerId>,
    frame: u64,
    root: Hash256,
) -> Result<Vec<u8>> {
    let mut problems = Vec::new();
    for peer in peers {
        let (tx, rx) = oneshot::channel();
        if net
            .send(NetCommand::RequestReport {
                peer,
                root,
                reply: tx,
            })
            .await
            .is_err()
        {
            return Err(Error::Stopped);
        }
        match rx.await {
            Ok(Ok(Some(body))) => match pool_registry::report::PoolReport::from_ssz_bytes(&body) {
                Ok(report) if report.tree_hash_root() == root && report.frame == frame => {
                    return Ok(body);
                }
                Ok(_) => problems.push(format!(
                    "{peer}: the body is not frame {frame}'s report {root}"
                )),
                Err(e) => problems.push(format!("{peer}: undecodable body: {e:?}")),
            },
            Ok(Ok(None)) => problems.push(format!("{peer}: does not have it")),
            Ok(Err(e)) => problems.push(format!("{peer}: {e}")),
            Err(_) => return Err(Error::Stopped),
        }
    }
    Err(Error::Network(format!(
        "report {root} of frame {frame} could not be fetched from any member that voted it ({})",
        if problems.is_empty() {
            "none connected".to_owned()
        } else {
            problems.join("; ")
        }
    )))
}
