//! The runtime chain configuration, as served by the beacon node at `/eth/v1/config/spec`, and
//! everything derived from it: fork schedule, fork digests, signing domains, slot timing.
//!
//! Invariants established by [`ChainSpec::from_config_map`] (and so held by every `ChainSpec`):
//! - phase0 is always scheduled at epoch 0 with `GENESIS_FORK_VERSION`;
//! - a scheduled fork's predecessors are all scheduled at the same or an earlier epoch, so
//!   "the fork at epoch e" is the last scheduled fork with `epoch <= e`;
//! - every value used as a divisor (slots per epoch, subnet counts, aggregator targets, sync
//!   committee period, slot duration) is non-zero;
//! - `DOMAIN_*` values, when reported, equal the consensus-spec constants (they never vary
//!   between networks; a node reporting others is misconfigured).
//!
//! The raw key/value map is kept ([`ChainSpec::raw_config`]), including keys this crate does not
//! interpret, so callers can read anything else the node reports.

mod builtin;
mod parse;

use std::time::Duration;

use serde_json::{Map, Value};

use crate::containers::Fork;
use crate::fork_name::ForkName;
use crate::preset::Preset;
use crate::primitives::{
    Address, Domain, DomainType, Epoch, FAR_FUTURE_EPOCH, ForkDigest, Hash256, Slot, Version,
};
use crate::signing::{DomainKind, compute_domain, compute_fork_data_root};

pub use parse::parse_u64_value;

/// `SYNC_COMMITTEE_SUBNET_COUNT` (a constant of the Altair validator spec).
pub const SYNC_COMMITTEE_SUBNET_COUNT: u64 = 4;
/// `TARGET_AGGREGATORS_PER_COMMITTEE` (phase0 validator constant).
pub const TARGET_AGGREGATORS_PER_COMMITTEE: u64 = 16;
/// `TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE` (Altair validator constant).
pub const TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE: u64 = 16;

/// A fork's version and activation epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkParams {
    /// The fork version.
    pub version: Version,
    /// The activation epoch (`FAR_FUTURE_EPOCH` when not scheduled).
    pub epoch: Epoch,
}

/// One entry of Fulu's `BLOB_SCHEDULE` (`BlobParameters` in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlobParameters {
    /// The epoch from which the limit applies.
    pub epoch: Epoch,
    /// The maximum number of blobs per block from that epoch.
    pub max_blobs_per_block: u64,
}

/// The `DOMAIN_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainTypes {
    /// `DOMAIN_BEACON_PROPOSER`.
    pub beacon_proposer: DomainType,
    /// `DOMAIN_BEACON_ATTESTER`.
    pub beacon_attester: DomainType,
    /// `DOMAIN_RANDAO`.
    pub randao: DomainType,
    /// `DOMAIN_DEPOSIT`.
    pub deposit: DomainType,
    /// `DOMAIN_VOLUNTARY_EXIT`.
    pub voluntary_exit: DomainType,
    /// `DOMAIN_SELECTION_PROOF`.
    pub selection_proof: DomainType,
    /// `DOMAIN_AGGREGATE_AND_PROOF`.
    pub aggregate_and_proof: DomainType,
    /// `DOMAIN_SYNC_COMMITTEE`.
    pub sync_committee: DomainType,
    /// `DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF`.
    pub sync_committee_selection_proof: DomainType,
    /// `DOMAIN_CONTRIBUTION_AND_PROOF`.
    pub contribution_and_proof: DomainType,
    /// `DOMAIN_BLS_TO_EXECUTION_CHANGE`.
    pub bls_to_execution_change: DomainType,
    /// `DOMAIN_APPLICATION_MASK`.
    pub application_mask: DomainType,
    /// `DOMAIN_APPLICATION_BUILDER`.
    pub application_builder: DomainType,
}

impl DomainTypes {
    /// The consensus-spec values (identical on every network).
    pub const SPEC: DomainTypes = DomainTypes {
        beacon_proposer: DomainType::new([0, 0, 0, 0]),
        beacon_attester: DomainType::new([1, 0, 0, 0]),
        randao: DomainType::new([2, 0, 0, 0]),
        deposit: DomainType::new([3, 0, 0, 0]),
        voluntary_exit: DomainType::new([4, 0, 0, 0]),
        selection_proof: DomainType::new([5, 0, 0, 0]),
        aggregate_and_proof: DomainType::new([6, 0, 0, 0]),
        sync_committee: DomainType::new([7, 0, 0, 0]),
        sync_committee_selection_proof: DomainType::new([8, 0, 0, 0]),
        contribution_and_proof: DomainType::new([9, 0, 0, 0]),
        bls_to_execution_change: DomainType::new([10, 0, 0, 0]),
        application_mask: DomainType::new([0, 0, 0, 1]),
        application_builder: DomainType::new([0, 0, 0, 1]),
    };

