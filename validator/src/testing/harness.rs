//! A ready-made test setup: a mock node whose validators are interop keys, a client of it, and
//! signing functions that compute domains the way a validator must.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use types::{
    ChainSpec, DomainKind, Epoch, EthSpec, ForkName, Hash256, SignatureBytes, SignedRoot, Slot,
    compute_signing_root,
};

use super::{InteropKeypair, MockBeaconNode, MockConfig, spec_with_forks};
use crate::beacon_node::{BeaconNodeClient, Timeouts};

/// Unix time now, in whole seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `base` with `fork` and every earlier fork active from genesis (later forks unscheduled).
pub fn spec_at(base: &ChainSpec, fork: ForkName) -> types::Result<ChainSpec> {
    if fork == ForkName::Phase0 {
        return spec_with_forks(base, &[]);
    }
    spec_with_forks(base, &[(fork, Epoch(0))])
}

/// A mock node with interop keys and a client of it.
#[derive(Debug)]
pub struct TestNode<E: EthSpec> {
    /// The mock.
    pub mock: MockBeaconNode<E>,
    /// Its validators' keys (index = validator index).
    pub keys: Vec<InteropKeypair>,
    /// A client of the mock (5 s timeouts).
    pub client: BeaconNodeClient,
    /// The chain config.
    pub spec: ChainSpec,
    /// The genesis validators root signatures bind to.
    pub genesis_validators_root: Hash256,
}

impl<E: EthSpec> TestNode<E> {
    /// A mock with `validators` interop keys, genesis `slots_ago` slots ago (wall clock).
    pub async fn start(spec: ChainSpec, validators: u64, slots_ago: u64) -> std::io::Result<Self> {
        let keys = InteropKeypair::range(validators);
        let pubkeys: Vec<_> = keys.iter().map(|k| k.pubkey).collect();
        let genesis =
            now_secs().saturating_sub(slots_ago.saturating_mul(spec.seconds_per_slot().max(1)));
        let config = MockConfig::new(spec.clone(), genesis, &pubkeys);
        let mock = MockBeaconNode::<E>::start(config).await?;
        let client = BeaconNodeClient::new(&mock.url(), Timeouts::uniform(Duration::from_secs(5)))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let genesis_validators_root = mock.genesis_validators_root();
        Ok(Self {
            mock,
            keys,
            client,
            spec,
            genesis_validators_root,
        })
    }

    /// The domain of `kind` for a message about `epoch`.
    pub fn domain(&self, kind: DomainKind, epoch: Epoch) -> Hash256 {
        self.spec
            .get_domain(kind, epoch, self.genesis_validators_root)
    }

    /// Validator `index` signs `object` (its hash tree root) under `kind` at `epoch`.
    ///
    /// # Panics
    /// When `index` has no key.
    pub fn sign<T: SignedRoot>(
        &self,
        index: u64,
        kind: DomainKind,
        epoch: Epoch,
        object: &T,
    ) -> SignatureBytes {
        self.key(index)
            .sign(object.signing_root(self.domain(kind, epoch)))
    }

    /// Validator `index` signs an object given by its root under `kind` at `epoch`.
    ///
    /// # Panics
    /// When `index` has no key.
    pub fn sign_root(
        &self,
        index: u64,
        kind: DomainKind,
        epoch: Epoch,
        root: Hash256,
    ) -> SignatureBytes {
        self.key(index)
            .sign(compute_signing_root(root, self.domain(kind, epoch)))
    }

    fn key(&self, index: u64) -> &InteropKeypair {
        let position = usize::try_from(index).unwrap_or(usize::MAX);
        match self.keys.get(position) {
            Some(key) => key,
            None => panic!("validator {index} has no interop key in this test node"),
        }
    }

    /// The mock's current slot.
    pub fn slot(&self) -> Slot {
        self.mock.clock().now_slot_or_genesis()
    }
}

/// `spec` with slots of `seconds` (both `SECONDS_PER_SLOT` and `SLOT_DURATION_MS`), for tests
/// that must see many slots quickly.
pub fn spec_with_slot_seconds(spec: &ChainSpec, seconds: u64) -> types::Result<ChainSpec> {
    let mut map = spec.raw_config().clone();
    map.insert("SECONDS_PER_SLOT".into(), seconds.to_string().into());
    map.insert(
        "SLOT_DURATION_MS".into(),
        (seconds.saturating_mul(1000)).to_string().into(),
    );
    ChainSpec::from_config_map(&map)
}
