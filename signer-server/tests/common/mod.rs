//! Shared by the signer's integration tests: a test chain (minimal preset, a fork every epoch
//! from Altair at 1 to Fulu at 6), a signer over it served in-process, a valid request of every
//! signing type with its signing root computed here — independently of the crate: domains and
//! signing roots by hand with SHA-256, versions from a table, object roots from the consensus
//! containers — and signature checks with blst directly.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use signer::bls::SecretKey;
use signer_server::{
    Chain, Coalescing, FeePolicy, KeySource, Keys, NoObserver, Reloader, ServiceParts, SignerApi,
    SignerObserver, SignerService,
};
use slashing_protection::{SlashingProtection, SqliteConfig, SqliteStore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tree_hash::TreeHash;
use types::{ChainSpec, EthSpec, Hash256, MinimalEthSpec, PublicKeyBytes};

/// The preset of the test chain.
pub(crate) type E = MinimalEthSpec;

/// The test chain's genesis validators root.
pub(crate) fn gvr() -> Hash256 {
    Hash256::repeat_byte(0x42)
}

/// Slots per epoch (minimal preset).
pub(crate) const SLOTS: u64 = 8;

/// The test chain's fork versions, phase0 → Fulu; fork `i` activates at epoch `i`.
pub(crate) const VERSIONS: [[u8; 4]; 7] = [
    [0, 0, 0, 1],
    [1, 0, 0, 1],
    [2, 0, 0, 1],
    [3, 0, 0, 1],
    [4, 0, 0, 1],
    [5, 0, 0, 1],
    [6, 0, 0, 1],
];

/// The fork names, as requests write them.
pub(crate) const FORKS: [&str; 7] = [
    "PHASE0",
    "ALTAIR",
    "BELLATRIX",
    "CAPELLA",
    "DENEB",
    "ELECTRA",
    "FULU",
];

/// The test chain config: the minimal config with fork `i` at epoch `i`.
pub(crate) fn spec() -> ChainSpec {
    let mut map = ChainSpec::minimal().raw_config().clone();
    for (i, name) in ["ALTAIR", "BELLATRIX", "CAPELLA", "DENEB", "ELECTRA", "FULU"]
        .iter()
        .enumerate()
    {
        map.insert(
            format!("{name}_FORK_EPOCH"),
            Value::String((i + 1).to_string()),
        );
        map.insert(
            format!("{name}_FORK_VERSION"),
            Value::String(format!("0x{}", hex::encode(VERSIONS[i + 1]))),
        );
    }
    ChainSpec::from_config_map(&map).expect("test chain config")
}

/// The fork index at `epoch`.
pub(crate) fn fork_at(epoch: u64) -> usize {
    epoch.min(6) as usize
}

/// `fork_info` as a client sends it for a message of `epoch`: the state's fork at that epoch.
pub(crate) fn fork_info(epoch: u64) -> Value {
    let fork = fork_at(epoch);
    let previous = fork.saturating_sub(1);
    json!({
        "fork": {
            "previous_version": format!("0x{}", hex::encode(VERSIONS[previous])),
            "current_version": format!("0x{}", hex::encode(VERSIONS[fork])),
            "epoch": fork.to_string(),
        },
        "genesis_validators_root": gvr(),
    })
}

/// Hex of `bytes` with 0x.
pub(crate) fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// `compute_domain`, by hand: the domain type, then the first 28 bytes of
/// `hash_tree_root(ForkData(version, root))` = `sha256(version ‖ 28 zero bytes ‖ root)`.
pub(crate) fn domain(domain_type: [u8; 4], version: [u8; 4], root: Hash256) -> [u8; 32] {
    let mut leaf = [0u8; 32];
    leaf[..4].copy_from_slice(&version);
    let fork_data_root = sha256(&[&leaf, root.as_slice()]);
    let mut out = [0u8; 32];
    out[..4].copy_from_slice(&domain_type);
    out[4..].copy_from_slice(&fork_data_root[..28]);
    out
}

/// `compute_signing_root`, by hand: `sha256(object_root ‖ domain)`.
pub(crate) fn signing_root(object_root: Hash256, domain: [u8; 32]) -> Hash256 {
    Hash256::from(sha256(&[object_root.as_slice(), &domain]))
}

/// `hash_tree_root(uint64)`: little-endian, zero-padded.
pub(crate) fn uint64_root(value: u64) -> Hash256 {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&value.to_le_bytes());
    Hash256::from(out)
}

