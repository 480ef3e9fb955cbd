//! Coalescing: requests arriving while a batch is in flight are signed together (one batch,
//! one hash-to-curve per root, one slashing-protection transaction), every answer is still the
//! requester's own verified signature, a refusal inside a batch touches only its request; with
//! coalescing disabled every request is its own batch.
//!
//! The tests run on tokio's single-threaded test runtime: of concurrent requests, the first is
//! signed at once on its own task and the others are all queued before the dispatcher task
//! first runs, so the batching is deterministic.

#[expect(
    dead_code,
    reason = "the shared helpers are used in part by each test binary"
)]
mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::{E, Options, Recorder, TestSigner, attestation_data, fork_info, pubkey, verifies};
use serde_json::{Value, json};
use signer_server::{Chain, Coalescing, SignRequest};

const KEYS: u64 = 48;

fn attestation(byte: u8, source: u64, target: u64) -> Value {
    json!({
        "type": "ATTESTATION",
        "fork_info": fork_info(target),
        "attestation": attestation_data(target * 8 + 1, 0, source, target, byte),
    })
}

fn root_of(body: &Value) -> types::Hash256 {
    let request = SignRequest::<E>::from_value(body.clone()).unwrap();
    Chain::new(common::spec(), common::gvr())
        .signing_root(&request)
        .unwrap()
}

async fn sign_all(signer: &TestSigner, requests: &[(u64, Value)]) -> Vec<(StatusCode, Value)> {
    futures::future::join_all(
        requests
            .iter()
            .map(|(key, body)| async move { signer.sign(&common::pubkey(*key), body).await }),
    )
    .await
}

#[tokio::test]
async fn concurrent_requests_are_signed_in_shared_batches() {
    for coalescing in [Coalescing::Enabled, Coalescing::Disabled] {
        let recorder = Arc::new(Recorder::default());
        let signer = TestSigner::<E>::start(Options {
            keys: (0..KEYS).collect(),
            coalescing,
            observer: recorder.clone(),
            ..Options::default()
        })
        .await;
        // A committee's attestations (one root), plus selection proofs of the same slot (one
        // other root) from some of the same keys.
        let vote = attestation(0x33, 3, 4);
        let slot = json!({"type": "AGGREGATION_SLOT", "fork_info": fork_info(4),
                          "aggregation_slot": {"slot": "33"}});
        let mut requests: Vec<(u64, Value)> = (0..KEYS).map(|k| (k, vote.clone())).collect();
        requests.extend((0..8).map(|k| (k, slot.clone())));
        let answers = sign_all(&signer, &requests).await;
        for ((key, body), (status, answer)) in requests.iter().zip(&answers) {
            assert_eq!(*status, StatusCode::OK, "{answer}");
            assert!(
                verifies(
                    &pubkey(*key),
                    root_of(body),
                    answer["signature"].as_str().unwrap()
                ),
                "key {key}: {answer}"
            );
        }
        let batches = recorder.batches.lock().clone();
        assert_eq!(batches.iter().sum::<usize>(), requests.len(), "{batches:?}");
        match coalescing {
            Coalescing::Enabled => assert!(
                batches.len() < requests.len() && batches.iter().any(|b| *b > 1),
                "shared batches: {batches:?}"
            ),
            Coalescing::Disabled => assert!(batches.iter().all(|b| *b == 1), "{batches:?}"),
        }
        signer.stop().await;
    }
}

#[tokio::test]
async fn a_refusal_in_a_batch_touches_only_its_request() {
    let recorder = Arc::new(Recorder::default());
    let signer = TestSigner::<E>::start(Options {
        keys: (0..8).collect(),
        observer: recorder.clone(),
        ..Options::default()
    })
    .await;
    // Key 0 already voted for target 4 with other data.
    let (status, _) = signer.sign(&pubkey(0), &attestation(0x01, 3, 4)).await;
    assert_eq!(status, StatusCode::OK);
    // Eight votes at once, key 0's last: the first is signed alone at once (nothing was in
    // flight), the other seven queue meanwhile and are signed as one batch, key 0's among them.
    let vote = attestation(0x02, 3, 4);
    let requests: Vec<(u64, Value)> = (1..8).chain([0]).map(|k| (k, vote.clone())).collect();
    let answers = sign_all(&signer, &requests).await;
    let (refused, signed) = answers.split_last().unwrap();
    assert_eq!(refused.0, StatusCode::PRECONDITION_FAILED, "{}", refused.1);
    for (status, answer) in signed {
        assert_eq!(*status, StatusCode::OK, "{answer}");
    }
    assert_eq!(
        recorder.batches.lock()[1..],
        [1, 7],
        "alone, then the seven queued meanwhile"
    );
    signer.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lone_request_is_signed_without_waiting_for_others() {
    let recorder = Arc::new(Recorder::default());
    let signer = TestSigner::<E>::start(Options {
        observer: recorder.clone(),
        ..Options::default()
    })
    .await;
    // Nothing else in flight: the dispatcher signs it at once, alone. The clock is paused and
    // would have moved had any timer (a collection window) been awaited on the way.
    let before = tokio::time::Instant::now();
    let (status, answer) = signer.sign(&pubkey(3), &attestation(0x44, 3, 4)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(tokio::time::Instant::now(), before, "no timer on the way");
    assert_eq!(*recorder.batches.lock(), vec![1]);
    signer.stop().await;
}
