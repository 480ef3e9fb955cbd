//! Several beacon nodes behind `BeaconNodeFallback`: a node that is down (refused or 503), slow,
//! serving malformed JSON, on another chain, with another config or preset, or syncing never
//! stops a call that another node can serve; every failure is logged with the node and reason
//! and visible in the node's status; nothing panics.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use types::{ChainSpec, Epoch, ForkName, Hash256, MainnetEthSpec, MinimalEthSpec, Slot};
use validator::beacon_node::{
    BeaconNodeClient, BeaconNodeFallback, BroadcastTopic, ChainReference, Error, FallbackConfig,
    IncompatibleReason, NodeHealth, Timeouts,
};
use validator::clock::SlotClock;
use validator::executor::TaskExecutor;
use validator::testing::{
    DownMode, InteropKeypair, Malformed, MockBeaconNode, MockConfig, SyncState, now_secs, spec_at,
};

type E = MinimalEthSpec;

/// Captures log output of the current thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

fn config(spec: &ChainSpec, genesis: u64) -> MockConfig {
    let pubkeys: Vec<_> = InteropKeypair::range(16).iter().map(|k| k.pubkey).collect();
    MockConfig::new(spec.clone(), genesis, &pubkeys)
}

fn capella() -> ChainSpec {
    spec_at(&ChainSpec::minimal(), ForkName::Capella).unwrap()
}

/// Two identical mocks ("a" first in order) and a fallback over them with 500 ms timeouts.
async fn pair() -> (MockBeaconNode<E>, MockBeaconNode<E>, BeaconNodeFallback) {
    let config = config(&capella(), now_secs() - 60);
    let a = MockBeaconNode::start(config.clone()).await.unwrap();
    let b = MockBeaconNode::start(config).await.unwrap();
    let fallback = fallback(&[&a.url(), &b.url()], FallbackConfig::new::<E>());
    (a, b, fallback)
}

fn fallback(urls: &[&str], config: FallbackConfig) -> BeaconNodeFallback {
    let clients = urls
        .iter()
        .map(|url| {
            BeaconNodeClient::new(url, Timeouts::uniform(Duration::from_millis(500))).unwrap()
        })
        .collect();
    BeaconNodeFallback::new(clients, config)
}

async fn attestation_data(fallback: &BeaconNodeFallback) -> Result<types::AttestationData, Error> {
    fallback
        .first_success("attestation_data", |client| async move {
            client.get_attestation_data(Slot(3), 0).await
        })
        .await
}

const DATA_ROUTE: &str = "/eth/v1/validator/attestation_data";

fn last_error(fallback: &BeaconNodeFallback, index: usize) -> String {
    fallback.status()[index]
        .stats
        .last_error
        .clone()
        .map(|(error, _)| error)
        .unwrap_or_default()
}

#[tokio::test]
async fn healthy_nodes_are_used_in_order() {
    let (a, b, fallback) = pair().await;
    fallback.update_all_health().await;
    let status = fallback.status();
    assert_eq!(
        (status[0].health.clone(), status[1].health.clone()),
        (NodeHealth::Synced, NodeHealth::Synced)
    );
    assert_eq!(
        fallback
            .reference()
            .unwrap()
            .genesis
            .genesis_validators_root,
        a.genesis_validators_root()
    );
    attestation_data(&fallback).await.unwrap();
    assert_eq!(
        (
            a.request_count("GET", DATA_ROUTE),
            b.request_count("GET", DATA_ROUTE)
        ),
        (1, 0)
    );
    assert_eq!(fallback.status()[0].stats.successes, 1);
    assert!(fallback.status()[0].stats.mean_latency.is_some());
}

#[tokio::test]
async fn down_node_refused_or_unavailable() {
    let logs = Logs::default();
    let _guard = logs.install();
    for mode in [DownMode::Refused, DownMode::Unavailable] {
        let (a, b, fallback) = pair().await;
        fallback.update_all_health().await;
        a.set_down(Some(mode)).await.unwrap();
        attestation_data(&fallback).await.unwrap();
        assert_eq!(b.request_count("GET", DATA_ROUTE), 1, "{mode:?}");
        let error = last_error(&fallback, 0);
        match mode {
            DownMode::Refused => {
                assert!(error.contains("cannot reach"), "{error}");
                assert_eq!(
                    fallback.status()[0].health,
                    NodeHealth::Offline,
                    "unreachable nodes are demoted at once"
                );
            }
            DownMode::Unavailable => assert!(error.contains("HTTP 503"), "{error}"),
        }
        // The health check agrees, and recovery is noticed.
        fallback.update_all_health().await;
        assert_eq!(fallback.status()[0].health, NodeHealth::Offline);
        a.set_down(None).await.unwrap();
        fallback.update_all_health().await;
        assert_eq!(fallback.status()[0].health, NodeHealth::Synced, "{mode:?}");
    }
    let text = logs.text();
    assert!(
        text.contains("beacon node call failed") && text.contains("attestation_data"),
        "{text}"
    );
    assert!(
        text.contains("cannot reach") && text.contains("HTTP 503"),
        "{text}"
    );
}

