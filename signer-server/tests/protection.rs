//! Slashing protection and the pool's fee-recipient policy through the HTTP router: slashable
//! blocks and attestations are refused with 412, conflicting requests racing each other get
//! one signature at most, every signature is preceded by its record, a database failure
//! signs nothing; blocks (whole, blinded, header only) and builder registrations are checked
//! against the vault, refusals counted; a refused request records nothing.

#[expect(
    dead_code,
    reason = "the shared helpers are used in part by each test binary"
)]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::http::StatusCode;
use common::{
    E, Options, Recorder, SLOTS, TestSigner, all_cases, attestation_data, fork_info, header,
    pubkey, verifies,
};
use serde_json::{Value, json};
use signer_server::{Coalescing, FeePolicy, HeaderOnlyBlocks, MessageKind, Outcome};
use slashing_protection::{
    AttestationRequest, BlockRequest, CheckResult, ExportScope, ImportSummary, Interchange,
    PruneSummary, PruneWindow, SlashingProtection, SqliteConfig, SqliteStore, ValidatorState,
};
use types::{
    ChainSpec, ExecutionAddress, ExecutionPayloadCapella, Hash256, MinimalEthSpec, PublicKeyBytes,
    Slot,
};

fn attestation(slot: u64, source: u64, target: u64, byte: u8) -> Value {
    json!({
        "type": "ATTESTATION",
        "fork_info": fork_info(target),
        "attestation": attestation_data(slot, 0, source, target, byte),
    })
}

fn block_header(slot: u64, byte: u8) -> Value {
    json!({
        "type": "BLOCK_V2",
        "fork_info": fork_info(slot / SLOTS),
        "beacon_block": {"version": "DENEB", "block_header": header(slot, byte)},
    })
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or("")
}

