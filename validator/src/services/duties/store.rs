//! What the duties service knows: local attester and proposer duties per epoch (with their
//! dependent roots), sync committee duties per period, and aggregator selection proofs.
//!
//! Invariants: duties are replaced only by a successful fetch (a stale entry stays usable until
//! then, so a refresh never leaves a slot without duties); only local keys' duties are kept;
//! epochs older than the previous one are pruned.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::watch;
use types::api::{AttesterDuty, ProposerDuty, SyncDuty};
use types::{Epoch, Hash256, PublicKeyBytes, SignatureBytes, Slot};

/// A local attester duty with its aggregator selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttesterEntry {
    /// The duty.
    pub duty: AttesterDuty,
    /// The slot signature, once computed (never for held keys).
    pub selection_proof: Option<SignatureBytes>,
    /// Whether the selection proof makes this validator an aggregator.
    pub is_aggregator: bool,
}

/// One epoch's duties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochDuties<T> {
    /// The block root the duties were computed from.
    pub dependent_root: Hash256,
    /// The local duties.
    pub duties: Vec<T>,
    /// The validator indices they were requested for.
    pub requested: Vec<u64>,
    /// Whether the head moved to another dependent root (refetch pending).
    pub stale: bool,
    /// Whether the beacon node was told (committee subscriptions).
    pub subscribed: bool,
}

/// One sync committee period's local duties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPeriodDuties {
    /// The local members.
    pub duties: Vec<SyncDuty>,
    /// The validator indices they were requested for.
    pub requested: Vec<u64>,
    /// Whether the beacon node was told (sync committee subscriptions).
    pub subscribed: bool,
}

/// A local sync subcommittee aggregator at one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncAggregator {
    /// Its registry index.
    pub validator_index: u64,
    /// Its key.
    pub pubkey: PublicKeyBytes,
    /// Its selection proof.
    pub selection_proof: SignatureBytes,
}

#[derive(Debug, Default)]
struct SyncProofs {
    /// Validators whose proofs were computed, per epoch.
    computed: BTreeMap<Epoch, BTreeSet<u64>>,
    /// Aggregators per slot and subcommittee.
    aggregators: BTreeMap<Slot, BTreeMap<u64, Vec<SyncAggregator>>>,
}

/// The duties of the local keys.
#[derive(Debug)]
pub struct DutiesStore {
    attesters: RwLock<BTreeMap<Epoch, EpochDuties<AttesterEntry>>>,
    proposers: RwLock<BTreeMap<Epoch, EpochDuties<ProposerDuty>>>,
    sync: RwLock<BTreeMap<u64, SyncPeriodDuties>>,
    sync_proofs: RwLock<SyncProofs>,
    proposers_loaded: watch::Sender<Option<Epoch>>,
    slots_per_epoch: u64,
    epochs_per_period: u64,
}

impl DutiesStore {
    /// An empty store.
    pub fn new(slots_per_epoch: u64, epochs_per_period: u64) -> Self {
        Self {
            attesters: RwLock::default(),
            proposers: RwLock::default(),
            sync: RwLock::default(),
            sync_proofs: RwLock::default(),
            proposers_loaded: watch::channel(None).0,
            slots_per_epoch: slots_per_epoch.max(1),
            epochs_per_period: epochs_per_period.max(1),
        }
    }

    fn epoch_of(&self, slot: Slot) -> Epoch {
        slot.epoch(self.slots_per_epoch)
    }

    /// The sync committee period whose members sign at `slot` (that of the epoch of `slot + 1`:
    /// their messages go into the next block).
    pub fn sync_period_at(&self, slot: Slot) -> u64 {
        self.epoch_of(slot + 1).as_u64() / self.epochs_per_period
    }

    // ---- attesters ----

    /// The attester duties of `epoch`, if fetched.
    pub fn attester_epoch(&self, epoch: Epoch) -> Option<EpochDuties<AttesterEntry>> {
        self.attesters.read().get(&epoch).cloned()
    }

