//! A slashing and a voluntary exit on the devnet: a double vote signed outside poolvc (and its
//! slashing protection) with a validator's interop key, submitted as an attester slashing; a
//! voluntary exit signed by poolvc through its Keymanager API and published to the node.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tree_hash::TreeHash;
use types::{AttestationData, Checkpoint, DomainKind, Epoch, Hash256, Slot};
use validator::testing::InteropKeypair;

use super::devnet::{Devnet, SLOTS_PER_EPOCH, number};

/// Signs two different votes of `validator` for the same target `epoch` (a double vote) with
/// its interop key and submits them as an attester slashing; panics if the node refuses it.
pub(crate) async fn submit_double_vote(net: &Devnet, validator: u64, epoch: u64) {
    let (spec, genesis_validators_root) = net.chain().await;
    let key = InteropKeypair::new(validator);
    let domain = spec.get_domain(
        DomainKind::BeaconAttester,
        Epoch(epoch),
        genesis_validators_root,
    );
    let indexed = |head: u8| {
        let data = AttestationData {
            slot: Slot(epoch * SLOTS_PER_EPOCH),
            index: 0,
            beacon_block_root: Hash256::repeat_byte(head),
            source: Checkpoint {
                epoch: Epoch(epoch - 1),
                root: Hash256::repeat_byte(0x50),
            },
            target: Checkpoint {
                epoch: Epoch(epoch),
                root: Hash256::repeat_byte(0x60),
            },
        };
        let signature = key.sign(types::compute_signing_root(data.tree_hash_root(), domain));
        json!({
            "attesting_indices": [validator.to_string()],
            "data": data,
            "signature": signature,
        })
    };
    let slashing = json!({ "attestation_1": indexed(0x01), "attestation_2": indexed(0x02) });
    let (status, body) = net
        .post("/eth/v1/beacon/pool/attester_slashings", &slashing)
        .await;
    assert!(
        status.is_success(),
        "attester slashing of validator {validator} refused: {status} {body}"
    );
    eprintln!(
        "devnet: double vote of validator {validator} (target epoch {epoch}) submitted as an attester slashing at slot {}",
        net.wall_slot()
    );
}

/// Has poolvc sign a voluntary exit of `pubkey` through its Keymanager API (bearer token in
/// `token_file`) and publishes it to the node; returns the signed exit.
pub(crate) async fn exit_through_keymanager(
    net: &Devnet,
    keymanager: &str,
    token_file: &Path,
    pubkey: &types::PublicKeyBytes,
) -> Value {
    let token = std::fs::read_to_string(token_file)
        .unwrap_or_else(|e| panic!("Keymanager token {}: {e}", token_file.display()));
    let url = format!("{keymanager}/eth/v1/validator/{pubkey}/voluntary_exit");
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token.trim())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status();
    let body: Value = response.json().await.expect("Keymanager JSON");
    assert!(status.is_success(), "POST {url}: {status} {body}");
    let signed = body["data"].clone();
    let (status, text) = net
        .post("/eth/v1/beacon/pool/voluntary_exits", &signed)
        .await;
    assert!(
        status.is_success(),
        "the node refused poolvc's exit {signed}: {status} {text}"
    );
    eprintln!(
        "devnet: voluntary exit of validator {} (epoch {}) signed by poolvc's Keymanager API, published at slot {}",
        number(&signed["message"]["validator_index"]),
        number(&signed["message"]["epoch"]),
        net.wall_slot()
    );
    signed
}
