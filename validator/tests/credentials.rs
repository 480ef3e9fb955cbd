//! `poolvc credentials set-withdrawal-address` end to end: the binary against the mock beacon
//! node, which verifies every signature (genesis-fork domain) and the credentials precondition
//! and applies accepted changes, with each withdrawal key source (interop keys, a mnemonic,
//! keystores); wrong keys refused, "already set" reported, batches of 512, dry runs, and one
//! signature checked against an independent computation (hashing by hand, blst directly).

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use signer::derivation::validator_keys_from_mnemonic;
use signer::keystore::{Kdf, Keystore};
use types::api::{StateId, ValidatorId};
use types::{
    ChainSpec, ExecutionAddress, ForkName, Hash256, MinimalEthSpec, PublicKeyBytes,
    bls_withdrawal_credentials, eth1_withdrawal_credentials,
};
use validator::beacon_node::{BeaconNodeClient, Timeouts};
use validator::testing::{InteropKeypair, MockBeaconNode, MockConfig, now_secs, spec_at};

type E = MinimalEthSpec;

const ROUTE: &str = "/eth/v1/beacon/pool/bls_to_execution_changes";
const TO: &str = "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
const MNEMONIC: &str = "test test test test test test test test test test test junk";

fn to() -> ExecutionAddress {
    TO.parse().unwrap()
}

fn spec(fork: ForkName) -> ChainSpec {
    spec_at(&ChainSpec::minimal(), fork).unwrap()
}

/// A mock whose validators have `pubkeys` as signing keys and `withdrawal` as credentials.
async fn mock(
    spec: ChainSpec,
    pubkeys: &[PublicKeyBytes],
    credentials: &[Hash256],
) -> MockBeaconNode<E> {
    let genesis = now_secs() - 3 * spec.seconds_per_slot();
    let mut config = MockConfig::new(spec, genesis, pubkeys);
    for (validator, credentials) in config.validators.iter_mut().zip(credentials) {
        validator.validator.withdrawal_credentials = *credentials;
    }
    MockBeaconNode::start(config).await.unwrap()
}

/// Interop validators `0..n`, each with BLS credentials of its own key.
async fn interop_mock(n: u64) -> (MockBeaconNode<E>, Vec<PublicKeyBytes>) {
    let pubkeys: Vec<_> = InteropKeypair::range(n).iter().map(|k| k.pubkey).collect();
    let credentials: Vec<_> = pubkeys.iter().map(bls_withdrawal_credentials).collect();
    (
        mock(spec(ForkName::Capella), &pubkeys, &credentials).await,
        pubkeys,
    )
}

