//! A slashed key: no attestation, aggregate or block any more (they would earn nothing, and a
//! slashed proposer's block is invalid); its sync committee messages go on (still rewarded).

use std::collections::BTreeSet;
use std::time::Duration;

use types::{ForkName, SignedAggregateAndProof, Slot};

use crate::harness::{self, SLOT_SECONDS};

/// Slots the client runs.
const RUN_SLOTS: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slashed_keys_stop_attesting_and_proposing_but_keep_sync_duties() {
    let node = harness::mock(ForkName::Capella, 64, 17).await;
    let now = node.slot();
    // The proposers of the slots the client will run (with a margin for a slow start), and two
    // sync committee members.
    let mut slashed: BTreeSet<u64> = (now.as_u64() + 1..=now.as_u64() + 2 * RUN_SLOTS + 2)
        .filter_map(|s| node.mock.proposer(Slot(s)))
        .collect();
    let epoch = now.epoch(8);
    let sync_members: BTreeSet<u64> = node.mock.sync_committee(epoch).into_iter().collect();
    let slashed_sync: Vec<u64> = sync_members
        .iter()
        .copied()
        .filter(|i| !slashed.contains(i))
        .take(2)
        .collect();
    slashed.extend(&slashed_sync);
    for index in &slashed {
        node.mock.set_slashed(*index, epoch + 10);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    let (logs, _guard) = harness::Logs::capture();
    let client = harness::start(&config, harness::interop_signer(64)).await;
    let first = harness::next_slot_start(&node).await;
    harness::run_for(client, Duration::from_secs(RUN_SLOTS * SLOT_SECONDS)).await;
    let last = node.slot();
    assert!(last > first + 1, "ran too few slots ({first}..{last})");

    let published = node.mock.published();
    let attesters: BTreeSet<u64> = published
        .attestations
        .iter()
        .map(|a| a.validator_index)
        .collect();
    assert!(attesters.len() >= 8, "the other keys attest: {attesters:?}");
    let wrong: Vec<_> = attesters.intersection(&slashed).collect();
    assert!(wrong.is_empty(), "slashed keys attested: {wrong:?}");
    for aggregate in &published.aggregates {
        let aggregator = match aggregate {
            SignedAggregateAndProof::Phase0(s) => s.message.aggregator_index,
            SignedAggregateAndProof::Electra(s) => s.message.aggregator_index,
        };
        assert!(
            !slashed.contains(&aggregator),
            "slashed key {aggregator} aggregated"
        );
    }
    // Every slot from the first run slot had a slashed proposer: none may have published.
    let slashed_slots: Vec<Slot> = (first.as_u64()..last.as_u64())
        .map(Slot)
        .filter(|s| node.mock.proposer(*s).is_some_and(|p| slashed.contains(&p)))
        .collect();
    assert!(!slashed_slots.is_empty(), "a slashed proposer in the run");
    for block in &published.blocks {
        assert!(
            !slashed.contains(&block.proposer_index),
            "slashed proposer {} published a block at slot {}",
            block.proposer_index,
            block.slot
        );
    }
    // Sync committee messages of the slashed members go on.
    let sync_signers: BTreeSet<u64> = published
        .sync_messages
        .iter()
        .map(|m| m.validator_index)
        .collect();
    for member in &slashed_sync {
        assert!(
            sync_signers.contains(member),
            "slashed sync committee member {member} stopped its sync messages"
        );
    }
    let text = logs.text();
    assert_eq!(
        text.matches("validator slashed: its attestation, aggregation and block duties stop")
            .count(),
        slashed.len(),
        "one error line per slashed key"
    );
}
