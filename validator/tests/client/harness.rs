//! Running the whole client in-process against mock beacon nodes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use signer::{LocalSigner, Signer};
use tokio_util::sync::CancellationToken;
use types::{ChainSpec, ExecutionAddress, ForkName, MinimalEthSpec, Slot};
use validator::client::{self, Keys, RunningClient};
use validator::config::{Config, DutyConfig, FeePolicy, KeySource, SlashingDb};
use validator::executor::ShutdownReason;
use validator::testing::{TestNode, spec_at, spec_with_slot_seconds};

/// Slot length of these tests.
pub(crate) const SLOT_SECONDS: u64 = 2;
/// The pool vault of these tests.
pub(crate) const VAULT: ExecutionAddress = ExecutionAddress::new([0x5a; 20]);

pub(crate) type E = MinimalEthSpec;

/// The minimal preset with `fork` (and every earlier fork) from genesis and 2-second slots.
pub(crate) fn spec(fork: ForkName) -> ChainSpec {
    let spec = spec_at(&ChainSpec::minimal(), fork).expect("fork spec");
    spec_with_slot_seconds(&spec, SLOT_SECONDS).expect("slot duration")
}

/// A mock with `validators` interop keys whose genesis was `slots_ago` slots ago.
pub(crate) async fn mock(fork: ForkName, validators: u64, slots_ago: u64) -> TestNode<E> {
    TestNode::start(spec(fork), validators, slots_ago)
        .await
        .expect("mock starts")
}

/// A signer holding interop keys `0..count`.
pub(crate) fn interop_signer(count: u64) -> Arc<dyn Signer> {
    let keys = (0..count).map(|i| signer::derivation::interop_secret_key(i).expect("interop key"));
    Arc::new(LocalSigner::new(keys))
}

/// A configuration for `nodes` with the data directory `datadir`, the pool vault as fee
/// recipient and `doppelganger_epochs`.
pub(crate) fn config(datadir: &Path, nodes: &[String], doppelganger_epochs: u64) -> Config {
    Config {
        datadir: datadir.to_path_buf(),
        beacon_nodes: nodes.to_vec(),
        broadcast: Default::default(),
        keys: KeySource {
            keystores_dir: datadir.join("keystores"),
            passwords: signer::loader::PasswordSource::SharedFile(datadir.join("password")),
            key_cache: None,
        },
        slashing_db: SlashingDb::Sqlite(datadir.join("slashing_protection.sqlite")),
        duties: DutyConfig {
            fee_policy: Some(FeePolicy {
                vault: VAULT,
                allow_other: false,
            }),
            doppelganger_epochs,
            ..DutyConfig::default()
        },
        pool: None,
        keymanager: None,
        remote_signer: Default::default(),
    }
}

/// Bootstraps from the configured nodes and starts the client with `signer`.
pub(crate) async fn start(config: &Config, signer: Arc<dyn Signer>) -> RunningClient {
    let (genesis, spec) = client::bootstrap(&config.beacon_nodes, &CancellationToken::new())
        .await
        .expect("bootstrap");
    client::start(config, Keys::Signer(signer), genesis, spec)
        .await
        .expect("client starts")
}

/// Runs the client for `duration`, then stops it gracefully.
pub(crate) async fn run_for(client: RunningClient, duration: Duration) -> ShutdownReason {
    client
        .run_until(async move {
            tokio::time::sleep(duration).await;
            "test".to_owned()
        })
        .await
}

/// Waits until just after the start of the next slot of `node`; returns that slot.
pub(crate) async fn next_slot_start<T: types::EthSpec>(node: &TestNode<T>) -> Slot {
    let clock = node.mock.clock();
    let next = clock.now_slot().map_or(Slot(0), |s| s + 1);
    tokio::time::sleep(clock.duration_to_slot(next) + Duration::from_millis(50)).await;
    next
}

pub(crate) use validator::testing::Logs;