/// The interop secret key of validator `index`.
pub(crate) fn secret(index: u64) -> SecretKey {
    signer::derivation::interop_secret_key(index).expect("interop key")
}

/// The public key of [`secret`]`(index)`.
pub(crate) fn pubkey(index: u64) -> PublicKeyBytes {
    secret(index).public_key().to_bytes()
}

/// Whether `signature` (0x hex) is `pubkey`'s over `root`, checked with blst directly.
pub(crate) fn verifies(pubkey: &PublicKeyBytes, root: Hash256, signature: &str) -> bool {
    let Ok(bytes) = hex::decode(signature.trim_start_matches("0x")) else {
        return false;
    };
    let (Ok(pk), Ok(sig)) = (
        blst::min_pk::PublicKey::key_validate(pubkey.as_slice()),
        blst::min_pk::Signature::sig_validate(&bytes, true),
    ) else {
        return false;
    };
    sig.verify(
        true,
        root.as_slice(),
        b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
        &[],
        &pk,
        true,
    ) == blst::BLST_ERROR::BLST_SUCCESS
}

/// What a test signer is built with.
#[derive(Clone)]
pub(crate) struct Options {
    /// Interop key indices held.
    pub(crate) keys: Vec<u64>,
    /// The fee policy.
    pub(crate) fee_policy: Option<FeePolicy>,
    /// Coalescing.
    pub(crate) coalescing: Coalescing,
    /// The chain (default: [`spec`] and [`gvr`]).
    pub(crate) chain: Option<(ChainSpec, Hash256)>,
    /// Metrics hooks.
    pub(crate) observer: Arc<dyn SignerObserver>,
    /// Slashing protection (default: SQLite in the signer's temporary directory).
    pub(crate) slashing: Option<Arc<dyn SlashingProtection>>,
    /// Keys from keystores instead of `keys`.
    pub(crate) key_source: Option<KeySource>,
    /// The bearer token, when required.
    pub(crate) token: Option<signer_server::BearerToken>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            keys: vec![0, 1, 2, 3],
            fee_policy: None,
            coalescing: Coalescing::Enabled,
            chain: None,
            observer: Arc::new(NoObserver),
            slashing: None,
            key_source: None,
            token: None,
        }
    }
}

