//! An in-process Web3Signer stand-in (axum on `127.0.0.1:0`) for the remote key tests.
//!
//! It checks every signing request against the shapes of Web3Signer's eth2 API
//! (`signing/schemas.yaml`): the `type`, `fork_info` (except for builder registrations), the
//! typed object of that type (decoded into the consensus types), and `signingRoot`, which it
//! recomputes itself from the object and the domain `fork_info` gives — a request whose root
//! does not match is refused (400) and recorded. It signs with interop keys, or misbehaves on
//! demand: an invalid signature, or HTTP 500.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde_json::Value;
use signer::bls::SecretKey;
use tree_hash::TreeHash;
use types::{
    AggregateAndProof, AttestationData, BeaconBlock, BeaconBlockHeader, ChainSpec,
    ContributionAndProof, DomainKind, Epoch, Fork, ForkName, Hash256, PublicKeyBytes, Slot,
    SyncAggregatorSelectionData, ValidatorRegistrationV1, VoluntaryExit, compute_domain,
    compute_signing_root,
};

use crate::harness::E;

/// Why a value does not match its schema (test diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem(String);

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

/// How the signer answers for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// A correct signature.
    Honest,
    /// A well-formed signature by another key.
    WrongSignature,
    /// HTTP 500.
    Fail,
}

#[derive(Debug, Default)]
struct Log {
    /// (type, pubkey) of every well-formed request.
    requests: Vec<(String, PublicKeyBytes)>,
    /// Every refused request, with the reason.
    invalid: Vec<String>,
}

struct Inner {
    keys: HashMap<PublicKeyBytes, SecretKey>,
    behaviour: Mutex<HashMap<PublicKeyBytes, Behaviour>>,
    spec: ChainSpec,
    genesis_validators_root: Hash256,
    log: Mutex<Log>,
}

/// The running stand-in (stops when dropped).
pub(crate) struct MockWeb3Signer {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: tokio_util::sync::CancellationToken,
}

impl Drop for MockWeb3Signer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl MockWeb3Signer {
    /// Serves interop keys `indices` for the chain of `spec` and `genesis_validators_root`.
    pub(crate) async fn start(
        indices: &[u64],
        spec: ChainSpec,
        genesis_validators_root: Hash256,
    ) -> Self {
        let keys = indices
            .iter()
            .map(|i| {
                let secret = signer::derivation::interop_secret_key(*i).expect("interop key");
                (secret.public_key().to_bytes(), secret)
            })
            .collect();
        let inner = Arc::new(Inner {
            keys,
            behaviour: Mutex::new(HashMap::new()),
            spec,
            genesis_validators_root,
            log: Mutex::new(Log::default()),
        });
        let router = Router::new()
            .route("/api/v1/eth2/publicKeys", get(public_keys))
            .route("/api/v1/eth2/sign/{identifier}", post(sign))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
        });
        Self { addr, inner, stop }
    }

    /// The base URL.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes the signer answer `behaviour` for `pubkey`.
    pub(crate) fn set_behaviour(&self, pubkey: PublicKeyBytes, behaviour: Behaviour) {
        self.inner.behaviour.lock().insert(pubkey, behaviour);
    }

    /// The request types received for `pubkey`.
    pub(crate) fn types_for(&self, pubkey: &PublicKeyBytes) -> Vec<String> {
        let mut types: Vec<String> = self
            .inner
            .log
            .lock()
            .requests
            .iter()
            .filter(|(_, pk)| pk == pubkey)
            .map(|(t, _)| t.clone())
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// Every request type received.
    pub(crate) fn types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .inner
            .log
            .lock()
            .requests
            .iter()
            .map(|(t, _)| t.clone())
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// Every refused request, with the reason.
    pub(crate) fn invalid(&self) -> Vec<String> {
        self.inner.log.lock().invalid.clone()
    }
}

