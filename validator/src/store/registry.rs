//! The loaded keys as the beacon chain sees them: registry index and status, and whether
//! doppelganger protection still holds them back.
//!
//! Invariants: an index, once learnt, never changes for a key while it is loaded (the beacon
//! registry is append-only); a key unknown to the chain has no index and no duties; a key is
//! [`SigningState::Held`] from load (at start or by import) until doppelganger protection
//! releases it, and nothing is ever signed with a held key; a removed key is gone from both
//! maps at once; a key whose on-chain withdrawal credentials pay someone else than the pool
//! is `blocked` (when the policy enforces it): it has no duties and signs nothing.

use std::collections::{BTreeMap, HashMap};

use types::api::{ValidatorData, ValidatorStatus};
use types::{Epoch, Hash256, PublicKeyBytes};

use crate::config::CredentialsPolicy;

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

/// How a key's on-chain withdrawal credentials compare with the pool's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsCheck {
    /// Not compared (no pool configured, or the chain does not know the key yet).
    Unchecked,
    /// `0x01`/`0x02` credentials paying the pool's withdrawal address.
    Pool,
    /// BLS (`0x00`) credentials: nobody receives withdrawals yet, and they can still be
    /// pointed at the pool.
    Bls,
    /// Credentials paying another address.
    Foreign(Hash256),
}

impl CredentialsCheck {
    /// Compares `actual` with the pool's credentials (same address, `0x01` or `0x02`).
    pub fn of(actual: Hash256, pool: Hash256) -> Self {
        match actual[0] {
            0x00 => Self::Bls,
            0x01 | 0x02 if actual[1..] == pool[1..] => Self::Pool,
            _ => Self::Foreign(actual),
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Unchecked => "unchecked",
            Self::Pool => "pool",
            Self::Bls => "bls",
            Self::Foreign(_) => "foreign",
        }
    }
}

/// The pool's credentials and what to do with keys that do not have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolCredentials {
    /// The pool's withdrawal credentials.
    pub credentials: Hash256,
    /// Whether foreign credentials block the key.
    pub policy: CredentialsPolicy,
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
    /// Its withdrawal credentials against the pool's.
    pub credentials: CredentialsCheck,
    /// Not run: its credentials pay someone else and the policy enforces the pool's.
    pub blocked: bool,
}

impl KeyInfo {
    /// Whether the key has duties (known to the chain, active and not blocked).
    pub fn is_active(&self) -> bool {
        !self.blocked && self.index.is_some() && self.status.is_some_and(ValidatorStatus::is_active)
    }

    /// Whether the chain shows the key slashed (`active_slashed` or `exited_slashed`).
    pub fn is_slashed(&self) -> bool {
        matches!(
            self.status,
            Some(ValidatorStatus::ActiveSlashed | ValidatorStatus::ExitedSlashed)
        )
    }

    /// Whether the key attests, aggregates and proposes: active and not slashed. A slashed
    /// validator stays active until its exit epoch, but its attestations earn nothing (slashed
    /// validators are never among the participating indices that are rewarded or counted for
    /// justification, and fork choice ignores their votes: it is penalised the same whether it
    /// attests or not) and its blocks are invalid (`process_block_header` refuses a slashed
    /// proposer). Its sync committee duties go on: the sync aggregate rewards and penalises
    /// members whether slashed or not.
    pub fn attests_and_proposes(&self) -> bool {
        self.is_active() && !self.is_slashed()
    }

    /// Whether the key may sign now (released by doppelganger protection, not blocked).
    pub fn may_sign(&self) -> bool {
        self.signing == SigningState::Enabled && !self.blocked
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
    /// Keys whose credentials check changed: (key, before, now).
    pub credential_changes: Vec<(PublicKeyBytes, CredentialsCheck, CredentialsCheck)>,
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
                        credentials: CredentialsCheck::Unchecked,
                        blocked: false,
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
                credentials: CredentialsCheck::Unchecked,
                blocked: false,
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
    /// absent from it are unknown to the chain. With `pool`, every key's withdrawal
    /// credentials are compared with the pool's and foreign ones block the key if the policy
    /// says so.
    pub(crate) fn apply(
        &mut self,
        data: &[ValidatorData],
        pool: Option<&PoolCredentials>,
    ) -> RefreshSummary {
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
            if let Some(pool) = pool {
                let check =
                    CredentialsCheck::of(item.validator.withdrawal_credentials, pool.credentials);
                if check != info.credentials {
                    summary
                        .credential_changes
                        .push((pubkey, info.credentials, check));
                    info.credentials = check;
                }
                info.blocked = matches!(check, CredentialsCheck::Foreign(_))
                    && pool.policy == CredentialsPolicy::Enforce;
            }
        }
        summary.unknown = self.keys.values().filter(|k| k.index.is_none()).count();
        summary
    }

