//! `POST /eth/v1/keystores`: imported keys attest without a restart and survive one (key
//! cache), hostile keystores are refused one by one, bad bodies are refused whole, and imported
//! slashing protection data binds the imported keys.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use signer::keystore::{Kdf, Keystore};
use slashing_protection::{
    INTERCHANGE_FORMAT_VERSION, Interchange, InterchangeAttestation, InterchangeBlock,
    InterchangeData, InterchangeMetadata,
};
use types::{Epoch, ForkName, Hash256, Slot};
use validator::metrics::{Duty, Outcome};

use crate::harness::{self, Api, keystore_json, pubkey, statuses};

fn interchange(gvr: Hash256, entries: Vec<InterchangeData>) -> String {
    let interchange = Interchange {
        metadata: InterchangeMetadata {
            interchange_format_version: INTERCHANGE_FORMAT_VERSION,
            genesis_validators_root: gvr,
        },
        data: entries,
    };
    String::from_utf8(interchange.to_json_pretty().unwrap()).unwrap()
}

#[tokio::test]
async fn imported_keys_attest_at_once_and_load_after_a_restart() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 4);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    assert_eq!(api.local_keys().await.len(), 4);

    let keystores: Vec<String> = (4..8)
        .map(|i| keystore_json(i, &format!("pw-{i}")))
        .collect();
    let passwords: Vec<String> = (4..8).map(|i| format!("pw-{i}")).collect();
    let empty_history: Vec<InterchangeData> = (4..8)
        .map(|i| InterchangeData {
            pubkey: pubkey(i),
            signed_blocks: Vec::new(),
            signed_attestations: Vec::new(),
        })
        .collect();
    let request = json!({
        "keystores": keystores,
        "passwords": passwords,
        "slashing_protection": interchange(node.genesis_validators_root, empty_history),
    });
    let before = node.slot();
    let (status, body) = api
        .send(Method::POST, "/eth/v1/keystores", Some(&request))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(statuses(&body), vec!["imported"; 4], "{body}");

    // Listed with their derivation paths, and attesting without a restart (the mock verifies
    // every signature).
    let (_, listed) = api.send(Method::GET, "/eth/v1/keystores", None).await;
    let entry = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["validating_pubkey"] == json!(pubkey(5).to_string()))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(entry["derivation_path"], "m/12381/3600/5/0/0", "{listed}");
    assert_eq!(entry["readonly"], false, "{listed}");
    assert!(
        harness::wait_for_attesters(
            &node,
            &[0, 1, 4, 5, 6, 7],
            before,
            harness::ATTESTATION_WAIT_SLOTS
        )
        .await,
        "imported keys attest: {:?}",
        harness::attesters_after(&node, before)
    );
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );

    // On disk where the loader looks, private, and in the rewritten key cache.
    let secrets = dir.path().join("secrets");
    for i in 4..8 {
        let password_file = secrets.join(pubkey(i).to_string());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&password_file).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(harness::keystore_files(dir.path()).len(), 8);
    let mut all: Vec<_> = (0..8).map(pubkey).collect();
    all.sort();
    assert_eq!(harness::cached_pubkeys(dir.path()), all);
    running.stop().await;

    // The restart loads all eight from the cache: the cache file is not rewritten.
    let cache_before = std::fs::read(dir.path().join("key_cache.json")).unwrap();
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let mut listed = api.local_keys().await;
    listed.sort();
    assert_eq!(listed, all);
    assert_eq!(
        std::fs::read(dir.path().join("key_cache.json")).unwrap(),
        cache_before,
        "the cache was valid for the new key set"
    );
    running.stop().await;
}

/// A keystore of interop key `index` whose JSON is changed by `edit`.
fn edited(index: u64, password: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(&keystore_json(index, password)).unwrap();
    edit(&mut value);
    value.to_string()
}

