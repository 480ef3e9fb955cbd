//! The aggregation service. At the aggregate deadline (two thirds of the slot), for every
//! committee with a local aggregator: one aggregate request per committee (v2 with the committee
//! index from Electra on; v1/v2 by data root before), every `AggregateAndProof` signed in one
//! batch, all published in one request.

use std::collections::BTreeMap;

use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use tree_hash::TreeHash;
use types::{AttestationData, EthSpec, Slot};

use super::attestation::failed_items;
use super::{Context, next_slot, sleep_until};
use crate::beacon_node::BroadcastTopic;
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::{Duty, Outcome};
use crate::services::duties::AttesterEntry;
use crate::store::AggregateToSign;

/// The aggregation service's task name.
pub const AGGREGATION_TASK: &str = "aggregation";

/// Produces and publishes aggregates.
pub struct AggregationService<E: EthSpec> {
    ctx: Context<E>,
}

impl<E: EthSpec> AggregationService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        Self { ctx }
    }

    /// Spawns the critical task [`AGGREGATION_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(AGGREGATION_TASK, TaskKind::Critical, self.run(token));
    }

    /// Aggregates at every slot until shutdown.
    pub async fn run(self, token: CancellationToken) {
        let ctx = &self.ctx;
        let mut slot = next_slot(&ctx.clock);
        loop {
            let due = ctx.slot_fraction(slot, ctx.spec.duty_timings.aggregate_due_bps);
            if !sleep_until(&ctx.clock, due, &token).await {
                return;
            }
            self.aggregate(slot).await;
            slot = next_slot(&ctx.clock).max(slot + 1);
        }
    }

    /// Aggregates for every local aggregator of `slot`.
    pub async fn aggregate(&self, slot: Slot) {
        let ctx = &self.ctx;
        let mut committees: BTreeMap<u64, Vec<AttesterEntry>> = BTreeMap::new();
        for entry in ctx.duties.attesters_at(slot) {
            if entry.is_aggregator
                && entry.selection_proof.is_some()
                && ctx.store.is_signing_enabled(&entry.duty.pubkey)
            {
                committees
                    .entry(entry.duty.committee_index)
                    .or_default()
                    .push(entry);
            }
        }
        if committees.is_empty() {
            return;
        }
        let aggregators: usize = committees.values().map(Vec::len).sum();
        let data = match ctx.attestation_data.get(slot) {
            Some(data) => data,
            None => match ctx
                .fallback
                .first_success("attestation data", |client| async move {
                    client.get_attestation_data(slot, 0).await
                })
                .await
            {
                Ok(data) => data,
                Err(error) => {
                    tracing::error!(%slot, %error, "no attestation data: aggregates missed");
                    ctx.record(slot, Duty::Aggregate, Outcome::Missed, aggregators);
                    return;
                }
            },
        };
        let fork = ctx.spec.fork_name_at_slot(slot);
        let electra = fork.is_electra_or_later();
        let fetches = committees.keys().map(|committee_index| {
            let committee_index = *committee_index;
            let committee_data = AttestationData {
                index: if electra { 0 } else { committee_index },
                ..data
            };
            let root = committee_data.tree_hash_root();
            async move {
                let result = ctx
                    .fallback
                    .first_success("aggregate attestation", |client| async move {
                        client
                            .get_aggregate_attestation::<E>(fork, slot, root, committee_index)
                            .await
                    })
                    .await;
                (committee_index, result)
            }
        });
        let mut items = Vec::new();
        let mut missed = 0;
        for (committee_index, result) in join_all(fetches).await {
            let members = committees
                .get(&committee_index)
                .map_or(&[][..], Vec::as_slice);
            match result {
                Ok(Some(aggregate)) => {
                    for entry in members {
                        let Some(proof) = entry.selection_proof else {
                            continue;
                        };
                        items.push(AggregateToSign {
                            pubkey: entry.duty.pubkey,
                            message: aggregate
                                .clone()
                                .into_aggregate_and_proof(entry.duty.validator_index, proof),
                        });
                    }
                }
                Ok(None) => {
                    tracing::warn!(%slot, committee_index, "no aggregate available: aggregate missed");
                    missed += members.len();
                }
                Err(error) => {
                    tracing::warn!(%slot, committee_index, %error, "cannot get the aggregate");
                    missed += members.len();
                }
            }
        }
        ctx.record(slot, Duty::Aggregate, Outcome::Missed, missed);
        if items.is_empty() {
            return;
        }
        let requested = items.len();
        let signed: Vec<_> = match ctx.store.sign_aggregates(items).await {
            Ok(signed) => signed.into_iter().map(|(_, s)| s).collect(),
            Err(error) => {
                tracing::error!(%slot, %error, "aggregate signing failed");
                ctx.record(slot, Duty::Aggregate, Outcome::Missed, requested);
                return;
            }
        };
        ctx.record(
            slot,
            Duty::Aggregate,
            Outcome::Refused,
            requested - signed.len(),
        );
        if signed.is_empty() {
            return;
        }
        let count = signed.len();
        let result = ctx
            .fallback
            .publish(BroadcastTopic::Aggregates, "publish aggregates", |client| {
                let signed = &signed;
                async move { client.post_aggregate_and_proofs::<E>(fork, signed).await }
            })
            .await;
        match result {
            Ok(()) => {
                ctx.record(slot, Duty::Aggregate, Outcome::Performed, count);
                tracing::info!(%slot, count, "aggregates published");
            }
            Err(error) => {
                let failed = failed_items(&error).map_or(count, |items| items.len().min(count));
                ctx.record(slot, Duty::Aggregate, Outcome::Missed, failed);
                ctx.record(slot, Duty::Aggregate, Outcome::Performed, count - failed);
                tracing::error!(%slot, count, failed, %error, "aggregate publication failed");
            }
        }
    }
}
