//! Accounting inputs derived from a whole beacon state, for nodes whose state endpoints no
//! longer serve finalized states (Lodestar 1.5.1 drops them from its caches at finalization
//! and serves them only through the debug API, replaying blocks) and that serve proposer
//! duties for the current epoch only.
//!
//! Everything here is consensus-specs v1.6.1 applied to the state: the Beacon API's validator
//! status rules, `get_beacon_committee` (swap-or-not shuffling), the sync committee by
//! pubkey, and `get_beacon_proposer_index` for every slot (8-bit random bytes and
//! `MAX_EFFECTIVE_BALANCE` before Electra, 16-bit values and `MAX_EFFECTIVE_BALANCE_ELECTRA`
//! from Electra; from Fulu the state's `proposer_lookahead` is read, because EIP-7917 fixes
//! proposers one epoch ahead). The results must equal what a node's standard endpoints return
//! for the same state; the devnet tests compare both paths on the same slots.
//!
//! The state given must be one whose current epoch is the epoch asked for (the state at
//! `end_slot(epoch)`): effective balances and the active set change only at epoch boundaries.

use std::collections::HashMap;

use ethereum_hashing::hash;
use pool_registry::ledger::{
    Committee, PendingDeposit, ProposerDuty, SyncCommittee, ValidatorEntry, ValidatorRecord,
    ValidatorStatus,
};
use serde::Deserialize;
use types::{Epoch, EthSpec, ForkName, Hash256, PublicKeyBytes, Slot};

/// `MIN_SEED_LOOKAHEAD` (a phase0 constant, the same in every preset).
const MIN_SEED_LOOKAHEAD: u64 = 1;
/// `DOMAIN_BEACON_PROPOSER`.
const DOMAIN_BEACON_PROPOSER: [u8; 4] = [0, 0, 0, 0];
/// `DOMAIN_BEACON_ATTESTER`.
const DOMAIN_BEACON_ATTESTER: [u8; 4] = [1, 0, 0, 0];
/// `FAR_FUTURE_EPOCH`.
const FAR_FUTURE_EPOCH: Epoch = Epoch(u64::MAX);

/// An integer as the Beacon API writes it (a quoted decimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Quoted(#[serde(with = "types::serde_utils::quoted_u64")] pub u64);

/// The sync committee of a state (pubkeys only).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StateSyncCommittee {
    /// Members in committee order.
    pub pubkeys: Vec<PublicKeyBytes>,
}

/// The fields of a `BeaconState` (debug API, JSON) accounting reads; every other field is
/// skipped while parsing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StateView {
    /// The state's slot.
    pub slot: Slot,
    /// `randao_mixes` (length `EPOCHS_PER_HISTORICAL_VECTOR`).
    pub randao_mixes: Vec<Hash256>,
    /// The validator registry.
    pub validators: Vec<ValidatorRecord>,
    /// Balances, by validator index.
    pub balances: Vec<Quoted>,
    /// The current sync committee (Altair+).
    #[serde(default)]
    pub current_sync_committee: Option<StateSyncCommittee>,
    /// Pending deposits (Electra+).
    #[serde(default)]
    pub pending_deposits: Option<Vec<PendingDeposit>>,
    /// Proposers of the current and next epoch (Fulu+).
    #[serde(default)]
    pub proposer_lookahead: Option<Vec<Quoted>>,
}

/// Why inputs could not be derived from a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The state is not in the epoch asked for.
    #[error("the state at slot {state_slot} is not in epoch {epoch}")]
    WrongEpoch {
        /// The state's slot.
        state_slot: Slot,
        /// The epoch asked for.
        epoch: Epoch,
    },
    /// A list of the state has a length the rules do not allow.
    #[error("the state's {what} has {found} entries, {expected} expected")]
    Length {
        /// Which list.
        what: &'static str,
        /// Entries found.
        found: usize,
        /// Entries expected.
        expected: u64,
    },
    /// No validator is active in the epoch.
    #[error("no active validator in epoch {0}")]
    NoActiveValidators(Epoch),
    /// A sync committee member is not in the registry.
    #[error("sync committee member {0} is not in the state's registry")]
    UnknownMember(PublicKeyBytes),
    /// A field the fork needs is absent.
    #[error("the state has no {0}")]
    Missing(&'static str),
}

type Result<T> = std::result::Result<T, StateError>;

/// The Beacon API status of a validator at `epoch`.
pub fn validator_status(v: &ValidatorRecord, epoch: Epoch) -> ValidatorStatus {
    if v.activation_epoch > epoch {
        if v.activation_eligibility_epoch == FAR_FUTURE_EPOCH {
            ValidatorStatus::PendingInitialized
        } else {
            ValidatorStatus::PendingQueued
        }
    } else if epoch < v.exit_epoch {
        if v.exit_epoch == FAR_FUTURE_EPOCH {
            ValidatorStatus::ActiveOngoing
        } else if v.slashed {
            ValidatorStatus::ActiveSlashed
        } else {
            ValidatorStatus::ActiveExiting
        }
    } else if epoch < v.withdrawable_epoch {
        if v.slashed {
            ValidatorStatus::ExitedSlashed
        } else {
            ValidatorStatus::ExitedUnslashed
        }
    } else if v.effective_balance != 0 {
        ValidatorStatus::WithdrawalPossible
    } else {
        ValidatorStatus::WithdrawalDone
    }
}

