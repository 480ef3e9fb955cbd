//! `DELETE /eth/v1/keystores`: duties stop, files go, the EIP-3076 data comes back (again on a
//! second identical request), and a restart no longer loads the keys.

use reqwest::{Method, StatusCode};
use serde_json::json;
use slashing_protection::{
    INTERCHANGE_FORMAT_VERSION, Interchange, InterchangeAttestation, InterchangeData,
    InterchangeMetadata, SlashingProtection, SqliteConfig, SqliteStore,
};
use types::{Epoch, ForkName, PublicKeyBytes};

use crate::harness::{self, Api, pubkey, statuses};

#[tokio::test]
async fn deleted_keys_stop_and_hand_back_their_history() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 8);
    // Key 20 is known to slashing protection only (an earlier instance's history).
    {
        let store = SqliteStore::open(
            dir.path().join("slashing_protection.sqlite"),
            node.genesis_validators_root,
            SqliteConfig::default(),
        )
        .await
        .unwrap();
        store
            .import_interchange(&Interchange {
                metadata: InterchangeMetadata {
                    interchange_format_version: INTERCHANGE_FORMAT_VERSION,
                    genesis_validators_root: node.genesis_validators_root,
                },
                data: vec![InterchangeData {
                    pubkey: pubkey(20),
                    signed_blocks: Vec::new(),
                    signed_attestations: vec![InterchangeAttestation {
                        source_epoch: Epoch(1),
                        target_epoch: Epoch(2),
                        signing_root: None,
                    }],
                }],
            })
            .await
            .unwrap();
    }
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let start = node.slot();
    assert!(
        harness::wait_for_attesters(&node, &[6, 7], start, harness::ATTESTATION_WAIT_SLOTS).await,
        "keys 6 and 7 attest before their deletion"
    );

    let stranger = pubkey(40);
    let request = json!({
        "pubkeys": [pubkey(6).to_string(), pubkey(7).to_string(), stranger.to_string(), pubkey(20).to_string()],
    });
    let (status, body) = api
        .send(Method::DELETE, "/eth/v1/keystores", Some(&request))
        .await;
    let deleted_at = node.slot();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        statuses(&body),
        vec!["deleted", "deleted", "not_found", "not_active"],
        "{body}"
    );
    let exported = body["slashing_protection"].as_str().expect("a JSON string");
    let interchange = Interchange::from_json_slice(exported.as_bytes()).expect("EIP-3076");
    assert_eq!(
        interchange.metadata.genesis_validators_root,
        node.genesis_validators_root
    );
    let mut named: Vec<PublicKeyBytes> = interchange.data.iter().map(|d| d.pubkey).collect();
    named.sort();
    let mut expected = vec![pubkey(6), pubkey(7), pubkey(20)];
    expected.sort();
    assert_eq!(named, expected, "deleted and not_active keys only");
    // The history covers every attestation key 6 published here.
    let published_max_target = node
        .mock
        .published()
        .attestations
        .iter()
        .filter(|a| a.validator_index == 6)
        .map(|a| a.data.target.epoch)
        .max()
        .expect("key 6 attested");
    let exported_max_target = interchange
        .data
        .iter()
        .find(|d| d.pubkey == pubkey(6))
        .and_then(|d| d.signed_attestations.iter().map(|a| a.target_epoch).max())
        .expect("key 6's attestations exported");
    assert!(exported_max_target >= published_max_target);

    // Files gone; the others still attest, the deleted keys never again.
    assert_eq!(harness::keystore_files(dir.path()).len(), 6);
    for i in [6, 7] {
        assert!(
            !dir.path()
                .join("secrets")
                .join(pubkey(i).to_string())
                .exists()
        );
    }
    assert!(
        harness::wait_for_attesters(
            &node,
            &[0, 1, 2, 3, 4, 5],
            deleted_at + 1,
            harness::ATTESTATION_WAIT_SLOTS
        )
        .await,
        "the remaining keys go on"
    );
    // A whole epoch after the deletion: keys 6 and 7 had a duty in it.
    let spec = harness::spec(ForkName::Deneb);
    harness::wait_until_slot(&node, deleted_at + spec.slots_per_epoch + 1).await;
    let after = harness::attesters_after(&node, deleted_at);
    assert!(
        !after.contains(&6) && !after.contains(&7),
        "deleted keys attested: {after:?}"
    );
    let mut listed = api.local_keys().await;
    listed.sort();
    let mut remaining: Vec<_> = (0..6).map(pubkey).collect();
    remaining.sort();
    assert_eq!(listed, remaining);
    assert_eq!(harness::cached_pubkeys(dir.path()), remaining);

    // The same request again: the history is still there.
    let (status, again) = api
        .send(Method::DELETE, "/eth/v1/keystores", Some(&request))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        statuses(&again),
        vec!["not_active", "not_active", "not_found", "not_active"]
    );
    let again =
        Interchange::from_json_slice(again["slashing_protection"].as_str().unwrap().as_bytes())
            .unwrap();
    assert_eq!(again.data.len(), 3);
    running.stop().await;

    // A restart loads the six remaining keys only.
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let mut listed = api.local_keys().await;
    listed.sort();
    assert_eq!(listed, remaining);
    running.stop().await;
}
