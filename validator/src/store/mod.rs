//! The validator store: the keys (through a [`Signer`]), what the chain knows about them (index,
//! status), their settings (fee recipient, gas limit, graffiti) and slashing protection.
//!
//! # Invariant
//! **A signature leaves this module only after its slashing-protection record is durable.**
//! This module is the only place duty signatures are produced. Blocks and attestations are
//! checked and recorded by [`SlashingProtection`] (`check_and_insert_*` returned `Safe`) before
//! their signature is returned; signing may run concurrently with the database commit for
//! speed, and the signatures of refused items are dropped. Further:
//! - nothing at all (not even a selection proof) is signed with a key doppelganger protection
//!   holds back ([`SigningState::Held`]);
//! - a block paying a fee recipient the pool's policy does not allow is refused before slashing
//!   protection and signing, logged at error level and counted
//!   (`poolvc_pool_safety_refusals_total`);
//! - a block whose slot, proposer or fork differs from the duty is refused;
//! - keys added at run time start held (see [`ValidatorStore::add_keys`]); once
//!   [`ValidatorStore::remove_keys`] returns, no signing operation with the removed keys is in
//!   flight and none can start (every signing entry point holds the signing gate's read side
//!   from its key check to its last signature).

mod definitions;
mod keys;
mod messages;
mod registry;
mod slashable;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use signer::{ForkInfo, Signable, SignableMessage, Signer};
use slashing_protection::SlashingProtection;
use types::api::{ValidatorData, ValidatorStatus};
use types::{
    ChainSpec, DomainKind, Epoch, EthSpec, ExecutionAddress, Graffiti, Hash256, PublicKeyBytes,
};

pub use definitions::{Defaults, Definitions, ValidatorDefinition, graffiti_from_str};
pub use messages::{AggregateToSign, ContributionToSign, SyncSelection};
pub use registry::{CredentialsCheck, KeyInfo, PoolCredentials, RefreshSummary, SigningState};
pub use slashable::{AttestationBatch, AttestationToSign, ProposalDuty};

use crate::config::FeePolicy;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use registry::Registry;

/// The fee recipients a refused block was allowed to pay (for the error and the log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRecipients(pub String);

impl std::fmt::Display for AllowedRecipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keys, chain view, settings and slashing protection; the only producer of duty signatures.
pub struct ValidatorStore<E: EthSpec> {
    signer: Arc<dyn Signer>,
    slashing: Arc<dyn SlashingProtection>,
    spec: Arc<ChainSpec>,
    genesis_validators_root: Hash256,
    registry: RwLock<Registry>,
    pool_credentials: RwLock<Option<PoolCredentials>>,
    definitions: Mutex<Definitions>,
    fee_policy: Option<FeePolicy>,
    metrics: Arc<Metrics>,
    /// Read by every signing operation, written to remove keys (see the module invariant).
    signing_gate: tokio::sync::RwLock<()>,
    _preset: PhantomData<E>,
}

impl<E: EthSpec> std::fmt::Debug for ValidatorStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorStore")
            .field("keys", &self.registry.read().all().count())
            .field("genesis_validators_root", &self.genesis_validators_root)
            .finish_non_exhaustive()
    }
}

/// What a store is built from.
pub struct StoreParts {
    /// The signer holding the keys.
    pub signer: Arc<dyn Signer>,
    /// Slashing protection (every key must be registered in it already).
    pub slashing: Arc<dyn SlashingProtection>,
    /// The chain config.
    pub spec: Arc<ChainSpec>,
    /// The chain's genesis validators root (binds every signature to the chain).
    pub genesis_validators_root: Hash256,
    /// Per-key settings.
    pub definitions: Definitions,
    /// The pool's fee-recipient policy.
    pub fee_policy: Option<FeePolicy>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The signing state every key starts in.
    pub initial_state: SigningState,
}

