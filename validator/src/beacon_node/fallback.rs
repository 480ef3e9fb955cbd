//! [`BeaconNodeFallback`]: several beacon nodes behind one interface.
//!
//! Invariants:
//! - an incompatible node (other chain, config or preset) is never called;
//! - [`BeaconNodeFallback::first_success`] tries usable nodes best-ranked first (health tier, then
//!   the operator's order) and logs every failure with the node and the reason; the last error of
//!   each node stays visible in [`BeaconNodeFallback::status`];
//! - an unreachable node is demoted to offline at once, so the rest of the slot does not wait on
//!   it again; the next health check may restore it;
//! - health is refreshed every slot by the named task [`HEALTH_TASK`];
//! - the reference chain is the expected genesis and config where given; what is not given is
//!   learnt from the first node (configured order) that answers and agrees with what is given.
//!   Until a reference is known every node is unchecked and ranked in configured order.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::future::join_all;
use parking_lot::{Mutex, RwLock};
use types::api::GenesisData;
use types::{ChainSpec, EthSpec};

use super::client::BeaconNodeClient;
use super::error::{Error, NodeFailure, Result};
use super::health::{
    ChainReference, NodeHealth, PresetCheck, check_node, compare_genesis, compare_specs,
};
use crate::clock::SlotClock;
use crate::executor::{TaskExecutor, TaskKind};

/// The name of the health-check task.
pub const HEALTH_TASK: &str = "beacon-node-health";

/// Publications that may be sent to every usable node instead of the first that accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BroadcastTopic {
    /// Attestations.
    Attestations,
    /// Aggregates.
    Aggregates,
    /// Blocks.
    Blocks,
    /// Sync committee messages and contributions.
    SyncCommittee,
    /// Subnet subscriptions.
    Subscriptions,
}

/// How the fallback checks and uses its nodes.
#[derive(Debug, Clone)]
pub struct FallbackConfig {
    /// The genesis to require (validators root and time); learnt from the nodes if `None`.
    pub expected_genesis: Option<GenesisData>,
    /// The chain config to require (fork schedule, slot timing, preset); learnt from the nodes
    /// if `None`.
    pub expected_spec: Option<ChainSpec>,
    /// The compiled preset's check.
    pub preset_check: PresetCheck,
    /// Slots of sync distance a node reporting `is_syncing` may have and still count as synced.
    pub sync_tolerance: u64,
    /// Topics published to all usable nodes.
    pub broadcast: HashSet<BroadcastTopic>,
}

impl FallbackConfig {
    /// Defaults for preset `E`: reference learnt from the nodes, tolerance of 2 slots, no
    /// broadcast.
    pub fn new<E: EthSpec>() -> Self {
        Self {
            expected_genesis: None,
            expected_spec: None,
            preset_check: types::verify_preset::<E>,
            sync_tolerance: 2,
            broadcast: HashSet::new(),
        }
    }
}

/// Request statistics of one node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStats {
    /// Successful calls.
    pub successes: u64,
    /// Failed calls.
    pub failures: u64,
    /// Duration of the last call.
    pub last_latency: Option<Duration>,
    /// Exponentially weighted mean call duration (weight 1/8 for each new sample).
    pub mean_latency: Option<Duration>,
    /// The last failure (call or health check), with when it happened.
    pub last_error: Option<(String, SystemTime)>,
    /// When health was last checked.
    pub last_health_check: Option<SystemTime>,
}

impl NodeStats {
    fn record_latency(&mut self, latency: Duration) {
        self.last_latency = Some(latency);
        self.mean_latency = Some(match self.mean_latency {
            None => latency,
            Some(mean) => (mean * 7 + latency) / 8,
        });
    }
}

/// A node's health and statistics, for metrics and the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    /// Position in the configured list.
    pub index: usize,
    /// URL without credentials.
    pub url: String,
    /// Health as of the last check (or call failure).
    pub health: NodeHealth,
    /// Whether the node reported its execution layer offline.
    pub el_offline: bool,
    /// Request statistics.
    pub stats: NodeStats,
}

#[derive(Debug)]
struct NodeState {
    health: NodeHealth,
    el_offline: bool,
    config_verified: bool,
    stats: NodeStats,
}

#[derive(Debug)]
struct Candidate {
    index: usize,
    client: BeaconNodeClient,
    state: Mutex<NodeState>,
}

impl Candidate {
    fn rank(&self) -> Option<(u8, u64, bool, usize)> {
        let state = self.state.lock();
        state
            .health
            .rank()
            .map(|(tier, distance)| (tier, distance, state.el_offline, self.index))
    }

    fn record_success(&self, latency: Duration) {
        let mut state = self.state.lock();
        state.stats.successes += 1;
        state.stats.record_latency(latency);
    }

