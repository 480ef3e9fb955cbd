//! Remote keys over a Web3Signer-compatible remote signer: every message kind the store signs
//! goes out with the typed body the API defines (the stand-in recomputes and checks each
//! signing root) and comes back as signatures the mock beacon node accepts; remote keys are
//! managed through `/eth/v1/remotekeys` and survive a restart; a remote that answers garbage or
//! fails never causes a publication.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use signer::bls::{PublicKey, Signature};
use types::{
    DomainType, ForkName, PublicKeyBytes, SignatureBytes, SignedRoot, Slot, VoluntaryExit,
    compute_domain,
};
use validator::config::BuilderMode;
use validator::metrics::{Duty, Outcome};

use crate::harness::{self, Api, pubkey, statuses};
use crate::web3signer::{Behaviour, MockWeb3Signer};

/// Every request type the store produces.
const ALL_TYPES: [&str; 10] = [
    "AGGREGATE_AND_PROOF_V2",
    "AGGREGATION_SLOT",
    "ATTESTATION",
    "BLOCK_V2",
    "RANDAO_REVEAL",
    "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
    "SYNC_COMMITTEE_MESSAGE",
    "SYNC_COMMITTEE_SELECTION_PROOF",
    "VALIDATOR_REGISTRATION",
    "VOLUNTARY_EXIT",
];