#[tokio::test]
async fn per_route_failure_sends_only_that_call_elsewhere() {
    let (a, b, fallback) = pair().await;
    fallback.update_all_health().await;
    a.fail_route("GET", DATA_ROUTE, 500);
    attestation_data(&fallback).await.unwrap();
    assert_eq!(b.request_count("GET", DATA_ROUTE), 1);
    assert!(
        last_error(&fallback, 0).contains("HTTP 500"),
        "{}",
        last_error(&fallback, 0)
    );
    // Other calls still go to the first node, which stays healthy.
    fallback.update_all_health().await;
    assert_eq!(fallback.status()[0].health, NodeHealth::Synced);
    let version = fallback
        .first_success("version", |client| async move {
            client.get_node_version().await
        })
        .await
        .unwrap();
    assert!(version.starts_with("poolvc-mock"));
    assert_eq!(a.request_count("GET", "/eth/v1/node/version"), 1);
    a.clear_route_failures();
    attestation_data(&fallback).await.unwrap();
    assert_eq!(a.request_count("GET", DATA_ROUTE), 2);
}

#[tokio::test]
async fn slow_node_times_out_and_the_other_answers() {
    let (a, b, fallback) = pair().await;
    fallback.update_all_health().await;
    a.set_latency(Some(Duration::from_millis(1500)));
    let started = std::time::Instant::now();
    attestation_data(&fallback).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "waited for the slow node: {:?}",
        started.elapsed()
    );
    assert_eq!(b.request_count("GET", DATA_ROUTE), 1);
    let error = last_error(&fallback, 0);
    assert!(error.contains("did not answer within 500ms"), "{error}");
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_naming_the_endpoint() {
    let (a, b, fallback) = pair().await;
    fallback.update_all_health().await;
    a.set_malformed(Malformed::Route(DATA_ROUTE.into()));
    attestation_data(&fallback).await.unwrap();
    assert_eq!(b.request_count("GET", DATA_ROUTE), 1);
    let error = last_error(&fallback, 0);
    assert!(
        error.contains("invalid response from") && error.contains("attestation_data"),
        "{error}"
    );
    // Malformed everywhere: the health check cannot vouch for the node either.
    a.set_malformed(Malformed::All);
    fallback.update_all_health().await;
    assert_eq!(fallback.status()[0].health, NodeHealth::Offline);
    assert!(last_error(&fallback, 0).contains("invalid response"));
}

#[tokio::test]
async fn wrong_genesis_root_is_never_used() {
    let logs = Logs::default();
    let _guard = logs.install();
    let (a, b, fallback) = pair().await;
    // The reference is learnt from "a" (first in order); then "b" turns out to be elsewhere.
    fallback.update_all_health().await;
    b.set_genesis_root_override(Some(Hash256::repeat_byte(0xee)));
    a.set_down(Some(DownMode::Unavailable)).await.unwrap();
    fallback.update_all_health().await;
    let status = fallback.status();
    assert!(
        matches!(
            status[1].health,
            NodeHealth::Incompatible(IncompatibleReason::WrongGenesis { .. })
        ),
        "{:?}",
        status[1].health
    );
    b.clear_requests();
    let err = attestation_data(&fallback).await.unwrap_err();
    assert_eq!(
        b.request_count("GET", DATA_ROUTE),
        0,
        "an incompatible node is never called"
    );
    let text = err.to_string();
    assert!(
        text.contains("HTTP 503") && text.contains("wrong genesis validators root"),
        "{text}"
    );
    assert!(logs.text().contains("different chain"), "{}", logs.text());
}