impl StateView {
    /// The state's epoch.
    pub fn epoch<E: EthSpec>(&self) -> Epoch {
        Epoch(self.slot.as_u64() / E::SLOTS_PER_EPOCH)
    }

    fn check_epoch<E: EthSpec>(&self, epoch: Epoch) -> Result<()> {
        if self.epoch::<E>() == epoch {
            Ok(())
        } else {
            Err(StateError::WrongEpoch {
                state_slot: self.slot,
                epoch,
            })
        }
    }

    /// The entries of `keys` as `/eth/v1/beacon/states/{slot}/validators?id=…` returns them,
    /// by index; keys not in the registry are absent.
    pub fn validators<E: EthSpec>(&self, keys: &[PublicKeyBytes]) -> Result<Vec<ValidatorEntry>> {
        if self.balances.len() != self.validators.len() {
            return Err(StateError::Length {
                what: "balances",
                found: self.balances.len(),
                expected: self.validators.len() as u64,
            });
        }
        let wanted: std::collections::HashSet<&PublicKeyBytes> = keys.iter().collect();
        let epoch = self.epoch::<E>();
        Ok(self
            .validators
            .iter()
            .enumerate()
            .filter(|(_, v)| wanted.contains(&v.pubkey))
            .map(|(i, v)| ValidatorEntry {
                index: i as u64,
                balance: self.balances[i].0,
                status: validator_status(v, epoch),
                validator: v.clone(),
            })
            .collect())
    }

    fn active_indices(&self, epoch: Epoch) -> Result<Vec<u64>> {
        let active: Vec<u64> = self
            .validators
            .iter()
            .enumerate()
            .filter(|(_, v)| v.activation_epoch <= epoch && epoch < v.exit_epoch)
            .map(|(i, _)| i as u64)
            .collect();
        if active.is_empty() {
            return Err(StateError::NoActiveValidators(epoch));
        }
        Ok(active)
    }

    /// `get_seed(state, epoch, domain)`.
    fn seed<E: EthSpec>(&self, epoch: Epoch, domain: [u8; 4]) -> Result<Vec<u8>> {
        let vector = E::EPOCHS_PER_HISTORICAL_VECTOR;
        if self.randao_mixes.len() as u64 != vector {
            return Err(StateError::Length {
                what: "randao_mixes",
                found: self.randao_mixes.len(),
                expected: vector,
            });
        }
        let mix = self.randao_mixes
            [((epoch.as_u64() + vector - MIN_SEED_LOOKAHEAD - 1) % vector) as usize];
        let mut preimage = Vec::with_capacity(44);
        preimage.extend_from_slice(&domain);
        preimage.extend_from_slice(&epoch.as_u64().to_le_bytes());
        preimage.extend_from_slice(mix.as_slice());
        Ok(hash(&preimage))
    }

    /// Every committee of `epoch`, as `/eth/v1/beacon/states/{slot}/committees?epoch=…`
    /// returns them (slot order, then committee index).
    pub fn committees<E: EthSpec>(&self, epoch: Epoch) -> Result<Vec<Committee>> {
        self.check_epoch::<E>(epoch)?;
        let active = self.active_indices(epoch)?;
        let seed: [u8; 32] = self
            .seed::<E>(epoch, DOMAIN_BEACON_ATTESTER)?
            .try_into()
            .expect("sha256 output is 32 bytes");
        let spe = E::SLOTS_PER_EPOCH;
        let per_slot = (active.len() as u64 / spe / E::TARGET_COMMITTEE_SIZE)
            .clamp(1, E::max_committees_per_slot());
        let count = per_slot * spe;
        let n = active.len() as u64;
        // The whole permutation once: every committee is a slice of it.
        let shuffled: Vec<u64> = (0..n)
            .map(|i| active[compute_shuffled_index(i, n, &seed, E::SHUFFLE_ROUND_COUNT) as usize])
            .collect();
        let mut out = Vec::with_capacity(count as usize);
        for slot_offset in 0..spe {
            for index in 0..per_slot {
                let k = slot_offset * per_slot + index;
                let start = (n * k / count) as usize;
                let end = (n * (k + 1) / count) as usize;
                out.push(Committee {
                    index,
                    slot: epoch.start_slot(spe) + slot_offset,
                    validators: shuffled[start..end].to_vec(),
                });
            }
        }
        Ok(out)
    }