async fn public_keys(State(inner): State<Arc<Inner>>) -> Response {
    let keys: Vec<String> = inner.keys.keys().map(ToString::to_string).collect();
    axum::Json(keys).into_response()
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, Problem> {
    value
        .get(name)
        .ok_or_else(|| Problem(format!("missing field `{name}`")))
}

fn decode<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> Result<T, Problem> {
    serde_json::from_value(value.clone())
        .map_err(|e| Problem(format!("`{what}` does not decode: {e}")))
}

fn hex_root(value: &Value, what: &str) -> Result<Hash256, Problem> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("`{what}` is not a string"))?;
    let digits = text
        .strip_prefix("0x")
        .filter(|d| d.len() == 64)
        .ok_or_else(|| format!("`{what}` is not 0x and 64 hex digits"))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).map_err(|e| format!("`{what}`: {e}"))?;
    Ok(Hash256::from(bytes))
}

/// The object root, the domain kind and the epoch whose fork version applies.
fn object(
    inner: &Inner,
    kind: &str,
    body: &Value,
) -> Result<(Hash256, DomainKind, Epoch), Problem> {
    let spec = &inner.spec;
    let epoch_of = |slot: Slot| spec.compute_epoch_at_slot(slot);
    Ok(match kind {
        "BLOCK_V2" => {
            let block = field(body, "beacon_block")?;
            let version = field(block, "version")?
                .as_str()
                .ok_or("`beacon_block.version` is not a string")?;
            if version != version.to_ascii_uppercase() {
                return Err(format!("version {version:?} is not upper case").into());
            }
            let fork: ForkName = version.parse().map_err(|e| format!("{e}"))?;
            let (root, slot) = if fork >= ForkName::Bellatrix {
                let header: BeaconBlockHeader =
                    decode(field(block, "block_header")?, "block_header")?;
                (header.tree_hash_root(), header.slot)
            } else {
                let full = BeaconBlock::<E>::from_json_value(fork, field(block, "block")?.clone())
                    .map_err(|e| format!("`block` does not decode: {e}"))?;
                (full.tree_hash_root(), full.slot())
            };
            (root, DomainKind::BeaconProposer, epoch_of(slot))
        }
        "ATTESTATION" => {
            let data: AttestationData = decode(field(body, "attestation")?, "attestation")?;
            (
                data.tree_hash_root(),
                DomainKind::BeaconAttester,
                data.target.epoch,
            )
        }
        "AGGREGATION_SLOT" => {
            let slot: Slot = decode(field(field(body, "aggregation_slot")?, "slot")?, "slot")?;
            (
                slot.tree_hash_root(),
                DomainKind::SelectionProof,
                epoch_of(slot),
            )
        }
        "AGGREGATE_AND_PROOF_V2" => {
            let wrapper = field(body, "aggregate_and_proof")?;
            let version = field(wrapper, "version")?
                .as_str()
                .ok_or("`aggregate_and_proof.version` is not a string")?;
            let fork: ForkName = version.parse().map_err(|e| format!("{e}"))?;
            let message =
                AggregateAndProof::<E>::from_json_value(fork, field(wrapper, "data")?.clone())
                    .map_err(|e| format!("`aggregate_and_proof.data` does not decode: {e}"))?;
            (
                message.tree_hash_root(),
                DomainKind::AggregateAndProof,
                epoch_of(message.attestation_data().slot),
            )
        }
        "RANDAO_REVEAL" => {
            let epoch: Epoch = decode(field(field(body, "randao_reveal")?, "epoch")?, "epoch")?;
            (epoch.tree_hash_root(), DomainKind::Randao, epoch)
        }
        "SYNC_COMMITTEE_MESSAGE" => {
            let message = field(body, "sync_committee_message")?;
            let root = hex_root(field(message, "beacon_block_root")?, "beacon_block_root")?;
            let slot: Slot = decode(field(message, "slot")?, "slot")?;
            (root, DomainKind::SyncCommittee, epoch_of(slot))
        }
        "SYNC_COMMITTEE_SELECTION_PROOF" => {
            let data: SyncAggregatorSelectionData = decode(
                field(body, "sync_aggregator_selection_data")?,
                "sync_aggregator_selection_data",
            )?;
            (
                data.tree_hash_root(),
                DomainKind::SyncCommitteeSelectionProof,
                epoch_of(data.slot),
            )
        }
        "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF" => {
            let message: ContributionAndProof<E> = decode(
                field(body, "contribution_and_proof")?,
                "contribution_and_proof",
            )?;
            (
                message.tree_hash_root(),
                DomainKind::ContributionAndProof,
                epoch_of(message.contribution.slot),
            )
        }
        "VOLUNTARY_EXIT" => {
            let exit: VoluntaryExit = decode(field(body, "voluntary_exit")?, "voluntary_exit")?;
            (exit.tree_hash_root(), DomainKind::VoluntaryExit, exit.epoch)
        }
        "VALIDATOR_REGISTRATION" => {
            let registration: ValidatorRegistrationV1 = decode(
                field(body, "validator_registration")?,
                "validator_registration",
            )?;
            (
                registration.tree_hash_root(),
                DomainKind::ApplicationBuilder,
                Epoch(0),
            )
        }
        other => return Err(format!("unknown type {other:?}").into()),
    })
}