#[tokio::test]
async fn expected_chain_overrides_the_first_node() {
    let (a, b, _) = pair().await;
    a.set_genesis_root_override(Some(Hash256::repeat_byte(1)));
    let genesis = b.client_genesis().await;
    // Fully expected chain, or only the genesis (the config is then learnt from the first
    // node agreeing with it: "b").
    for expected_spec in [Some(capella()), None] {
        let config = FallbackConfig {
            expected_genesis: Some(genesis),
            expected_spec,
            ..FallbackConfig::new::<E>()
        };
        let fallback = fallback(&[&a.url(), &b.url()], config);
        fallback.update_all_health().await;
        assert_eq!(
            fallback.reference().unwrap(),
            ChainReference {
                genesis,
                spec: capella()
            }
        );
        assert!(matches!(
            fallback.status()[0].health,
            NodeHealth::Incompatible(_)
        ));
        assert_eq!(fallback.status()[1].health, NodeHealth::Synced);
        attestation_data(&fallback).await.unwrap();
        assert_eq!(a.request_count("GET", DATA_ROUTE), 0);
    }
    // Only the config expected: "a" agrees with it, so the genesis is learnt from "a".
    let config = FallbackConfig {
        expected_spec: Some(capella()),
        ..FallbackConfig::new::<E>()
    };
    let fallback = fallback(&[&a.url(), &b.url()], config);
    fallback.update_all_health().await;
    assert_eq!(
        fallback
            .reference()
            .unwrap()
            .genesis
            .genesis_validators_root,
        Hash256::repeat_byte(1)
    );
    assert!(matches!(
        fallback.status()[1].health,
        NodeHealth::Incompatible(_)
    ));
}

#[tokio::test]
async fn wrong_config_and_wrong_preset_are_incompatible() {
    let genesis = now_secs() - 60;
    let good = MockBeaconNode::<E>::start(config(&capella(), genesis))
        .await
        .unwrap();
    let other_schedule = validator::testing::spec_with_forks(
        &ChainSpec::minimal(),
        &[(ForkName::Capella, Epoch(0)), (ForkName::Deneb, Epoch(4))],
    )
    .unwrap();
    let mut cfg = config(&other_schedule, genesis);
    cfg.genesis_validators_root = good.genesis_validators_root();
    let scheduled = MockBeaconNode::<E>::start(cfg).await.unwrap();
    // A mainnet-preset node with this chain's fork versions: only the preset differs.
    let mut map = spec_at(&ChainSpec::mainnet(), ForkName::Capella)
        .unwrap()
        .raw_config()
        .clone();
    for (key, value) in capella().raw_config() {
        if key.ends_with("_FORK_VERSION") {
            map.insert(key.clone(), value.clone());
        }
    }
    let mut cfg = config(&ChainSpec::from_config_map(&map).unwrap(), genesis);
    cfg.genesis_validators_root = good.genesis_validators_root();
    let mainnet = MockBeaconNode::<MainnetEthSpec>::start(cfg).await.unwrap();

    let fallback = fallback(
        &[&good.url(), &scheduled.url(), &mainnet.url()],
        FallbackConfig::new::<E>(),
    );
    fallback.update_all_health().await;
    let status = fallback.status();
    assert_eq!(status[0].health, NodeHealth::Synced);
    match &status[1].health {
        NodeHealth::Incompatible(IncompatibleReason::WrongConfig(detail)) => {
            assert!(detail.contains("deneb: epoch 4"), "{detail}")
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        matches!(
            status[2].health,
            NodeHealth::Incompatible(IncompatibleReason::WrongPreset(_))
        ),
        "{}",
        status[2].health
    );
    assert!(
        last_error(&fallback, 2).contains("preset"),
        "{}",
        last_error(&fallback, 2)
    );
}

#[tokio::test]
async fn syncing_node_is_ranked_last_and_refuses_duties() {
    let (a, b, fallback) = pair().await;
    a.set_sync_state(SyncState::Syncing { distance: 1000 });
    // Before any health check the syncing node is tried first: its 503 sends the call on.
    attestation_data(&fallback).await.unwrap();
    assert_eq!(
        (
            a.request_count("GET", DATA_ROUTE),
            b.request_count("GET", DATA_ROUTE)
        ),
        (1, 1)
    );
    assert!(
        last_error(&fallback, 0).contains("syncing"),
        "{}",
        last_error(&fallback, 0)
    );
    fallback.update_all_health().await;
    assert_eq!(
        fallback.status()[0].health,
        NodeHealth::Syncing { distance: 1000 }
    );
    assert!(last_error(&fallback, 0).contains("is syncing (1000 slots behind)"));
    attestation_data(&fallback).await.unwrap();
    assert_eq!(
        (
            a.request_count("GET", DATA_ROUTE),
            b.request_count("GET", DATA_ROUTE)
        ),
        (1, 2),
        "ranked after the synced node"
    );
    a.set_sync_state(SyncState::Optimistic);
    fallback.update_all_health().await;
    assert_eq!(fallback.status()[0].health, NodeHealth::Optimistic);
    assert_eq!(
        fallback.best().unwrap().url(),
        b.url(),
        "synced before optimistic"
    );
}

#[tokio::test]
async fn all_nodes_failing_reports_every_reason() {
    let (a, b, fallback) = pair().await;
    a.set_down(Some(DownMode::Refused)).await.unwrap();
    b.set_latency(Some(Duration::from_secs(2)));
    let err = attestation_data(&fallback).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("[{}]", a.url())) && text.contains(&format!("[{}]", b.url())),
        "{text}"
    );
    assert!(
        text.contains("cannot reach") && text.contains("did not answer"),
        "{text}"
    );
    let empty = BeaconNodeFallback::new(Vec::new(), FallbackConfig::new::<E>());
    assert!(matches!(
        attestation_data(&empty).await,
        Err(Error::NoNodes)
    ));
}