    /// The domain type for a signing purpose.
    pub const fn get(&self, kind: DomainKind) -> DomainType {
        match kind {
            DomainKind::BeaconProposer => self.beacon_proposer,
            DomainKind::BeaconAttester => self.beacon_attester,
            DomainKind::Randao => self.randao,
            DomainKind::Deposit => self.deposit,
            DomainKind::VoluntaryExit => self.voluntary_exit,
            DomainKind::SelectionProof => self.selection_proof,
            DomainKind::AggregateAndProof => self.aggregate_and_proof,
            DomainKind::SyncCommittee => self.sync_committee,
            DomainKind::SyncCommitteeSelectionProof => self.sync_committee_selection_proof,
            DomainKind::ContributionAndProof => self.contribution_and_proof,
            DomainKind::BlsToExecutionChange => self.bls_to_execution_change,
            DomainKind::ApplicationBuilder => self.application_builder,
        }
    }
}

/// Duty deadlines within a slot, in basis points of the slot duration (v1.6 `*_DUE_BPS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DutyTimings {
    /// `ATTESTATION_DUE_BPS` (default 3333: one third of the slot).
    pub attestation_due_bps: u64,
    /// `AGGREGATE_DUE_BPS` (default 6667: two thirds).
    pub aggregate_due_bps: u64,
    /// `SYNC_MESSAGE_DUE_BPS` (default 3333).
    pub sync_message_due_bps: u64,
    /// `CONTRIBUTION_DUE_BPS` (default 6667).
    pub contribution_due_bps: u64,
}

/// The chain configuration of the network the beacon node follows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainSpec {
    /// `PRESET_BASE`.
    pub preset_base: Preset,
    /// `CONFIG_NAME`, when reported.
    pub config_name: Option<String>,
    /// Fork parameters indexed by [`ForkName::index`]; `None` when the node does not know the
    /// fork (reports no version for it).
    forks: [Option<ForkParams>; 7],
    /// Slot duration in milliseconds (`SLOT_DURATION_MS`, or `SECONDS_PER_SLOT * 1000`).
    pub slot_duration_ms: u64,
    /// `SLOTS_PER_EPOCH`.
    pub slots_per_epoch: u64,
    /// Duty deadlines within a slot.
    pub duty_timings: DutyTimings,
    /// The `DOMAIN_*` values.
    pub domain_types: DomainTypes,
    /// `TARGET_AGGREGATORS_PER_COMMITTEE`.
    pub target_aggregators_per_committee: u64,
    /// `TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE`.
    pub target_aggregators_per_sync_subcommittee: u64,
    /// `SYNC_COMMITTEE_SUBNET_COUNT`.
    pub sync_committee_subnet_count: u64,
    /// `ATTESTATION_SUBNET_COUNT`.
    pub attestation_subnet_count: u64,
    /// `EPOCHS_PER_SYNC_COMMITTEE_PERIOD`.
    pub epochs_per_sync_committee_period: u64,
    /// `SHARD_COMMITTEE_PERIOD` (epochs a validator must be active before it may exit).
    pub shard_committee_period: u64,
    /// `MAX_EFFECTIVE_BALANCE` (gwei).
    pub max_effective_balance: u64,
    /// `MAX_EFFECTIVE_BALANCE_ELECTRA` (gwei).
    pub max_effective_balance_electra: u64,
    /// `MAX_BLOBS_PER_BLOCK` (Deneb).
    pub max_blobs_per_block: u64,
    /// `MAX_BLOBS_PER_BLOCK_ELECTRA`.
    pub max_blobs_per_block_electra: u64,
    /// `BLOB_SCHEDULE` (Fulu), sorted by epoch, epochs distinct.
    pub blob_schedule: Vec<BlobParameters>,
    /// `DEPOSIT_CHAIN_ID`, when reported.
    pub deposit_chain_id: Option<u64>,
    /// `DEPOSIT_CONTRACT_ADDRESS`, when reported.
    pub deposit_contract_address: Option<Address>,
    /// Every key/value as received.
    raw: Map<String, Value>,
}

