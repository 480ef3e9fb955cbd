//! Adding and removing keys while the client runs (the Keymanager API).
//!
//! Order of operations the callers follow: a key is added to the signer and registered with
//! slashing protection *before* [`ValidatorStore::add_keys`] makes it known here (held); it is
//! removed here *before* it leaves the signer, and [`ValidatorStore::remove_keys`] only returns
//! once no signing operation that could still use it is in flight, so slashing protection data
//! exported afterwards covers every signature the key ever produced here.

use tokio::sync::RwLockReadGuard;
use types::{EthSpec, PublicKeyBytes};

use super::{KeyInfo, SigningState, ValidatorStore};

impl<E: EthSpec> ValidatorStore<E> {
    /// Held by every signing entry point from its key check to its last signature.
    pub(crate) async fn signing_permit(&self) -> RwLockReadGuard<'_, ()> {
        self.signing_gate.read().await
    }

    /// Makes `pubkeys` known in `state` (their index comes with the next validators refresh).
    /// Each key must already be in the signer and registered with slashing protection. Returns
    /// the keys that were added (those already present are left as they are).
    pub fn add_keys(&self, pubkeys: &[PublicKeyBytes], state: SigningState) -> Vec<PublicKeyBytes> {
        let added: Vec<PublicKeyBytes> = {
            let mut registry = self.registry.write();
            pubkeys
                .iter()
                .copied()
                .filter(|pubkey| registry.insert(*pubkey, state))
                .collect()
        };
        self.update_key_metrics();
        added
    }

    /// Stops signing with `pubkeys`: removes them, then waits until every signing operation
    /// that started before is finished. Returns what was known about the removed keys.
    pub async fn remove_keys(&self, pubkeys: &[PublicKeyBytes]) -> Vec<KeyInfo> {
        // Holding the write side excludes every signing operation: those in flight finish
        // first, those that start afterwards no longer find the keys.
        let _exclusive = self.signing_gate.write().await;
        let removed: Vec<KeyInfo> = {
            let mut registry = self.registry.write();
            pubkeys
                .iter()
                .filter_map(|pk| registry.remove(pk))
                .collect()
        };
        self.update_key_metrics();
        removed
    }

    /// Refreshes the key gauges (by status, and held/released) after the key set changed.
    fn update_key_metrics(&self) {
        let counts = self.registry.read().status_counts();
        self.metrics.validator_keys.reset();
        for (label, count) in counts {
            self.metrics
                .validator_keys
                .with_label_values(&[label])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.update_doppelganger_metrics();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use signer::{LocalSigner, Signer};
    use slashing_protection::{SlashingProtection, SqliteConfig, SqliteStore};
    use types::{ChainSpec, Epoch, Hash256, MinimalEthSpec};

    use super::*;
    use crate::metrics::Metrics;
    use crate::store::{Defaults, Definitions, StoreParts};

    #[tokio::test]
    async fn removal_waits_for_signing_in_flight_and_stops_new_signing() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<_> = (0..2)
            .map(|i| signer::derivation::interop_secret_key(i).unwrap())
            .collect();
        let signer = Arc::new(LocalSigner::new(keys));
        let gvr = Hash256::repeat_byte(3);
        let slashing: Arc<dyn SlashingProtection> = Arc::new(
            SqliteStore::open(dir.path().join("sp.sqlite"), gvr, SqliteConfig::default())
                .await
                .unwrap(),
        );
        let pubkeys = signer.public_keys();
        slashing.register_validators(&pubkeys).await.unwrap();
        let store = Arc::new(ValidatorStore::<MinimalEthSpec>::new(StoreParts {
            signer: signer.clone(),
            slashing,
            spec: Arc::new(ChainSpec::minimal()),
            genesis_validators_root: gvr,
            definitions: Definitions::in_memory(
                Defaults {
                    fee_recipient: None,
                    gas_limit: 1,
                    graffiti: None,
                },
                None,
            ),
            fee_policy: None,
            metrics: Arc::new(Metrics::new()),
            initial_state: SigningState::Enabled,
        }));
        let target = pubkeys[0];

        // A signing operation in flight holds the gate: removal waits for it.
        let permit = store.signing_permit().await;
        let remover = {
            let store = store.clone();
            tokio::spawn(async move { store.remove_keys(&[target]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !remover.is_finished(),
            "removal waits for the signing in flight"
        );
        assert!(store.key(&target).is_some());
        drop(permit);
        let removed = remover.await.unwrap();
        assert_eq!(removed.len(), 1);
        assert!(store.key(&target).is_none());
        assert!(matches!(
            store.sign_randao(target, Epoch(1)).await,
            Err(crate::Error::UnknownValidator(pk)) if pk == target
        ));
        assert!(store.sign_randao(pubkeys[1], Epoch(1)).await.is_ok());

        let held = SigningState::Held { until: Epoch(5) };
        assert_eq!(store.add_keys(&[target, pubkeys[1]], held), vec![target]);
        assert!(matches!(
            store.sign_randao(target, Epoch(1)).await,
            Err(crate::Error::DoppelgangerHeld { .. })
        ));
        let text = store.metrics().gather();
        assert!(
            text.contains("poolvc_doppelganger_keys{state=\"held\"} 1"),
            "{text}"
        );
    }
}
