//! Server-sent events: subscription with repeated `topics=` (proven on a legacy node, which
//! ignores the comma form), parsing of every modelled event, skipping malformed events,
//! reconnecting after the stream closes, and moving to another node when one goes down.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast;
use types::api::EventTopic;
use types::{ChainSpec, Epoch, ForkName, MinimalEthSpec, Slot};
use validator::beacon_node::{
    BeaconEvent, BeaconNodeClient, BeaconNodeFallback, EventService, EventsConfig, FallbackConfig,
    Timeouts,
};
use validator::executor::{ShutdownReason, TaskExecutor};
use validator::testing::{
    ApiMode, DownMode, InteropKeypair, MockBeaconNode, MockConfig, SlotEvents, now_secs, spec_at,
};

type E = MinimalEthSpec;

async fn mock() -> MockBeaconNode<E> {
    let pubkeys: Vec<_> = InteropKeypair::range(16).iter().map(|k| k.pubkey).collect();
    let mut config = MockConfig::new(
        spec_at(&ChainSpec::minimal(), ForkName::Deneb).unwrap(),
        now_secs() - 60,
        &pubkeys,
    );
    // Events only when the test pushes them: no dependence on slot timing.
    config.slot_events = SlotEvents::Off;
    MockBeaconNode::start(config).await.unwrap()
}

fn client(mock: &MockBeaconNode<E>) -> BeaconNodeClient {
    BeaconNodeClient::new(&mock.url(), Timeouts::uniform(Duration::from_secs(2))).unwrap()
}

fn events_config() -> EventsConfig {
    EventsConfig {
        topics: EventTopic::ALL.to_vec(),
        idle_timeout: Duration::from_secs(30),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        channel_capacity: 64,
    }
}

async fn next(receiver: &mut broadcast::Receiver<BeaconEvent>) -> BeaconEvent {
    tokio::time::timeout(Duration::from_secs(5), receiver.recv())
        .await
        .expect("an event within 5 s")
        .expect("channel open")
}

/// Pushes slot events until the subscriber is connected (the first delivered event proves it).
async fn wait_connected(mock: &MockBeaconNode<E>, receiver: &mut broadcast::Receiver<BeaconEvent>) {
    for _ in 0..250 {
        mock.emit_slot_events();
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(20), receiver.recv()).await {
            while receiver.try_recv().is_ok() {}
            return;
        }
    }
    panic!("event stream never connected");
}

const REORG: &str = r#"{"slot":"200", "depth":"50", "old_head_block":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "new_head_block":"0x76262e91970d375a19bfe8a867288d7b9cde43c8635f598d93d39d041706fc76", "old_head_state":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "new_head_state":"0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9", "epoch":"2", "execution_optimistic": false}"#;

#[tokio::test]
async fn stream_parses_topics_with_repeated_parameters() {
    let mock = mock().await;
    mock.set_api_mode(ApiMode::Legacy);
    let stream = client(&mock)
        .subscribe_events(&EventTopic::ALL)
        .await
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let request = mock
        .requests()
        .into_iter()
        .find(|r| r.route == "/eth/v1/events")
        .unwrap();
    assert!(
        request
            .uri
            .contains("topics=head&topics=block&topics=chain_reorg&topics=finalized_checkpoint"),
        "{}",
        request.uri
    );
    mock.emit_slot_events();
    let head_slot = mock.clock().now_slot_or_genesis();
    let first = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(first, BeaconEvent::Block(b) if b.slot == head_slot && b.block == mock.block_root(head_slot))
    );
    match stream.next().await.unwrap().unwrap() {
        BeaconEvent::Head(head) => {
            assert_eq!(head.block, mock.block_root(head_slot));
            assert_eq!(
                head.current_duty_dependent_root,
                mock.block_root(Slot(8 * (head_slot.as_u64() / 8)) - 1)
            );
        }
        other => panic!("expected head, got {other:?}"),
    }
    mock.emit_event("attestation", "{}");
    mock.emit_event("head", r#"{"slot": "nope"}"#);
    mock.emit_event("chain_reorg", REORG);
    let malformed = stream.next().await.unwrap().unwrap_err();
    assert!(
        malformed.to_string().contains("event \"head\""),
        "{malformed}"
    );
    match stream.next().await.unwrap().unwrap() {
        BeaconEvent::ChainReorg(reorg) => assert_eq!((reorg.depth, reorg.epoch), (50, Epoch(2))),
        other => panic!("expected chain_reorg, got {other:?}"),
    }
    mock.emit_event(
        "finalized_checkpoint",
        r#"{"block":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "state":"0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9", "epoch":"2", "execution_optimistic": false }"#,
    );
    let finalized = stream.next().await.unwrap().unwrap();
    assert_eq!(finalized.topic(), EventTopic::FinalizedCheckpoint);
}

#[tokio::test]
async fn service_reconnects_and_skips_malformed_events() {
    let mock = mock().await;
    let fallback = Arc::new(BeaconNodeFallback::new(
        vec![client(&mock)],
        FallbackConfig::new::<E>(),
    ));
    let service = EventService::new(fallback, events_config());
    let mut receiver = service.subscribe();
    let (executor, _shutdown) = TaskExecutor::new();
    service.spawn(&executor);
    wait_connected(&mock, &mut receiver).await;

    mock.emit_event("head", "not json");
    mock.emit_event("chain_reorg", REORG);
    assert!(
        matches!(next(&mut receiver).await, BeaconEvent::ChainReorg(_)),
        "malformed event skipped, stream alive"
    );

    mock.close_event_streams();
    wait_connected(&mock, &mut receiver).await;
    assert!(
        mock.request_count("GET", "/eth/v1/events") >= 2,
        "reconnected"
    );
    mock.emit_event("chain_reorg", REORG);
    assert!(matches!(
        next(&mut receiver).await,
        BeaconEvent::ChainReorg(_)
    ));

    executor.shutdown(ShutdownReason::Requested { by: "test".into() });
    assert!(
        executor
            .wait_for_tasks(Duration::from_secs(5))
            .await
            .is_empty(),
        "the events task stops on shutdown"
    );
}

#[tokio::test]
async fn service_moves_to_another_node() {
    let a = mock().await;
    let pubkeys: Vec<_> = InteropKeypair::range(16).iter().map(|k| k.pubkey).collect();
    let mut config = MockConfig::new(a.spec(), a.clock().genesis().as_secs(), &pubkeys);
    config.slot_events = SlotEvents::Off;
    let b = MockBeaconNode::<E>::start(config).await.unwrap();
    let fallback = Arc::new(BeaconNodeFallback::new(
        vec![client(&a), client(&b)],
        FallbackConfig::new::<E>(),
    ));
    fallback.update_all_health().await;
    let service = EventService::new(fallback.clone(), events_config());
    let mut receiver = service.subscribe();
    let token = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(service.run(token.clone()));
    wait_connected(&a, &mut receiver).await;
    a.set_down(Some(DownMode::Refused)).await.unwrap();
    fallback.update_all_health().await;
    // Events from `a` may still be in flight: first wait for the service to subscribe to `b`,
    // then for an event that can only have come from `b`'s stream.
    for _ in 0..250 {
        if b.request_count("GET", "/eth/v1/events") >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        b.request_count("GET", "/eth/v1/events") >= 1,
        "the service subscribed to the second node"
    );
    while receiver.try_recv().is_ok() {}
    wait_connected(&b, &mut receiver).await;
    token.cancel();
    task.await.unwrap();
}
