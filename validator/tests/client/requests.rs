//! Request budgets with 1,024 keys: requests per slot and per epoch do not depend on the number
//! of keys; publications are single batched POSTs.

use std::collections::BTreeMap;
use std::time::Duration;

use types::{ForkName, Slot};
use validator::testing::RecordedRequest;

use crate::harness;

const KEYS: u64 = 1_024;

fn count(requests: &[&RecordedRequest], method: &str, route: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.method == method && r.route == route)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_slot_do_not_grow_with_keys() {
    let node = harness::mock(ForkName::Capella, KEYS, 5).await;
    let spe = node.spec.slots_per_epoch;
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    let client = harness::start(&config, harness::interop_signer(KEYS)).await;
    // Observe the whole of epoch 1 and the first slot of epoch 2.
    let until =
        node.mock.clock().duration_to_slot(Slot(2 * spe + 1) + 1) + Duration::from_millis(200);
    let reason = harness::run_for(client, until).await;
    assert!(matches!(
        reason,
        validator::executor::ShutdownReason::Requested { .. }
    ));
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );

    let requests = node.mock.requests();
    let mut by_slot: BTreeMap<Slot, Vec<&RecordedRequest>> = BTreeMap::new();
    for r in &requests {
        by_slot.entry(r.slot).or_default().push(r);
    }
    let committees = node.mock.committees_per_slot(Slot(spe)) as usize;
    assert_eq!(
        committees, 4,
        "1,024 keys fill the minimal preset's 4 committees"
    );
    let subcommittees = 4;
    let mut epoch_requests: Vec<&RecordedRequest> = Vec::new();
    for slot in (spe..=2 * spe).map(Slot) {
        let r = by_slot.get(&slot).cloned().unwrap_or_default();
        let budget = [
            ("GET", "/eth/v1/validator/attestation_data", 1),
            ("POST", "/eth/v2/beacon/pool/attestations", 1),
            ("GET", "/eth/v2/validator/aggregate_attestation", committees),
            ("POST", "/eth/v2/validator/aggregate_and_proofs", 1),
            ("GET", "/eth/v1/beacon/blocks/{block_id}/root", 1),
            ("POST", "/eth/v1/beacon/pool/sync_committees", 1),
            (
                "GET",
                "/eth/v1/validator/sync_committee_contribution",
                subcommittees,
            ),
            ("POST", "/eth/v1/validator/contribution_and_proofs", 1),
            ("GET", "/eth/v3/validator/blocks/{slot}", 1),
            ("POST", "/eth/v2/beacon/blocks", 1),
        ];
        for (method, route, expected) in budget {
            assert_eq!(
                count(&r, method, route),
                expected,
                "{method} {route} at slot {slot}: {:?}",
                r.iter().map(|r| &r.route).collect::<Vec<_>>()
            );
        }
        // Everything else (health, block scan, per-epoch duties and subscriptions, events):
        // a small constant.
        let duty_requests: usize = budget.iter().map(|(_, _, n)| n).sum();
        let others: Vec<&String> = r.iter().map(|x| &x.route).collect();
        assert!(
            r.len() <= duty_requests + 10,
            "slot {slot}: {} requests: {others:?}",
            r.len()
        );
        if slot < Slot(2 * spe) {
            epoch_requests.extend(r.iter().copied());
        }
        // The attestations of the slot travel in one body.
        let body = r
            .iter()
            .find(|x| x.route == "/eth/v2/beacon/pool/attestations")
            .map(|x| x.body.clone())
            .unwrap();
        let items: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            items.len() as u64,
            KEYS / spe,
            "slot {slot}: one POST with every attester"
        );
    }
    // Per epoch: one attester duties POST (next epoch), one proposer GET, one validators query,
    // one committee subscription POST, each with every key in its body.
    let per_epoch = [
        ("POST", "/eth/v1/validator/duties/attester/{epoch}", 1),
        ("GET", "/eth/v1/validator/duties/proposer/{epoch}", 1),
        ("POST", "/eth/v1/beacon/states/{state_id}/validators", 1),
        (
            "POST",
            "/eth/v1/validator/beacon_committee_subscriptions",
            1,
        ),
        ("POST", "/eth/v1/validator/prepare_beacon_proposer", 1),
    ];
    for (method, route, expected) in per_epoch {
        assert_eq!(
            count(&epoch_requests, method, route),
            expected,
            "{method} {route} in epoch 1"
        );
    }
    let duties = epoch_requests
        .iter()
        .find(|r| r.route == "/eth/v1/validator/duties/attester/{epoch}")
        .unwrap();
    let indices: Vec<String> = serde_json::from_slice(&duties.body).unwrap();
    assert_eq!(indices.len() as u64, KEYS);
    let subscriptions = epoch_requests
        .iter()
        .find(|r| r.route == "/eth/v1/validator/beacon_committee_subscriptions")
        .unwrap();
    let items: Vec<serde_json::Value> = serde_json::from_slice(&subscriptions.body).unwrap();
    assert_eq!(
        items.len() as u64,
        KEYS,
        "every duty of the epoch in one POST"
    );
}
