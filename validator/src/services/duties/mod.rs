//! The duties service: keeps [`DutiesStore`] filled.
//!
//! Per epoch (and again when the head's dependent roots change or a reorg is seen): the keys'
//! statuses (one validators query for all keys), attester duties of the current and next epoch
//! (one POST each with every active, unslashed index), proposer duties of the current epoch
//! (one GET; a slashed key's are dropped: its block would be invalid),
//! sync committee duties of the current and next period (one POST each), aggregator selection
//! proofs (one signing batch per epoch, ahead of time), and the subnet subscriptions (one POST
//! per epoch with every duty and its `is_aggregator`; one per sync period).
//!
//! Invariant: the number of requests depends on epochs and periods, never on the number of
//! keys.

mod store;
mod sync;

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use types::api::{BeaconCommitteeSubscription, StateId, ValidatorId};
use types::{Epoch, EthSpec, is_aggregator};

pub use store::{AttesterEntry, DutiesStore, EpochDuties, SyncAggregator, SyncPeriodDuties};

use super::Context;
use crate::error::Result;
use crate::executor::{TaskExecutor, TaskKind};

/// The duties service's task name.
pub const DUTIES_TASK: &str = "duties";

/// Fetches and refreshes duties.
pub struct DutiesService<E: EthSpec> {
    ctx: Context<E>,
    statuses_epoch: Option<Epoch>,
    reorgs_seen: u64,
}

/// Refreshes every key's index and status with one validators query.
pub async fn refresh_validators<E: EthSpec>(ctx: &Context<E>) -> Result<()> {
    let ids: Vec<ValidatorId> = ctx
        .store
        .keys()
        .iter()
        .map(|k| match k.index {
            Some(index) => ValidatorId::Index(index),
            None => ValidatorId::PublicKey(k.pubkey),
        })
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let response = ctx
        .fallback
        .first_success("validators", |client| {
            let ids = &ids;
            async move { client.post_state_validators(StateId::Head, ids, &[]).await }
        })
        .await?;
    let summary = ctx.store.apply_validator_data(&response.data);
    if summary.new_indices > 0 || summary.unknown > 0 {
        tracing::info!(
            keys = ctx.store.num_keys(),
            new_indices = summary.new_indices,
            unknown_to_chain = summary.unknown,
            active = ctx.store.active_indices().len(),
            "validator indices refreshed"
        );
    }
    Ok(())
}

