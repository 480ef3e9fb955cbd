//! The loaded keys as the beacon chain sees them: registry index and status, and whether
//! doppelganger protection still holds them back.
//!
//! Invariants: an index, once learnt, never changes for a key while it is loaded (the beacon
//! registry is append-only); a key unknown to the chain has no index and no duties; a key is
//! [`SigningState::Held`] from load (at start or by import) until doppelganger protection
//! releases it, and nothing is ever signed with a held key; a removed key is gone from both
//! maps at once.

use std::collections::{BTreeMap, HashMap};

use types::api::{ValidatorData, ValidatorStatus};
use types::{Epoch, PublicKeyBytes};

/// Whether a key may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningState {
    /// Held by doppelganger protection; released at the start of `until` if no doppelganger is
    /// seen.
    Held {
        /// The planned release epoch.
        until: Epoch,
    },
    /// May sign.
    Enabled,
}

/// One key as the client knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The public key.
    pub pubkey: PublicKeyBytes,
    /// Its registry index, once the chain knows it.
    pub index: Option<u64>,
    /// Its status at the last refresh.
    pub status: Option<ValidatorStatus>,
    /// Whether it may sign.
    pub signing: SigningState,
}

impl KeyInfo {
    /// Whether the key has duties (known to the chain and active).
    pub fn is_active(&self) -> bool {
        self.index.is_some() && self.status.is_some_and(ValidatorStatus::is_active)
    }
}

/// What a status refresh changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    /// Keys whose index was learnt by this refresh.
    pub new_indices: usize,
    /// Keys whose status changed (including first sightings).
    pub status_changes: Vec<(PublicKeyBytes, Option<ValidatorStatus>, ValidatorStatus)>,
    /// Keys the chain does not know.
    pub unknown: usize,
}

/// Keys by public key and by index.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    keys: BTreeMap<PublicKeyBytes, KeyInfo>,
    by_index: HashMap<u64, PublicKeyBytes>,
}

impl Registry {
    /// A registry of `pubkeys`, every key in `initial` signing state.
    pub(crate) fn new(pubkeys: &[PublicKeyBytes], initial: SigningState) -> Self {
        let keys = pubkeys
            .iter()
            .map(|pubkey| {
                (
                    *pubkey,
                    KeyInfo {
                        pubkey: *pubkey,
                        index: None,
                        status: None,
                        signing: initial,
                    },
                )
            })
            .collect();
        Self {
            keys,
            by_index: HashMap::new(),
        }
    }

    pub(crate) fn get(&self, pubkey: &PublicKeyBytes) -> Option<&KeyInfo> {
        self.keys.get(pubkey)
    }

    pub(crate) fn by_index(&self, index: u64) -> Option<&KeyInfo> {
        self.by_index.get(&index).and_then(|pk| self.keys.get(pk))
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &KeyInfo> {
        self.keys.values()
    }

    pub(crate) fn set_signing(&mut self, pubkey: &PublicKeyBytes, state: SigningState) -> bool {
        match self.keys.get_mut(pubkey) {
            Some(info) => {
                info.signing = state;
                true
            }
            None => false,
        }
    }

    /// Adds a key in `state` (no index or status yet); false when it is already present.
    pub(crate) fn insert(&mut self, pubkey: PublicKeyBytes, state: SigningState) -> bool {
        if self.keys.contains_key(&pubkey) {
            return false;
        }
        self.keys.insert(
            pubkey,
            KeyInfo {
                pubkey,
                index: None,
                status: None,
                signing: state,
            },
        );
        true
    }

    /// Removes a key (and its index); returns what was known about it.
    pub(crate) fn remove(&mut self, pubkey: &PublicKeyBytes) -> Option<KeyInfo> {
        let info = self.keys.remove(pubkey)?;
        if let Some(index) = info.index {
            self.by_index.remove(&index);
        }
        Some(info)
    }

    /// Applies a validators query: `data` holds the chain's view of (some of) our keys; keys
    /// absent from it are unknown to the chain.
    pub(crate) fn apply(&mut self, data: &[ValidatorData]) -> RefreshSummary {
        let mut summary = RefreshSummary::default();
        for item in data {
            let pubkey = item.validator.pubkey;
            let Some(info) = self.keys.get_mut(&pubkey) else {
                continue;
            };
            if info.index.is_none() {
                summary.new_indices += 1;
                info.index = Some(item.index);
                self.by_index.insert(item.index, pubkey);
            } else if info.index != Some(item.index) {
                // The registry is append-only: a different index is a node bug; keep ours.
                tracing::error!(%pubkey, ours = ?info.index, node = item.index, "beacon node reports another index for a key; ignoring");
                continue;
            }
            if info.status != Some(item.status) {
                summary
                    .status_changes
                    .push((pubkey, info.status, item.status));
                info.status = Some(item.status);
            }
        }
        summary.unknown = self.keys.values().filter(|k| k.index.is_none()).count();
        summary
    }

    /// Counts keys by status label (`unknown` for keys the chain does not know).
    pub(crate) fn status_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for info in self.keys.values() {
            let label = info.status.map_or("unknown", ValidatorStatus::as_str);
            *counts.entry(label).or_insert(0) += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use types::Hash256;
    use types::api::Validator;

    use super::*;

    fn data(index: u64, pubkey: PublicKeyBytes, status: ValidatorStatus) -> ValidatorData {
        ValidatorData {
            index,
            balance: 32,
            status,
            validator: Validator {
                pubkey,
                withdrawal_credentials: Hash256::ZERO,
                effective_balance: 32,
                slashed: false,
                activation_eligibility_epoch: Epoch(0),
                activation_epoch: Epoch(0),
                exit_epoch: Epoch(u64::MAX),
                withdrawable_epoch: Epoch(u64::MAX),
            },
        }
    }

    #[test]
    fn learns_indices_and_statuses() {
        let a = PublicKeyBytes::repeat_byte(1);
        let b = PublicKeyBytes::repeat_byte(2);
        let mut registry = Registry::new(&[a, b], SigningState::Enabled);
        let summary = registry.apply(&[data(7, a, ValidatorStatus::PendingQueued)]);
        assert_eq!(summary.new_indices, 1);
        assert_eq!(summary.unknown, 1);
        assert!(!registry.get(&a).unwrap().is_active());
        let summary = registry.apply(&[
            data(7, a, ValidatorStatus::ActiveOngoing),
            data(9, b, ValidatorStatus::ActiveOngoing),
        ]);
        assert_eq!(summary.new_indices, 1);
        assert_eq!(summary.status_changes.len(), 2);
        assert!(registry.by_index(7).unwrap().is_active());
        assert_eq!(registry.by_index(9).unwrap().pubkey, b);
        registry.apply(&[data(8, a, ValidatorStatus::ActiveOngoing)]);
        assert_eq!(
            registry.get(&a).unwrap().index,
            Some(7),
            "indices never change"
        );
        assert_eq!(registry.status_counts()["active_ongoing"], 2);

        let c = PublicKeyBytes::repeat_byte(3);
        assert!(registry.insert(c, SigningState::Enabled));
        assert!(
            !registry.insert(c, SigningState::Enabled),
            "already present"
        );
        assert_eq!(registry.remove(&a).and_then(|k| k.index), Some(7));
        assert!(
            registry.by_index(7).is_none(),
            "the index goes with the key"
        );
        assert!(registry.remove(&a).is_none());
        assert_eq!(registry.all().count(), 2);
    }
}