    /// Counts keys by credentials check label.
    pub(crate) fn credential_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for info in self.keys.values() {
            *counts.entry(info.credentials.label()).or_insert(0) += 1;
        }
        counts
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
        let summary = registry.apply(&[data(7, a, ValidatorStatus::PendingQueued)], None);
        assert_eq!(summary.new_indices, 1);
        assert_eq!(summary.unknown, 1);
        assert!(!registry.get(&a).unwrap().is_active());
        let summary = registry.apply(
            &[
                data(7, a, ValidatorStatus::ActiveOngoing),
                data(9, b, ValidatorStatus::ActiveOngoing),
            ],
            None,
        );
        assert_eq!(summary.new_indices, 1);
        assert_eq!(summary.status_changes.len(), 2);
        assert!(registry.by_index(7).unwrap().is_active());
        assert_eq!(registry.by_index(9).unwrap().pubkey, b);
        registry.apply(&[data(8, a, ValidatorStatus::ActiveOngoing)], None);
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

    #[test]
    fn slashed_keys_keep_sync_duties_only() {
        let (a, b) = (
            PublicKeyBytes::repeat_byte(1),
            PublicKeyBytes::repeat_byte(2),
        );
        let mut registry = Registry::new(&[a, b], SigningState::Enabled);
        registry.apply(
            &[
                data(1, a, ValidatorStatus::ActiveOngoing),
                data(2, b, ValidatorStatus::ActiveSlashed),
            ],
            None,
        );
        let (ka, kb) = (*registry.get(&a).unwrap(), *registry.get(&b).unwrap());
        assert!(ka.is_active() && ka.attests_and_proposes() && !ka.is_slashed());
        assert!(
            kb.is_active() && kb.is_slashed() && !kb.attests_and_proposes(),
            "active (sync duties) but no attestation or proposal"
        );
        registry.apply(&[data(2, b, ValidatorStatus::ExitedSlashed)], None);
        let kb = *registry.get(&b).unwrap();
        assert!(kb.is_slashed() && !kb.is_active() && !kb.attests_and_proposes());
        registry.apply(&[data(1, a, ValidatorStatus::ActiveExiting)], None);
        assert!(
            registry.get(&a).unwrap().attests_and_proposes(),
            "an exiting validator works until its exit epoch"
        );
    }

    #[test]
    fn foreign_credentials_block_a_key_when_enforced() {
        let (a, b, c) = (
            PublicKeyBytes::repeat_byte(1),
            PublicKeyBytes::repeat_byte(2),
            PublicKeyBytes::repeat_byte(3),
        );
        let pool_address = [0xaa; 20];
        let mut pool_creds = [0u8; 32];
        pool_creds[0] = 1;
        pool_creds[12..].copy_from_slice(&pool_address);
        let mut foreign = pool_creds;
        foreign[31] = 0xab;
        let mut compounding = pool_creds;
        compounding[0] = 2;
        let with = |index, pubkey, creds: [u8; 32]| {
            let mut d = data(index, pubkey, ValidatorStatus::ActiveOngoing);
            d.validator.withdrawal_credentials = Hash256::from(creds);
            d
        };
        let mut registry = Registry::new(&[a, b, c], SigningState::Enabled);
        let mut pool = PoolCredentials {
            credentials: Hash256::from(pool_creds),
            policy: CredentialsPolicy::Enforce,
        };
        let summary = registry.apply(
            &[
                with(1, a, pool_creds),
                with(2, b, foreign),
                with(3, c, [0u8; 32]),
            ],
            Some(&pool),
        );
        assert_eq!(summary.credential_changes.len(), 3);
        assert_eq!(
            registry.get(&a).unwrap().credentials,
            CredentialsCheck::Pool
        );
        assert!(registry.get(&a).unwrap().may_sign() && registry.get(&a).unwrap().is_active());
        let blocked = registry.get(&b).unwrap();
        assert_eq!(
            blocked.credentials,
            CredentialsCheck::Foreign(Hash256::from(foreign))
        );
        assert!(blocked.blocked && !blocked.may_sign() && !blocked.is_active());
        let bls = registry.get(&c).unwrap();
        assert_eq!(bls.credentials, CredentialsCheck::Bls);
        assert!(
            bls.may_sign() && bls.is_active(),
            "BLS credentials still run"
        );
        assert_eq!(registry.credential_counts()["foreign"], 1);

        // The BLS key is pointed at the pool (0x02 counts too); nothing else changes.
        let summary = registry.apply(&[with(2, b, foreign), with(3, c, compounding)], Some(&pool));
        assert_eq!(
            summary.credential_changes,
            vec![(c, CredentialsCheck::Bls, CredentialsCheck::Pool)]
        );

        // Report-only: the foreign key runs, still reported as foreign.
        pool.policy = CredentialsPolicy::ReportOnly;
        let summary = registry.apply(&[with(2, b, foreign)], Some(&pool));
        assert!(summary.credential_changes.is_empty());
        assert!(registry.get(&b).unwrap().may_sign());
    }
}
