//! What the reports API and the dashboard read: the accounting store, the live registry, the
//! chain and the oracle key, plus a cache of report verifications.
//!
//! Invariant: a cached verification is keyed by everything it depends on that a store may
//! change (root, signature, signer): stored reports are otherwise immutable, so a cache hit is
//! the result a fresh verification would give.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pool_registry::report::ReportEnvelope;
use pool_registry::{LedgerStore, RegistryHandle};
use types::{ChainSpec, Hash256, PublicKeyBytes, SignatureBytes};

use super::error::ApiError;
use super::verify::{Verification, verify_report};

/// Verifications kept at most; the cache is cleared when full (reports are re-verified cheaply).
const VERIFICATION_CACHE_ENTRIES: usize = 4096;

/// The chain the node runs on.
#[derive(Debug, Clone)]
pub struct ChainInfo {
    /// The chain config (domains, slot duration).
    pub spec: ChainSpec,
    /// The chain's genesis validators root (binds report signatures to the chain).
    pub genesis_validators_root: Hash256,
    /// Genesis time (Unix seconds), to show dates of reference slots.
    pub genesis_time: u64,
}

impl ChainInfo {
    /// Unix time of the start of `slot`.
    pub fn slot_time(&self, slot: u64) -> u64 {
        self.genesis_time
            .saturating_add(slot.saturating_mul(self.spec.seconds_per_slot()))
    }
}

/// Per-request limits of the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// A request taking longer is answered 503.
    pub timeout: Duration,
    /// Requests handled at once; more wait (within `timeout`).
    pub max_concurrent: usize,
    /// Request bodies past this size are refused (413); every route is a GET.
    pub max_body_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_concurrent: 32,
            max_body_bytes: 1024,
        }
    }
}

type CacheKey = (Hash256, Option<SignatureBytes>, Option<PublicKeyBytes>);

struct Inner {
    store: Arc<dyn LedgerStore>,
    registry: Arc<RegistryHandle>,
    chain: ChainInfo,
    oracle: Option<PublicKeyBytes>,
    limits: RequestLimits,
    verifications: Mutex<HashMap<CacheKey, Verification>>,
}

/// Shared state of the reports API and the dashboard (cheap to clone).
#[derive(Clone)]
pub struct ReportsState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ReportsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportsState")
            .field("registry", &self.inner.registry.path())
            .field("oracle", &self.inner.oracle)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl ReportsState {
    /// State over `store` and `registry` for `chain`. `oracle` is the oracle's public key that
    /// report signatures must verify against (`None`: signatures are reported as unchecked).
    pub fn new(
        store: Arc<dyn LedgerStore>,
        registry: Arc<RegistryHandle>,
        chain: ChainInfo,
        oracle: Option<PublicKeyBytes>,
    ) -> Self {
        Self::with_limits(store, registry, chain, oracle, RequestLimits::default())
    }

    /// As [`ReportsState::new`] with explicit request limits.
    pub fn with_limits(
        store: Arc<dyn LedgerStore>,
        registry: Arc<RegistryHandle>,
        chain: ChainInfo,
        oracle: Option<PublicKeyBytes>,
        limits: RequestLimits,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                registry,
                chain,
                oracle,
                limits,
                verifications: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The accounting store.
    pub fn store(&self) -> &dyn LedgerStore {
        self.inner.store.as_ref()
    }

    /// The live registry.
    pub fn registry(&self) -> &RegistryHandle {
        &self.inner.registry
    }

    /// The chain.
    pub fn chain(&self) -> &ChainInfo {
        &self.inner.chain
    }

    /// The configured oracle key.
    pub fn oracle(&self) -> Option<&PublicKeyBytes> {
        self.inner.oracle.as_ref()
    }

    /// The request limits.
    pub fn limits(&self) -> RequestLimits {
        self.inner.limits
    }

    /// Verifies `envelopes` (cached; misses run on a blocking thread), in order.
    pub async fn verify(
        &self,
        envelopes: Vec<ReportEnvelope>,
    ) -> Result<Vec<(ReportEnvelope, Verification)>, ApiError> {
        let key = |e: &ReportEnvelope| -> CacheKey { (e.root, e.signature, e.signer) };
        let cached: Vec<Option<Verification>> = {
            let cache = self.inner.verifications.lock();
            envelopes
                .iter()
                .map(|e| cache.get(&key(e)).copied())
                .collect()
        };
        if cached.iter().all(Option::is_some) {
            return Ok(envelopes
                .into_iter()
                .zip(cached.into_iter().flatten())
                .collect());
        }
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let results: Vec<(ReportEnvelope, Verification)> = envelopes
                .into_iter()
                .zip(cached)
                .map(|(envelope, hit)| {
                    let verification = hit.unwrap_or_else(|| {
                        verify_report(
                            &envelope,
                            &inner.chain.spec,
                            inner.chain.genesis_validators_root,
                            inner.oracle.as_ref(),
                        )
                    });
                    (envelope, verification)
                })
                .collect();
            let mut cache = inner.verifications.lock();
            if cache.len() + results.len() > VERIFICATION_CACHE_ENTRIES {
                cache.clear();
            }
            for (envelope, verification) in &results {
                cache.insert(key(envelope), *verification);
            }
            results
        })
        .await
        .map_err(|e| ApiError::task(&e))
    }

    /// Verifies one report.
    pub async fn verify_one(
        &self,
        envelope: ReportEnvelope,
    ) -> Result<(ReportEnvelope, Verification), ApiError> {
        let mut out = self.verify(vec![envelope]).await?;
        out.pop()
            .ok_or_else(|| ApiError::internal("report verification returned no result"))
    }
}