impl<E: EthSpec> ValidatorStore<E> {
    /// A store over the signer's keys.
    pub fn new(parts: StoreParts) -> Self {
        let pubkeys = parts.signer.public_keys();
        Self {
            registry: RwLock::new(Registry::new(&pubkeys, parts.initial_state)),
            pool_credentials: RwLock::new(None),
            signer: parts.signer,
            slashing: parts.slashing,
            spec: parts.spec,
            genesis_validators_root: parts.genesis_validators_root,
            definitions: Mutex::new(parts.definitions),
            fee_policy: parts.fee_policy,
            metrics: parts.metrics,
            signing_gate: tokio::sync::RwLock::new(()),
            _preset: PhantomData,
        }
    }

    /// The chain config.
    pub fn spec(&self) -> &Arc<ChainSpec> {
        &self.spec
    }

    /// The genesis validators root.
    pub fn genesis_validators_root(&self) -> Hash256 {
        self.genesis_validators_root
    }

    /// The slashing protection store.
    pub fn slashing_protection(&self) -> &Arc<dyn SlashingProtection> {
        &self.slashing
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The pool's fee-recipient policy.
    pub fn fee_policy(&self) -> Option<FeePolicy> {
        self.fee_policy
    }

    pub(crate) fn domain(&self, kind: DomainKind, epoch: Epoch) -> Hash256 {
        self.spec
            .get_domain(kind, epoch, self.genesis_validators_root)
    }

    // ---- keys and the chain's view of them ----

    /// Every loaded key.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.registry.read().all().copied().collect()
    }

    /// One key.
    pub fn key(&self, pubkey: &PublicKeyBytes) -> Option<KeyInfo> {
        self.registry.read().get(pubkey).copied()
    }

    /// The key with registry index `index`, if it is ours.
    pub fn key_by_index(&self, index: u64) -> Option<KeyInfo> {
        self.registry.read().by_index(index).copied()
    }

    /// The number of loaded keys.
    pub fn num_keys(&self) -> usize {
        self.registry.read().all().count()
    }

    /// Indices of the keys that have duties (known and active), sorted.
    pub fn active_indices(&self) -> Vec<u64> {
        let mut indices: Vec<u64> = self
            .registry
            .read()
            .all()
            .filter(|k| k.is_active())
            .filter_map(|k| k.index)
            .collect();
        indices.sort_unstable();
        indices
    }

    /// Indices of the keys that attest and propose (active, not slashed), sorted.
    pub fn attesting_indices(&self) -> Vec<u64> {
        let mut indices: Vec<u64> = self
            .registry
            .read()
            .all()
            .filter(|k| k.attests_and_proposes())
            .filter_map(|k| k.index)
            .collect();
        indices.sort_unstable();
        indices
    }

    /// Indices of every key the chain knows (any status), sorted.
    pub fn known_indices(&self) -> Vec<u64> {
        let mut indices: Vec<u64> = self.registry.read().all().filter_map(|k| k.index).collect();
        indices.sort_unstable();
        indices
    }

    /// Sets the pool's withdrawal credentials: from the next validators refresh every key's
    /// on-chain credentials are compared with them (and foreign ones block the key when the
    /// policy enforces it).
    pub fn set_pool_credentials(&self, pool: PoolCredentials) {
        *self.pool_credentials.write() = Some(pool);
    }

