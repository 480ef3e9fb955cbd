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
//! - a block whose slot, proposer or fork differs from the duty is refused.

mod definitions;
mod messages;
mod registry;
mod slashable;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use signer::Signer;
use slashing_protection::SlashingProtection;
use types::api::ValidatorData;
use types::{
    ChainSpec, DomainKind, Epoch, EthSpec, ExecutionAddress, Graffiti, Hash256, PublicKeyBytes,
};

pub use definitions::{Defaults, Definitions, ValidatorDefinition, graffiti_from_str};
pub use messages::{AggregateToSign, ContributionToSign, SyncSelection};
pub use registry::{KeyInfo, RefreshSummary, SigningState};
pub use slashable::{AttestationBatch, AttestationToSign, ProposalDuty};

use crate::config::FeePolicy;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use registry::Registry;

/// Keys, chain view, settings and slashing protection; the only producer of duty signatures.
pub struct ValidatorStore<E: EthSpec> {
    signer: Arc<dyn Signer>,
    slashing: Arc<dyn SlashingProtection>,
    spec: Arc<ChainSpec>,
    genesis_validators_root: Hash256,
    registry: RwLock<Registry>,
    definitions: Mutex<Definitions>,
    fee_policy: Option<FeePolicy>,
    metrics: Arc<Metrics>,
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
            signer: parts.signer,
            slashing: parts.slashing,
            spec: parts.spec,
            genesis_validators_root: parts.genesis_validators_root,
            definitions: Mutex::new(parts.definitions),
            fee_policy: parts.fee_policy,
            metrics: parts.metrics,
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

    /// Indices of every key the chain knows (any status), sorted.
    pub fn known_indices(&self) -> Vec<u64> {
        let mut indices: Vec<u64> = self.registry.read().all().filter_map(|k| k.index).collect();
        indices.sort_unstable();
        indices
    }

    /// Applies a validators query to the keys; logs what changed; updates the key metrics.
    pub fn apply_validator_data(&self, data: &[ValidatorData]) -> RefreshSummary {
        let (summary, counts) = {
            let mut registry = self.registry.write();
            let summary = registry.apply(data);
            (summary, registry.status_counts())
        };
        for (pubkey, from, to) in &summary.status_changes {
            tracing::debug!(%pubkey, from = from.map_or("unknown", |s| s.as_str()), to = %to, "validator status");
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

    // ---- doppelganger gating ----

    /// Whether `pubkey` may sign now.
    pub fn is_signing_enabled(&self, pubkey: &PublicKeyBytes) -> bool {
        self.registry
            .read()
            .get(pubkey)
            .is_some_and(|k| k.signing == SigningState::Enabled)
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
        items.into_iter().partition(|item| {
            registry
                .get(&pubkey(item))
                .is_some_and(|k| k.signing == SigningState::Enabled)
        })
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

    /// Whether a block paying `found` may be signed for `pubkey` (pool safety).
    pub(crate) fn fee_recipient_allowed(
        &self,
        pubkey: &PublicKeyBytes,
        found: ExecutionAddress,
    ) -> std::result::Result<(), String> {
        let configured = self.definitions.lock().fee_recipient(pubkey);
        match (&self.fee_policy, configured) {
            (Some(policy), configured) if policy.permits(found, configured) => Ok(()),
            (Some(policy), Some(configured)) if policy.allow_other => {
                Err(format!("{} or {configured}", policy.vault))
            }
            (Some(policy), _) => Err(policy.vault.to_string()),
            (None, Some(configured)) if configured == found => Ok(()),
            (None, Some(configured)) => Err(configured.to_string()),
            (None, None) => Err("a configured fee recipient (none is set)".to_owned()),
        }
    }

    /// Signs groups of keys over shared roots (no slashing check: callers are the non-slashable
    /// message kinds, or have checked).
    pub(crate) async fn sign_grouped(
        &self,
        groups: Vec<signer::SigningGroup>,
    ) -> Result<Vec<Vec<types::SignatureBytes>>> {
        Ok(self.signer.sign_groups(groups).await?)
    }

    /// Groups `items` by signing root: returns the groups and, per item, (group, position).
    pub(crate) fn group_by_root(
        items: impl IntoIterator<Item = (Hash256, PublicKeyBytes)>,
    ) -> (Vec<signer::SigningGroup>, Vec<(usize, usize)>) {
        let mut groups: Vec<signer::SigningGroup> = Vec::new();
        let mut by_root: HashMap<Hash256, usize> = HashMap::new();
        let mut positions = Vec::new();
        for (root, pubkey) in items {
            let group = *by_root.entry(root).or_insert_with(|| {
                groups.push(signer::SigningGroup {
                    signing_root: root,
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
