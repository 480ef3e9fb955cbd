//! The epoch summary: once per epoch, one INFO line about the previous epoch — duties performed
//! and missed by type, attestations found in canonical blocks, proposals that made it into the
//! chain, sync committee participation, and the justified and finalized checkpoints. This is
//! what an operator (and `scripts/devnet.sh`) watches.
//!
//! Inclusion and participation are read from the chain (every canonical block once, see
//! [`BlockScanner`]), never from what the client believes it published. The summary of epoch
//! `e` is logged a few slots into `e + 1`, when the blocks including `e`'s last attestations
//! and sync messages have arrived. It also refreshes the beacon node metrics every slot.

use std::collections::{BTreeMap, BTreeSet};

use tokio_util::sync::CancellationToken;
use types::api::StateId;
use types::{Epoch, EthSpec, Slot};

use super::chain::{BlockScanner, ScannedBlock};
use super::{Context, sleep_until};
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::Duty;

/// The epoch summary's task name.
pub const EPOCH_SUMMARY_TASK: &str = "epoch-summary";

/// Slot of the epoch (from its start) at which the previous epoch is summarised.
const SUMMARY_SLOT: u64 = 2;

#[derive(Debug, Default, Clone)]
struct EpochChainView {
    /// Local validators whose attestation targeting this epoch is in a canonical block.
    included: BTreeSet<u64>,
    /// Slots of this epoch with a canonical block by a local proposer.
    proposed: BTreeSet<Slot>,
    /// Local sync committee signatures found in blocks / expected in those blocks.
    sync_included: u64,
    sync_expected: u64,
}

/// Logs one summary line per epoch.
pub struct EpochSummaryService<E: EthSpec> {
    ctx: Context<E>,
    scanner: BlockScanner<E>,
    epochs: BTreeMap<Epoch, EpochChainView>,
}

