//! The accounting service: once per epoch it captures the frame's assignment snapshot,
//! accounts every finalized epoch not yet in the ledger (catching up after downtime in the
//! same loop), and builds, signs and stores each frame's report once its last epoch is in.
//!
//! Same shape as the duty services: `new`, `spawn` (one named, non-critical task: accounting
//! must never stop duties), a slot-clock loop that returns on shutdown. A failing epoch is
//! logged and retried at the next epoch; nothing is skipped.

use std::sync::Arc;

use pool_registry::ledger::ElBlockValue;
use pool_registry::pipeline::{account_and_store, build_and_store_report, capture_frame_snapshot};
use pool_registry::report::{ReportEnvelope, ReportSigner};
use pool_registry::{LedgerStore, Registry, RegistryHandle, StoreOutcome};
use tokio_util::sync::CancellationToken;
use types::{ChainSpec, Checkpoint, Epoch, EthSpec, ForkName, Hash256, PublicKeyBytes, Slot, U256};

use super::Result;
use super::fetch::EpochFetcher;
use crate::beacon_node::BeaconNodeFallback;
use crate::clock::SlotClock;
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::Metrics;
use crate::metrics::pool::AccountingErrorKind;
use crate::services::sleep_until;

/// The accounting service's task name.
pub const ACCOUNTING_TASK: &str = "accounting";

/// Slot of each epoch at which accounting runs: finality moves at epoch boundaries, and the
/// first slots belong to duties.
const ACCOUNTING_SLOT: u64 = 3;
/// Point of that slot (basis points) at which it runs: after the slot's attestations and
/// aggregates, so that a beacon node busy rebuilding a finalized state delays no duty of it.
const ACCOUNTING_SLOT_POINT: u64 = 7_500;

/// What the accounting service works with.
#[derive(Clone)]
pub struct AccountingConfig {
    /// The ledger, snapshots, reports and EL values.
    pub store: Arc<dyn LedgerStore>,
    /// The live registry.
    pub registry: Arc<RegistryHandle>,
    /// The oracle key signing final reports (unsigned reports without one).
    pub oracle: Option<Arc<dyn ReportSigner>>,
    /// The token's share supply, when given (else the registry's initial supply).
    pub share_supply: Option<U256>,
    /// The frame accounting starts at on an empty store (default: the current frame).
    pub start_frame: Option<u64>,
}

impl std::fmt::Debug for AccountingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountingConfig")
            .field("oracle", &self.oracle.as_ref().map(|o| o.public_key()))
            .field("share_supply", &self.share_supply)
            .field("start_frame", &self.start_frame)
            .finish_non_exhaustive()
    }
}

/// Records the EL value the beacon node reported for each block a pool key produced (the one
/// accounting input the chain does not prove, so it is kept from production time).
#[derive(Clone)]
pub struct ElValueRecorder {
    store: Arc<dyn LedgerStore>,
}

impl std::fmt::Debug for ElValueRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElValueRecorder").finish_non_exhaustive()
    }
}

impl ElValueRecorder {
    /// A recorder writing to `store`.
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        Self { store }
    }

    /// Records a published block's value; a block without a reported value is not recorded
    /// (the report counts it in `el_values_missing`).
    pub async fn record(
        &self,
        slot: Slot,
        block_root: Hash256,
        proposer_index: u64,
        value: Option<U256>,
    ) {
        let Some(value_wei) = value else {
            tracing::debug!(%slot, %block_root, "the beacon node reported no execution payload value");
            return;
        };
        let value = ElBlockValue {
            slot,
            block_root,
            proposer_index,
            value_wei,
        };
        if let Err(error) = self.store.record_el_value(&value).await {
            tracing::error!(%slot, %block_root, %error, "cannot record the block's EL value for accounting");
        }
    }
}