#[tokio::test]
async fn hostile_keystores_are_refused_one_by_one() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());

    let huge_scrypt = {
        let secret = signer::derivation::interop_secret_key(11).unwrap();
        let mut value: Value = serde_json::from_str(
            &Keystore::encrypt(&secret, "pw", Kdf::scrypt(4), "")
                .unwrap()
                .to_json_string(),
        )
        .unwrap();
        value["crypto"]["kdf"]["params"]["n"] = json!(1u64 << 30);
        value.to_string()
    };
    let huge_pbkdf2 = edited(12, "pw", |v| {
        v["crypto"]["kdf"]["params"]["c"] = json!(1u64 << 32);
    });
    let other_pubkey = edited(13, "pw", |v| {
        v["pubkey"] = json!(hex::encode(pubkey(14)));
    });
    let cases: Vec<(String, &str, &str, &str)> = vec![
        ("{not json".to_owned(), "x", "error", "invalid keystore"),
        (huge_scrypt, "pw", "error", "scrypt n"),
        (huge_pbkdf2, "pw", "error", "pbkdf2 c"),
        (
            keystore_json(15, "right"),
            "wrong",
            "error",
            "wrong password",
        ),
        (other_pubkey, "pw", "error", "does not match"),
        (keystore_json(1, "pw"), "pw", "duplicate", ""),
        (keystore_json(16, "pw"), "pw", "imported", ""),
        (keystore_json(16, "pw"), "pw", "duplicate", ""),
    ];
    let request = json!({
        "keystores": cases.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        "passwords": cases.iter().map(|c| c.1).collect::<Vec<_>>(),
    });
    // The messages show hostile parameters are refused by validation, before any KDF work
    // (a KDF attempt would fail otherwise, if at all).
    let (status, body) = api
        .send(Method::POST, "/eth/v1/keystores", Some(&request))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), cases.len(), "{body}");
    for ((_, _, status, message), item) in cases.iter().zip(data) {
        assert_eq!(item["status"], *status, "{item}");
        if *status == "error" {
            let text = item["message"].as_str().unwrap_or_default();
            assert!(text.contains(message), "expected {message:?} in {text:?}");
        }
    }
    let mut listed = api.local_keys().await;
    listed.sort();
    let mut expected = vec![pubkey(0), pubkey(1), pubkey(16)];
    expected.sort();
    assert_eq!(listed, expected, "only the good keystore came in");
    assert_eq!(harness::keystore_files(dir.path()).len(), 3);
    assert!(
        !dir.path()
            .join("secrets")
            .join(pubkey(15).to_string())
            .exists(),
        "nothing written for a refused keystore"
    );
    running.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_whole() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 1);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let good = keystore_json(20, "pw");
    let wrong_chain = interchange(Hash256::repeat_byte(0x77), Vec::new());
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"keystores": [good], "passwords": []}),
            "passwords[i] must unlock",
        ),
        (json!({"passwords": ["pw"]}), "keystores"),
        (
            json!({"keystores": [7], "passwords": ["pw"]}),
            "keystores[0]",
        ),
        (
            json!({"keystores": [good], "passwords": ["pw"], "slashing_protection": "{]"}),
            "invalid slashing_protection",
        ),
        (
            json!({"keystores": [good], "passwords": ["pw"], "slashing_protection": wrong_chain}),
            "genesis validators root",
        ),
        (
            json!({"keystores": [good], "passwords": ["pw"], "slashing_protection": 5}),
            "slashing_protection",
        ),
    ];
    for (request, expected) in &cases {
        let (status, body) = api
            .send(Method::POST, "/eth/v1/keystores", Some(request))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{expected:?} in {message:?}");
    }
    let (status, body) = api
        .send_raw(
            Method::POST,
            "/eth/v1/keystores",
            b"not json at all".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("invalid request body")
    );
    let (status, body) = api
        .send_raw(
            Method::DELETE,
            "/eth/v1/keystores",
            br#"{"pubkeys":["0x12"]}"#.to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("pubkeys[0]"),
        "{body}"
    );

    // Over the 1 MiB limit of this configuration: 413, nothing read into a key.
    let padding = "x".repeat(2 << 20);
    let (status, body) = api
        .send(
            Method::POST,
            "/eth/v1/keystores",
            Some(&json!({"keystores": [padding], "passwords": ["pw"]})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("1048576"),
        "{body}"
    );
    assert_eq!(api.local_keys().await, vec![pubkey(0)], "nothing imported");
    running.stop().await;
}