impl ChainSpec {
    /// The raw configuration map as received (all keys, interpreted or not).
    pub fn raw_config(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// One raw value by key.
    pub fn raw_value(&self, key: &str) -> Option<&Value> {
        self.raw.get(key)
    }

    /// A fork's version and epoch, `None` when the node does not know the fork.
    pub fn fork_params(&self, fork: ForkName) -> Option<ForkParams> {
        self.forks[fork.index()]
    }

    /// A fork's version, `None` when the node does not know the fork.
    pub fn fork_version(&self, fork: ForkName) -> Option<Version> {
        self.fork_params(fork).map(|p| p.version)
    }

    /// A fork's activation epoch, `None` when unknown or not scheduled.
    pub fn fork_epoch(&self, fork: ForkName) -> Option<Epoch> {
        self.fork_params(fork)
            .map(|p| p.epoch)
            .filter(|epoch| *epoch != FAR_FUTURE_EPOCH)
    }

    /// Whether the fork has an activation epoch.
    pub fn is_fork_scheduled(&self, fork: ForkName) -> bool {
        self.fork_epoch(fork).is_some()
    }

    /// `GENESIS_FORK_VERSION`.
    pub fn genesis_fork_version(&self) -> Version {
        self.forks[ForkName::Phase0.index()]
            .map(|p| p.version)
            .unwrap_or_default()
    }

    /// The fork active at `epoch`.
    pub fn fork_name_at_epoch(&self, epoch: Epoch) -> ForkName {
        ForkName::ALL
            .into_iter()
            .rev()
            .find(|fork| self.fork_epoch(*fork).is_some_and(|e| e <= epoch))
            .unwrap_or(ForkName::Phase0)
    }

    /// The fork active at `slot`.
    pub fn fork_name_at_slot(&self, slot: Slot) -> ForkName {
        self.fork_name_at_epoch(self.compute_epoch_at_slot(slot))
    }

    /// The version of the fork active at `epoch`.
    pub fn fork_version_at_epoch(&self, epoch: Epoch) -> Version {
        self.fork_version_of(self.fork_name_at_epoch(epoch))
    }

    /// The version of a fork that is scheduled (or phase0).
    fn fork_version_of(&self, fork: ForkName) -> Version {
        self.fork_version(fork)
            .unwrap_or_else(|| self.genesis_fork_version())
    }

    /// The `Fork` object the beacon state carries at `epoch`.
    ///
    /// `previous_version` is the preceding fork's version, except for forks active from genesis
    /// (epoch 0), where the genesis state records the fork's own version as previous, as the
    /// spec's genesis initialisation does.
    pub fn fork_at_epoch(&self, epoch: Epoch) -> Fork {
        self.fork_for(self.fork_name_at_epoch(epoch))
    }

    fn fork_for(&self, fork: ForkName) -> Fork {
        let current_version = self.fork_version_of(fork);
        let fork_epoch = self.fork_epoch(fork).unwrap_or(Epoch(0));
        let previous_version = match fork.previous() {
            Some(previous) if fork_epoch != Epoch(0) => self.fork_version_of(previous),
            _ => current_version,
        };
        Fork {
            previous_version,
            current_version,
            epoch: fork_epoch,
        }
    }

    /// Every scheduled fork in order, as `/eth/v1/config/fork_schedule` would list them.
    pub fn fork_schedule(&self) -> Vec<Fork> {
        ForkName::ALL
            .into_iter()
            .filter(|fork| *fork == ForkName::Phase0 || self.is_fork_scheduled(*fork))
            .map(|fork| Fork {
                previous_version: fork
                    .previous()
                    .map_or(self.genesis_fork_version(), |p| self.fork_version_of(p)),
                current_version: self.fork_version_of(fork),
                epoch: self.fork_epoch(fork).unwrap_or(Epoch(0)),
            })
            .collect()
    }

    /// Fulu's `get_blob_parameters(epoch)`: the newest `BLOB_SCHEDULE` entry at or before
    /// `epoch`, else Electra's limit from `ELECTRA_FORK_EPOCH`.
    pub fn blob_parameters(&self, epoch: Epoch) -> BlobParameters {
        self.blob_schedule
            .iter()
            .rev()
            .find(|entry| entry.epoch <= epoch)
            .copied()
            .unwrap_or(BlobParameters {
                epoch: self
                    .fork_epoch(ForkName::Electra)
                    .unwrap_or(FAR_FUTURE_EPOCH),
                max_blobs_per_block: self.max_blobs_per_block_electra,
            })
    }

    /// The maximum number of blobs a block may carry at `epoch`.
    pub fn max_blobs_per_block_at(&self, epoch: Epoch) -> u64 {
        match self.fork_name_at_epoch(epoch) {
            fork if fork >= ForkName::Fulu => self.blob_parameters(epoch).max_blobs_per_block,
            ForkName::Electra => self.max_blobs_per_block_electra,
            ForkName::Deneb => self.max_blobs_per_block,
            _ => 0,
        }
    }

    /// `compute_fork_digest` for `epoch`: the first 4 bytes of the fork data root, XORed from
    /// Fulu on with the hash of the blob parameters in force (EIP-7892).
    pub fn compute_fork_digest(
        &self,
        epoch: Epoch,
        genesis_validators_root: Hash256,
    ) -> ForkDigest {
        let fork = self.fork_name_at_epoch(epoch);
        let base = compute_fork_data_root(self.fork_version_of(fork), genesis_validators_root);
        let mut digest = [0u8; 4];
        digest.copy_from_slice(&base[..4]);
        if fork >= ForkName::Fulu {
            let params = self.blob_parameters(epoch);
            let mut preimage = [0u8; 16];
            preimage[..8].copy_from_slice(&params.epoch.as_u64().to_le_bytes());
            preimage[8..].copy_from_slice(&params.max_blobs_per_block.to_le_bytes());
            let mask = ethereum_hashing::hash(&preimage);
            for (byte, m) in digest.iter_mut().zip(mask) {
                *byte ^= m;
            }
        }
        ForkDigest::from(digest)
    }

    /// The domain type for a signing purpose.
    pub fn domain_type(&self, kind: DomainKind) -> DomainType {
        self.domain_types.get(kind)
    }

    /// `get_domain` for a message about `epoch` on the chain with `genesis_validators_root`.
    ///
    /// Special cases: deposits and builder registrations are signed with the genesis fork version
    /// and a zero genesis root (valid on any fork); BLS-to-execution changes with the genesis fork
    /// version and the real genesis root; voluntary exits whose `epoch` falls in Deneb or later
    /// with the Capella version (EIP-7044). For exits, prefer
    /// [`ChainSpec::voluntary_exit_domain`], which also handles an exit epoch that predates
    /// Deneb signed while the chain is at Deneb or later.
    pub fn get_domain(
        &self,
        kind: DomainKind,
        epoch: Epoch,
        genesis_validators_root: Hash256,
    ) -> Domain {
        let domain_type = self.domain_type(kind);
        match kind {
            DomainKind::Deposit | DomainKind::ApplicationBuilder => {
                compute_domain(domain_type, self.genesis_fork_version(), Hash256::ZERO)
            }
            DomainKind::BlsToExecutionChange => compute_domain(
                domain_type,
                self.genesis_fork_version(),
                genesis_validators_root,
            ),
            DomainKind::VoluntaryExit => {
                self.voluntary_exit_domain(epoch, epoch, genesis_validators_root)
            }
            _ => compute_domain(
                domain_type,
                self.fork_version_at_epoch(epoch),
                genesis_validators_root,
            ),
        }
    }

    /// The domain of a voluntary exit for `exit_epoch`, to be included while the chain is at
    /// `current_epoch`: from Deneb on always the Capella fork version (EIP-7044, so exits signed
    /// once stay valid forever), before Deneb the version of the fork at `exit_epoch`.
    pub fn voluntary_exit_domain(
        &self,
        exit_epoch: Epoch,
        current_epoch: Epoch,
        genesis_validators_root: Hash256,
    ) -> Domain {
        let domain_type = self.domain_types.voluntary_exit;
        let version = if self.fork_name_at_epoch(current_epoch) >= ForkName::Deneb {
            self.fork_version_of(ForkName::Capella)
        } else {
            self.fork_version_at_epoch(exit_epoch)
        };
        compute_domain(domain_type, version, genesis_validators_root)
    }

    /// `compute_epoch_at_slot`.
    pub fn compute_epoch_at_slot(&self, slot: Slot) -> Epoch {
        slot.epoch(self.slots_per_epoch)
    }

    /// `compute_start_slot_at_epoch` (saturating at `u64::MAX`).
    pub fn compute_start_slot_at_epoch(&self, epoch: Epoch) -> Slot {
        Slot(epoch.as_u64().saturating_mul(self.slots_per_epoch))
    }

    /// The sync committee period of `epoch` (`epoch // EPOCHS_PER_SYNC_COMMITTEE_PERIOD`).
    pub fn sync_committee_period(&self, epoch: Epoch) -> u64 {
        epoch.as_u64() / self.epochs_per_sync_committee_period
    }

    /// The first epoch of a sync committee period (saturating).
    pub fn sync_committee_period_start_epoch(&self, period: u64) -> Epoch {
        Epoch(period.saturating_mul(self.epochs_per_sync_committee_period))
    }

    /// The slot duration.
    pub fn slot_duration(&self) -> Duration {
        Duration::from_millis(self.slot_duration_ms)
    }

    /// `SECONDS_PER_SLOT` (rounded down when the slot duration is not whole seconds).
    pub fn seconds_per_slot(&self) -> u64 {
        self.slot_duration_ms / 1000
    }

    /// The offset of a deadline given in basis points of the slot.
    pub fn slot_component_duration(&self, basis_points: u64) -> Duration {
        Duration::from_millis(self.slot_duration_ms.saturating_mul(basis_points) / 10_000)
    }
}

#[cfg(test)]
mod tests;