#[tokio::test]
async fn slashable_messages_are_refused_with_412_and_repeats_are_signed() {
    for coalescing in [Coalescing::Enabled, Coalescing::Disabled] {
        let signer = TestSigner::<E>::start(Options {
            coalescing,
            ..Options::default()
        })
        .await;
        let key = pubkey(0);
        let (status, first) = signer.sign(&key, &block_header(40, 1)).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        // Recorded before the answer.
        let state = signer
            .slashing
            .validator_state(&key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.last_block.unwrap().slot, Slot(40));
        let (status, again) = signer.sign(&key, &block_header(40, 1)).await;
        assert_eq!(status, StatusCode::OK, "the same block again: {again}");
        assert_eq!(again["signature"], first["signature"]);
        let (status, body) = signer.sign(&key, &block_header(40, 2)).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
        assert!(message(&body).contains("double proposal"), "{body}");
        let (status, body) = signer.sign(&key, &block_header(39, 3)).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");

        let (status, _) = signer.sign(&key, &attestation(34, 3, 4, 1)).await;
        assert_eq!(status, StatusCode::OK);
        let state = signer
            .slashing
            .validator_state(&key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(state.last_attestation.unwrap().target.as_u64(), 4);
        let (status, body) = signer.sign(&key, &attestation(34, 3, 4, 2)).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
        assert!(message(&body).contains("double vote"), "{body}");
        let (status, _) = signer.sign(&key, &attestation(34, 3, 4, 1)).await;
        assert_eq!(status, StatusCode::OK, "the same attestation again");
        let (status, _) = signer.sign(&key, &attestation(50, 5, 6, 1)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = signer.sign(&key, &attestation(41, 2, 7, 1)).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
        assert!(message(&body).contains("surround"), "{body}");
        signer.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_conflicting_requests_get_one_signature_at_most() {
    for coalescing in [Coalescing::Enabled, Coalescing::Disabled] {
        let signer = Arc::new(
            TestSigner::<E>::start(Options {
                coalescing,
                ..Options::default()
            })
            .await,
        );
        let key = pubkey(1);
        let attestations = futures::future::join_all((0..16u8).map(|i| {
            let signer = signer.clone();
            async move { signer.sign(&key, &attestation(42, 4, 5, 0x80 + i)).await }
        }))
        .await;
        let blocks = futures::future::join_all((0..16u8).map(|i| {
            let signer = signer.clone();
            async move { signer.sign(&key, &block_header(44, 0x80 + i)).await }
        }))
        .await;
        for (what, answers) in [("attestation", attestations), ("block", blocks)] {
            let signed = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
            let refused = answers
                .iter()
                .filter(|(s, _)| *s == StatusCode::PRECONDITION_FAILED)
                .count();
            assert_eq!(
                (signed, refused),
                (1, 15),
                "{what} {coalescing:?}: {answers:?}"
            );
        }
        Arc::into_inner(signer).unwrap().stop().await;
    }
}

/// A store that fails every check while `failing` is set.
struct Flaky {
    inner: SqliteStore,
    failing: AtomicBool,
}

impl Flaky {
    fn check(&self) -> slashing_protection::Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            Err(slashing_protection::Error::Corrupt(
                "injected failure".into(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SlashingProtection for Flaky {
    fn genesis_validators_root(&self) -> Hash256 {
        self.inner.genesis_validators_root()
    }
    async fn register_validators(
        &self,
        pubkeys: &[PublicKeyBytes],
    ) -> slashing_protection::Result<()> {
        self.inner.register_validators(pubkeys).await
    }
    async fn check_and_insert_blocks(
        &self,
        requests: &[BlockRequest],
    ) -> slashing_protection::Result<Vec<CheckResult>> {
        self.check()?;
        self.inner.check_and_insert_blocks(requests).await
    }
    async fn check_and_insert_attestations(
        &self,
        requests: &[AttestationRequest],
    ) -> slashing_protection::Result<Vec<CheckResult>> {
        self.check()?;
        self.inner.check_and_insert_attestations(requests).await
    }
    async fn import_interchange(
        &self,
        interchange: &Interchange,
    ) -> slashing_protection::Result<ImportSummary> {
        self.inner.import_interchange(interchange).await
    }
    async fn export_interchange(
        &self,
        scope: ExportScope<'_>,
    ) -> slashing_protection::Result<Interchange> {
        self.inner.export_interchange(scope).await
    }
    async fn prune(&self, window: PruneWindow) -> slashing_protection::Result<PruneSummary> {
        self.inner.prune(window).await
    }
    async fn validator_state(
        &self,
        pubkey: &PublicKeyBytes,
    ) -> slashing_protection::Result<Option<ValidatorState>> {
        self.check()?;
        self.inner.validator_state(pubkey).await
    }
}

#[tokio::test]
async fn a_failing_database_signs_nothing_that_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky {
        inner: SqliteStore::open(
            dir.path().join("db.sqlite"),
            common::gvr(),
            SqliteConfig::default(),
        )
        .await
        .unwrap(),
        failing: AtomicBool::new(false),
    });
    let signer = TestSigner::<E>::start(Options {
        slashing: Some(flaky.clone()),
        ..Options::default()
    })
    .await;
    flaky.failing.store(true, Ordering::SeqCst);
    let key = pubkey(2);
    let (status, body) = signer.sign(&key, &block_header(48, 1)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body.get("signature").is_none());
    let (status, body) = signer.sign(&key, &attestation(49, 5, 6, 1)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        message(&body).contains("slashing protection failed"),
        "{body}"
    );
    // Messages slashing protection does not cover still sign.
    let randao = all_cases()
        .into_iter()
        .find(|c| c.name.starts_with("RANDAO"))
        .unwrap();
    let (status, body) = signer.sign(&key, &randao.body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The health check reports the database down.
    let (status, body) = signer
        .send(
            axum::http::Request::get("/healthcheck")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["outcome"], "DOWN");
    flaky.failing.store(false, Ordering::SeqCst);
    let (status, _) = signer.sign(&key, &block_header(48, 1)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "nothing was recorded by the failed attempt"
    );
    signer.stop().await;
}

/// The recorded Capella block of the minimal devnet, its chain, and the block blinded.
fn recorded_capella() -> Option<(ChainSpec, Hash256, Value, Value, String)> {
    let dir = types::test_vectors::vectors_subdir("beacon-node-responses/capella-minimal")?;
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let spec = ChainSpec::from_spec_response(&read("config_spec.json")).unwrap();
    let gvr: Hash256 = read("beacon_genesis.json")["data"]["genesis_validators_root"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let signed = read("block_head_v2.json");
    let block = signed["data"]["message"].clone();
    let mut blinded = block.clone();
    let payload: ExecutionPayloadCapella<MinimalEthSpec> =
        serde_json::from_value(block["body"]["execution_payload"].clone()).unwrap();
    let body = blinded["body"].as_object_mut().unwrap();
    body.remove("execution_payload");
    body.insert(
        "execution_payload_header".into(),
        serde_json::to_value(payload.to_header()).unwrap(),
    );
    let signature = signed["data"]["signature"].as_str().unwrap().to_owned();
    Some((spec, gvr, block, blinded, signature))
}

#[tokio::test]
async fn blocks_must_pay_the_vault() {
    let Some((spec, gvr, block, blinded, recorded)) = recorded_capella() else {
        return;
    };
    let paid: ExecutionAddress = block["body"]["execution_payload"]["fee_recipient"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let other: ExecutionAddress = "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
        .parse()
        .unwrap();
    assert_ne!(paid, other);
    let fork_info = json!({
        "fork": spec.fork_at_epoch(types::Epoch(9)),
        "genesis_validators_root": gvr,
    });
    let request = |kind: &str, value: &Value| {
        json!({"type": "BLOCK_V2", "fork_info": fork_info,
               "beacon_block": {"version": "CAPELLA", kind: value}})
    };
    let parsed = types::BeaconBlock::<MinimalEthSpec>::from_json_value(
        types::ForkName::Capella,
        block.clone(),
    )
    .unwrap();
    let header = serde_json::to_value(parsed.block_header()).unwrap();
    for (vault, header_only, pays) in [
        (paid, HeaderOnlyBlocks::Refuse, true),
        (other, HeaderOnlyBlocks::Sign, false),
    ] {
        let recorder = Arc::new(Recorder::default());
        let signer = TestSigner::<MinimalEthSpec>::start(Options {
            keys: vec![0],
            chain: Some((spec.clone(), gvr)),
            fee_policy: Some(FeePolicy { vault, header_only }),
            observer: recorder.clone(),
            ..Options::default()
        })
        .await;
        for shown in [request("block", &block), request("block", &blinded)] {
            let (status, body) = signer.sign(&pubkey(0), &shown).await;
            if pays {
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(
                    body["signature"], recorded,
                    "whole and blinded: the same root"
                );
            } else {
                assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
                assert!(
                    message(&body).contains("not the pool's vault")
                        && message(&body).contains(&paid.to_string()),
                    "{body}"
                );
            }
        }
        let (status, body) = signer
            .sign(&pubkey(0), &request("block_header", &header))
            .await;
        match header_only {
            HeaderOnlyBlocks::Refuse => {
                assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
                assert!(message(&body).contains("only the block header"), "{body}");
            }
            HeaderOnlyBlocks::Sign => {
                // Nothing was recorded by the refusals above: the header signs.
                assert_eq!(status, StatusCode::OK, "{body}");
                assert!(verifies(
                    &pubkey(0),
                    request_root(&signer, &request("block_header", &header)),
                    body["signature"].as_str().unwrap()
                ));
            }
        }
        let refused = recorder
            .requests
            .lock()
            .iter()
            .filter(|(kind, outcome)| {
                *kind == Some(MessageKind::Block) && *outcome == Outcome::PoolSafety
            })
            .count();
        let expected = if pays { 1 } else { 2 };
        assert_eq!(refused, expected, "pool-safety refusals counted");
        signer.stop().await;
    }
}

fn request_root(signer: &TestSigner<MinimalEthSpec>, body: &Value) -> Hash256 {
    let request = signer_server::SignRequest::<MinimalEthSpec>::from_value(body.clone()).unwrap();
    signer.service.chain().signing_root(&request).unwrap()
}

#[tokio::test]
async fn registrations_must_name_the_vault_and_early_blocks_have_no_payload() {
    let vault: ExecutionAddress = "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
        .parse()
        .unwrap();
    let signer = TestSigner::<E>::start(Options {
        fee_policy: Some(FeePolicy {
            vault,
            header_only: HeaderOnlyBlocks::Refuse,
        }),
        ..Options::default()
    })
    .await;
    let cases = all_cases();
    let registration = cases
        .iter()
        .find(|c| c.name == "VALIDATOR_REGISTRATION")
        .unwrap();
    let (status, body) = signer.sign(&pubkey(0), &registration.body).await;
    assert_eq!(status, StatusCode::OK, "it names the vault: {body}");
    let mut elsewhere = registration.body.clone();
    elsewhere["validator_registration"]["fee_recipient"] =
        json!("0x1111111111111111111111111111111111111111");
    elsewhere.as_object_mut().unwrap().remove("signingRoot");
    let (status, body) = signer.sign(&pubkey(0), &elsewhere).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert!(message(&body).contains("builder registration"), "{body}");
    // Phase0 and Altair blocks have no fee recipient to check.
    for name in ["BLOCK_V2 PHASE0", "BLOCK_V2 ALTAIR"] {
        let case = cases.iter().find(|c| c.name == name).unwrap();
        let (status, body) = signer.sign(&pubkey(1), &case.body).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    // A Bellatrix-epoch header: no fee recipient shown, refused.
    let case = cases
        .iter()
        .find(|c| c.name == "BLOCK_V2 BELLATRIX header")
        .unwrap();
    let (status, body) = signer.sign(&pubkey(1), &case.body).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    signer.stop().await;
}