/// The accounting service.
pub struct AccountingService<E: EthSpec> {
    fallback: Arc<BeaconNodeFallback>,
    spec: Arc<ChainSpec>,
    clock: SlotClock,
    genesis_validators_root: Hash256,
    metrics: Arc<Metrics>,
    config: AccountingConfig,
    fetcher: EpochFetcher<E>,
}

impl<E: EthSpec> AccountingService<E> {
    /// A service over the given nodes and store.
    pub fn new(
        fallback: Arc<BeaconNodeFallback>,
        spec: Arc<ChainSpec>,
        clock: SlotClock,
        genesis_validators_root: Hash256,
        metrics: Arc<Metrics>,
        config: AccountingConfig,
    ) -> Self {
        Self {
            fetcher: EpochFetcher::new(fallback.clone(), spec.clone()),
            fallback,
            spec,
            clock,
            genesis_validators_root,
            metrics,
            config,
        }
    }

    /// Spawns the task [`ACCOUNTING_TASK`] (non-critical: a failure is logged and duties go on).
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(ACCOUNTING_TASK, TaskKind::NonCritical, self.run(token));
    }

    /// Accounts once now (catching up), then once per epoch until shutdown.
    pub async fn run(mut self, token: CancellationToken) {
        loop {
            if let Err(error) = self.tick(&token).await {
                tracing::warn!(%error, "pool accounting: will retry at the next epoch");
                self.metrics.pool.accounting_error(error_kind(&error));
            }
            let next = self.clock.now_epoch().map_or(Epoch(0), |e| e + 1);
            let spe = self.spec.slots_per_epoch;
            let at = self.clock.slot_fraction(
                next.start_slot(spe) + ACCOUNTING_SLOT,
                ACCOUNTING_SLOT_POINT,
            );
            if !sleep_until(&self.clock, at, &token).await {
                return;
            }
        }
    }

    /// The first epoch that can be accounted at all: not epoch 0 and not before Altair.
    fn first_accountable_epoch(&self) -> Epoch {
        let altair = self
            .spec
            .fork_epoch(ForkName::Altair)
            .unwrap_or(Epoch(u64::MAX));
        altair.max(Epoch(1))
    }

    /// The frame accounting starts at: stored (the lowest snapshot), configured, or the current
    /// one; never a frame with an epoch that cannot be accounted.
    async fn start_frame(&self, registry: &Registry, current: Epoch) -> Result<Option<u64>> {
        let frames = registry.pool().frame;
        let stored = self
            .config
            .store
            .snapshot_frames()
            .await?
            .map(|(low, _)| low);
        let Some(mut frame) = stored
            .or(self.config.start_frame)
            .or_else(|| frames.frame_of(current))
        else {
            return Ok(None);
        };
        let first = self.first_accountable_epoch();
        while frames.first_epoch(frame) < first {
            frame += 1;
        }
        Ok(Some(frame))
    }

    async fn tick(&mut self, token: &CancellationToken) -> Result<()> {
        let Some(current) = self.clock.now_epoch() else {
            return Ok(());
        };
        let registry = self.config.registry.current();
        let frames = registry.pool().frame;
        let Some(start_frame) = self.start_frame(&registry, current).await? else {
            return Ok(());
        };
        // The snapshot of the start frame (so the start survives a restart), then the current
        // frame's, taken at its first tick: registry edits apply from the next frame.
        capture_frame_snapshot(
            self.config.store.as_ref(),
            &registry,
            frames.first_epoch(start_frame),
        )
        .await?;
        if frames.frame_of(current).is_some_and(|f| f >= start_frame) {
            capture_frame_snapshot(self.config.store.as_ref(), &registry, current).await?;
        }

        let checkpoint = super::finalized_checkpoint(&self.fallback).await?;
        let finalized = checkpoint.epoch;
        let from = frames
            .first_epoch(start_frame)
            .max(self.first_accountable_epoch());
        let missing = self.config.store.missing_epochs(from, finalized).await?;
        if !missing.is_empty() {
            tracing::debug!(from = %missing[0], count = missing.len(), %finalized, "pool accounting: epochs to account");
        }
        for epoch in missing {
            if token.is_cancelled() {
                return Ok(());
            }
            self.account(epoch, checkpoint).await?;
        }
        // Reports of complete frames not yet reported (after a catch-up, possibly several).
        let Some(last_final) = finalized.as_u64().checked_sub(2) else {
            return Ok(());
        };
        let Some(last_complete) = frames.frame_of(Epoch(last_final)).and_then(|f| {
            if frames.last_epoch(f).as_u64() <= last_final {
                Some(f)
            } else {
                f.checked_sub(1)
            }
        }) else {
            return Ok(());
        };
        for frame in start_frame..=last_complete {
            if token.is_cancelled() {
                return Ok(());
            }
            if self.config.store.report(frame).await?.is_none() {
                self.report(&registry, frame).await?;
            }
        }
        Ok(())
    }

    async fn account(&mut self, epoch: Epoch, finalized: Checkpoint) -> Result<()> {
        let registry = self.config.registry.current();
        let store = self.config.store.as_ref();
        let snapshot = capture_frame_snapshot(store, &registry, epoch).await?;
        let keys: Vec<PublicKeyBytes> = snapshot.assignments.keys().copied().collect();
        let spe = self.spec.slots_per_epoch;
        let el_values = store
            .el_values(epoch.start_slot(spe), epoch.end_slot(spe))
            .await?;
        let inputs = self
            .fetcher
            .fetch(epoch, finalized, &keys, el_values)
            .await?;
        let (ledger, outcome) =
            account_and_store(store, &self.spec, &registry, &inputs, finalized.epoch).await?;
        let summary = ledger.summary();
        if summary.unexplained != 0 {
            tracing::warn!(%epoch, unexplained_gwei = summary.unexplained, "pool accounting: income the rewards breakdown does not explain");
        }
        if outcome == StoreOutcome::Inserted {
            self.metrics.pool.observe_epoch(&ledger, &snapshot);
        }
        tracing::info!(
            %epoch,
            validators = summary.validators,
            cl_income_gwei = summary.cl_income,
            breakdown = inputs.rewards.is_some(),
            stored = outcome == StoreOutcome::Inserted,
            "pool accounting: epoch accounted"
        );
        Ok(())
    }

    async fn report(&self, registry: &Registry, frame: u64) -> Result<ReportEnvelope> {
        let envelope = build_and_store_report(
            self.config.store.as_ref(),
            &self.spec,
            registry.pool(),
            self.genesis_validators_root,
            frame,
            self.config.share_supply,
            self.config.oracle.as_deref(),
        )
        .await?;
        self.metrics.pool.observe_report(&envelope);
        let report = &envelope.report;
        if envelope.violations.is_empty() {
            tracing::info!(
                frame,
                root = %envelope.root,
                status = envelope.status.as_str(),
                first_epoch = %report.first_epoch,
                last_epoch = %report.last_epoch,
                net_rewards_gwei = report.totals.net_rewards_gwei,
                rate = %report.rate,
                apr_ppm = report.apr_ppm,
                signed = envelope.signature.is_some(),
                "pool report"
            );
        } else {
            tracing::error!(
                frame,
                root = %envelope.root,
                violations = ?envelope.violations,
                "pool report withheld: a sanity limit was exceeded; it is not final and not signed"
            );
        }
        Ok(envelope)
    }
}

/// The metric label of an accounting failure.
fn error_kind(error: &super::AccountingError) -> AccountingErrorKind {
    match error {
        super::AccountingError::BeaconNode(_) => AccountingErrorKind::BeaconNode,
        super::AccountingError::Pool(error) => AccountingErrorKind::of(error),
        super::AccountingError::Input { .. } => AccountingErrorKind::Inputs,
    }
}