#[tokio::test]
async fn imported_slashing_data_refuses_signing_below_it() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 4);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());

    // Another instance signed far ahead with keys 4 and 5.
    let ahead: Vec<InterchangeData> = [4, 5]
        .into_iter()
        .map(|i| InterchangeData {
            pubkey: pubkey(i),
            signed_blocks: vec![InterchangeBlock {
                slot: Slot(1_000_000),
                signing_root: None,
            }],
            signed_attestations: vec![InterchangeAttestation {
                source_epoch: Epoch(100_000),
                target_epoch: Epoch(100_001),
                signing_root: None,
            }],
        })
        .collect();
    let request = json!({
        "keystores": [keystore_json(4, "a"), keystore_json(5, "b")],
        "passwords": ["a", "b"],
        "slashing_protection": interchange(node.genesis_validators_root, ahead),
    });
    let before = node.slot();
    let (status, body) = api
        .send(Method::POST, "/eth/v1/keystores", Some(&request))
        .await;
    assert_eq!(statuses(&body), vec!["imported"; 2], "{status} {body}");
    let state = running
        .slashing
        .validator_state(&pubkey(4))
        .await
        .unwrap()
        .expect("registered");
    assert!(
        format!("{state:?}").contains("100001"),
        "the watermark was imported: {state:?}"
    );

    // Each key attests once per epoch: wait for both imported keys' turn to be refused.
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(harness::ATTESTATION_WAIT_SLOTS * harness::SLOT_SECONDS);
    while running
        .metrics
        .duty_count(Duty::Attestation, Outcome::Refused)
        < 2
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = running
        .metrics
        .duty_count(Duty::Attestation, Outcome::Refused);
    assert!(refused >= 2, "refusals counted ({refused})");
    let attested = harness::attesters_after(&node, before);
    assert!(
        !attested.contains(&4) && !attested.contains(&5),
        "attestations below the imported watermark were published: {attested:?}"
    );
    assert!(
        [0, 1, 2, 3].iter().any(|i| attested.contains(i)),
        "the other keys attest: {attested:?}"
    );
    let text = running.metrics.gather();
    assert!(
        text.contains(
            "poolvc_slashing_protection_refusals_total{kind=\"attestation\",reason=\"below_imported_watermark\"}"
        ),
        "{text}"
    );
    running.stop().await;
}