    fn record_failure(&self, error: &Error, latency: Duration) {
        let mut state = self.state.lock();
        state.stats.failures += 1;
        state.stats.record_latency(latency);
        state.stats.last_error = Some((error.to_string(), SystemTime::now()));
        if error.is_unreachable() && !matches!(state.health, NodeHealth::Incompatible(_)) {
            state.health = NodeHealth::Offline;
            state.config_verified = false;
        }
    }
}

/// Several beacon nodes with health ranking.
#[derive(Debug)]
pub struct BeaconNodeFallback {
    nodes: Vec<Arc<Candidate>>,
    config: FallbackConfig,
    reference: RwLock<Option<ChainReference>>,
}

impl BeaconNodeFallback {
    /// A fallback over `clients` (in the operator's order of preference).
    pub fn new(clients: Vec<BeaconNodeClient>, config: FallbackConfig) -> Self {
        let nodes = clients
            .into_iter()
            .enumerate()
            .map(|(index, client)| {
                Arc::new(Candidate {
                    index,
                    client,
                    state: Mutex::new(NodeState {
                        health: NodeHealth::Unknown,
                        el_offline: false,
                        config_verified: false,
                        stats: NodeStats::default(),
                    }),
                })
            })
            .collect();
        let reference = match (&config.expected_genesis, &config.expected_spec) {
            (Some(genesis), Some(spec)) => Some(ChainReference {
                genesis: *genesis,
                spec: spec.clone(),
            }),
            _ => None,
        };
        let reference = RwLock::new(reference);
        Self {
            nodes,
            config,
            reference,
        }
    }

    /// The number of configured nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is configured.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The chain the nodes are checked against, once known.
    pub fn reference(&self) -> Option<ChainReference> {
        self.reference.read().clone()
    }

    /// Health and statistics of every node, in configured order.
    pub fn status(&self) -> Vec<NodeStatus> {
        self.nodes
            .iter()
            .map(|node| {
                let state = node.state.lock();
                NodeStatus {
                    index: node.index,
                    url: node.client.url().to_owned(),
                    health: state.health.clone(),
                    el_offline: state.el_offline,
                    stats: state.stats.clone(),
                }
            })
            .collect()
    }

    /// Usable nodes, best first.
    fn ranked(&self) -> Vec<Arc<Candidate>> {
        let mut ranked: Vec<_> = self
            .nodes
            .iter()
            .filter_map(|node| node.rank().map(|rank| (rank, node.clone())))
            .collect();
        ranked.sort_by_key(|(rank, _)| *rank);
        ranked.into_iter().map(|(_, node)| node).collect()
    }

    /// The best usable node, if any.
    pub fn best(&self) -> Option<BeaconNodeClient> {
        self.ranked().first().map(|node| node.client.clone())
    }

    /// Failures standing for the incompatible nodes that were skipped.
    fn skipped_failures(&self) -> Vec<NodeFailure> {
        self.nodes
            .iter()
            .filter_map(|node| match &node.state.lock().health {
                NodeHealth::Incompatible(reason) => Some(NodeFailure {
                    node: node.client.url().to_owned(),
                    error: Error::Incompatible {
                        url: node.client.url().to_owned(),
                        reason: format!("skipped: {reason}"),
                    },
                }),
                _ => None,
            })
            .collect()
    }

    /// Runs `call` on usable nodes, best first, until one succeeds. `what` names the call in
    /// logs. Every failure is logged with the node and reason.
    pub async fn first_success<T, F, Fut>(&self, what: &str, call: F) -> Result<T>
    where
        F: Fn(BeaconNodeClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if self.nodes.is_empty() {
            return Err(Error::NoNodes);
        }
        let mut failures = Vec::new();
        for node in self.ranked() {
            let started = Instant::now();
            match call(node.client.clone()).await {
                Ok(value) => {
                    node.record_success(started.elapsed());
                    if !failures.is_empty() {
                        tracing::info!(call = what, node = %node.client, "succeeded on a fallback beacon node");
                    }
                    return Ok(value);
                }
                Err(error) => {
                    tracing::warn!(call = what, node = %node.client, %error, "beacon node call failed");
                    node.record_failure(&error, started.elapsed());
                    failures.push(NodeFailure {
                        node: node.client.url().to_owned(),
                        error,
                    });
                }
            }
        }
        failures.extend(self.skipped_failures());
        Err(Error::AllNodesFailed(failures))
    }