async fn poolvc(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["credentials", "set-withdrawal-address"])
        .args(args)
        .output()
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The head-state withdrawal credentials of validators `0..n`.
async fn credentials(node: &MockBeaconNode<E>, n: u64) -> Vec<Hash256> {
    let client =
        BeaconNodeClient::new(&node.url(), Timeouts::uniform(Duration::from_secs(5))).unwrap();
    let ids: Vec<_> = (0..n).map(ValidatorId::Index).collect();
    let mut data = client
        .post_state_validators(StateId::Head, &ids, &[])
        .await
        .unwrap()
        .data;
    data.sort_by_key(|v| v.index);
    data.iter()
        .map(|v| v.validator.withdrawal_credentials)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interop_keys_change_refuse_and_report_already_set() {
    let (node, pubkeys) = {
        let pubkeys: Vec<_> = InteropKeypair::range(8).iter().map(|k| k.pubkey).collect();
        let mut credentials: Vec<_> = pubkeys.iter().map(bls_withdrawal_credentials).collect();
        // Validator 6 was deposited with another withdrawal key; 7 already points at TO.
        credentials[6] = bls_withdrawal_credentials(&InteropKeypair::new(100).pubkey);
        credentials[7] = eth1_withdrawal_credentials(to());
        (
            mock(spec(ForkName::Capella), &pubkeys, &credentials).await,
            pubkeys,
        )
    };
    let url = node.url();
    let output = poolvc(&["--beacon-node", &url, "--to", TO, "--interop-count", "8"]).await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a refused validator fails the run: {stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
    assert!(
        stdout.starts_with("submitted 6 in 1 request(s), already set 1, skipped 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("validator {}: withdrawal credentials", pubkeys[6]))
            && stdout.contains("match none of the withdrawal keys given"),
        "{stdout}"
    );
    assert!(node.rejected().is_empty(), "{:?}", node.rejected());
    assert_eq!(node.bls_to_execution_changes().len(), 6);
    let after = credentials(&node, 8).await;
    for (index, credentials) in after.iter().enumerate() {
        if index == 6 {
            assert_eq!(credentials[0], 0x00, "the refused validator is untouched");
        } else {
            assert_eq!(
                *credentials,
                eth1_withdrawal_credentials(to()),
                "validator {index}"
            );
        }
    }

    // Again: everything changed is now "already set"; nothing is sent.
    node.clear_requests();
    let output = poolvc(&["--beacon-node", &url, "--to", TO, "--interop-count", "8"]).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("submitted 0 in 0 request(s), already set 7, skipped 1"),
        "{stdout}"
    );
    assert_eq!(node.request_count("POST", ROUTE), 0);

    // Selected indices only, and a validator pointing elsewhere is named.
    let output = poolvc(&[
        "--beacon-node",
        &url,
        "--to",
        "0x1111111111111111111111111111111111111111",
        "--interop-count",
        "8",
        "--validators",
        "1,9",
    ])
    .await;
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "validator 1: withdrawal credentials already point at {}",
            to()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("validator 9: not found in the head state"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_go_in_batches_of_512() {
    let (node, _) = interop_mock(1030).await;
    let output = poolvc(&[
        "--beacon-node",
        &node.url(),
        "--to",
        TO,
        "--interop-count",
        "1030",
    ])
    .await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert_eq!(
        node.request_count("POST", ROUTE),
        3,
        "ceil(1030 / 512) requests"
    );
    assert!(
        stdout.starts_with("submitted 1030 in 3 request(s), already set 0, skipped 0"),
        "{stdout}"
    );
    let sizes: Vec<usize> = node
        .requests()
        .iter()
        .filter(|r| r.route == ROUTE && r.method == "POST")
        .map(|r| serde_json::from_slice::<Vec<Value>>(&r.body).unwrap().len())
        .collect();
    assert_eq!(sizes, vec![512, 512, 6]);
    assert!(
        credentials(&node, 1030)
            .await
            .iter()
            .all(|c| *c == eth1_withdrawal_credentials(to()))
    );
}

/// The signing root of a `BLSToExecutionChange` computed by hand: SSZ merkleization with plain
/// sha256, `compute_domain` with the genesis fork version.
fn signing_root_by_hand(
    index: u64,
    from: &[u8],
    address: &[u8],
    genesis_fork_version: [u8; 4],
    genesis_validators_root: &[u8],
) -> [u8; 32] {
    let sha = |parts: &[&[u8]]| {
        let mut all = Vec::new();
        for part in parts {
            all.extend_from_slice(part);
        }
        ethereum_hashing::hash_fixed(&all)
    };
    let mut index_chunk = [0u8; 32];
    index_chunk[..8].copy_from_slice(&index.to_le_bytes());
    let mut pubkey_tail = [0u8; 32];
    pubkey_tail[..16].copy_from_slice(&from[32..48]);
    let pubkey_root = sha(&[&from[..32], &pubkey_tail]);
    let mut address_chunk = [0u8; 32];
    address_chunk[..20].copy_from_slice(address);
    let message_root = sha(&[
        &sha(&[&index_chunk, &pubkey_root]),
        &sha(&[&address_chunk, &[0u8; 32]]),
    ]);
    let mut version_chunk = [0u8; 32];
    version_chunk[..4].copy_from_slice(&genesis_fork_version);
    let fork_data_root = sha(&[&version_chunk, genesis_validators_root]);
    let mut domain = [0u8; 32];
    domain[0] = 0x0a; // DOMAIN_BLS_TO_EXECUTION_CHANGE
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    sha(&[&message_root, &domain])
}

fn hex_bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mnemonic_keys_dry_run_then_submit() {
    let pairs: Vec<_> = (0..4)
        .map(|i| validator_keys_from_mnemonic(MNEMONIC, "", i).unwrap())
        .collect();
    let signing: Vec<_> = pairs
        .iter()
        .map(|p| p.signing.public_key().to_bytes())
        .collect();
    let withdrawal: Vec<_> = pairs
        .iter()
        .map(|p| bls_withdrawal_credentials(&p.withdrawal.public_key().to_bytes()))
        .collect();
    let spec = spec(ForkName::Deneb);
    let node = mock(spec.clone(), &signing, &withdrawal).await;
    let dir = tempfile::tempdir().unwrap();
    let mnemonic = dir.path().join("mnemonic.txt");
    std::fs::write(&mnemonic, format!("{MNEMONIC}\n")).unwrap();
    let args = [
        "--beacon-node",
        &node.url(),
        "--to",
        TO,
        "--mnemonic-file",
        mnemonic.to_str().unwrap(),
        "--count",
        "4",
    ];

    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let output = poolvc(&dry).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("test test test"),
        "the mnemonic is never logged"
    );
    assert!(text(&output.stderr).contains("dry run: signed 4 (not submitted)"));
    assert_eq!(
        node.request_count("POST", ROUTE),
        0,
        "a dry run sends nothing"
    );
    let changes: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(changes.len(), 4);

    // One message checked independently of the client's types and signing code.
    let change = &changes[2];
    let message = &change["message"];
    assert_eq!(message["validator_index"], "2");
    let from = hex_bytes(&message["from_bls_pubkey"]);
    assert_eq!(from, pairs[2].withdrawal.public_key().to_bytes().as_slice());
    let address = hex_bytes(&message["to_execution_address"]);
    assert_eq!(address, to().as_slice());
    let version: [u8; 4] = spec.genesis_fork_version().0;
    let root = signing_root_by_hand(
        2,
        &from,
        &address,
        version,
        node.genesis_validators_root().as_slice(),
    );
    let key = blst::min_pk::PublicKey::key_validate(&from).unwrap();
    let signature =
        blst::min_pk::Signature::sig_validate(&hex_bytes(&change["signature"]), true).unwrap();
    assert_eq!(
        signature.verify(
            true,
            &root,
            validator::testing::keys::BLS_DST,
            &[],
            &key,
            true
        ),
        blst::BLST_ERROR::BLST_SUCCESS,
        "signature over the genesis-fork domain"
    );
    let mut wrong_version = version;
    wrong_version[0] ^= 1;
    let wrong = signing_root_by_hand(
        2,
        &from,
        &address,
        wrong_version,
        node.genesis_validators_root().as_slice(),
    );
    assert_ne!(
        signature.verify(
            true,
            &wrong,
            validator::testing::keys::BLS_DST,
            &[],
            &key,
            true
        ),
        blst::BLST_ERROR::BLST_SUCCESS
    );

    let output = poolvc(&args).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("submitted 4 in 1 request(s)"));
    assert!(
        credentials(&node, 4)
            .await
            .iter()
            .all(|c| *c == eth1_withdrawal_credentials(to()))
    );
}

fn registry(path: &Path, address: &str, keys: &[PublicKeyBytes]) {
    let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    let text = format!(
        "[pool]\nname = \"p\"\nwithdrawal_credentials = \"0x010000000000000000000000{}\"\n\
         el_rewards_vault = \"0x{}\"\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n\
         [pool.shares]\ninitial_total_shares = \"1000\"\n\n[[operators]]\nid = 1\nname = \"A\"\n\
         reward_address = \"0x{}\"\nkeys = [{}]\n",
        address.trim_start_matches("0x"),
        "bb".repeat(20),
        "cc".repeat(20),
        keys.join(", ")
    );
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystores_with_the_registry_address() {
    // Validators 0..3 signing keys are interop keys 0..3; withdrawal keys interop 50..53.
    let signing: Vec<_> = InteropKeypair::range(4).iter().map(|k| k.pubkey).collect();
    let withdrawal_secrets: Vec<_> = (50..54)
        .map(|i| signer::derivation::interop_secret_key(i).unwrap())
        .collect();
    let bls: Vec<_> = withdrawal_secrets
        .iter()
        .map(|s| bls_withdrawal_credentials(&s.public_key().to_bytes()))
        .collect();
    let node = mock(spec(ForkName::Capella), &signing, &bls).await;
    let dir = tempfile::tempdir().unwrap();
    let keystores = dir.path().join("keystores");
    std::fs::create_dir(&keystores).unwrap();
    // Keystores of validators 0..2 only (validator 3's key is not given).
    for (i, secret) in withdrawal_secrets.iter().take(3).enumerate() {
        let keystore = Keystore::encrypt(
            secret,
            "pw",
            Kdf::pbkdf2(8192),
            &format!("m/12381/3600/{i}/0"),
        )
        .unwrap();
        keystore
            .write_new_file(&keystores.join(format!("keystore-{i}.json")))
            .unwrap();
    }
    let password = dir.path().join("password");
    std::fs::write(&password, "pw\n").unwrap();
    let registry_file = dir.path().join("registry.toml");
    registry(&registry_file, TO, &signing);

    // Keystores alone do not name their validators.
    let base = [
        "--beacon-node",
        &node.url(),
        "--withdrawal-keystores",
        keystores.to_str().unwrap(),
        "--password-file",
        password.to_str().unwrap(),
    ];
    let mut without = base.to_vec();
    without.extend(["--to", TO]);
    let output = poolvc(&without).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("--validators INDICES or --registry"),
        "{}",
        text(&output.stderr)
    );

    // --to that differs from the registry's address is refused before anything is sent.
    let mut differing = base.to_vec();
    differing.extend([
        "--registry",
        registry_file.to_str().unwrap(),
        "--to",
        "0x1111111111111111111111111111111111111111",
    ]);
    let output = poolvc(&differing).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("differs from the pool's withdrawal address"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(node.request_count("POST", ROUTE), 0);

    // The registry gives the address and the validators (its keys).
    let mut with_registry = base.to_vec();
    with_registry.extend(["--registry", registry_file.to_str().unwrap()]);
    let output = poolvc(&with_registry).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("submitted 3 in 1 request(s), already set 0, skipped 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("validator {}", signing[3])),
        "{stdout}"
    );
    let after = credentials(&node, 4).await;
    assert_eq!(&after[..3], &[eth1_withdrawal_credentials(to()); 3]);
    assert_eq!(after[3], bls[3]);

    // A wrong password names the keystore.
    std::fs::write(&password, "nope\n").unwrap();
    let output = poolvc(&with_registry).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("keystore-0.json"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_before_capella() {
    let pubkeys: Vec<_> = InteropKeypair::range(2).iter().map(|k| k.pubkey).collect();
    let credentials: Vec<_> = pubkeys.iter().map(bls_withdrawal_credentials).collect();
    let node = mock(spec(ForkName::Bellatrix), &pubkeys, &credentials).await;
    let output = poolvc(&[
        "--beacon-node",
        &node.url(),
        "--to",
        TO,
        "--interop-count",
        "2",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("only accepted from Capella on"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(node.request_count("POST", ROUTE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_rejects_bad_changes_and_the_client_names_them() {
    // The node-side checks, through the client: a forged signature and a wrong key are refused
    // per item with their index; the valid item of the same batch is applied.
    let (node, pubkeys) = interop_mock(3).await;
    let client =
        BeaconNodeClient::new(&node.url(), Timeouts::uniform(Duration::from_secs(5))).unwrap();
    let spec = node.spec();
    let gvr = node.genesis_validators_root();
    let keys = InteropKeypair::range(3);
    let change = |index: u64, from: PublicKeyBytes| types::BlsToExecutionChange {
        validator_index: index,
        from_bls_pubkey: from,
        to_execution_address: to(),
    };
    let signed = |message: types::BlsToExecutionChange, key: &InteropKeypair| {
        types::SignedBlsToExecutionChange {
            message,
            signature: key.sign(message.signing_root_for(&spec, gvr)),
        }
    };
    let batch = vec![
        signed(change(0, pubkeys[0]), &keys[0]),
        signed(change(1, pubkeys[1]), &keys[2]),
        signed(change(2, pubkeys[1]), &keys[1]),
    ];
    let error = client
        .post_bls_to_execution_changes(&batch)
        .await
        .unwrap_err();
    let validator::beacon_node::Error::Status {
        status: 400,
        failures,
        ..
    } = error
    else {
        panic!("expected a 400 with failures: {error}");
    };
    let indices: Vec<u64> = failures.iter().map(|f| f.index).collect();
    assert_eq!(indices, vec![1, 2]);
    assert!(
        failures[0].message.contains("invalid signature"),
        "{failures:?}"
    );
    assert!(
        failures[1].message.contains("does not match"),
        "{failures:?}"
    );
    let after = credentials(&node, 3).await;
    assert_eq!(after[0], eth1_withdrawal_credentials(to()));
    assert_eq!(after[1], bls_withdrawal_credentials(&pubkeys[1]));
    assert_eq!(
        client.get_bls_to_execution_changes().await.unwrap(),
        vec![batch[0]]
    );
}
