//! Faults of the preferred beacon node: down, slow, malformed answers, another chain, not
//! synced. The client keeps performing every duty through the other node, says why in its logs,
//! and never fails.

use std::collections::BTreeSet;
use std::time::Duration;

use types::{ForkName, Hash256, Slot};
use validator::executor::ShutdownReason;
use validator::testing::{DownMode, Malformed, MockBeaconNode, MockConfig, SyncState, TestNode};

use crate::harness::{self, E, Logs, SLOT_SECONDS};

/// A second mock of the same chain as `node`.
async fn twin(node: &TestNode<E>) -> MockBeaconNode<E> {
    let pubkeys: Vec<_> = node.keys.iter().map(|k| k.pubkey).collect();
    let genesis = node.mock.clock().genesis().as_secs();
    MockBeaconNode::<E>::start(MockConfig::new(node.spec.clone(), genesis, &pubkeys))
        .await
        .expect("twin starts")
}

/// Every attester of `slot` published on `backup`.
fn assert_attested(node: &TestNode<E>, backup: &MockBeaconNode<E>, slots: &[Slot], what: &str) {
    let published = backup.published();
    for slot in slots {
        let expected: BTreeSet<u64> = (0..node.mock.committees_per_slot(*slot))
            .flat_map(|i| node.mock.committee(*slot, i).unwrap())
            .collect();
        let got: BTreeSet<u64> = published
            .attestations
            .iter()
            .filter(|a| a.data.slot == *slot)
            .map(|a| a.validator_index)
            .collect();
        assert_eq!(
            got, expected,
            "{what}: attestations of slot {slot} via the backup node"
        );
        assert!(
            published.blocks.iter().any(|b| b.slot == *slot),
            "{what}: block of slot {slot} via the backup node"
        );
    }
    assert!(
        backup.rejected().is_empty(),
        "{what}: {:?}",
        backup.rejected()
    );
}

/// Starts a client preferring `primary` (faulted by `before`, or by `after` once running) over
/// a healthy twin; returns the logs, the twin and the slots every duty must have gone through.
async fn run_with_fault(
    what: &str,
    before: impl AsyncFnOnce(&TestNode<E>),
    after: impl AsyncFnOnce(&TestNode<E>),
) -> (String, TestNode<E>, MockBeaconNode<E>, Vec<Slot>) {
    let (logs, _guard) = Logs::capture();
    let primary = harness::mock(ForkName::Capella, 64, 12).await;
    let backup = twin(&primary).await;
    before(&primary).await;
    let dir = tempfile::tempdir().unwrap();
    let nodes = [primary.mock.url(), backup.url()];
    let client = harness::start(
        &harness::config(dir.path(), &nodes, 0),
        harness::interop_signer(64),
    )
    .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move {
            client
                .run_until(async move {
                    stop.cancelled().await;
                    "test".to_owned()
                })
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(SLOT_SECONDS)).await;
    after(&primary).await;
    // Let the client notice (health is checked every slot), then watch three slots.
    let first = harness::next_slot_start(&primary).await + 1;
    tokio::time::sleep(Duration::from_secs(4 * SLOT_SECONDS)).await;
    stop.cancel();
    let reason = running.await.expect("client task");
    assert_eq!(
        reason,
        ShutdownReason::Requested { by: "test".into() },
        "{what}"
    );
    let slots = (first.as_u64()..first.as_u64() + 3).map(Slot).collect();
    (logs.text(), primary, backup, slots)
}

#[tokio::test]
async fn primary_down() {
    let (logs, primary, backup, slots) = run_with_fault(
        "down",
        async |node: &TestNode<E>| node.mock.set_down(Some(DownMode::Refused)).await.unwrap(),
        async |_: &TestNode<E>| {},
    )
    .await;
    assert_attested(&primary, &backup, &slots, "down");
    let url = primary.mock.url();
    assert!(
        logs.contains(&format!("cannot reach {url}")),
        "the logs say why the primary is not used:\n{logs}"
    );
}

#[tokio::test]
async fn primary_slow() {
    let (logs, primary, backup, slots) = run_with_fault(
        "slow",
        async |node: &TestNode<E>| node.mock.set_latency(Some(Duration::from_millis(1_200))),
        async |_: &TestNode<E>| {},
    )
    .await;
    assert_attested(&primary, &backup, &slots, "slow");
    assert!(logs.contains("did not answer within"), "{logs}");
}

#[tokio::test]
async fn primary_answers_malformed_json() {
    let (logs, primary, backup, slots) = run_with_fault(
        "malformed",
        async |node: &TestNode<E>| node.mock.set_malformed(Malformed::All),
        async |_: &TestNode<E>| {},
    )
    .await;
    assert_attested(&primary, &backup, &slots, "malformed");
    assert!(logs.contains("invalid response from"), "{logs}");
}

#[tokio::test]
async fn primary_switches_to_another_chain() {
    let (logs, primary, backup, slots) = run_with_fault(
        "wrong genesis",
        async |_: &TestNode<E>| {},
        async |node: &TestNode<E>| {
            node.mock
                .set_genesis_root_override(Some(Hash256::repeat_byte(0x42)))
        },
    )
    .await;
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
    assert_attested(&primary, &backup, &slots, "wrong genesis");
    assert!(
        primary
            .mock
            .published()
            .attestations
            .iter()
            .all(|a| a.data.slot < slots[0]),
        "nothing goes to a node on another chain"
    );
    assert!(logs.contains("wrong genesis validators root"), "{logs}");
}

#[tokio::test]
async fn primary_not_synced() {
    let (logs, primary, backup, slots) = run_with_fault(
        "syncing",
        async |node: &TestNode<E>| {
            node.mock
                .set_sync_state(SyncState::Syncing { distance: 100 })
        },
        async |_: &TestNode<E>| {},
    )
    .await;
    assert_attested(&primary, &backup, &slots, "syncing");
    assert!(logs.contains("syncing (100 slots behind)"), "{logs}");
}
