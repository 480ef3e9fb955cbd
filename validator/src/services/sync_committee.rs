//! The sync committee service. Per slot with local members: at the head event of the slot or
//! the message deadline (a third of the slot), one head block root request, every member signs
//! it as one batch (one signing root), one publication. At the contribution deadline (two
//! thirds), for every subcommittee with a local aggregator: one contribution request, every
//! `ContributionAndProof` signed in one batch, one publication.

use std::collections::BTreeMap;

use futures::future::join_all;
use tokio_util::sync::CancellationToken;
use types::api::BlockId;
use types::{ContributionAndProof, EthSpec, ForkName, Hash256, Slot};

use super::attestation::failed_items;
use super::{Context, next_slot, sleep_until};
use crate::beacon_node::BroadcastTopic;
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::{Duty, Outcome};
use crate::store::ContributionToSign;

/// The sync committee service's task name.
pub const SYNC_COMMITTEE_TASK: &str = "sync-committee";

/// Produces sync committee messages and contributions.
pub struct SyncCommitteeService<E: EthSpec> {
    ctx: Context<E>,
}

impl<E: EthSpec> SyncCommitteeService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        Self { ctx }
    }

    /// Spawns the critical task [`SYNC_COMMITTEE_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(SYNC_COMMITTEE_TASK, TaskKind::Critical, self.run(token));
    }

    /// Runs every slot until shutdown.
    pub async fn run(self, token: CancellationToken) {
        let ctx = &self.ctx;
        let mut slot = next_slot(&ctx.clock);
        loop {
            if !sleep_until(&ctx.clock, ctx.clock.start_of(slot), &token).await {
                return;
            }
            if ctx.spec.fork_name_at_slot(slot) >= ForkName::Altair
                && !ctx.duties.sync_members_at(slot).is_empty()
            {
                let deadline = ctx.slot_fraction(slot, ctx.spec.duty_timings.sync_message_due_bps);
                if !ctx
                    .head
                    .wait_for_slot(slot, deadline, &ctx.clock, &token)
                    .await
                {
                    return;
                }
                let root = self.messages(slot).await;
                let due = ctx.slot_fraction(slot, ctx.spec.duty_timings.contribution_due_bps);
                if !sleep_until(&ctx.clock, due, &token).await {
                    return;
                }
                if let Some(root) = root {
                    self.contributions(slot, root).await;
                }
            }
            slot = next_slot(&ctx.clock).max(slot + 1);
        }
    }

    /// Signs and publishes the members' messages; returns the block root they signed.
    pub async fn messages(&self, slot: Slot) -> Option<Hash256> {
        let ctx = &self.ctx;
        let members: Vec<_> = ctx
            .duties
            .sync_members_at(slot)
            .into_iter()
            .filter(|d| ctx.store.is_signing_enabled(&d.pubkey))
            .map(|d| (d.pubkey, d.validator_index))
            .collect();
        if members.is_empty() {
            return None;
        }
        let root = match ctx
            .fallback
            .first_success("head block root", |client| async move {
                client.get_block_root(BlockId::Head).await
            })
            .await
        {
            Ok(Some(response)) => response.data,
            Ok(None) => {
                tracing::error!(%slot, "the beacon node has no head block: sync messages missed");
                ctx.record(slot, Duty::SyncMessage, Outcome::Missed, members.len());
                return None;
            }
            Err(error) => {
                tracing::error!(%slot, %error, "no head block root: sync messages missed");
                ctx.record(slot, Duty::SyncMessage, Outcome::Missed, members.len());
                return None;
            }
        };
        let messages = match ctx
            .store
            .sign_sync_committee_messages(slot, root, &members)
            .await
        {
            Ok(messages) => messages,
            Err(error) => {
                tracing::error!(%slot, %error, "sync message signing failed");
                ctx.record(slot, Duty::SyncMessage, Outcome::Missed, members.len());
                return None;
            }
        };
        let count = messages.len();
        let result = ctx
            .fallback
            .publish(
                BroadcastTopic::SyncCommittee,
                "publish sync committee messages",
                |client| {
                    let messages = &messages;
                    async move { client.post_sync_committee_messages(messages).await }
                },
            )
            .await;
        match result {
            Ok(()) => {
                ctx.record(slot, Duty::SyncMessage, Outcome::Performed, count);
                tracing::debug!(%slot, count, %root, "sync committee messages published");
            }
            Err(error) => {
                let failed = failed_items(&error).map_or(count, |items| items.len().min(count));
                ctx.record(slot, Duty::SyncMessage, Outcome::Missed, failed);
                ctx.record(slot, Duty::SyncMessage, Outcome::Performed, count - failed);
                tracing::error!(%slot, count, failed, %error, "sync message publication failed");
            }
        }
        Some(root)
    }

    /// Produces, signs and publishes the contributions of local aggregators at `slot`.
    pub async fn contributions(&self, slot: Slot, root: Hash256) {
        let ctx = &self.ctx;
        let aggregators: BTreeMap<u64, Vec<_>> = ctx
            .duties
            .sync_aggregators_at(slot)
            .into_iter()
            .map(|(sub, list)| {
                let enabled: Vec<_> = list
                    .into_iter()
                    .filter(|a| ctx.store.is_signing_enabled(&a.pubkey))
                    .collect();
                (sub, enabled)
            })
            .filter(|(_, list)| !list.is_empty())
            .collect();
        if aggregators.is_empty() {
            return;
        }
        let fetches = aggregators.keys().map(|subcommittee| {
            let subcommittee = *subcommittee;
            async move {
                let result = ctx
                    .fallback
                    .first_success("sync committee contribution", |client| async move {
                        client
                            .get_sync_committee_contribution::<E>(slot, subcommittee, root)
                            .await
                    })
                    .await;
                (subcommittee, result)
            }
        });
        let mut items = Vec::new();
        let mut missed = 0;
        for (subcommittee, result) in join_all(fetches).await {
            let members = aggregators
                .get(&subcommittee)
                .map_or(&[][..], Vec::as_slice);
            match result {
                Ok(Some(contribution)) => {
                    for aggregator in members {
                        items.push(ContributionToSign {
                            pubkey: aggregator.pubkey,
                            message: ContributionAndProof {
                                aggregator_index: aggregator.validator_index,
                                contribution: contribution.clone(),
                                selection_proof: aggregator.selection_proof,
                            },
                        });
                    }
                }
                Ok(None) => {
                    tracing::warn!(%slot, subcommittee, "no sync contribution available");
                    missed += members.len();
                }
                Err(error) => {
                    tracing::warn!(%slot, subcommittee, %error, "cannot get the sync contribution");
                    missed += members.len();
                }
            }
        }
        ctx.record(slot, Duty::SyncContribution, Outcome::Missed, missed);
        if items.is_empty() {
            return;
        }
        let requested = items.len();
        let signed = match ctx.store.sign_contributions(items).await {
            Ok(signed) => signed,
            Err(error) => {
                tracing::error!(%slot, %error, "contribution signing failed");
                ctx.record(slot, Duty::SyncContribution, Outcome::Missed, requested);
                return;
            }
        };
        ctx.record(
            slot,
            Duty::SyncContribution,
            Outcome::Refused,
            requested - signed.len(),
        );
        if signed.is_empty() {
            return;
        }
        let count = signed.len();
        let result = ctx
            .fallback
            .publish(
                BroadcastTopic::SyncCommittee,
                "publish sync contributions",
                |client| {
                    let signed = &signed;
                    async move { client.post_contribution_and_proofs::<E>(signed).await }
                },
            )
            .await;
        match result {
            Ok(()) => {
                ctx.record(slot, Duty::SyncContribution, Outcome::Performed, count);
                tracing::debug!(%slot, count, "sync contributions published");
            }
            Err(error) => {
                let failed = failed_items(&error).map_or(count, |items| items.len().min(count));
                ctx.record(slot, Duty::SyncContribution, Outcome::Missed, failed);
                ctx.record(
                    slot,
                    Duty::SyncContribution,
                    Outcome::Performed,
                    count - failed,
                );
                tracing::error!(%slot, count, failed, %error, "sync contribution publication failed");
            }
        }
    }
}
