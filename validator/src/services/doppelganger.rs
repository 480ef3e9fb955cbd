//! Doppelganger protection: before a key signs anything, make sure no other instance is already
//! running it.
//!
//! At start, [`plan`] decides per key (see `docs/operations.md` for the reasoning):
//! - detection disabled (`--doppelganger-epochs 0`), or started before genesis (nobody can have
//!   signed on this chain yet): every key may sign at once;
//! - the slashing database holds an attestation signed *locally* with target at or after the
//!   previous epoch (or a block of the previous epoch or later): this is a restart of the same
//!   instance, which was signing until just now; its own recent messages would otherwise look
//!   like a doppelganger. Released at once;
//! - otherwise the key is held ([`SigningState::Held`]) for the configured number of epochs:
//!   no signature of any kind (attestation, selection proof, block, sync message...).
//!
//! Keys imported while the client runs (Keymanager API) get the same decision from
//! [`plan_keys`] and a service of their own, which watches only them.
//!
//! While keys are held, [`DoppelgangerService`] checks every slot whether any of them is live:
//! with `POST /eth/v1/validator/liveness/{epoch}` where the node has it, and always from the
//! chain (attestations included in canonical blocks, mapped through committees to indices, and
//! block proposers), from the epoch before the start on. A live key stops the process with an
//! error naming the keys, before anything is signed with them. When the epochs pass without a
//! sighting, the keys are released.

use tokio_util::sync::CancellationToken;
use types::{Epoch, EthSpec, PublicKeyBytes, Slot};

use super::Context;
use super::chain::BlockScanner;
use crate::beacon_node::Error as NodeError;
use crate::clock::SlotClock;
use crate::error::Result;
use crate::executor::{ShutdownReason, TaskExecutor, TaskKind};
use crate::store::{SigningState, ValidatorStore};

/// The doppelganger service's task name.
pub const DOPPELGANGER_TASK: &str = "doppelganger";

/// Why a key may sign at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    /// `--doppelganger-epochs 0`.
    Disabled,
    /// Started before genesis.
    BeforeGenesis,
    /// The slashing database shows this instance attested recently (a restart).
    RecentLocalAttestation {
        /// The latest locally signed target.
        target: Epoch,
    },
    /// The slashing database shows this instance proposed recently (a restart between a
    /// proposal and the key's attestation of that epoch).
    RecentLocalBlock {
        /// The latest locally signed block's slot.
        slot: Slot,
    },
}

/// The decision taken at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Keys held, and the epoch they are released at.
    pub held: Vec<PublicKeyBytes>,
    /// The release epoch of held keys.
    pub until: Epoch,
    /// The epoch detection starts at.
    pub start: Epoch,
    /// Keys released at once, and why.
    pub released: Vec<(PublicKeyBytes, ReleaseReason)>,
}

/// Decides which keys must wait and applies it to the store.
pub async fn plan<E: EthSpec>(
    store: &ValidatorStore<E>,
    clock: &SlotClock,
    epochs: u64,
) -> Result<Plan> {
    plan_keys(store, clock, epochs, store.keys()).await
}

/// [`plan`] for some keys only (keys imported while the client runs); the others are left as
/// they are.
pub async fn plan_keys<E: EthSpec>(
    store: &ValidatorStore<E>,
    clock: &SlotClock,
    epochs: u64,
    keys: Vec<crate::store::KeyInfo>,
) -> Result<Plan> {
    let mut plan = Plan::default();
    let current = clock.now_epoch();
    let release_all = match current {
        _ if epochs == 0 => Some(ReleaseReason::Disabled),
        None => Some(ReleaseReason::BeforeGenesis),
        Some(_) => None,
    };
    let current = current.unwrap_or(Epoch(0));
    plan.start = current;
    plan.until = current + epochs;
    for key in keys {
        let reason = match release_all {
            Some(reason) => Some(reason),
            None => {
                let state = store
                    .slashing_protection()
                    .validator_state(&key.pubkey)
                    .await?
                    .unwrap_or_default();
                let floor = current.saturating_sub(1);
                let floor_slot = store.spec().compute_start_slot_at_epoch(floor);
                let attested = state
                    .last_attestation
                    .filter(|a| a.target >= floor)
                    .map(|a| ReleaseReason::RecentLocalAttestation { target: a.target });
                let proposed = state
                    .last_block
                    .filter(|b| b.slot >= floor_slot)
                    .map(|b| ReleaseReason::RecentLocalBlock { slot: b.slot });
                attested.or(proposed)
            }
        };
        match reason {
            Some(reason) => {
                store.set_signing_state(&key.pubkey, SigningState::Enabled);
                plan.released.push((key.pubkey, reason));
            }
            None => {
                store.set_signing_state(&key.pubkey, SigningState::Held { until: plan.until });
                plan.held.push(key.pubkey);
            }
        }
    }
    if !plan.held.is_empty() {
        tracing::info!(
            held = plan.held.len(),
            released = plan.released.len(),
            until_epoch = %plan.until,
            "doppelganger protection: keys held back until no other instance is seen"
        );
    }
    let restarts = plan
        .released
        .iter()
        .filter(|(_, r)| {
            matches!(
                r,
                ReleaseReason::RecentLocalAttestation { .. }
                    | ReleaseReason::RecentLocalBlock { .. }
            )
        })
        .count();
    if restarts > 0 {
        tracing::info!(
            keys = restarts,
            "doppelganger protection: keys attested recently with this slashing database (restart); not waiting"
        );
    }
    Ok(plan)
}