    /// Applies a validators query to the keys; logs what changed; updates the key metrics.
    pub fn apply_validator_data(&self, data: &[ValidatorData]) -> RefreshSummary {
        let pool = *self.pool_credentials.read();
        let (summary, counts, credentials) = {
            let mut registry = self.registry.write();
            let summary = registry.apply(data, pool.as_ref());
            (
                summary,
                registry.status_counts(),
                registry.credential_counts(),
            )
        };
        if let Some(pool) = &pool {
            self.log_credentials(pool, &summary, &credentials);
        }
        for (pubkey, from, to) in &summary.status_changes {
            tracing::debug!(%pubkey, from = from.map_or("unknown", |s| s.as_str()), to = %to, "validator status");
            let slashed = |s: &ValidatorStatus| {
                matches!(
                    s,
                    ValidatorStatus::ActiveSlashed | ValidatorStatus::ExitedSlashed
                )
            };
            if slashed(to) && !from.as_ref().is_some_and(slashed) {
                tracing::error!(
                    %pubkey,
                    status = %to,
                    "validator slashed: its attestation, aggregation and block duties stop; sync committee duties go on until it exits"
                );
            }
        }
        if !summary.status_changes.is_empty() {
            let counts: Vec<String> = counts
                .iter()
                .map(|(status, n)| format!("{status}={n}"))
                .collect();
            tracing::info!(
                changed = summary.status_changes.len(),
                statuses = %counts.join(" "),
                "validator statuses"
            );
        }
        self.metrics.validator_keys.reset();
        for (label, count) in counts {
            self.metrics
                .validator_keys
                .with_label_values(&[label])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        summary
    }

    fn log_credentials(
        &self,
        pool: &PoolCredentials,
        summary: &RefreshSummary,
        counts: &std::collections::BTreeMap<&'static str, usize>,
    ) {
        let mut newly_bls = 0usize;
        for (pubkey, before, now) in &summary.credential_changes {
            match now {
                CredentialsCheck::Foreign(found) => match pool.policy {
                    crate::config::CredentialsPolicy::Enforce => tracing::error!(
                        %pubkey, credentials = %found, pool = %pool.credentials,
                        "withdrawal credentials are not the pool's: this key is not run"
                    ),
                    crate::config::CredentialsPolicy::ReportOnly => tracing::error!(
                        %pubkey, credentials = %found, pool = %pool.credentials,
                        "withdrawal credentials are not the pool's (running it anyway: --allow-credential-mismatch)"
                    ),
                },
                CredentialsCheck::Bls => newly_bls += 1,
                CredentialsCheck::Pool
                    if matches!(before, CredentialsCheck::Bls | CredentialsCheck::Foreign(_)) =>
                {
                    tracing::info!(%pubkey, "withdrawal credentials now pay the pool")
                }
                _ => {}
            }
        }
        if newly_bls > 0 {
            tracing::warn!(
                keys = newly_bls,
                "keys with BLS (0x00) withdrawal credentials: point them at the pool with `poolvc credentials set-withdrawal-address`"
            );
        }
        let gauge = &self.metrics.withdrawal_credentials;
        gauge.reset();
        for (label, count) in counts {
            gauge
                .with_label_values(&[label])
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
    }

    // ---- doppelganger gating ----

    /// Whether `pubkey` may sign now.
    pub fn is_signing_enabled(&self, pubkey: &PublicKeyBytes) -> bool {
        self.registry
            .read()
            .get(pubkey)
            .is_some_and(KeyInfo::may_sign)
    }

    /// Sets a key's signing state (doppelganger protection); false if the key is unknown.
    pub fn set_signing_state(&self, pubkey: &PublicKeyBytes, state: SigningState) -> bool {
        let changed = self.registry.write().set_signing(pubkey, state);
        self.update_doppelganger_metrics();
        changed
    }

    /// Keys currently held back.
    pub fn held_keys(&self) -> Vec<KeyInfo> {
        self.registry
            .read()
            .all()
            .filter(|k| matches!(k.signing, SigningState::Held { .. }))
            .copied()
            .collect()
    }

    fn update_doppelganger_metrics(&self) {
        let (held, released) = {
            let registry = self.registry.read();
            let held = registry
                .all()
                .filter(|k| matches!(k.signing, SigningState::Held { .. }))
                .count();
            (held, registry.all().count() - held)
        };
        let gauge = &self.metrics.doppelganger_keys;
        gauge
            .with_label_values(&["held"])
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        gauge
            .with_label_values(&["released"])
            .set(i64::try_from(released).unwrap_or(i64::MAX));
    }

    /// Fails unless `pubkey` is loaded and may sign.
    pub(crate) fn ensure_enabled(&self, pubkey: &PublicKeyBytes) -> Result<()> {
        match self.registry.read().get(pubkey) {
            None => Err(Error::UnknownValidator(*pubkey)),
            Some(KeyInfo {
                signing: SigningState::Held { until },
                ..
            }) => Err(Error::DoppelgangerHeld {
                pubkey: *pubkey,
                until: *until,
            }),
            Some(KeyInfo {
                credentials: CredentialsCheck::Foreign(found),
                blocked: true,
                ..
            }) => Err(Error::CredentialsMismatch {
                pubkey: *pubkey,
                found: *found,
            }),
            Some(_) => Ok(()),
        }
    }

    /// Splits `items` into those whose key may sign and the rest (logged at debug: holding
    /// keys back is expected while doppelganger protection runs).
    pub(crate) fn partition_enabled<T>(
        &self,
        items: Vec<T>,
        pubkey: impl Fn(&T) -> PublicKeyBytes,
    ) -> (Vec<T>, Vec<T>) {
        let registry = self.registry.read();
        items
            .into_iter()
            .partition(|item| registry.get(&pubkey(item)).is_some_and(KeyInfo::may_sign))
    }

    // ---- per-key settings ----

    /// The fee recipient to prepare for `pubkey` (policy applied).
    pub fn fee_recipient(&self, pubkey: &PublicKeyBytes) -> Option<ExecutionAddress> {
        let configured = self.definitions.lock().fee_recipient(pubkey);
        match &self.fee_policy {
            Some(policy) => Some(policy.recipient_for(configured)),
            None => configured,
        }
    }

    /// The gas limit for `pubkey`'s builder registrations.
    pub fn gas_limit(&self, pubkey: &PublicKeyBytes) -> u64 {
        self.definitions.lock().gas_limit(pubkey)
    }

    /// The graffiti for `pubkey`'s blocks.
    pub fn graffiti(&self, pubkey: &PublicKeyBytes) -> Option<Graffiti> {
        self.definitions.lock().graffiti(pubkey)
    }

    /// Runs `f` on the per-key settings (the Keymanager API edits them through this).
    pub fn with_definitions<T>(&self, f: impl FnOnce(&mut Definitions) -> T) -> T {
        f(&mut self.definitions.lock())
    }

    /// Whether a block paying `found` may be signed for `pubkey` (pool safety); otherwise what
    /// the block had to pay.
    pub(crate) fn fee_recipient_allowed(
        &self,
        pubkey: &PublicKeyBytes,
        found: ExecutionAddress,
    ) -> std::result::Result<(), AllowedRecipients> {
        let configured = self.definitions.lock().fee_recipient(pubkey);
        let allowed = |text: String| Err(AllowedRecipients(text));
        match (&self.fee_policy, configured) {
            (Some(policy), configured) if policy.permits(found, configured) => Ok(()),
            (Some(policy), Some(configured)) if policy.allow_other => {
                allowed(format!("{} or {configured}", policy.vault))
            }
            (Some(policy), _) => allowed(policy.vault.to_string()),
            (None, Some(configured)) if configured == found => Ok(()),
            (None, Some(configured)) => allowed(configured.to_string()),
            (None, None) => allowed("a configured fee recipient (none is set)".to_owned()),
        }
    }

    /// Signs groups of keys over shared roots (no slashing check: callers are the non-slashable
    /// message kinds, or have checked). One result per key: a remote key's failure is its own.
    pub(crate) async fn sign_grouped(
        &self,
        groups: Vec<signer::SigningGroup>,
    ) -> Result<Vec<Vec<signer::SignatureResult>>> {
        Ok(self.signer.sign_groups(groups).await?)
    }

    /// The fork information of a message about `epoch` (what a remote signer derives the
    /// domain from, matching [`Self::domain`]).
    pub(crate) fn fork_info(&self, epoch: Epoch) -> ForkInfo {
        ForkInfo {
            fork: self.spec.fork_at_epoch(epoch),
            genesis_validators_root: self.genesis_validators_root,
        }
    }

    /// A typed message under the fork of `epoch`.
    pub(crate) fn message(&self, epoch: Epoch, signable: Signable) -> SignableMessage {
        SignableMessage {
            fork_info: Some(self.fork_info(epoch)),
            signable,
        }
    }

    /// Groups `items` by signing root: returns the groups and, per item, (group, position).
    /// `message(i)` describes item `i`'s message; it is asked once per distinct root (items
    /// with one root sign one message).
    pub(crate) fn group_by_root(
        items: impl IntoIterator<Item = (Hash256, PublicKeyBytes)>,
        mut message: impl FnMut(usize) -> SignableMessage,
    ) -> (Vec<signer::SigningGroup>, Vec<(usize, usize)>) {
        let mut groups: Vec<signer::SigningGroup> = Vec::new();
        let mut by_root: HashMap<Hash256, usize> = HashMap::new();
        let mut positions = Vec::new();
        for (index, (root, pubkey)) in items.into_iter().enumerate() {
            let group = *by_root.entry(root).or_insert_with(|| {
                groups.push(signer::SigningGroup {
                    signing_root: root,
                    message: message(index),
                    pubkeys: Vec::new(),
                });
                groups.len() - 1
            });
            positions.push((group, groups[group].pubkeys.len()));
            groups[group].pubkeys.push(pubkey);
        }
        (groups, positions)
    }
}

#[cfg(test)]
mod tests {
    use signer::LocalSigner;
    use slashing_protection::{SqliteConfig, SqliteStore};
    use types::{AttestationData, Checkpoint, MinimalEthSpec, Slot};

    use super::*;

    async fn make_store(
        keys: u64,
        policy: Option<FeePolicy>,
        own: Option<ExecutionAddress>,
        dir: &std::path::Path,
    ) -> ValidatorStore<MinimalEthSpec> {
        let signer = Arc::new(LocalSigner::new(
            (0..keys).map(|i| signer::derivation::interop_secret_key(i).unwrap()),
        ));
        let gvr = Hash256::repeat_byte(3);
        let slashing: Arc<dyn SlashingProtection> = Arc::new(
            SqliteStore::open(dir.join("sp.sqlite"), gvr, SqliteConfig::default())
                .await
                .unwrap(),
        );
        slashing
            .register_validators(&signer.public_keys())
            .await
            .unwrap();
        ValidatorStore::new(StoreParts {
            signer,
            slashing,
            spec: Arc::new(ChainSpec::minimal()),
            genesis_validators_root: gvr,
            definitions: Definitions::in_memory(
                Defaults {
                    fee_recipient: own,
                    gas_limit: 1,
                    graffiti: None,
                },
                policy,
            ),
            fee_policy: policy,
            metrics: Arc::new(Metrics::new()),
            initial_state: SigningState::Enabled,
        })
    }

    fn data(slot: u64, index: u64, target: u64) -> AttestationData {
        AttestationData {
            slot: Slot(slot),
            index,
            beacon_block_root: Hash256::repeat_byte(1),
            source: Checkpoint {
                epoch: types::Epoch(target - 1),
                root: Hash256::ZERO,
            },
            target: Checkpoint {
                epoch: types::Epoch(target),
                root: Hash256::repeat_byte(2),
            },
        }
    }

    #[tokio::test]
    async fn attestation_batches_release_only_safe_and_enabled_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = make_store(4, None, Some(ExecutionAddress::ZERO), dir.path()).await;
        let keys = store.keys();
        let item = |k: usize, index: u64, target: u64| AttestationToSign {
            pubkey: keys[k].pubkey,
            validator_index: k as u64,
            committee_index: index,
            committee_length: 4,
            committee_position: k as u64,
            data: data(16, index, target),
        };
        let batch = store
            .sign_attestations(vec![item(0, 0, 2), item(1, 0, 2), item(2, 1, 2)])
            .await
            .unwrap();
        assert_eq!(batch.signed.len(), 3);
        assert!(batch.refused.is_empty());
        // Same keys, conflicting data for the same target: refused; a held key: refused.
        store.set_signing_state(
            &keys[3].pubkey,
            SigningState::Held {
                until: types::Epoch(9),
            },
        );
        let mut conflicting = item(0, 0, 2);
        conflicting.data.beacon_block_root = Hash256::repeat_byte(9);
        let batch = store
            .sign_attestations(vec![conflicting, item(1, 0, 2), item(3, 0, 2)])
            .await
            .unwrap();
        assert_eq!(batch.signed.len(), 1, "the identical re-sign only");
        assert_eq!(batch.signed[0].0.validator_index, 1);
        let reasons: Vec<&str> = batch.refused.iter().map(|(_, r)| r.as_str()).collect();
        assert!(
            reasons.iter().any(|r| r.contains("double vote")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("doppelganger")),
            "{reasons:?}"
        );
        assert!(
            store
                .sign_randao(keys[3].pubkey, types::Epoch(1))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn fee_recipient_rules() {
        let dir = tempfile::tempdir().unwrap();
        let vault = ExecutionAddress::repeat_byte(1);
        let own = ExecutionAddress::repeat_byte(2);
        let other = ExecutionAddress::repeat_byte(3);
        let strict = FeePolicy {
            vault,
            allow_other: false,
        };
        let store = make_store(1, Some(strict), Some(own), dir.path()).await;
        let pk = store.keys()[0].pubkey;
        assert_eq!(store.fee_recipient(&pk), Some(vault));
        assert!(store.fee_recipient_allowed(&pk, vault).is_ok());
        assert!(store.fee_recipient_allowed(&pk, own).is_err());

        let dir = tempfile::tempdir().unwrap();
        let lenient = FeePolicy {
            vault,
            allow_other: true,
        };
        let store = make_store(1, Some(lenient), Some(own), dir.path()).await;
        assert_eq!(store.fee_recipient(&pk), Some(own));
        assert!(store.fee_recipient_allowed(&pk, own).is_ok());
        assert!(store.fee_recipient_allowed(&pk, vault).is_ok());
        let expected = store.fee_recipient_allowed(&pk, other).unwrap_err().0;
        assert!(expected.contains(&vault.to_string()) && expected.contains(&own.to_string()));

        let dir = tempfile::tempdir().unwrap();
        let solo = make_store(1, None, Some(own), dir.path()).await;
        assert!(solo.fee_recipient_allowed(&pk, own).is_ok());
        assert!(solo.fee_recipient_allowed(&pk, other).is_err());
    }

    #[test]
    fn groups_share_roots() {
        let a = PublicKeyBytes::repeat_byte(1);
        let b = PublicKeyBytes::repeat_byte(2);
        let r1 = Hash256::repeat_byte(1);
        let r2 = Hash256::repeat_byte(2);
        let mut asked = Vec::new();
        let (groups, positions) =
            ValidatorStore::<MinimalEthSpec>::group_by_root([(r1, a), (r2, b), (r1, b)], |i| {
                asked.push(i);
                SignableMessage {
                    fork_info: None,
                    signable: Signable::AggregationSlot(types::Slot(i as u64)),
                }
            });
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].pubkeys, vec![a, b]);
        assert_eq!(positions, vec![(0, 0), (1, 0), (0, 1)]);
        assert_eq!(asked, vec![0, 1], "one message per distinct root");
        assert_eq!(
            groups[1].message.signable,
            Signable::AggregationSlot(types::Slot(1))
        );
    }
}
