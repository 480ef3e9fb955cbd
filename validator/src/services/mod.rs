//! The duty services. Every service has the same shape: `new(ctx)`, `spawn(self, executor)`
//! (one named task), and a `run` loop driven by the slot clock that returns when the shutdown
//! token is cancelled.
//!
//! Invariants shared by all services:
//! - requests to the beacon node per slot do not grow with the number of keys: every publication
//!   is one POST with all items, every read is per slot, per epoch or per committee;
//! - the shutdown token is only watched while waiting: a duty already started (signing,
//!   publishing) finishes before the service returns;
//! - signatures come only from [`crate::store::ValidatorStore`];
//! - no sync lock is held across `.await`.

pub mod aggregation;
pub mod attestation;
pub mod block;
pub mod chain;
pub mod doppelganger;
pub mod duties;
pub mod epoch_summary;
pub mod head;
pub mod preparation;
pub mod sync_committee;
mod tally;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use types::{AttestationData, ChainSpec, Epoch, EthSpec, Slot};

pub use tally::{DutyCounts, Tally};

use crate::beacon_node::BeaconNodeFallback;
use crate::clock::SlotClock;
use crate::config::DutyConfig;
use crate::metrics::{Duty, Metrics, Outcome};
use crate::store::ValidatorStore;
use duties::DutiesStore;
use head::HeadWatch;

/// Everything the services share. Cheap to clone.
pub struct Context<E: EthSpec> {
    /// The beacon nodes.
    pub fallback: Arc<BeaconNodeFallback>,
    /// Keys and signing.
    pub store: Arc<ValidatorStore<E>>,
    /// The slot clock.
    pub clock: SlotClock,
    /// The chain config.
    pub spec: Arc<ChainSpec>,
    /// Duties fetched by the duties service.
    pub duties: Arc<DutiesStore>,
    /// The latest head seen on the event stream.
    pub head: HeadWatch,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Duty defaults and policies.
    pub config: Arc<DutyConfig>,
    /// Duties performed/missed per epoch, for the epoch summary.
    pub tally: Arc<Tally>,
    /// Attestation data of recent slots (attestation → aggregation).
    pub attestation_data: Arc<AttestationDataCache>,
}

impl<E: EthSpec> Clone for Context<E> {
    fn clone(&self) -> Self {
        Self {
            fallback: self.fallback.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            spec: self.spec.clone(),
            duties: self.duties.clone(),
            head: self.head.clone(),
            metrics: self.metrics.clone(),
            config: self.config.clone(),
            tally: self.tally.clone(),
            attestation_data: self.attestation_data.clone(),
        }
    }
}

impl<E: EthSpec> Context<E> {
    /// Counts `n` duties of `duty` at `slot` with `outcome` (metrics and epoch tally).
    pub fn record(&self, slot: Slot, duty: Duty, outcome: Outcome, n: usize) {
        self.metrics.duty(duty, outcome, n);
        self.tally
            .record(self.spec.compute_epoch_at_slot(slot), duty, outcome, n);
    }

    /// The current epoch, or epoch 0 before genesis.
    pub fn current_epoch(&self) -> Epoch {
        self.clock.now_epoch().unwrap_or(Epoch(0))
    }

    /// The instant `basis_points / 10000` into `slot`.
    pub fn slot_fraction(&self, slot: Slot, basis_points: u64) -> Duration {
        self.clock.slot_fraction(slot, basis_points)
    }
}

/// Sleeps until `instant` (a duration since the Unix epoch, per the slot clock); `false` when
/// shutdown was requested first.
pub async fn sleep_until(clock: &SlotClock, instant: Duration, token: &CancellationToken) -> bool {
    let wait = clock.duration_until(instant);
    if wait.is_zero() {
        return !token.is_cancelled();
    }
    tokio::select! {
        () = token.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// The next slot whose start is still ahead (slot 0 before genesis).
pub fn next_slot(clock: &SlotClock) -> Slot {
    match clock.now_slot() {
        Some(slot) => slot + 1,
        None => Slot(0),
    }
}

/// Attestation data per slot, shared by the attestation and aggregation services (data fetched
/// once per slot with committee index 0).
#[derive(Debug, Default)]
pub struct AttestationDataCache {
    data: Mutex<Vec<AttestationData>>,
}

/// Slots of attestation data kept.
const DATA_CACHE_SLOTS: usize = 4;

impl AttestationDataCache {
    /// Remembers the data of `data.slot`.
    pub fn insert(&self, data: AttestationData) {
        let mut cached = self.data.lock();
        cached.retain(|d| d.slot != data.slot);
        cached.push(data);
        if cached.len() > DATA_CACHE_SLOTS {
            cached.remove(0);
        }
    }

    /// The data of `slot`, if fetched.
    pub fn get(&self, slot: Slot) -> Option<AttestationData> {
        self.data.lock().iter().find(|d| d.slot == slot).copied()
    }
}