    /// Runs `call` on every usable node at once (offline ones only if nothing else is usable);
    /// succeeds if any node succeeded, returning the best-ranked node's value. Failures are
    /// logged per node.
    pub async fn broadcast<T, F, Fut>(&self, what: &str, call: F) -> Result<T>
    where
        F: Fn(BeaconNodeClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if self.nodes.is_empty() {
            return Err(Error::NoNodes);
        }
        let ranked = self.ranked();
        let online: Vec<_> = ranked
            .iter()
            .filter(|node| node.state.lock().health != NodeHealth::Offline)
            .cloned()
            .collect();
        let targets = if online.is_empty() { ranked } else { online };
        let results = join_all(targets.iter().map(|node| {
            let started = Instant::now();
            let future = call(node.client.clone());
            async move { (future.await, started.elapsed()) }
        }))
        .await;
        let mut first_ok = None;
        let mut failures = Vec::new();
        for (node, (result, latency)) in targets.iter().zip(results) {
            match result {
                Ok(value) => {
                    node.record_success(latency);
                    first_ok.get_or_insert(value);
                }
                Err(error) => {
                    tracing::warn!(call = what, node = %node.client, %error, "beacon node call failed");
                    node.record_failure(&error, latency);
                    failures.push(NodeFailure {
                        node: node.client.url().to_owned(),
                        error,
                    });
                }
            }
        }
        match first_ok {
            Some(value) => Ok(value),
            None => {
                failures.extend(self.skipped_failures());
                Err(Error::AllNodesFailed(failures))
            }
        }
    }

    /// Publishes via [`Self::broadcast`] when `topic` is configured for broadcast, else via
    /// [`Self::first_success`].
    pub async fn publish<T, F, Fut>(&self, topic: BroadcastTopic, what: &str, call: F) -> Result<T>
    where
        F: Fn(BeaconNodeClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if self.config.broadcast.contains(&topic) {
            self.broadcast(what, call).await
        } else {
            self.first_success(what, call).await
        }
    }

    /// Completes the reference chain from the first node (configured order) that serves genesis
    /// and a config passing the preset check and agreeing with the expected parts.
    async fn discover_reference(&self) -> Option<ChainReference> {
        for node in &self.nodes {
            let client = &node.client;
            let result = async {
                let genesis = client.get_genesis().await?;
                let spec: ChainSpec = client.get_config_spec().await?;
                let incompatible = |reason: String| Error::Incompatible {
                    url: client.url().to_owned(),
                    reason,
                };
                (self.config.preset_check)(&spec).map_err(|e| incompatible(e.to_string()))?;
                let genesis_mismatch = self
                    .config
                    .expected_genesis
                    .and_then(|expected| compare_genesis(&expected, &genesis));
                let spec_mismatch = self
                    .config
                    .expected_spec
                    .as_ref()
                    .and_then(|expected| compare_specs(expected, &spec));
                if let Some(reason) = genesis_mismatch.or(spec_mismatch) {
                    return Err(incompatible(reason.to_string()));
                }
                Ok::<_, Error>(ChainReference {
                    genesis: self.config.expected_genesis.unwrap_or(genesis),
                    spec: self.config.expected_spec.clone().unwrap_or(spec),
                })
            }
            .await;
            match result {
                Ok(reference) => {
                    tracing::info!(
                        node = %client,
                        genesis_validators_root = %reference.genesis.genesis_validators_root,
                        preset = %reference.spec.preset_base,
                        config = reference.spec.config_name.as_deref().unwrap_or("unnamed"),
                        "reference chain established"
                    );
                    *self.reference.write() = Some(reference.clone());
                    return Some(reference);
                }
                Err(error) => {
                    tracing::warn!(node = %client, %error, "cannot learn the chain from this beacon node");
                    node.record_failure(&error, Duration::ZERO);
                }
            }
        }
        None
    }

    /// Checks every node now (concurrently) and updates the ranking.
    pub async fn update_all_health(&self) {
        let reference = match self.reference() {
            Some(reference) => reference,
            None => match self.discover_reference().await {
                Some(reference) => reference,
                None => return,
            },
        };
        let checks = self.nodes.iter().map(|node| {
            let config_verified = node.state.lock().config_verified;
            let reference = &reference;
            async move {
                let outcome = check_node(
                    &node.client,
                    reference,
                    self.config.preset_check,
                    self.config.sync_tolerance,
                    config_verified,
                )
                .await;
                (node, outcome)
            }
        });
        for (node, outcome) in join_all(checks).await {
            let mut state = node.state.lock();
            if state.health != outcome.health {
                match &outcome.error {
                    Some(error) => {
                        tracing::warn!(node = %node.client, from = %state.health, to = %outcome.health, %error, "beacon node health changed")
                    }
                    None => {
                        tracing::info!(node = %node.client, from = %state.health, to = %outcome.health, "beacon node health changed")
                    }
                }
            }
            state.health = outcome.health;
            state.el_offline = outcome.el_offline;
            state.config_verified = outcome.config_verified;
            state.stats.last_health_check = Some(SystemTime::now());
            if let Some(error) = outcome.error {
                state.stats.last_error = Some((error.to_string(), SystemTime::now()));
            }
        }
    }

    /// Spawns the critical task refreshing health at the start of every slot.
    pub fn spawn_health_task(self: &Arc<Self>, executor: &TaskExecutor, clock: SlotClock) {
        let fallback = self.clone();
        let token = executor.shutdown_token();
        executor.spawn(HEALTH_TASK, TaskKind::Critical, async move {
            loop {
                fallback.update_all_health().await;
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(clock.duration_to_next_slot()) => {}
                }
            }
        });
    }
}