impl<E: EthSpec> DutiesService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        Self {
            ctx,
            statuses_epoch: None,
            reorgs_seen: 0,
        }
    }

    /// Spawns the critical task [`DUTIES_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(DUTIES_TASK, TaskKind::Critical, self.run(token));
    }

    /// Polls at every slot start (every slot duration before genesis) and whenever the head's
    /// dependent roots stop matching, until shutdown.
    pub async fn run(mut self, token: CancellationToken) {
        let mut head = self.ctx.head.receiver();
        self.reorgs_seen = head.borrow().map_or(0, |h| h.reorgs);
        loop {
            self.poll().await;
            let clock = self.ctx.clock.clone();
            let wait = clock
                .duration_to_next_slot()
                .min(clock.slot_duration())
                .max(Duration::from_millis(10));
            let wake_at = clock.now() + wait;
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(clock.duration_until(wake_at)) => break,
                    changed = head.changed() => {
                        if changed.is_err() {
                            // No head monitor (tests without events): poll on the clock only.
                            tokio::select! {
                                () = token.cancelled() => return,
                                () = tokio::time::sleep(clock.duration_until(wake_at)) => break,
                            }
                        }
                        if self.head_invalidates() {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Whether the latest head makes some duties stale.
    fn head_invalidates(&mut self) -> bool {
        let Some(head) = self.ctx.head.latest() else {
            return false;
        };
        let head_epoch = self.ctx.spec.compute_epoch_at_slot(head.slot);
        if head.reorgs != self.reorgs_seen {
            self.reorgs_seen = head.reorgs;
            let current = self.ctx.current_epoch();
            self.ctx.duties.mark_all_stale(&[current, current + 1]);
            return true;
        }
        self.ctx.duties.invalidate(
            head_epoch,
            head.previous_duty_dependent_root,
            head.current_duty_dependent_root,
        )
    }

    /// One round: whatever is missing, stale or not yet subscribed.
    pub async fn poll(&mut self) {
        let ctx = &self.ctx;
        let epoch = ctx.current_epoch();
        if self.statuses_epoch != Some(epoch) {
            match refresh_validators(ctx).await {
                Ok(()) => self.statuses_epoch = Some(epoch),
                Err(error) => tracing::warn!(%error, "cannot refresh validator statuses"),
            }
        }
        // Slashed keys keep their sync committee duties only (see `KeyInfo::attests_and_proposes`).
        let indices = ctx.store.active_indices();
        let attesting = ctx.store.attesting_indices();
        for target in [epoch, epoch + 1] {
            if let Err(error) = self.poll_attesters(target, &attesting).await {
                tracing::warn!(epoch = %target, %error, "cannot fetch attester duties");
            }
        }
        if let Err(error) = self.poll_proposers(epoch).await {
            tracing::warn!(%epoch, %error, "cannot fetch proposer duties");
        }
        if let Err(error) = sync::poll(ctx, epoch, &indices).await {
            tracing::warn!(%epoch, %error, "cannot update sync committee duties");
        }
        for target in [epoch, epoch + 1] {
            self.complete_selection_proofs(target).await;
            self.subscribe(target).await;
        }
        ctx.duties.prune(epoch);
    }

    async fn poll_attesters(&self, epoch: Epoch, indices: &[u64]) -> Result<()> {
        let ctx = &self.ctx;
        let existing = ctx.duties.attester_epoch(epoch);
        let fresh = existing
            .as_ref()
            .is_some_and(|e| !e.stale && e.requested == indices);
        if fresh || indices.is_empty() {
            return Ok(());
        }
        let response = ctx
            .fallback
            .first_success("attester duties", |client| async move {
                client.post_attester_duties(epoch, indices).await
            })
            .await?;
        let local: Vec<AttesterEntry> = response
            .data
            .into_iter()
            .filter(|duty| {
                ctx.store
                    .key_by_index(duty.validator_index)
                    .is_some_and(|k| k.pubkey == duty.pubkey)
            })
            .map(|duty| AttesterEntry {
                duty,
                selection_proof: None,
                is_aggregator: false,
            })
            .collect();
        if let Some(old) = &existing
            && old.dependent_root != response.dependent_root
        {
            tracing::info!(%epoch, old = %old.dependent_root, new = %response.dependent_root, "attester duties changed");
        }
        let unchanged = existing.as_ref().is_some_and(|old| {
            old.dependent_root == response.dependent_root
                && old
                    .duties
                    .iter()
                    .map(|e| e.duty)
                    .eq(local.iter().map(|e| e.duty))
        });
        if unchanged {
            ctx.duties.update_attesters(epoch, |e| {
                e.stale = false;
                e.requested = indices.to_vec();
            });
            return Ok(());
        }
        tracing::info!(%epoch, duties = local.len(), dependent_root = %response.dependent_root, "attester duties");
        ctx.duties.set_attesters(
            epoch,
            EpochDuties {
                dependent_root: response.dependent_root,
                duties: local,
                requested: indices.to_vec(),
                stale: false,
                subscribed: false,
            },
        );
        Ok(())
    }

    /// Computes the selection proofs still missing in `epoch` (new duties, or keys just released
    /// by doppelganger protection) in one batch; re-subscribes when aggregators were found.
    async fn complete_selection_proofs(&self, epoch: Epoch) {
        let ctx = &self.ctx;
        let Some(duties) = ctx.duties.attester_epoch(epoch) else {
            return;
        };
        let missing: Vec<usize> = duties
            .duties
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.selection_proof.is_none() && ctx.store.is_signing_enabled(&e.duty.pubkey)
            })
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            return;
        }
        let items: Vec<_> = missing
            .iter()
            .map(|i| (duties.duties[*i].duty.pubkey, duties.duties[*i].duty.slot))
            .collect();
        let proofs = match ctx.store.sign_selection_proofs(&items).await {
            Ok(proofs) => proofs,
            Err(error) => {
                tracing::warn!(%epoch, %error, "cannot compute selection proofs");
                return;
            }
        };
        let root = duties.dependent_root;
        let mut aggregators = 0;
        ctx.duties.update_attesters(epoch, |current| {
            // The duties may have been replaced meanwhile: only fill the same ones.
            if current.dependent_root != root {
                return;
            }
            for (position, proof) in missing.iter().zip(proofs) {
                let (Some(entry), Some(proof)) = (current.duties.get_mut(*position), proof) else {
                    continue;
                };
                entry.selection_proof = Some(proof);
                entry.is_aggregator = is_aggregator(entry.duty.committee_length, &proof, &ctx.spec);
                if entry.is_aggregator {
                    aggregators += 1;
                    current.subscribed = false;
                }
            }
        });
        tracing::debug!(%epoch, proofs = missing.len(), aggregators, "selection proofs computed");
    }

    /// Sends the epoch's beacon committee subscriptions (one POST) if not sent yet.
    async fn subscribe(&self, epoch: Epoch) {
        let ctx = &self.ctx;
        let Some(duties) = ctx.duties.attester_epoch(epoch) else {
            return;
        };
        if duties.subscribed || duties.duties.is_empty() {
            return;
        }
        let subscriptions: Vec<BeaconCommitteeSubscription> = duties
            .duties
            .iter()
            .map(|e| BeaconCommitteeSubscription {
                validator_index: e.duty.validator_index,
                committee_index: e.duty.committee_index,
                committees_at_slot: e.duty.committees_at_slot,
                slot: e.duty.slot,
                is_aggregator: e.is_aggregator,
            })
            .collect();
        let result = ctx
            .fallback
            .broadcast("beacon committee subscriptions", |client| {
                let subscriptions = &subscriptions;
                async move {
                    client
                        .post_beacon_committee_subscriptions(subscriptions)
                        .await
                }
            })
            .await;
        match result {
            Ok(()) => {
                let root = duties.dependent_root;
                ctx.duties.update_attesters(epoch, |e| {
                    if e.dependent_root == root {
                        e.subscribed = true;
                    }
                });
            }
            Err(error) => tracing::warn!(%epoch, %error, "cannot send committee subscriptions"),
        }
    }

    async fn poll_proposers(&self, epoch: Epoch) -> Result<()> {
        let ctx = &self.ctx;
        if ctx.duties.proposer_epoch(epoch).is_some_and(|e| !e.stale) {
            return Ok(());
        }
        let response = ctx
            .fallback
            .first_success("proposer duties", |client| async move {
                client.get_proposer_duties(epoch).await
            })
            .await?;
        let local: Vec<_> = response
            .data
            .into_iter()
            .filter(|duty| {
                ctx.store.key(&duty.pubkey).is_some_and(|k| {
                    k.index == Some(duty.validator_index) && k.attests_and_proposes()
                })
            })
            .collect();
        if !local.is_empty() {
            let slots: Vec<u64> = local.iter().map(|d| d.slot.as_u64()).collect();
            tracing::info!(%epoch, ?slots, dependent_root = %response.dependent_root, "proposer duties");
        }
        ctx.duties.set_proposers(
            epoch,
            EpochDuties {
                dependent_root: response.dependent_root,
                duties: local,
                requested: Vec::new(),
                stale: false,
                subscribed: true,
            },
        );
        Ok(())
    }
}