fn remote_list(body: &Value) -> Vec<(PublicKeyBytes, bool)> {
    let mut keys: Vec<(PublicKeyBytes, bool)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["pubkey"].as_str().unwrap().parse().unwrap(),
                k["readonly"].as_bool().unwrap(),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn remote_keys_sign_every_duty_and_are_managed() {
    let node = harness::mock(ForkName::Deneb).await;
    let spec = harness::spec(ForkName::Deneb);
    let local = [0u64, 1];
    let now = node.slot().as_u64();
    // A key proposing soon and a sync committee member are among the remote keys, so blocks,
    // RANDAO reveals and sync committee messages are signed remotely too.
    let proposer = (now + 5..now + 14)
        .filter_map(|s| node.mock.proposer(Slot(s)))
        .find(|p| !local.contains(p))
        .expect("a proposer soon");
    let member = node
        .mock
        .sync_committee(spec.compute_epoch_at_slot(Slot(now)))
        .into_iter()
        .find(|i| !local.contains(i) && *i != proposer)
        .expect("a sync committee member");
    let mut remote: Vec<u64> = vec![proposer, member, 40, 41];
    remote.sort_unstable();
    remote.dedup();
    let web3signer =
        MockWeb3Signer::start(&remote, spec.clone(), node.genesis_validators_root).await;
    // A second remote signer, for a key imported through the API.
    let other = MockWeb3Signer::start(&[50], spec.clone(), node.genesis_validators_root).await;

    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let mut config = harness::config(dir.path(), &node, 0, false);
    config.duties.builder = BuilderMode::Enabled;
    config.remote_signer.url = Some(web3signer.url());
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let start = node.slot();

    // Listed read-only (they come from --remote-signer-url); not among the local keystores.
    let (status, body) = api.send(Method::GET, "/eth/v1/remotekeys", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expected: Vec<(PublicKeyBytes, bool)> = {
        let mut keys: Vec<_> = remote.iter().map(|i| (pubkey(*i), true)).collect();
        keys.sort();
        keys
    };
    assert_eq!(remote_list(&body), expected);
    assert_eq!(body["data"][0]["url"], web3signer.url());
    let mut locals = api.local_keys().await;
    locals.sort();
    let mut expected_locals = vec![pubkey(0), pubkey(1)];
    expected_locals.sort();
    assert_eq!(locals, expected_locals);

    // One more through the API; duplicates and bad items are refused one by one.
    let request = json!({"remote_keys": [
        {"pubkey": pubkey(50).to_string(), "url": other.url()},
        {"pubkey": pubkey(40).to_string(), "url": web3signer.url()},
        {"pubkey": pubkey(51).to_string(), "url": "ftp://signer"},
        {"pubkey": "0x1234", "url": web3signer.url()},
        {"pubkey": pubkey(0).to_string()},
    ]});
    let (status, body) = api
        .send(Method::POST, "/eth/v1/remotekeys", Some(&request))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        statuses(&body),
        vec!["imported", "duplicate", "error", "error", "duplicate"],
        "{body}"
    );
    assert!(
        body["data"][2]["message"]
            .as_str()
            .unwrap()
            .contains("scheme"),
        "{body}"
    );

    // Every remote key attests (the mock beacon node verifies each signature); the proposer
    // proposes, the sync committee member signs messages and contributions, builder
    // registrations go out.
    let mut everyone: Vec<u64> = remote.clone();
    everyone.push(50);
    assert!(
        harness::wait_for_attesters(&node, &everyone, start, harness::ATTESTATION_WAIT_SLOTS).await,
        "remote keys attest: {:?}",
        harness::attesters_after(&node, start)
    );
    let published = node.mock.published();
    assert!(
        published
            .blocks
            .iter()
            .any(|b| b.proposer_index == proposer),
        "the remote proposer's block"
    );
    assert!(
        published
            .sync_messages
            .iter()
            .any(|m| m.validator_index == member),
        "the remote member's sync messages"
    );
    assert!(
        published
            .contributions
            .iter()
            .any(|c| c.message.aggregator_index == member),
        "the remote member's contributions"
    );
    assert!(
        published
            .registrations
            .iter()
            .any(|r| r.message.pubkey == pubkey(40)),
        "remote builder registrations"
    );
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );

    // A voluntary exit signed remotely verifies under the Capella domain (EIP-7044).
    let path = format!("/eth/v1/validator/{}/voluntary_exit?epoch=1", pubkey(40));
    let (status, body) = api.send(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let exit: VoluntaryExit = serde_json::from_value(body["data"]["message"].clone()).unwrap();
    let signature: SignatureBytes =
        serde_json::from_value(body["data"]["signature"].clone()).unwrap();
    let domain = compute_domain(
        DomainType::from([4, 0, 0, 0]),
        spec.fork_version(ForkName::Capella).unwrap(),
        node.genesis_validators_root,
    );
    assert!(PublicKey::try_from(&pubkey(40)).unwrap().verify(
        exit.signing_root(domain).as_slice(),
        &Signature::try_from(&signature).unwrap()
    ));

    let types = web3signer.types();
    for kind in ALL_TYPES {
        assert!(
            types.iter().any(|t| t == kind),
            "{kind} not requested: {types:?}"
        );
    }
    assert!(
        web3signer.invalid().is_empty(),
        "{:?}",
        web3signer.invalid()
    );
    assert!(other.types().iter().any(|t| t == "ATTESTATION"));
    assert!(other.invalid().is_empty(), "{:?}", other.invalid());
    running.stop().await;

    // The API-imported key is loaded again at restart, and can then be deleted; keys of the
    // configuration and local keystores cannot be deleted here.
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let (_, body) = api.send(Method::GET, "/eth/v1/remotekeys", None).await;
    assert!(remote_list(&body).contains(&(pubkey(50), false)), "{body}");
    let request = json!({"pubkeys": [
        pubkey(50).to_string(), pubkey(40).to_string(), pubkey(55).to_string(), pubkey(0).to_string(),
    ]});
    let (status, body) = api
        .send(Method::DELETE, "/eth/v1/remotekeys", Some(&request))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        statuses(&body),
        vec!["deleted", "error", "not_found", "error"],
        "{body}"
    );
    let (_, body) = api.send(Method::GET, "/eth/v1/remotekeys", None).await;
    assert!(
        !remote_list(&body).iter().any(|(pk, _)| *pk == pubkey(50)),
        "{body}"
    );
    let definitions =
        std::fs::read_to_string(dir.path().join("validator_definitions.json")).unwrap();
    assert!(!definitions.contains("remote_signer_url"), "{definitions}");
    running.stop().await;
}