/// Watches for other instances of the held keys until they are released.
pub struct DoppelgangerService<E: EthSpec> {
    ctx: Context<E>,
    plan: Plan,
    scanner: BlockScanner<E>,
    liveness_supported: bool,
    executor: TaskExecutor,
}

impl<E: EthSpec> DoppelgangerService<E> {
    /// A service watching `plan.held`.
    pub fn new(ctx: Context<E>, plan: Plan, executor: TaskExecutor) -> Self {
        let from = ctx
            .spec
            .compute_start_slot_at_epoch(plan.start.saturating_sub(1));
        let scanner = BlockScanner::new(ctx.fallback.clone(), ctx.spec.clone(), from);
        Self {
            ctx,
            plan,
            scanner,
            liveness_supported: true,
            executor,
        }
    }

    /// Spawns the task [`DOPPELGANGER_TASK`] (non-critical: it ends once every key is released;
    /// a detection stops the process itself).
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(DOPPELGANGER_TASK, TaskKind::NonCritical, self.run(token));
    }

    /// Checks every slot until the held keys are released, a doppelganger is seen, or shutdown.
    /// Only the keys of this service's plan are watched (keys imported later have their own).
    pub async fn run(mut self, token: CancellationToken) {
        let watched: std::collections::HashSet<PublicKeyBytes> =
            self.plan.held.iter().copied().collect();
        loop {
            let held: Vec<crate::store::KeyInfo> = self
                .ctx
                .store
                .held_keys()
                .into_iter()
                .filter(|k| watched.contains(&k.pubkey))
                .collect();
            if held.is_empty() {
                return;
            }
            let live = self.check(&held).await;
            if !live.is_empty() {
                self.detected(&live);
                return;
            }
            if self.ctx.current_epoch() >= self.plan.until {
                for key in &held {
                    self.ctx
                        .store
                        .set_signing_state(&key.pubkey, SigningState::Enabled);
                }
                tracing::info!(
                    keys = held.len(),
                    epoch = %self.plan.until,
                    "doppelganger protection: no other instance seen; keys may sign now"
                );
                return;
            }
            // Check at mid-slot, when the slot's block has usually arrived.
            let clock = &self.ctx.clock;
            let next = clock.now_slot().map_or(Slot(0), |s| s + 1);
            let wake = clock.slot_fraction(next, 5_000);
            if !super::sleep_until(clock, wake, &token).await {
                return;
            }
        }
    }

    /// The held keys seen live (pubkeys).
    async fn check(&mut self, held: &[crate::store::KeyInfo]) -> Vec<PublicKeyBytes> {
        let indices: Vec<u64> = held.iter().filter_map(|k| k.index).collect();
        if indices.is_empty() {
            return Vec::new();
        }
        let mut live: Vec<u64> = Vec::new();
        let epoch = self.ctx.current_epoch();
        if self.liveness_supported {
            for e in [epoch.saturating_sub(1), epoch] {
                if e + 1 < self.plan.start {
                    continue;
                }
                let result = self
                    .ctx
                    .fallback
                    .first_success("liveness", |client| {
                        let indices = &indices;
                        async move { client.post_liveness(e, indices).await }
                    })
                    .await;
                match result {
                    Ok(data) => live.extend(data.iter().filter(|d| d.is_live).map(|d| d.index)),
                    Err(NodeError::AllNodesFailed(failures))
                        if !failures.is_empty()
                            && failures
                                .iter()
                                .all(|f| matches!(f.error, NodeError::UnsupportedRoute { .. })) =>
                    {
                        tracing::info!(
                            "beacon node has no liveness endpoint; detecting liveness from the chain only"
                        );
                        self.liveness_supported = false;
                        break;
                    }
                    Err(error) => tracing::warn!(%error, "liveness query failed"),
                }
            }
        }
        if let Some(current) = self.ctx.clock.now_slot()
            && current > Slot(0)
        {
            let floor = self.plan.start.saturating_sub(1);
            let max = self.ctx.spec.slots_per_epoch * 3;
            let (blocks, error) = self.scanner.scan_until(current - 1, max).await;
            if let Some(error) = error {
                tracing::warn!(%error, "doppelganger chain scan incomplete; retrying next slot");
            }
            for block in blocks {
                // The genesis block names proposer 0, but nobody signed it.
                if block.slot > Slot(0) && indices.contains(&block.proposer_index) {
                    live.push(block.proposer_index);
                }
                for votes in &block.attestations {
                    if votes.data.target.epoch >= floor {
                        live.extend(votes.attesters.iter().filter(|i| indices.contains(i)));
                    }
                }
            }
        }
        live.sort_unstable();
        live.dedup();
        live.iter()
            .filter_map(|index| self.ctx.store.key_by_index(*index).map(|k| k.pubkey))
            .collect()
    }

    fn detected(&self, live: &[PublicKeyBytes]) {
        const NAMED: usize = 16;
        let mut names: Vec<String> = live.iter().take(NAMED).map(ToString::to_string).collect();
        if live.len() > NAMED {
            names.push(format!("and {} more", live.len() - NAMED));
        }
        let reason = format!(
            "doppelganger detected: {} validator(s) already active on the network from another \
             instance: {}. Nothing was signed with them. Stop the other instance and wait two \
             full epochs before starting this one.",
            live.len(),
            names.join(", ")
        );
        tracing::error!(%reason, "stopping");
        self.executor.shutdown(ShutdownReason::Failure {
            task: DOPPELGANGER_TASK.to_owned(),
            reason,
        });
    }
}