#[tokio::test]
async fn broadcast_reaches_every_usable_node() {
    let (a, b, mut_fallback) = pair().await;
    drop(mut_fallback);
    let mut config = FallbackConfig::new::<E>();
    config.broadcast.insert(BroadcastTopic::Subscriptions);
    let fallback = fallback(&[&a.url(), &b.url()], config);
    fallback.update_all_health().await;
    let subscription = types::api::BeaconCommitteeSubscription {
        validator_index: 1,
        committee_index: 0,
        committees_at_slot: 1,
        slot: Slot(9),
        is_aggregator: false,
    };
    let publish = |client: BeaconNodeClient| async move {
        client
            .post_beacon_committee_subscriptions(&[subscription])
            .await
    };
    fallback
        .publish(BroadcastTopic::Subscriptions, "subscriptions", publish)
        .await
        .unwrap();
    assert_eq!(a.published().beacon_committee_subscriptions.len(), 1);
    assert_eq!(b.published().beacon_committee_subscriptions.len(), 1);
    // Not configured for broadcast: the first success only.
    fallback
        .publish(BroadcastTopic::Attestations, "subscriptions", publish)
        .await
        .unwrap();
    assert_eq!(a.published().beacon_committee_subscriptions.len(), 2);
    assert_eq!(b.published().beacon_committee_subscriptions.len(), 1);
    // One node failing does not fail the broadcast.
    a.set_down(Some(DownMode::Unavailable)).await.unwrap();
    fallback.broadcast("subscriptions", publish).await.unwrap();
    assert_eq!(b.published().beacon_committee_subscriptions.len(), 2);
}

#[tokio::test]
async fn health_task_runs_under_the_executor() {
    let (a, _b, fallback) = pair().await;
    let fallback = Arc::new(fallback);
    let (executor, _shutdown) = TaskExecutor::new();
    let clock = SlotClock::from_spec(now_secs() - 60, &capella());
    fallback.spawn_health_task(&executor, clock);
    for _ in 0..100 {
        if fallback
            .status()
            .iter()
            .all(|s| s.health == NodeHealth::Synced)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        fallback
            .status()
            .iter()
            .all(|s| s.health == NodeHealth::Synced)
    );
    assert!(
        executor
            .running_tasks()
            .contains(&"beacon-node-health".to_owned())
    );
    assert!(a.request_count("GET", "/eth/v1/node/syncing") >= 1);
    executor.shutdown(validator::executor::ShutdownReason::Requested { by: "test".into() });
    assert!(
        executor
            .wait_for_tasks(Duration::from_secs(5))
            .await
            .is_empty()
    );
}

/// Genesis as the mock serves it.
trait GenesisOf {
    async fn client_genesis(&self) -> types::api::GenesisData;
}

impl GenesisOf for MockBeaconNode<E> {
    async fn client_genesis(&self) -> types::api::GenesisData {
        BeaconNodeClient::new(&self.url(), Timeouts::uniform(Duration::from_secs(2)))
            .unwrap()
            .get_genesis()
            .await
            .unwrap()
    }
}
