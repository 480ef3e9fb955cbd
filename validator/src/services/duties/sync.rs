//! Sync committee duties: per period (current and next), their subscriptions, and the
//! aggregator selection proofs of every slot of the current and next epoch, computed ahead in
//! one signing batch per epoch.

use std::collections::BTreeSet;

use types::api::SyncCommitteeSubscription;
use types::duties::sync_subcommittees;
use types::{Epoch, EthSpec, ForkName, Slot, is_sync_committee_aggregator};

use super::{SyncAggregator, SyncPeriodDuties};
use crate::error::Result;
use crate::services::Context;
use crate::store::SyncSelection;

/// Whether sync committees exist at `epoch`.
fn altair_at<E: EthSpec>(ctx: &Context<E>, epoch: Epoch) -> bool {
    ctx.spec.fork_name_at_epoch(epoch) >= ForkName::Altair
}

/// Fetches missing periods, subscribes, and computes missing selection proofs.
pub(super) async fn poll<E: EthSpec>(
    ctx: &Context<E>,
    epoch: Epoch,
    indices: &[u64],
) -> Result<()> {
    let spec = &ctx.spec;
    let period = spec.sync_committee_period(epoch);
    let mut first_error = None;
    for p in [period, period + 1] {
        let query_epoch = epoch.max(spec.sync_committee_period_start_epoch(p));
        if !altair_at(ctx, query_epoch) || indices.is_empty() {
            continue;
        }
        let fresh = ctx
            .duties
            .sync_period(p)
            .is_some_and(|d| d.requested == indices);
        if fresh {
            continue;
        }
        let result = ctx
            .fallback
            .first_success("sync committee duties", |client| async move {
                client.post_sync_duties(query_epoch, indices).await
            })
            .await;
        match result {
            Ok(response) => {
                let local: Vec<_> = response
                    .data
                    .into_iter()
                    .filter(|duty| {
                        ctx.store
                            .key_by_index(duty.validator_index)
                            .is_some_and(|k| k.pubkey == duty.pubkey)
                    })
                    .collect();
                if !local.is_empty() {
                    tracing::info!(period = p, members = local.len(), "sync committee duties");
                }
                ctx.duties.set_sync_period(
                    p,
                    SyncPeriodDuties {
                        duties: local,
                        requested: indices.to_vec(),
                        subscribed: false,
                    },
                );
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    for p in [period, period + 1] {
        subscribe(ctx, p).await;
    }
    for target in [epoch, epoch + 1] {
        compute_selection_proofs(ctx, target).await;
    }
    match first_error {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// Sends a period's sync committee subscriptions (one POST) once.
async fn subscribe<E: EthSpec>(ctx: &Context<E>, period: u64) {
    let Some(duties) = ctx.duties.sync_period(period) else {
        return;
    };
    if duties.subscribed || duties.duties.is_empty() {
        return;
    }
    let until_epoch = ctx.spec.sync_committee_period_start_epoch(period + 1);
    let subscriptions: Vec<SyncCommitteeSubscription> = duties
        .duties
        .iter()
        .map(|d| SyncCommitteeSubscription {
            validator_index: d.validator_index,
            sync_committee_indices: d.validator_sync_committee_indices.clone(),
            until_epoch,
        })
        .collect();
    let result = ctx
        .fallback
        .broadcast("sync committee subscriptions", |client| {
            let subscriptions = &subscriptions;
            async move {
                client
                    .post_sync_committee_subscriptions(subscriptions)
                    .await
            }
        })
        .await;
    match result {
        Ok(()) => ctx.duties.mark_sync_subscribed(period),
        Err(error) => tracing::warn!(period, %error, "cannot send sync committee subscriptions"),
    }
}

/// Computes the sync selection proofs of `epoch`'s slots for members not yet done (and whose
/// key may sign), in one batch; keeps the aggregators.
async fn compute_selection_proofs<E: EthSpec>(ctx: &Context<E>, epoch: Epoch) {
    let spec = &ctx.spec;
    let done = ctx.duties.sync_proofs_computed(epoch);
    let start = spec.compute_start_slot_at_epoch(epoch);
    let mut items = Vec::new();
    let mut considered = BTreeSet::new();
    for slot in (0..spec.slots_per_epoch).map(|i| start + i) {
        if spec.fork_name_at_slot(slot) < ForkName::Altair {
            continue;
        }
        for duty in ctx.duties.sync_members_at(slot) {
            if done.contains(&duty.validator_index) || !ctx.store.is_signing_enabled(&duty.pubkey) {
                continue;
            }
            considered.insert(duty.validator_index);
            for subcommittee in
                sync_subcommittees::<E>(&duty.validator_sync_committee_indices, spec)
            {
                items.push(SyncSelection {
                    pubkey: duty.pubkey,
                    validator_index: duty.validator_index,
                    slot,
                    subcommittee_index: subcommittee,
                });
            }
        }
    }
    if items.is_empty() {
        return;
    }
    let proofs = match ctx.store.sign_sync_selection_proofs(&items).await {
        Ok(proofs) => proofs,
        Err(error) => {
            tracing::warn!(%epoch, %error, "cannot compute sync selection proofs");
            return;
        }
    };
    let aggregators: Vec<(Slot, u64, SyncAggregator)> = items
        .iter()
        .zip(proofs)
        .filter_map(|(item, proof)| {
            let proof = proof?;
            is_sync_committee_aggregator::<E>(&proof, spec).then_some((
                item.slot,
                item.subcommittee_index,
                SyncAggregator {
                    validator_index: item.validator_index,
                    pubkey: item.pubkey,
                    selection_proof: proof,
                },
            ))
        })
        .collect();
    tracing::debug!(%epoch, proofs = items.len(), aggregators = aggregators.len(), "sync selection proofs computed");
    ctx.duties.add_sync_proofs(epoch, considered, aggregators);
}