impl<E: EthSpec> EpochSummaryService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        let from = ctx.clock.now_slot().unwrap_or(Slot(0));
        let scanner = BlockScanner::new(ctx.fallback.clone(), ctx.spec.clone(), from);
        Self {
            ctx,
            scanner,
            epochs: BTreeMap::new(),
        }
    }

    /// Spawns the task [`EPOCH_SUMMARY_TASK`] (non-critical: a summary is information, not a
    /// duty).
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(EPOCH_SUMMARY_TASK, TaskKind::NonCritical, self.run(token));
    }

    /// Scans every slot and summarises every epoch until shutdown.
    pub async fn run(mut self, token: CancellationToken) {
        loop {
            let clock = &self.ctx.clock;
            let next = clock.now_slot().map_or(Slot(0), |s| s + 1);
            // A quarter into the slot: the previous slot's block has long arrived.
            if !sleep_until(clock, clock.slot_fraction(next, 2_500), &token).await {
                return;
            }
            self.ctx
                .metrics
                .update_beacon_nodes(&self.ctx.fallback.status());
            if next > Slot(0) {
                let spe = self.ctx.spec.slots_per_epoch;
                let (blocks, error) = self.scanner.scan_until(next - 1, spe * 2).await;
                if let Some(error) = error {
                    tracing::debug!(%error, "block scan incomplete; retrying next slot");
                }
                for block in &blocks {
                    self.record(block);
                }
                let epoch = self.ctx.spec.compute_epoch_at_slot(next);
                if next.as_u64() % spe == SUMMARY_SLOT.min(spe - 1) && epoch > Epoch(0) {
                    self.summarise(epoch - 1).await;
                }
            }
        }
    }

    fn record(&mut self, block: &ScannedBlock) {
        let ctx = &self.ctx;
        let spec = &ctx.spec;
        if ctx.store.key_by_index(block.proposer_index).is_some() {
            self.epochs
                .entry(spec.compute_epoch_at_slot(block.slot))
                .or_default()
                .proposed
                .insert(block.slot);
        }
        for votes in &block.attestations {
            let local: Vec<u64> = votes
                .attesters
                .iter()
                .copied()
                .filter(|i| ctx.store.key_by_index(*i).is_some())
                .collect();
            if !local.is_empty() {
                self.epochs
                    .entry(votes.data.target.epoch)
                    .or_default()
                    .included
                    .extend(local);
            }
        }
        if block.slot > Slot(0) {
            let signed_slot = block.slot - 1;
            let expected: u64 = ctx
                .duties
                .sync_members_at(signed_slot)
                .iter()
                .map(|d| d.validator_sync_committee_indices.len() as u64)
                .sum();
            if expected > 0 {
                let included = block
                    .sync_participants
                    .iter()
                    .filter(|i| ctx.store.key_by_index(**i).is_some())
                    .count() as u64;
                let view = self
                    .epochs
                    .entry(spec.compute_epoch_at_slot(signed_slot))
                    .or_default();
                view.sync_expected += expected;
                view.sync_included += included.min(expected);
            }
        }
    }

    async fn summarise(&mut self, epoch: Epoch) {
        let ctx = &self.ctx;
        let counts = ctx.tally.get(epoch);
        let get = |duty: Duty| counts.get(&duty).copied().unwrap_or_default();
        let view = self.epochs.get(&epoch).cloned().unwrap_or_default();
        let attestations = get(Duty::Attestation);
        let aggregates = get(Duty::Aggregate);
        let blocks = get(Duty::Block);
        let sync_messages = get(Duty::SyncMessage);
        let contributions = get(Duty::SyncContribution);
        let proposer_duties = ctx
            .duties
            .proposer_epoch(epoch)
            .map_or(0, |d| d.duties.len());
        let included = view.included.len() as u64;
        if attestations.performed > 0 {
            ctx.metrics
                .attestation_inclusion_ratio
                .set(included as f64 / attestations.performed as f64);
        }
        let finality = ctx
            .fallback
            .first_success("finality checkpoints", |client| async move {
                client.get_finality_checkpoints(StateId::Head).await
            })
            .await;
        let (justified, finalized) = match finality {
            Ok(response) => {
                let f = response.data;
                ctx.metrics
                    .justified_epoch
                    .set(i64::try_from(f.current_justified.epoch.as_u64()).unwrap_or(i64::MAX));
                ctx.metrics
                    .finalized_epoch
                    .set(i64::try_from(f.finalized.epoch.as_u64()).unwrap_or(i64::MAX));
                (
                    f.current_justified.epoch.to_string(),
                    f.finalized.epoch.to_string(),
                )
            }
            Err(error) => {
                tracing::debug!(%error, "no finality checkpoints for the summary");
                ("?".to_owned(), "?".to_owned())
            }
        };
        let sync = if view.sync_expected > 0 {
            format!(
                "{}/{} ({:.0}%)",
                view.sync_included,
                view.sync_expected,
                100.0 * view.sync_included as f64 / view.sync_expected as f64
            )
        } else {
            "-".to_owned()
        };
        tracing::info!(
            %epoch,
            attestations = %format!("{}/{}", attestations.performed, attestations.total()),
            attestations_missed = attestations.missed,
            attestations_refused = attestations.refused,
            included = %format!("{included}/{}", attestations.performed),
            aggregates = %format!("{}/{}", aggregates.performed, aggregates.total()),
            proposals = %format!("{}/{}", view.proposed.len(), proposer_duties.max(blocks.total() as usize)),
            blocks_refused = blocks.refused,
            sync_messages = %format!("{}/{}", sync_messages.performed, sync_messages.total()),
            sync_participation = %sync,
            contributions = %format!("{}/{}", contributions.performed, contributions.total()),
            %justified,
            %finalized,
            "epoch summary"
        );
        ctx.tally.prune(epoch);
        let floor = epoch.saturating_sub(2);
        self.epochs.retain(|e, _| *e >= floor);
    }
}