/// A signer served in-process (requests go straight to the router).
pub(crate) struct TestSigner<P: EthSpec = E> {
    /// The router.
    pub(crate) router: Router,
    /// The service.
    pub(crate) service: Arc<SignerService<P>>,
    /// Its slashing protection.
    pub(crate) slashing: Arc<dyn SlashingProtection>,
    /// Its reloader (its task runs).
    pub(crate) reloader: Arc<Reloader>,
    shutdown: CancellationToken,
    reload_task: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl<P: EthSpec> TestSigner<P> {
    /// Starts a signer with `options` (SQLite slashing protection in a temporary directory).
    pub(crate) async fn start(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (spec, root) = options.chain.unwrap_or_else(|| (spec(), gvr()));
        let slashing: Arc<dyn SlashingProtection> = match options.slashing {
            Some(slashing) => slashing,
            None => Arc::new(
                SqliteStore::open(
                    dir.path().join("slashing.sqlite"),
                    root,
                    SqliteConfig::default(),
                )
                .await
                .expect("slashing protection"),
            ),
        };
        let keys = match options.key_source {
            Some(source) => Keys::load(source, slashing.clone()).await.expect("keys").0,
            None => Keys::from_secret_keys(
                options.keys.iter().map(|i| secret(*i)).collect(),
                slashing.clone(),
            )
            .await
            .expect("keys"),
        };
        let keys = Arc::new(keys);
        let service = Arc::new(SignerService::<P>::new(ServiceParts {
            chain: Chain::new(spec, root),
            keys: keys.clone(),
            slashing: slashing.clone(),
            fee_policy: options.fee_policy,
            coalescing: options.coalescing,
            observer: options.observer.clone(),
        }));
        let shutdown = CancellationToken::new();
        let dispatcher = {
            let service = service.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { service.run_dispatcher(shutdown).await })
        };
        let reloader = Arc::new(Reloader::new(keys, options.observer));
        let reload_task = {
            let reloader = reloader.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { reloader.run(shutdown).await })
        };
        let api = Arc::new(SignerApi {
            service: service.clone(),
            reloader: reloader.clone(),
            token: options.token,
        });
        Self {
            router: signer_server::router(api),
            service,
            slashing,
            reloader,
            shutdown,
            reload_task,
            dispatcher,
            _dir: dir,
        }
    }

    /// Sends a request; returns the status and the body (JSON, or the text as a JSON string).
    pub(crate) async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    /// `POST /api/v1/eth2/sign/{pubkey}` with `body`.
    pub(crate) async fn sign(&self, pubkey: &PublicKeyBytes, body: &Value) -> (StatusCode, Value) {
        self.send(
            Request::post(format!("/api/v1/eth2/sign/{pubkey}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    /// Stops the dispatcher and the reloader.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.dispatcher.await;
        let _ = self.reload_task.await;
    }
}

/// An attestation data JSON of `slot` with `source`/`target` epochs.
pub(crate) fn attestation_data(slot: u64, index: u64, source: u64, target: u64, byte: u8) -> Value {
    json!({
        "slot": slot.to_string(),
        "index": index.to_string(),
        "beacon_block_root": Hash256::repeat_byte(byte),
        "source": {"epoch": source.to_string(), "root": Hash256::repeat_byte(0x0a)},
        "target": {"epoch": target.to_string(), "root": Hash256::repeat_byte(0x0b)},
    })
}

fn signature_hex(byte: u8) -> String {
    // Any 96 bytes: containers carry signatures as opaque bytes.
    hex0x(&[byte; 96])
}

/// A phase0 block body (empty operations).
fn phase0_body() -> Value {
    json!({
        "randao_reveal": signature_hex(0x81),
        "eth1_data": {
            "deposit_root": Hash256::repeat_byte(0x11),
            "deposit_count": "64",
            "block_hash": Hash256::repeat_byte(0x12),
        },
        "graffiti": Hash256::repeat_byte(0x13),
        "proposer_slashings": [],
        "attester_slashings": [],
        "attestations": [],
        "deposits": [],
        "voluntary_exits": [],
    })
}

/// A whole block of `fork` (phase0 or Altair) at `slot`.
pub(crate) fn block(fork: usize, slot: u64) -> Value {
    let mut body = phase0_body();
    if fork >= 1 {
        body["sync_aggregate"] = json!({
            "sync_committee_bits": "0x0f000000",
            "sync_committee_signature": signature_hex(0x82),
        });
    }
    json!({
        "slot": slot.to_string(),
        "proposer_index": "2",
        "parent_root": Hash256::repeat_byte(0x21),
        "state_root": Hash256::repeat_byte(0x22),
        "body": body,
    })
}

/// A block header at `slot`.
pub(crate) fn header(slot: u64, byte: u8) -> Value {
    json!({
        "slot": slot.to_string(),
        "proposer_index": "2",
        "parent_root": Hash256::repeat_byte(0x21),
        "state_root": Hash256::repeat_byte(0x22),
        "body_root": Hash256::repeat_byte(byte),
    })
}

/// The root of a container given as JSON, decoded into its consensus type `T`.
pub(crate) fn root_of<T: serde::de::DeserializeOwned + TreeHash>(value: &Value) -> Hash256 {
    serde_json::from_value::<T>(value.clone())
        .expect("a valid container")
        .tree_hash_root()
}

/// One signing request of the test chain and its expected signing root.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// A name for failure messages.
    pub(crate) name: String,
    /// The body.
    pub(crate) body: Value,
    /// The signing root, computed independently.
    pub(crate) root: Hash256,
}

fn case(name: &str, mut body: Value, root: Hash256) -> Case {
    body["signingRoot"] = json!(root);
    Case {
        name: name.to_owned(),
        body,
        root,
    }
}

/// A valid request of every signing type (every fork for the versioned ones), each message
/// distinct from the others.
pub(crate) fn all_cases() -> Vec<Case> {
    use types::{
        AggregateAndProofElectra, AggregateAndProofPhase0, AttestationData, BeaconBlock,
        BeaconBlockHeader, ContributionAndProof, DepositMessage, ForkName,
        SyncAggregatorSelectionData, ValidatorRegistrationV1, VoluntaryExit,
    };
    let d = |t: u8, epoch: u64| domain([t, 0, 0, 0], VERSIONS[fork_at(epoch)], gvr());
    let mut cases = Vec::new();

    // Blocks: phase0 by BLOCK and BLOCK_V2, Altair whole, Bellatrix..Fulu headers.
    let phase0 = block(0, 3);
    let phase0_root = BeaconBlock::<E>::from_json_value(ForkName::Phase0, phase0.clone())
        .expect("phase0 block")
        .tree_hash_root();
    cases.push(case(
        "BLOCK (phase0)",
        json!({"type": "BLOCK", "fork_info": fork_info(0), "block": phase0.clone()}),
        signing_root(phase0_root, d(0, 0)),
    ));
    let phase0 = block(0, 4);
    let phase0_root = BeaconBlock::<E>::from_json_value(ForkName::Phase0, phase0.clone())
        .expect("phase0 block")
        .tree_hash_root();
    cases.push(case(
        "BLOCK_V2 PHASE0",
        json!({"type": "BLOCK_V2", "fork_info": fork_info(0),
               "beacon_block": {"version": "PHASE0", "block": phase0}}),
        signing_root(phase0_root, d(0, 0)),
    ));
    let altair = block(1, 9);
    let altair_root = BeaconBlock::<E>::from_json_value(ForkName::Altair, altair.clone())
        .expect("altair block")
        .tree_hash_root();
    cases.push(case(
        "BLOCK_V2 ALTAIR",
        json!({"type": "BLOCK_V2", "fork_info": fork_info(1),
               "beacon_block": {"version": "ALTAIR", "block": altair}}),
        signing_root(altair_root, d(0, 1)),
    ));
    for fork in 2..=6u64 {
        let slot = fork * SLOTS + 1;
        let header = header(slot, 0x30 + fork as u8);
        let root = root_of::<BeaconBlockHeader>(&header);
        cases.push(case(
            &format!("BLOCK_V2 {} header", FORKS[fork as usize]),
            json!({"type": "BLOCK_V2", "fork_info": fork_info(fork),
                   "beacon_block": {"version": FORKS[fork as usize], "block_header": header}}),
            signing_root(root, d(0, fork)),
        ));
    }

    // Attestations in several forks.
    for (epoch, index) in [(0u64, 1u64), (2, 0), (5, 0), (6, 0)] {
        let data = attestation_data(
            epoch * SLOTS + 2,
            index,
            epoch.saturating_sub(1),
            epoch,
            0x40 + epoch as u8,
        );
        let root = root_of::<AttestationData>(&data);
        cases.push(case(
            &format!("ATTESTATION epoch {epoch}"),
            json!({"type": "ATTESTATION", "fork_info": fork_info(epoch), "attestation": data}),
            signing_root(root, d(1, epoch)),
        ));
    }

    // Aggregation slot, RANDAO.
    for slot in [5u64, 33] {
        cases.push(case(
            &format!("AGGREGATION_SLOT {slot}"),
            json!({"type": "AGGREGATION_SLOT", "fork_info": fork_info(slot / SLOTS),
                   "aggregation_slot": {"slot": slot.to_string()}}),
            signing_root(uint64_root(slot), d(5, slot / SLOTS)),
        ));
    }
    for epoch in [0u64, 5] {
        cases.push(case(
            &format!("RANDAO_REVEAL {epoch}"),
            json!({"type": "RANDAO_REVEAL", "fork_info": fork_info(epoch),
                   "randao_reveal": {"epoch": epoch.to_string()}}),
            signing_root(uint64_root(epoch), d(2, epoch)),
        ));
    }

    // Aggregates: the deprecated phase0 type, V2 phase0 shape (Deneb), V2 Electra shape.
    let phase0_aggregate = |slot: u64, epoch: u64| {
        json!({
            "aggregator_index": "3",
            "aggregate": {
                "aggregation_bits": "0x0d",
                "data": attestation_data(slot, 0, epoch.saturating_sub(1), epoch, 0x50 + slot as u8),
                "signature": signature_hex(0x83),
            },
            "selection_proof": signature_hex(0x84),
        })
    };
    let v1 = phase0_aggregate(6, 0);
    cases.push(case(
        "AGGREGATE_AND_PROOF",
        json!({"type": "AGGREGATE_AND_PROOF", "fork_info": fork_info(0), "aggregate_and_proof": v1.clone()}),
        signing_root(root_of::<AggregateAndProofPhase0<E>>(&v1), d(6, 0)),
    ));
    let deneb = phase0_aggregate(4 * SLOTS + 3, 4);
    cases.push(case(
        "AGGREGATE_AND_PROOF_V2 DENEB",
        json!({"type": "AGGREGATE_AND_PROOF_V2", "fork_info": fork_info(4),
               "aggregate_and_proof": {"version": "DENEB", "data": deneb.clone()}}),
        signing_root(root_of::<AggregateAndProofPhase0<E>>(&deneb), d(6, 4)),
    ));
    let mut electra = phase0_aggregate(5 * SLOTS + 3, 5);
    electra["aggregate"]["committee_bits"] = json!("0x01");
    cases.push(case(
        "AGGREGATE_AND_PROOF_V2 ELECTRA",
        json!({"type": "AGGREGATE_AND_PROOF_V2", "fork_info": fork_info(5),
               "aggregate_and_proof": {"version": "ELECTRA", "data": electra.clone()}}),
        signing_root(root_of::<AggregateAndProofElectra<E>>(&electra), d(6, 5)),
    ));

    // Exits: before Deneb with the version of the exit's epoch, from Deneb with Capella's.
    let exit = json!({"epoch": "2", "validator_index": "7"});
    cases.push(case(
        "VOLUNTARY_EXIT epoch 2",
        json!({"type": "VOLUNTARY_EXIT", "fork_info": fork_info(2), "voluntary_exit": exit.clone()}),
        signing_root(root_of::<VoluntaryExit>(&exit), d(4, 2)),
    ));
    let exit = json!({"epoch": "5", "validator_index": "7"});
    let capella = json!({
        "fork": {"previous_version": hex0x(&VERSIONS[3]), "current_version": hex0x(&VERSIONS[3]), "epoch": "3"},
        "genesis_validators_root": gvr(),
    });
    cases.push(case(
        "VOLUNTARY_EXIT epoch 5 (EIP-7044)",
        json!({"type": "VOLUNTARY_EXIT", "fork_info": capella, "voluntary_exit": exit.clone()}),
        signing_root(
            root_of::<VoluntaryExit>(&exit),
            domain([4, 0, 0, 0], VERSIONS[3], gvr()),
        ),
    ));

    // Sync committee.
    let block_root = Hash256::repeat_byte(0x61);
    cases.push(case(
        "SYNC_COMMITTEE_MESSAGE",
        json!({"type": "SYNC_COMMITTEE_MESSAGE", "fork_info": fork_info(3),
               "sync_committee_message": {"beacon_block_root": block_root, "slot": "25"}}),
        signing_root(block_root, d(7, 3)),
    ));
    let selection = json!({"slot": "26", "subcommittee_index": "2"});
    cases.push(case(
        "SYNC_COMMITTEE_SELECTION_PROOF",
        json!({"type": "SYNC_COMMITTEE_SELECTION_PROOF", "fork_info": fork_info(3),
               "sync_aggregator_selection_data": selection.clone()}),
        signing_root(root_of::<SyncAggregatorSelectionData>(&selection), d(8, 3)),
    ));
    let contribution = json!({
        "aggregator_index": "3",
        "selection_proof": signature_hex(0x85),
        "contribution": {
            "slot": "27",
            "beacon_block_root": Hash256::repeat_byte(0x62),
            "subcommittee_index": "1",
            "aggregation_bits": "0x05",
            "signature": signature_hex(0x86),
        },
    });
    cases.push(case(
        "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
        json!({"type": "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF", "fork_info": fork_info(3),
               "contribution_and_proof": contribution.clone()}),
        signing_root(root_of::<ContributionAndProof<E>>(&contribution), d(9, 3)),
    ));

    // Fork-independent domains: genesis fork version, zero root.
    let registration = json!({
        "fee_recipient": "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
        "gas_limit": "30000000",
        "timestamp": "1700000000",
        "pubkey": pubkey(0),
    });
    cases.push(case(
        "VALIDATOR_REGISTRATION",
        json!({"type": "VALIDATOR_REGISTRATION", "validator_registration": registration.clone()}),
        signing_root(
            root_of::<ValidatorRegistrationV1>(&registration),
            domain([0, 0, 0, 1], VERSIONS[0], Hash256::ZERO),
        ),
    ));
    let deposit = json!({
        "pubkey": pubkey(1),
        "withdrawal_credentials": Hash256::repeat_byte(0x01),
        "amount": "32000000000",
    });
    let mut deposit_request = deposit.clone();
    deposit_request["genesis_fork_version"] = json!(hex0x(&VERSIONS[0]));
    cases.push(case(
        "DEPOSIT",
        json!({"type": "DEPOSIT", "deposit": deposit_request}),
        signing_root(
            root_of::<DepositMessage>(&deposit),
            domain([3, 0, 0, 0], VERSIONS[0], Hash256::ZERO),
        ),
    ));
    cases
}

/// Writes interop key `index` as a keystore (cheap PBKDF2) in `keystores` and its password file
/// in `secrets`; returns the keystore's path.
pub(crate) fn write_keystore(
    keystores: &std::path::Path,
    secrets: &std::path::Path,
    index: u64,
) -> std::path::PathBuf {
    use signer::keystore::{Kdf, Keystore};
    std::fs::create_dir_all(keystores).expect("keystores dir");
    std::fs::create_dir_all(secrets).expect("secrets dir");
    let password = format!("password-{index}");
    let keystore = Keystore::encrypt(
        &secret(index),
        &password,
        Kdf::pbkdf2(1024),
        &format!("m/12381/3600/{index}/0/0"),
    )
    .expect("encrypt");
    let path = keystores.join(format!("keystore-{index}.json"));
    std::fs::write(&path, keystore.to_json_string()).expect("keystore");
    std::fs::write(secrets.join(pubkey(index).to_string()), password).expect("password");
    path
}

/// An observer that keeps everything it is told.
#[derive(Default)]
pub(crate) struct Recorder {
    /// Every request: kind and outcome.
    pub(crate) requests:
        parking_lot::Mutex<Vec<(Option<signer_server::MessageKind>, signer_server::Outcome)>>,
    /// Every batch size.
    pub(crate) batches: parking_lot::Mutex<Vec<usize>>,
    /// The last key count.
    pub(crate) keys: std::sync::atomic::AtomicUsize,
}

impl SignerObserver for Recorder {
    fn on_request(
        &self,
        kind: Option<signer_server::MessageKind>,
        outcome: signer_server::Outcome,
        _elapsed: std::time::Duration,
    ) {
        self.requests.lock().push((kind, outcome));
    }

    fn on_batch(&self, requests: usize) {
        self.batches.lock().push(requests);
    }

    fn on_keys(&self, count: usize) {
        self.keys.store(count, std::sync::atomic::Ordering::SeqCst);
    }
}