    /// Stores an epoch's attester duties (replacing any).
    pub fn set_attesters(&self, epoch: Epoch, duties: EpochDuties<AttesterEntry>) {
        self.attesters.write().insert(epoch, duties);
    }

    /// Applies `f` to an epoch's attester duties, if present.
    pub fn update_attesters(&self, epoch: Epoch, f: impl FnOnce(&mut EpochDuties<AttesterEntry>)) {
        if let Some(duties) = self.attesters.write().get_mut(&epoch) {
            f(duties);
        }
    }

    /// The local attester duties at `slot`.
    pub fn attesters_at(&self, slot: Slot) -> Vec<AttesterEntry> {
        self.attesters
            .read()
            .get(&self.epoch_of(slot))
            .map(|epoch| {
                epoch
                    .duties
                    .iter()
                    .filter(|entry| entry.duty.slot == slot)
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    // ---- proposers ----

    /// The proposer duties of `epoch`, if fetched.
    pub fn proposer_epoch(&self, epoch: Epoch) -> Option<EpochDuties<ProposerDuty>> {
        self.proposers.read().get(&epoch).cloned()
    }

    /// Stores an epoch's (local) proposer duties and wakes waiters.
    pub fn set_proposers(&self, epoch: Epoch, duties: EpochDuties<ProposerDuty>) {
        self.proposers.write().insert(epoch, duties);
        self.proposers_loaded.send_modify(|loaded| {
            *loaded = Some(loaded.map_or(epoch, |e| e.max(epoch)));
        });
    }

    /// Marks an epoch's proposer duties stale.
    pub fn mark_proposers_stale(&self, epoch: Epoch) {
        if let Some(duties) = self.proposers.write().get_mut(&epoch) {
            duties.stale = true;
        }
    }

    /// The local proposers at `slot`, waiting up to `timeout` for the epoch's duties to be
    /// fetched (at an epoch boundary the block service may run before the duties service).
    pub async fn proposers_at(&self, slot: Slot, timeout: Duration) -> Vec<ProposerDuty> {
        let epoch = self.epoch_of(slot);
        if !self.proposers.read().contains_key(&epoch) {
            let mut rx = self.proposers_loaded.subscribe();
            // A timeout just means the duties are not known: no proposal this slot.
            let _ = tokio::time::timeout(
                timeout,
                rx.wait_for(|loaded| loaded.is_some_and(|e| e >= epoch)),
            )
            .await;
        }
        self.proposers
            .read()
            .get(&epoch)
            .map(|e| {
                e.duties
                    .iter()
                    .filter(|d| d.slot == slot)
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    // ---- sync committee ----

    /// The sync duties of `period`, if fetched.
    pub fn sync_period(&self, period: u64) -> Option<SyncPeriodDuties> {
        self.sync.read().get(&period).cloned()
    }

    /// Stores a period's sync duties.
    pub fn set_sync_period(&self, period: u64, duties: SyncPeriodDuties) {
        self.sync.write().insert(period, duties);
    }

    /// Marks a period's sync subscriptions sent.
    pub fn mark_sync_subscribed(&self, period: u64) {
        if let Some(duties) = self.sync.write().get_mut(&period) {
            duties.subscribed = true;
        }
    }

    /// The local sync committee members signing at `slot`.
    pub fn sync_members_at(&self, slot: Slot) -> Vec<SyncDuty> {
        self.sync
            .read()
            .get(&self.sync_period_at(slot))
            .map(|p| p.duties.clone())
            .unwrap_or_default()
    }

    /// Validators whose sync selection proofs of `epoch` were computed.
    pub fn sync_proofs_computed(&self, epoch: Epoch) -> BTreeSet<u64> {
        self.sync_proofs
            .read()
            .computed
            .get(&epoch)
            .cloned()
            .unwrap_or_default()
    }

    /// Records computed sync selection proofs of `epoch`: `validators` were considered;
    /// `aggregators` (slot, subcommittee, aggregator) were selected.
    pub fn add_sync_proofs(
        &self,
        epoch: Epoch,
        validators: impl IntoIterator<Item = u64>,
        aggregators: impl IntoIterator<Item = (Slot, u64, SyncAggregator)>,
    ) {
        let mut proofs = self.sync_proofs.write();
        proofs.computed.entry(epoch).or_default().extend(validators);
        for (slot, subcommittee, aggregator) in aggregators {
            proofs
                .aggregators
                .entry(slot)
                .or_default()
                .entry(subcommittee)
                .or_default()
                .push(aggregator);
        }
    }

    /// The local sync aggregators at `slot`, by subcommittee.
    pub fn sync_aggregators_at(&self, slot: Slot) -> BTreeMap<u64, Vec<SyncAggregator>> {
        self.sync_proofs
            .read()
            .aggregators
            .get(&slot)
            .cloned()
            .unwrap_or_default()
    }

    // ---- dependent roots and pruning ----

    /// Marks duties computed from another dependent root than the head's as stale: attesters
    /// of `head_epoch` against `previous`, attesters of the next epoch and proposers of
    /// `head_epoch` against `current`. Returns whether anything became stale.
    pub fn invalidate(&self, head_epoch: Epoch, previous: Hash256, current: Hash256) -> bool {
        let mut changed = false;
        {
            let mut attesters = self.attesters.write();
            for (epoch, root) in [(head_epoch, previous), (head_epoch + 1, current)] {
                if let Some(duties) = attesters.get_mut(&epoch)
                    && !duties.stale
                    && duties.dependent_root != root
                {
                    tracing::info!(%epoch, old = %duties.dependent_root, new = %root, "attester duties' dependent root changed; refreshing");
                    duties.stale = true;
                    changed = true;
                }
            }
        }
        if let Some(duties) = self.proposers.write().get_mut(&head_epoch)
            && !duties.stale
            && duties.dependent_root != current
        {
            tracing::info!(epoch = %head_epoch, old = %duties.dependent_root, new = %current, "proposer duties' dependent root changed; refreshing");
            duties.stale = true;
            changed = true;
        }
        changed
    }

    /// Marks the attester duties of `epochs`, and the proposer duties of the first of them,
    /// stale (after a reorg).
    pub fn mark_all_stale(&self, epochs: &[Epoch]) {
        let mut attesters = self.attesters.write();
        for epoch in epochs {
            if let Some(duties) = attesters.get_mut(epoch) {
                duties.stale = true;
            }
        }
        drop(attesters);
        if let Some(first) = epochs.first() {
            self.mark_proposers_stale(*first);
        }
    }

    /// Drops every duty of `pubkeys` (keys removed at run time), so no service tries to sign
    /// with them; the next poll requests duties for the remaining keys only.
    pub fn forget_keys(&self, pubkeys: &BTreeSet<PublicKeyBytes>) {
        for duties in self.attesters.write().values_mut() {
            duties.duties.retain(|e| !pubkeys.contains(&e.duty.pubkey));
        }
        for duties in self.proposers.write().values_mut() {
            duties.duties.retain(|d| !pubkeys.contains(&d.pubkey));
        }
        for duties in self.sync.write().values_mut() {
            duties.duties.retain(|d| !pubkeys.contains(&d.pubkey));
        }
        for by_subcommittee in self.sync_proofs.write().aggregators.values_mut() {
            for aggregators in by_subcommittee.values_mut() {
                aggregators.retain(|a| !pubkeys.contains(&a.pubkey));
            }
        }
    }

    /// Forgets everything before `current - 1`.
    pub fn prune(&self, current: Epoch) {
        let floor = current.saturating_sub(1);
        self.attesters.write().retain(|epoch, _| *epoch >= floor);
        self.proposers.write().retain(|epoch, _| *epoch >= floor);
        let period_floor = floor.as_u64() / self.epochs_per_period;
        self.sync
            .write()
            .retain(|period, _| *period >= period_floor);
        let slot_floor = Slot(floor.as_u64() * self.slots_per_epoch);
        let mut proofs = self.sync_proofs.write();
        proofs.computed.retain(|epoch, _| *epoch >= floor);
        proofs.aggregators.retain(|slot, _| *slot >= slot_floor);
    }
}
