//! Every duty, end to end, per fork.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use types::{ForkName, Slot};
use validator::executor::ShutdownReason;
use validator::testing::AttestationShape;

use crate::harness::{self, SLOT_SECONDS};

/// Runs 64 local validators for ten slots and checks every duty of the middle slots.
async fn all_duties(fork: ForkName) {
    let node = harness::mock(fork, 64, 17).await;
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    let client = harness::start(&config, harness::interop_signer(64)).await;
    let first = harness::next_slot_start(&node).await;
    let reason = harness::run_for(client, Duration::from_secs(8 * SLOT_SECONDS)).await;
    assert_eq!(reason, ShutdownReason::Requested { by: "test".into() });
    let last = node.slot().saturating_sub(1);
    assert!(
        last >= first + 5,
        "{fork}: ran too few slots ({first}..{last})"
    );
    let checked: Vec<Slot> = (first.as_u64()..last.as_u64()).map(Slot).collect();

    let rejected = node.mock.rejected();
    assert!(rejected.is_empty(), "{fork}: the mock refused {rejected:?}");
    let published = node.mock.published();

    let mut attesters: BTreeMap<Slot, BTreeSet<u64>> = BTreeMap::new();
    for a in &published.attestations {
        let expected_shape = if fork.is_electra_or_later() {
            AttestationShape::Single
        } else {
            AttestationShape::Phase0
        };
        assert_eq!(a.shape, expected_shape, "{fork}");
        assert!(
            attesters
                .entry(a.data.slot)
                .or_default()
                .insert(a.validator_index),
            "{fork}: validator {} attested twice at slot {}",
            a.validator_index,
            a.data.slot
        );
    }
    for slot in &checked {
        let per_slot = node.mock.committees_per_slot(*slot);
        let expected: BTreeSet<u64> = (0..per_slot)
            .flat_map(|i| node.mock.committee(*slot, i).unwrap())
            .collect();
        assert_eq!(
            attesters.get(slot),
            Some(&expected),
            "{fork}: every attester of slot {slot} attests"
        );
        assert!(
            published.aggregates.iter().any(|a| match a {
                types::SignedAggregateAndProof::Phase0(s) => s.message.aggregate.data.slot == *slot,
                types::SignedAggregateAndProof::Electra(s) =>
                    s.message.aggregate.data.slot == *slot,
            }),
            "{fork}: an aggregate at slot {slot}"
        );
        let block = published.blocks.iter().find(|b| b.slot == *slot);
        let block = block.unwrap_or_else(|| panic!("{fork}: a block at slot {slot}"));
        assert_eq!(Some(block.proposer_index), node.mock.proposer(*slot));
        assert_eq!(block.fork, fork);
        if fork.has_execution_payload() {
            assert_eq!(
                block.fee_recipient,
                Some(harness::VAULT),
                "{fork}: pays the vault"
            );
        }
        if fork >= ForkName::Altair {
            let members: BTreeSet<u64> = node
                .mock
                .sync_committee(node.spec.compute_epoch_at_slot(*slot + 1))
                .into_iter()
                .collect();
            let signed: BTreeSet<u64> = published
                .sync_messages
                .iter()
                .filter(|m| m.slot == *slot)
                .map(|m| m.validator_index)
                .collect();
            assert_eq!(
                signed, members,
                "{fork}: every sync member signs at slot {slot}"
            );
            assert!(
                published
                    .contributions
                    .iter()
                    .any(|c| c.message.contribution.slot == *slot),
                "{fork}: a contribution at slot {slot}"
            );
        }
    }
    if fork < ForkName::Altair {
        assert!(published.sync_messages.is_empty());
    }
    let prepared: BTreeSet<u64> = published
        .preparations
        .iter()
        .map(|p| {
            assert_eq!(p.fee_recipient, harness::VAULT);
            p.validator_index
        })
        .collect();
    assert_eq!(prepared, (0..64).collect(), "{fork}: every key prepared");
    assert!(
        !published.beacon_committee_subscriptions.is_empty(),
        "{fork}: committee subscriptions"
    );
    assert!(
        published
            .beacon_committee_subscriptions
            .iter()
            .any(|s| s.is_aggregator),
        "{fork}: aggregators subscribed"
    );
    if fork >= ForkName::Altair {
        assert!(!published.sync_committee_subscriptions.is_empty());
    }
}

#[tokio::test]
async fn phase0_duties() {
    all_duties(ForkName::Phase0).await;
}

#[tokio::test]
async fn altair_duties() {
    all_duties(ForkName::Altair).await;
}

#[tokio::test]
async fn capella_duties() {
    all_duties(ForkName::Capella).await;
}

#[tokio::test]
async fn deneb_duties() {
    all_duties(ForkName::Deneb).await;
}

#[tokio::test]
async fn electra_duties() {
    all_duties(ForkName::Electra).await;
}

#[tokio::test]
async fn fulu_duties() {
    all_duties(ForkName::Fulu).await;
}

