//! Doppelganger protection: a key seen live stops the client before it signs anything; a fresh
//! key waits the configured epochs; a restart with its own slashing database does not wait.

use std::collections::BTreeSet;
use std::time::Duration;

use types::{ForkName, Slot};
use validator::client;
use validator::executor::ShutdownReason;
use validator::testing::ApiMode;

use crate::harness::{self, SLOT_SECONDS};

fn assert_nothing_signed<E: types::EthSpec>(published: &validator::testing::Published<E>) {
    assert!(published.attestations.is_empty(), "attestations published");
    assert!(published.aggregates.is_empty(), "aggregates published");
    assert!(published.blocks.is_empty(), "blocks published");
    assert!(
        published.sync_messages.is_empty(),
        "sync messages published"
    );
    assert!(
        published.contributions.is_empty(),
        "contributions published"
    );
    assert!(
        published.registrations.is_empty(),
        "registrations published"
    );
}

#[tokio::test]
async fn live_key_stops_the_client_before_signing() {
    let node = harness::mock(ForkName::Capella, 64, 20).await;
    node.mock.set_empty_unpublished_slots(true);
    let epoch = node.spec.compute_epoch_at_slot(node.slot());
    node.mock.mark_live(epoch, 5);
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 2);
    let client = harness::start(&config, harness::interop_signer(64)).await;
    let reason = harness::run_for(client, Duration::from_secs(30)).await;
    let ShutdownReason::Failure { task, reason: text } = &reason else {
        panic!("expected a doppelganger failure, got {reason:?}");
    };
    assert_eq!(task, "doppelganger");
    assert!(
        text.contains(&node.keys[5].pubkey.to_string()),
        "the live key is named: {text}"
    );
    assert_eq!(client::exit_code(&reason), 1);
    assert_nothing_signed(&node.mock.published());
    assert_eq!(
        node.mock
            .request_count("GET", "/eth/v3/validator/blocks/{slot}"),
        0
    );
}

/// On a node without the liveness endpoint, another instance is found from the chain:
/// attestations included in blocks, mapped through committees to validator indices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_instance_is_found_from_the_chain() {
    let node = harness::mock(ForkName::Capella, 64, 12).await;
    node.mock.set_api_mode(ApiMode::Legacy);
    node.mock.set_empty_unpublished_slots(true);
    let first_dir = tempfile::tempdir().unwrap();
    let first = harness::start(
        &harness::config(first_dir.path(), &[node.mock.url()], 0),
        harness::interop_signer(64),
    )
    .await;
    let stop_first = tokio_util::sync::CancellationToken::new();
    let first_task = tokio::spawn({
        let stop = stop_first.clone();
        async move {
            first
                .run_until(async move {
                    stop.cancelled().await;
                    "test".to_owned()
                })
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(3 * SLOT_SECONDS)).await;
    let second_dir = tempfile::tempdir().unwrap();
    let second = harness::start(
        &harness::config(second_dir.path(), &[node.mock.url()], 2),
        harness::interop_signer(64),
    )
    .await;
    let reason = harness::run_for(second, Duration::from_secs(8 * SLOT_SECONDS)).await;
    stop_first.cancel();
    assert_eq!(
        first_task.await.unwrap(),
        ShutdownReason::Requested { by: "test".into() }
    );
    let ShutdownReason::Failure { task, .. } = &reason else {
        panic!("expected a doppelganger failure, got {reason:?}");
    };
    assert_eq!(task, "doppelganger");
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v1/validator/liveness/{epoch}"),
        1,
        "the missing liveness route is tried once"
    );
    // Only the first instance signed: no validator attested twice in a slot.
    let mut seen = BTreeSet::new();
    for a in node.mock.published().attestations {
        assert!(
            seen.insert((a.data.slot, a.validator_index)),
            "validator {} attested twice at slot {}",
            a.validator_index,
            a.data.slot
        );
    }
}

#[tokio::test]
async fn fresh_keys_wait_then_sign() {
    // Start in the middle of an epoch with one detection epoch: held until the next epoch.
    let node = harness::mock(ForkName::Altair, 64, 19).await;
    node.mock.set_empty_unpublished_slots(true);
    let spe = node.spec.slots_per_epoch;
    let release = Slot((node.slot().as_u64() / spe + 1) * spe);
    let dir = tempfile::tempdir().unwrap();
    let client = harness::start(
        &harness::config(dir.path(), &[node.mock.url()], 1),
        harness::interop_signer(64),
    )
    .await;
    let until = node.mock.clock().duration_to_slot(release + 3);
    let reason = harness::run_for(client, until).await;
    assert_eq!(reason, ShutdownReason::Requested { by: "test".into() });
    let published = node.mock.published();
    assert!(
        published
            .attestations
            .iter()
            .all(|a| a.data.slot >= release),
        "nothing signed before the release epoch"
    );
    assert!(published.sync_messages.iter().all(|m| m.slot >= release));
    assert!(published.blocks.iter().all(|b| b.slot >= release));
    assert!(
        published.attestations.iter().any(|a| a.data.slot > release),
        "keys sign once released"
    );
}

#[tokio::test]
async fn restart_with_own_database_does_not_wait() {
    let node = harness::mock(ForkName::Capella, 64, 12).await;
    node.mock.set_empty_unpublished_slots(true);
    let dir = tempfile::tempdir().unwrap();
    let first = harness::start(
        &harness::config(dir.path(), &[node.mock.url()], 0),
        harness::interop_signer(64),
    )
    .await;
    // Run until every key attested once (a full epoch of operation; some also proposed and
    // signed sync messages the liveness endpoint sees).
    let attested = || -> BTreeSet<u64> {
        node.mock
            .published()
            .attestations
            .iter()
            .map(|a| a.validator_index)
            .collect()
    };
    first
        .run_until(async {
            for _ in 0..200 {
                if attested().len() == 64 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            "test".to_owned()
        })
        .await;
    let attested = attested();
    assert_eq!(attested.len(), 64);

    let restart = node.slot();
    let second = harness::start(
        &harness::config(dir.path(), &[node.mock.url()], 2),
        harness::interop_signer(64),
    )
    .await;
    let reason = harness::run_for(second, Duration::from_secs(3 * SLOT_SECONDS)).await;
    assert_eq!(reason, ShutdownReason::Requested { by: "test".into() });
    let after: BTreeSet<u64> = node
        .mock
        .published()
        .attestations
        .iter()
        .filter(|a| a.data.slot > restart)
        .map(|a| a.validator_index)
        .collect();
    assert!(
        after.len() >= 8,
        "the restarted instance attests at once ({} validators)",
        after.len()
    );
}

/// A start just after genesis: the genesis block names a proposer (validator 0 on real nodes)
/// but nobody signed it, so it is no sighting; the keys are held, not reported live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesis_block_is_not_a_sighting() {
    let node = harness::mock(ForkName::Capella, 64, 1).await;
    node.mock.set_api_mode(ApiMode::Legacy);
    node.mock.set_empty_unpublished_slots(true);
    let genesis_proposer = node.mock.proposer(Slot(0)).expect("a genesis proposer");
    assert!(genesis_proposer < 64, "one of the client's keys");
    let dir = tempfile::tempdir().unwrap();
    let client = harness::start(
        &harness::config(dir.path(), &[node.mock.url()], 2),
        harness::interop_signer(64),
    )
    .await;
    let reason = harness::run_for(client, Duration::from_secs(4 * SLOT_SECONDS)).await;
    assert_eq!(reason, ShutdownReason::Requested { by: "test".into() });
    assert_nothing_signed(&node.mock.published());
}