#[tokio::test]
async fn garbage_and_failures_of_the_remote_are_never_published() {
    let node = harness::mock(ForkName::Deneb).await;
    let spec = harness::spec(ForkName::Deneb);
    let web3signer =
        MockWeb3Signer::start(&[10, 11], spec.clone(), node.genesis_validators_root).await;
    web3signer.set_behaviour(pubkey(10), Behaviour::WrongSignature);
    web3signer.set_behaviour(pubkey(11), Behaviour::Fail);
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let mut config = harness::config(dir.path(), &node, 0, false);
    config.remote_signer.url = Some(web3signer.url());
    let (logs, _guard) = validator::testing::Logs::capture();
    let running = harness::start(&config).await;
    let start = node.slot();

    // Both remote keys get an attestation duty within two epochs: each is refused, counted.
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(harness::ATTESTATION_WAIT_SLOTS * harness::SLOT_SECONDS);
    let asked = |i: u64| {
        web3signer
            .types_for(&pubkey(i))
            .iter()
            .any(|t| t == "ATTESTATION")
    };
    while !(asked(10) && asked(11)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        asked(10) && asked(11),
        "both remote keys were asked to attest"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attested: BTreeSet<u64> = harness::attesters_after(&node, start).into_iter().collect();
    assert!(
        !attested.contains(&10) && !attested.contains(&11),
        "published: {attested:?}"
    );
    assert!(
        node.mock.rejected().is_empty(),
        "nothing invalid reached the beacon node: {:?}",
        node.mock.rejected()
    );
    assert!(
        running
            .metrics
            .duty_count(Duty::Attestation, Outcome::Refused)
            >= 2,
        "refusals counted"
    );
    let text = logs.text();
    assert!(
        text.contains("invalid signature") && text.contains(&pubkey(10).to_string()),
        "the garbage is named: {text}"
    );
    assert!(text.contains("HTTP 500"), "the failure is named: {text}");
    assert!(
        web3signer.invalid().is_empty(),
        "{:?}",
        web3signer.invalid()
    );
    // The local keys of the same batches are not affected.
    assert!(
        harness::wait_for_attesters(&node, &[0, 1], start, harness::ATTESTATION_WAIT_SLOTS).await,
        "local keys attest: {attested:?}"
    );
    running.stop().await;
}

#[tokio::test]
async fn slashing_protection_is_checked_before_any_remote_request() {
    use slashing_protection::{
        INTERCHANGE_FORMAT_VERSION, Interchange, InterchangeAttestation, InterchangeData,
        InterchangeMetadata, SlashingProtection, SqliteConfig, SqliteStore,
    };
    use types::Epoch;

    let node = harness::mock(ForkName::Deneb).await;
    let spec = harness::spec(ForkName::Deneb);
    let web3signer = MockWeb3Signer::start(&[12], spec, node.genesis_validators_root).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    // Key 12 signed far ahead elsewhere: every attestation now is slashable.
    SqliteStore::open(
        dir.path().join("slashing_protection.sqlite"),
        node.genesis_validators_root,
        SqliteConfig::default(),
    )
    .await
    .unwrap()
    .import_interchange(&Interchange {
        metadata: InterchangeMetadata {
            interchange_format_version: INTERCHANGE_FORMAT_VERSION,
            genesis_validators_root: node.genesis_validators_root,
        },
        data: vec![InterchangeData {
            pubkey: pubkey(12),
            signed_blocks: Vec::new(),
            signed_attestations: vec![InterchangeAttestation {
                source_epoch: Epoch(100_000),
                target_epoch: Epoch(100_001),
                signing_root: None,
            }],
        }],
    })
    .await
    .unwrap();
    let mut config = harness::config(dir.path(), &node, 0, false);
    config.remote_signer.url = Some(web3signer.url());
    let running = harness::start(&config).await;
    let start = node.slot();

    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(harness::ATTESTATION_WAIT_SLOTS * harness::SLOT_SECONDS);
    while running
        .metrics
        .duty_count(Duty::Attestation, Outcome::Refused)
        == 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        running
            .metrics
            .duty_count(Duty::Attestation, Outcome::Refused)
            >= 1,
        "key 12's attestation was refused"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = web3signer.types_for(&pubkey(12));
    assert!(
        asked.iter().any(|t| t == "AGGREGATION_SLOT"),
        "the remote signs for key 12 otherwise: {asked:?}"
    );
    assert!(
        !asked.iter().any(|t| t == "ATTESTATION"),
        "the remote was asked to sign a slashable attestation: {asked:?}"
    );
    assert!(!harness::attesters_after(&node, start).contains(&12));
    running.stop().await;
}