/// With `--builder`: builder registrations every epoch, blinded blocks published blinded.
#[tokio::test]
async fn builder_flow_publishes_blinded_blocks() {
    use types::block::PayloadKind;
    use validator::config::BuilderMode;
    use validator::testing::PayloadSource;

    let node = harness::mock(ForkName::Deneb, 64, 12).await;
    node.mock.set_payload_source(PayloadSource::Builder);
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::config(dir.path(), &[node.mock.url()], 0);
    config.duties.builder = BuilderMode::Enabled;
    config.duties.builder_boost_factor = Some(100);
    let client = harness::start(&config, harness::interop_signer(64)).await;
    harness::run_for(client, Duration::from_secs(4 * SLOT_SECONDS)).await;
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );
    let published = node.mock.published();
    assert!(published.blocks.len() >= 2);
    for block in &published.blocks {
        assert_eq!(block.payload, PayloadKind::Blinded);
        assert_eq!(block.fee_recipient, Some(harness::VAULT));
    }
    let registered: BTreeSet<_> = published
        .registrations
        .iter()
        .map(|r| {
            assert_eq!(r.message.fee_recipient, harness::VAULT);
            assert_eq!(r.message.gas_limit, 60_000_000);
            r.message.pubkey
        })
        .collect();
    assert_eq!(
        registered.len(),
        64,
        "every key registered (signatures verified)"
    );
}

/// A node with the routes of Lodestar 1.5.1 only: v2 block production, v1 publication, v1
/// attestation and aggregate routes, GET state validators.
#[tokio::test]
async fn legacy_node_duties() {
    use validator::testing::ApiMode;

    let node = harness::mock(ForkName::Capella, 64, 12).await;
    node.mock.set_api_mode(ApiMode::Legacy);
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    let client = harness::start(&config, harness::interop_signer(64)).await;
    harness::run_for(client, Duration::from_secs(5 * SLOT_SECONDS)).await;
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );
    let published = node.mock.published();
    assert!(published.attestations.len() >= 16);
    assert!(published.blocks.len() >= 2);
    assert!(!published.aggregates.is_empty());
    assert!(!published.contributions.is_empty());
    assert!(
        node.mock
            .request_count("POST", "/eth/v1/beacon/pool/attestations")
            >= 2
    );
    assert!(node.mock.request_count("POST", "/eth/v1/beacon/blocks") >= 2);
    assert!(
        node.mock
            .request_count("GET", "/eth/v2/validator/blocks/{slot}")
            >= 2
    );
    assert!(
        node.mock
            .request_count("GET", "/eth/v1/beacon/states/{state_id}/validators")
            >= 1
    );
    // Each missing newer route is tried once, then remembered.
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v2/beacon/pool/attestations"),
        1
    );
    assert_eq!(
        node.mock
            .request_count("GET", "/eth/v3/validator/blocks/{slot}"),
        1
    );
    // SSZ refused (415) before the route is found missing (404, as JSON): once.
    assert_eq!(node.mock.request_count("POST", "/eth/v2/beacon/blocks"), 2);
}

/// A head event naming other dependent roots, and a reorg, make the client fetch its duties
/// again.
#[tokio::test]
async fn dependent_root_changes_and_reorgs_refresh_duties() {
    let node = harness::mock(ForkName::Altair, 64, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    let client = harness::start(&config, harness::interop_signer(64)).await;
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
    let attester = "/eth/v1/validator/duties/attester/{epoch}";
    let proposer = "/eth/v1/validator/duties/proposer/{epoch}";
    // Let the client settle past the next slot start (duties fetched, nothing stale).
    harness::next_slot_start(&node).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (attesters_before, proposers_before) = (
        node.mock.request_count("POST", attester),
        node.mock.request_count("GET", proposer),
    );
    let slot = node.slot();
    let other = format!("0x{}", "ab".repeat(32));
    node.mock.emit_event(
        "head",
        &serde_json::json!({
            "slot": slot.to_string(), "block": other, "state": other, "epoch_transition": false,
            "previous_duty_dependent_root": other, "current_duty_dependent_root": other,
            "execution_optimistic": false,
        })
        .to_string(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        node.mock.request_count("POST", attester) >= attesters_before + 2,
        "current and next epoch attester duties fetched again"
    );
    assert!(node.mock.request_count("GET", proposer) > proposers_before);

    let attesters_before = node.mock.request_count("POST", attester);
    node.mock.emit_event(
        "chain_reorg",
        &serde_json::json!({
            "slot": slot.to_string(), "depth": "2", "old_head_block": other,
            "new_head_block": other, "old_head_state": other, "new_head_state": other,
            "epoch": node.spec.compute_epoch_at_slot(slot).to_string(), "execution_optimistic": false,
        })
        .to_string(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        node.mock.request_count("POST", attester) >= attesters_before + 2,
        "a reorg refreshes the duties"
    );
    stop.cancel();
    assert_eq!(
        running.await.unwrap(),
        ShutdownReason::Requested { by: "test".into() }
    );
    assert!(node.mock.rejected().is_empty());
}