#[tokio::test]
async fn imported_keys_wait_for_doppelganger_protection() {
    // Past epoch 1, so the scan does not reach the genesis block (whose "proposer" is not
    // live); slots without our block stay empty: a synthetic block "proposed" by a held key
    // would look like a doppelganger.
    let node = harness::mock_since(ForkName::Deneb, 20).await;
    node.mock.set_empty_unpublished_slots(true);
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let config = harness::config(dir.path(), &node, 1, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let request = json!({
        "keystores": [keystore_json(9, "pw")],
        "passwords": ["pw"],
    });
    let imported_at = node.slot();
    let (status, body) = api
        .send(Method::POST, "/eth/v1/keystores", Some(&request))
        .await;
    assert_eq!(statuses(&body), vec!["imported"], "{status} {body}");
    // Nothing from the imported key during the rest of this epoch; attesting after it.
    let spec = harness::spec(ForkName::Deneb);
    let release = (spec.compute_epoch_at_slot(imported_at) + 1).start_slot(spec.slots_per_epoch);
    let quiet_until = release.as_u64().saturating_sub(1);
    while node.slot().as_u64() < quiet_until {
        assert!(
            !harness::attesters_after(&node, imported_at).contains(&9),
            "the held key attested"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        harness::wait_for_attesters(&node, &[9], release, 3 * spec.slots_per_epoch).await,
        "released after the doppelganger epoch"
    );
    running.stop().await;
}

/// Copies of one key in one request: the first copy that decrypts is imported whatever failed
/// before it, later copies are `duplicate`; the files written and the slashing protection data
/// are those of the imported copy.
#[tokio::test]
async fn repeated_keys_in_one_request_import_the_valid_copy() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());

    // Key 21's claimed pubkey over key 22's secret: the `pubkey` field lies.
    let lying_21 = edited(22, "pw", |v| v["pubkey"] = json!(hex::encode(pubkey(21))));
    let lying_25 = edited(26, "pw", |v| v["pubkey"] = json!(hex::encode(pubkey(25))));
    let good = |i: u64| keystore_json(i, &format!("pw-{i}"));
    let cases: Vec<(String, String, &str, &str)> = vec![
        // Wrong password first, then the valid copy.
        (good(20), "wrong".into(), "error", "wrong password"),
        // Interleaved with another key's copies: rounds are per key.
        (lying_21.clone(), "pw".into(), "error", "does not match"),
        (good(20), "pw-20".into(), "imported", ""),
        (good(21), "pw-21".into(), "imported", ""),
        // Valid + valid: the second copy is a duplicate.
        (good(23), "pw-23".into(), "imported", ""),
        (good(23), "pw-23".into(), "duplicate", ""),
        // Valid, then an invalid copy: the key is known by then.
        (good(24), "pw-24".into(), "imported", ""),
        (good(24), "wrong".into(), "duplicate", ""),
        (good(25), "pw-25".into(), "imported", ""),
        (lying_25, "pw".into(), "duplicate", ""),
        // Every copy bad: each its own error, nothing imported.
        (good(27), "wrong".into(), "error", "wrong password"),
        (good(27), "also wrong".into(), "error", "wrong password"),
        // Loaded before the request: duplicate whatever the copy.
        (good(1), "wrong".into(), "duplicate", ""),
    ];
    // Another instance signed with keys 20 and 21 up to these watermarks.
    let history: Vec<InterchangeData> = [20, 21]
        .into_iter()
        .map(|i| InterchangeData {
            pubkey: pubkey(i),
            signed_blocks: vec![InterchangeBlock {
                slot: Slot(500_000 + i),
                signing_root: None,
            }],
            signed_attestations: vec![InterchangeAttestation {
                source_epoch: Epoch(60_000),
                target_epoch: Epoch(60_000 + i),
                signing_root: None,
            }],
        })
        .collect();
    let request = json!({
        "keystores": cases.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        "passwords": cases.iter().map(|c| c.1.clone()).collect::<Vec<_>>(),
        "slashing_protection": interchange(node.genesis_validators_root, history),
    });
    let (status, body) = api
        .send(Method::POST, "/eth/v1/keystores", Some(&request))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), cases.len(), "{body}");
    for (i, ((_, _, status, message), item)) in cases.iter().zip(data).enumerate() {
        assert_eq!(item["status"], *status, "item {i}: {item}");
        let text = item["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "item {i}: {message:?} in {text:?}");
    }

    let mut listed = api.local_keys().await;
    listed.sort();
    let mut expected: Vec<_> = [0, 1, 20, 21, 23, 24, 25].into_iter().map(pubkey).collect();
    expected.sort();
    assert_eq!(listed, expected);

    // On disk: the imported copy with the password that opens it (a restart must load it).
    let keystores = dir.path().join("keystores");
    let secrets = dir.path().join("secrets");
    for (i, position) in [(20, 2), (21, 3), (24, 6), (25, 8)] {
        let pk = pubkey(i);
        let file = keystores.join(format!("keystore-{pk}.json"));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            cases[position].0,
            "key {i}: the valid copy is the one written"
        );
        assert_eq!(
            std::fs::read_to_string(secrets.join(pk.to_string())).unwrap(),
            format!("pw-{i}"),
            "key {i}: its password file"
        );
    }
    for i in [22, 26, 27] {
        let pk = pubkey(i);
        assert!(
            !keystores.join(format!("keystore-{pk}.json")).exists(),
            "key {i}"
        );
        assert!(!secrets.join(pk.to_string()).exists(), "key {i}");
        assert!(
            running
                .slashing
                .validator_state(&pk)
                .await
                .unwrap()
                .is_none(),
            "key {i} was never registered with slashing protection"
        );
    }

    // The slashing protection data binds the imported copies.
    for i in [20u64, 21] {
        let state = running
            .slashing
            .validator_state(&pubkey(i))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("key {i} registered"));
        let text = format!("{state:?}");
        assert!(
            text.contains(&(60_000 + i).to_string()) && text.contains(&(500_000 + i).to_string()),
            "key {i}: the imported watermarks: {text}"
        );
    }
    running.stop().await;

    // A restart loads exactly the imported keys from what was written.
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let mut listed = api.local_keys().await;
    listed.sort();
    assert_eq!(listed, expected);
    running.stop().await;
}