/// Recomputes the signing root of a request; an error names what is wrong with it.
fn check(inner: &Inner, body: &Value) -> Result<(String, Hash256), Problem> {
    let kind = field(body, "type")?
        .as_str()
        .ok_or("`type` is not a string")?
        .to_owned();
    let claimed = hex_root(field(body, "signingRoot")?, "signingRoot")?;
    let (object_root, domain_kind, epoch) = object(inner, &kind, body)?;
    let domain = if domain_kind == DomainKind::ApplicationBuilder {
        if body.get("fork_info").is_some_and(|v| !v.is_null()) {
            return Err("a builder registration carries no fork_info".into());
        }
        compute_domain(
            inner.spec.domain_type(domain_kind),
            inner.spec.genesis_fork_version(),
            Hash256::ZERO,
        )
    } else {
        let info = field(body, "fork_info")?;
        let fork: Fork = decode(field(info, "fork")?, "fork_info.fork")?;
        let gvr = hex_root(
            field(info, "genesis_validators_root")?,
            "fork_info.genesis_validators_root",
        )?;
        if gvr != inner.genesis_validators_root {
            return Err(format!("fork_info names another chain ({gvr})").into());
        }
        let version = if epoch < fork.epoch {
            fork.previous_version
        } else {
            fork.current_version
        };
        compute_domain(inner.spec.domain_type(domain_kind), version, gvr)
    };
    let root = compute_signing_root(object_root, domain);
    if root != claimed {
        return Err(format!(
            "{kind}: signingRoot {claimed} is not the root of the object ({root})"
        )
        .into());
    }
    Ok((kind, root))
}

async fn sign(
    State(inner): State<Arc<Inner>>,
    Path(identifier): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(pubkey) = identifier.parse::<PublicKeyBytes>() else {
        return (StatusCode::BAD_REQUEST, "bad identifier").into_response();
    };
    let Some(secret) = inner.keys.get(&pubkey) else {
        return (StatusCode::NOT_FOUND, "public key not found").into_response();
    };
    let checked = serde_json::from_slice::<Value>(&body)
        .map_err(|e| Problem(format!("body is not JSON: {e}")))
        .and_then(|value| check(&inner, &value));
    let (kind, root) = match checked {
        Ok(checked) => checked,
        Err(Problem(reason)) => {
            inner.log.lock().invalid.push(reason.clone());
            return (StatusCode::BAD_REQUEST, reason).into_response();
        }
    };
    inner.log.lock().requests.push((kind, pubkey));
    let behaviour = inner
        .behaviour
        .lock()
        .get(&pubkey)
        .copied()
        .unwrap_or(Behaviour::Honest);
    let signature = match behaviour {
        Behaviour::Fail => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "signer failure").into_response();
        }
        Behaviour::Honest => secret.sign(root.as_slice()),
        Behaviour::WrongSignature => signer::derivation::interop_secret_key(999)
            .expect("interop key")
            .sign(root.as_slice()),
    };
    axum::Json(serde_json::json!({ "signature": signature.to_bytes() })).into_response()
}
