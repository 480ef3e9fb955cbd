//! Metrics hooks without a metrics dependency: a [`SlashingObserver`] is told about every check
//! batch (counts by outcome, latency), every refusal and every error. [`Observed`] wraps any
//! store to drive an observer; [`SlashingStats`] is a ready-made atomic-counter observer.
//!
//! Observers are called on the async task after the store returned, so they must be cheap and
//! must not block (incrementing a Prometheus counter is fine).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use types::{Hash256, PublicKeyBytes};

use crate::model::{AttestationRequest, BlockRequest, CheckResult, NotSafe, Safe};
use crate::{
    Error, ExportScope, ImportSummary, Interchange, PruneSummary, PruneWindow, Result,
    SlashingProtection, ValidatorState,
};

/// The kind of message checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Block proposals.
    Block,
    /// Attestations.
    Attestation,
}

impl MessageKind {
    /// A stable lowercase label (`"block"`, `"attestation"`), for metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Attestation => "attestation",
        }
    }
}

/// What one check batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Blocks or attestations.
    pub kind: MessageKind,
    /// Newly signed and recorded.
    pub valid: u64,
    /// Repeats of the latest signed message (nothing recorded).
    pub same_data: u64,
    /// Refused.
    pub refused: u64,
    /// Wall time of the whole batch, including the durable commit.
    pub duration: Duration,
}

/// Receives check outcomes. Implement it with the client's metrics registry.
pub trait SlashingObserver: Send + Sync {
    /// A batch finished (successfully; errors go to [`SlashingObserver::on_error`]).
    fn on_batch(&self, outcome: &BatchOutcome);
    /// One message was refused (called once per refusal, before `on_batch`).
    fn on_refusal(&self, kind: MessageKind, reason: &NotSafe) {
        let _ = (kind, reason);
    }
    /// A batch failed with an error: nothing in it was recorded or may be signed.
    fn on_error(&self, kind: MessageKind, error: &Error, duration: Duration) {
        let _ = (kind, error, duration);
    }
}

/// A store that reports every check to an observer.
pub struct Observed<S> {
    inner: S,
    observer: Arc<dyn SlashingObserver>,
}

impl<S> Observed<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, observer: Arc<dyn SlashingObserver>) -> Self {
        Self { inner, observer }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn report(&self, kind: MessageKind, started: Instant, result: &Result<Vec<CheckResult>>) {
        let duration = started.elapsed();
        match result {
            Ok(results) => {
                let mut outcome = BatchOutcome {
                    kind,
                    valid: 0,
                    same_data: 0,
                    refused: 0,
                    duration,
                };
                for result in results {
                    match result {
                        Ok(Safe::Valid) => outcome.valid += 1,
                        Ok(Safe::SameData) => outcome.same_data += 1,
                        Err(reason) => {
                            outcome.refused += 1;
                            self.observer.on_refusal(kind, reason);
                        }
                    }
                }
                self.observer.on_batch(&outcome);
            }
            Err(error) => self.observer.on_error(kind, error, duration),
        }
    }
}

#[async_trait]
impl<S: SlashingProtection> SlashingProtection for Observed<S> {
    fn genesis_validators_root(&self) -> Hash256 {
        self.inner.genesis_validators_root()
    }

    async fn register_validators(&self, pubkeys: &[PublicKeyBytes]) -> Result<()> {
        self.inner.register_validators(pubkeys).await
    }

    async fn check_and_insert_blocks(&self, requests: &[BlockRequest]) -> Result<Vec<CheckResult>> {
        let started = Instant::now();
        let result = self.inner.check_and_insert_blocks(requests).await;
        self.report(MessageKind::Block, started, &result);
        result
    }

    async fn check_and_insert_attestations(
        &self,
        requests: &[AttestationRequest],
    ) -> Result<Vec<CheckResult>> {
        let started = Instant::now();
        let result = self.inner.check_and_insert_attestations(requests).await;
        self.report(MessageKind::Attestation, started, &result);
        result
    }

    async fn import_interchange(&self, interchange: &Interchange) -> Result<ImportSummary> {
        self.inner.import_interchange(interchange).await
    }

    async fn export_interchange(&self, scope: ExportScope<'_>) -> Result<Interchange> {
        self.inner.export_interchange(scope).await
    }

    async fn prune(&self, window: PruneWindow) -> Result<PruneSummary> {
        self.inner.prune(window).await
    }

    async fn validator_state(&self, pubkey: &PublicKeyBytes) -> Result<Option<ValidatorState>> {
        self.inner.validator_state(pubkey).await
    }
}

#[derive(Default)]
struct KindCounters {
    valid: AtomicU64,
    same_data: AtomicU64,
    refused: AtomicU64,
    errors: AtomicU64,
    batches: AtomicU64,
    nanos: AtomicU64,
}

impl KindCounters {
    fn snapshot(&self) -> KindSnapshot {
        KindSnapshot {
            valid: self.valid.load(Ordering::Relaxed),
            same_data: self.same_data.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            total_duration: Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
        }
    }
}

/// Atomic counters fed as a [`SlashingObserver`]; read them with [`SlashingStats::snapshot`].
#[derive(Default)]
pub struct SlashingStats {
    blocks: KindCounters,
    attestations: KindCounters,
}

/// Counters of one message kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindSnapshot {
    /// Newly signed.
    pub valid: u64,
    /// Repeats of the latest message.
    pub same_data: u64,
    /// Refused.
    pub refused: u64,
    /// Batches that failed with an error.
    pub errors: u64,
    /// Batches completed (with or without error).
    pub batches: u64,
    /// Summed batch latency.
    pub total_duration: Duration,
}

/// A point-in-time copy of [`SlashingStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Block counters.
    pub blocks: KindSnapshot,
    /// Attestation counters.
    pub attestations: KindSnapshot,
}

impl SlashingStats {
    /// Current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            blocks: self.blocks.snapshot(),
            attestations: self.attestations.snapshot(),
        }
    }

    fn of(&self, kind: MessageKind) -> &KindCounters {
        match kind {
            MessageKind::Block => &self.blocks,
            MessageKind::Attestation => &self.attestations,
        }
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl SlashingObserver for SlashingStats {
    fn on_batch(&self, outcome: &BatchOutcome) {
        let counters = self.of(outcome.kind);
        counters.valid.fetch_add(outcome.valid, Ordering::Relaxed);
        counters
            .same_data
            .fetch_add(outcome.same_data, Ordering::Relaxed);
        counters
            .refused
            .fetch_add(outcome.refused, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .nanos
            .fetch_add(nanos(outcome.duration), Ordering::Relaxed);
    }

    fn on_error(&self, kind: MessageKind, _error: &Error, duration: Duration) {
        let counters = self.of(kind);
        counters.errors.fetch_add(1, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.nanos.fetch_add(nanos(duration), Ordering::Relaxed);
    }
}