    /// The sync committee of the state's period, as `/eth/v1/beacon/states/{slot}/
    /// sync_committees` returns it.
    pub fn sync_committee<E: EthSpec>(&self) -> Result<SyncCommittee> {
        let committee = self
            .current_sync_committee
            .as_ref()
            .ok_or(StateError::Missing("current_sync_committee"))?;
        let index_of: HashMap<&PublicKeyBytes, u64> = self
            .validators
            .iter()
            .enumerate()
            .map(|(i, v)| (&v.pubkey, i as u64))
            .collect();
        let validators = committee
            .pubkeys
            .iter()
            .map(|pk| {
                index_of
                    .get(pk)
                    .copied()
                    .ok_or(StateError::UnknownMember(*pk))
            })
            .collect::<Result<Vec<u64>>>()?;
        let size = E::sync_subcommittee_size().max(1) as usize;
        Ok(SyncCommittee {
            validator_aggregates: validators
                .chunks(size)
                .map(|chunk| chunk.iter().map(u64::to_string).collect())
                .collect(),
            validators,
        })
    }

    /// The proposer of every slot of `epoch`, as `/eth/v1/validator/duties/proposer/{epoch}`
    /// returns them; `fork` is the fork at `epoch`.
    pub fn proposer_duties<E: EthSpec>(
        &self,
        epoch: Epoch,
        fork: ForkName,
    ) -> Result<Vec<ProposerDuty>> {
        self.check_epoch::<E>(epoch)?;
        let spe = E::SLOTS_PER_EPOCH;
        let indices: Vec<u64> = if fork >= ForkName::Fulu {
            let lookahead = self
                .proposer_lookahead
                .as_deref()
                .ok_or(StateError::Missing("proposer_lookahead"))?;
            if lookahead.len() < spe as usize {
                return Err(StateError::Length {
                    what: "proposer_lookahead",
                    found: lookahead.len(),
                    expected: 2 * spe,
                });
            }
            lookahead[..spe as usize].iter().map(|q| q.0).collect()
        } else {
            let active = self.active_indices(epoch)?;
            let epoch_seed = self.seed::<E>(epoch, DOMAIN_BEACON_PROPOSER)?;
            let electra = fork >= ForkName::Electra;
            (0..spe)
                .map(|i| {
                    let mut preimage = epoch_seed.clone();
                    preimage.extend_from_slice(&(epoch.start_slot(spe).as_u64() + i).to_le_bytes());
                    let seed: [u8; 32] = hash(&preimage).try_into().expect("32 bytes");
                    self.compute_proposer_index::<E>(&active, &seed, electra)
                })
                .collect()
        };
        indices
            .into_iter()
            .enumerate()
            .map(|(i, index)| {
                let validator = self
                    .validators
                    .get(index as usize)
                    .ok_or(StateError::Length {
                        what: "validators",
                        found: self.validators.len(),
                        expected: index + 1,
                    })?;
                Ok(ProposerDuty {
                    pubkey: validator.pubkey,
                    validator_index: index,
                    slot: epoch.start_slot(spe) + i as u64,
                })
            })
            .collect()
    }

    /// consensus-specs `compute_proposer_index`.
    fn compute_proposer_index<E: EthSpec>(
        &self,
        indices: &[u64],
        seed: &[u8; 32],
        electra: bool,
    ) -> u64 {
        let total = indices.len() as u64;
        let mut preimage = [0u8; 40];
        preimage[..32].copy_from_slice(seed);
        let mut i = 0u64;
        loop {
            let candidate = indices
                [compute_shuffled_index(i % total, total, seed, E::SHUFFLE_ROUND_COUNT) as usize];
            let effective_balance =
                u128::from(self.validators[candidate as usize].effective_balance);
            let accepted = if electra {
                preimage[32..].copy_from_slice(&(i / 16).to_le_bytes());
                let random = hash(&preimage);
                let offset = ((i % 16) * 2) as usize;
                let value = u128::from(u16::from_le_bytes([random[offset], random[offset + 1]]));
                effective_balance * u128::from(u16::MAX)
                    >= u128::from(E::MAX_EFFECTIVE_BALANCE_ELECTRA) * value
            } else {
                preimage[32..].copy_from_slice(&(i / 32).to_le_bytes());
                let random = hash(&preimage);
                let byte = u128::from(random[(i % 32) as usize]);
                effective_balance * 255 >= u128::from(E::MAX_EFFECTIVE_BALANCE) * byte
            };
            if accepted {
                return candidate;
            }
            i += 1;
        }
    }
}

/// consensus-specs `compute_shuffled_index` (swap-or-not, `rounds` rounds).
pub fn compute_shuffled_index(
    mut index: u64,
    index_count: u64,
    seed: &[u8; 32],
    rounds: u64,
) -> u64 {
    debug_assert!(index < index_count);
    let mut buffer = [0u8; 37];
    buffer[..32].copy_from_slice(seed);
    for round in 0..rounds {
        buffer[32] = round as u8;
        let pivot_hash = hash(&buffer[..33]);
        let pivot = u64::from_le_bytes(pivot_hash[..8].try_into().expect("8 bytes")) % index_count;
        let flip = (pivot + index_count - index) % index_count;
        let position = index.max(flip);
        buffer[33..37].copy_from_slice(&((position / 256) as u32).to_le_bytes());
        let source = hash(&buffer);
        let byte = source[((position % 256) / 8) as usize];
        if (byte >> (position % 8)) & 1 == 1 {
            index = flip;
        }
    }
    index
}

#[cfg(test)]
mod tests;
