//! Block production (v3, v2, blinded v1) and publication (v2, v1, full and blinded).
//!
//! Production checks the RANDAO reveal against the slot's proposer (unless
//! `skip_randao_verification` with the infinity signature); publication checks the fork against
//! `Eth-Consensus-Version`, the proposer, the proposer signature and the RANDAO reveal. Accepted
//! full blocks become the chain's block at their slot; blinded blocks are recorded only (the
//! mock cannot unblind them).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use types::block::{PayloadKind, ProducedBlock};
use types::{
    DomainKind, EthSpec, ForkName, Graffiti, Hash256, SignatureBytes, SignedBeaconBlock,
    SignedBlindedBeaconBlock, SignedBlockContents, SignedRoot, Slot, empty_signature,
};

use super::{ApiError, consensus_version, error, json, param, path_u64, query_pairs, required};
use crate::beacon_node::Encoding;
use crate::testing::chain::{BlockTemplate, GAS_LIMIT};
use crate::testing::inclusion::{attach, attach_blinded};
use crate::testing::{PayloadSource, PublishedBlock, Rejected, Shared};

/// Payload value reported by the mock (wei).
const PAYLOAD_VALUE: u64 = 1_000_000_000;
/// Consensus block value reported by the mock (wei).
const BLOCK_VALUE: u64 = 2_000_000;

/// Checks the RANDAO reveal of `proposer` for `slot`'s epoch.
fn verify_randao<E: EthSpec>(
    shared: &Shared<E>,
    proposer: u64,
    slot: Slot,
    reveal: &SignatureBytes,
) -> Result<(), Rejected> {
    let (pubkey, root) = {
        let chain = shared.chain.lock();
        let epoch = chain.epoch_of(slot);
        let domain =
            chain
                .spec
                .get_domain(DomainKind::Randao, epoch, chain.genesis_validators_root);
        let pubkey = chain
            .validators
            .get(usize::try_from(proposer).unwrap_or(usize::MAX))
            .map(|v| v.validator.pubkey)
            .ok_or_else(|| Rejected::new(format!("unknown proposer {proposer}")))?;
        (pubkey, epoch.signing_root(domain))
    };
    shared
        .keys
        .verify(proposer, &pubkey, root, reveal)
        .map_err(|e| Rejected::new(format!("invalid RANDAO reveal: {e}")))
}

/// Which production route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Production {
    V3,
    V2,
    BlindedV1,
}

fn produce<E: EthSpec>(
    shared: &Shared<E>,
    slot: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    route: Production,
) -> Result<Response, ApiError> {
    let slot = Slot(path_u64(slot, "slot")?);
    let pairs = query_pairs(query);
    let randao_reveal: SignatureBytes = required(&pairs, "randao_reveal")?;
    let graffiti = match param(&pairs, "graffiti") {
        Some(g) => g
            .parse::<Graffiti>()
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid graffiti: {e}")))?,
        None => Graffiti::ZERO,
    };
    let boost: Option<u64> = param(&pairs, "builder_boost_factor")
        .map(|v| {
            v.parse().map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    format!("invalid builder_boost_factor: {e}"),
                )
            })
        })
        .transpose()?;
    let skip_randao = pairs.iter().any(|(k, _)| k == "skip_randao_verification");
    let head = shared.head_slot();
    if slot == Slot(0) || slot > head + 1 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("cannot produce a block for slot {slot} (head {head})"),
        ));
    }
    let (proposer, parent_root, fork) = {
        let mut chain = shared.chain.lock();
        let proposer = chain
            .proposer(slot)
            .ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "no active validator"))?;
        (
            proposer,
            chain.root_at(slot - 1),
            chain.spec.fork_name_at_slot(slot),
        )
    };
    let route_name = match route {
        Production::V3 => "/eth/v3/validator/blocks/{slot}",
        Production::V2 => "/eth/v2/validator/blocks/{slot}",
        Production::BlindedV1 => "/eth/v1/validator/blinded_blocks/{slot}",
    };
    if !(skip_randao && randao_reveal == empty_signature())
        && let Err(reason) = verify_randao(shared, proposer, slot, &randao_reveal)
    {
        shared.reject(route_name, None, &reason);
        return Err(error(StatusCode::BAD_REQUEST, reason.0));
    }
    let faults = shared.faults.lock().clone();
    let fee_recipient = faults.fee_recipient_override.unwrap_or_else(|| {
        let prepared = shared.records.lock().fee_recipients.get(&proposer).copied();
        prepared.unwrap_or_else(|| shared.chain.lock().default_fee_recipient)
    });
    let template = BlockTemplate {
        slot,
        proposer,
        parent_root,
        randao_reveal,
        graffiti,
        fee_recipient,
        gas_limit: GAS_LIMIT,
    };
    let blinded = fork.has_execution_payload()
        && match route {
            Production::V3 => faults.payload == PayloadSource::Builder && boost != Some(0),
            Production::V2 => false,
            Production::BlindedV1 => true,
        };
    let included = shared.chain.lock().included_for(slot);
    let full = |included| {
        let mut block = template.full::<E>(fork);
        attach(&mut block, included);
        block
    };
    let block = if blinded {
        let mut block = template.blinded::<E>(fork);
        attach_blinded(&mut block, included);
        ProducedBlock::Blinded(block)
    } else if fork.has_blobs() {
        ProducedBlock::Contents(types::BlockContents {
            block: full(included),
            kzg_proofs: Vec::new(),
            blobs: Vec::new(),
        })
    } else {
        ProducedBlock::Full(full(included))
    };
    if route != Production::V3 {
        return Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "version": fork, "data": block }),
        ));
    }
    let wants_ssz = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.trim_start().starts_with("application/octet-stream"));
    let meta = [
        ("eth-consensus-version", fork.to_string()),
        ("eth-execution-payload-blinded", blinded.to_string()),
        ("eth-execution-payload-value", PAYLOAD_VALUE.to_string()),
        ("eth-consensus-block-value", BLOCK_VALUE.to_string()),
    ];
    let mut response = if wants_ssz {
        (
            [(CONTENT_TYPE, "application/octet-stream")],
            block.as_ssz_bytes(),
        )
            .into_response()
    } else {
        json(
            StatusCode::OK,
            &serde_json::json!({
                "version": fork,
                "execution_payload_blinded": blinded,
                "execution_payload_value": PAYLOAD_VALUE.to_string(),
                "consensus_block_value": BLOCK_VALUE.to_string(),
                "data": block,
            }),
        )
    };
    for (name, value) in meta {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

pub(crate) async fn produce_v3<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(slot): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    produce(&shared, &slot, query.as_deref(), &headers, Production::V3)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn produce_v2<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(slot): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    produce(&shared, &slot, query.as_deref(), &headers, Production::V2)
        .unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn produce_blinded_v1<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(slot): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    produce(
        &shared,
        &slot,
        query.as_deref(),
        &headers,
        Production::BlindedV1,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

/// A decoded published block (the signed block for the chain, if full).
struct Decoded<E: EthSpec> {
    full: Option<SignedBeaconBlock<E>>,
    slot: Slot,
    proposer: u64,
    root: Hash256,
    signature: SignatureBytes,
    randao_reveal: SignatureBytes,
    fee_recipient: Option<types::ExecutionAddress>,
    graffiti: Graffiti,
}

/// The slot in a JSON body, for v1 publication without a version header.
fn json_slot(value: &Value) -> Option<Slot> {
    let message = value.get("signed_block").unwrap_or(value).get("message")?;
    serde_json::from_value(message.get("slot")?.clone()).ok()
}

fn decode<E: EthSpec>(
    shared: &Shared<E>,
    headers: &HeaderMap,
    body: &[u8],
    kind: PayloadKind,
    version_required: bool,
) -> Result<(Decoded<E>, ForkName, Encoding), ApiError> {
    let ssz = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/octet-stream"));
    let value: Option<Value> = if ssz {
        None
    } else {
        Some(
            serde_json::from_slice(body)
                .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")))?,
        )
    };
    let fork = if version_required || headers.contains_key("eth-consensus-version") || ssz {
        consensus_version(headers)?
    } else {
        let slot = value
            .as_ref()
            .and_then(json_slot)
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, "block without a slot"))?;
        shared.chain.lock().spec.fork_name_at_slot(slot)
    };
    let bad = |e: types::Error| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid {fork} block: {e}"),
        )
    };
    let decoded = match kind {
        PayloadKind::Full => {
            let block = if fork.has_blobs() {
                let contents = match &value {
                    Some(v) => SignedBlockContents::<E>::from_json_value(fork, v.clone()),
                    None => SignedBlockContents::<E>::from_ssz_bytes(body, fork),
                }
                .map_err(bad)?;
                contents.signed_block
            } else {
                match &value {
                    Some(v) => SignedBeaconBlock::<E>::from_json_value(fork, v.clone()),
                    None => SignedBeaconBlock::<E>::from_ssz_bytes(body, fork),
                }
                .map_err(bad)?
            };
            Decoded {
                slot: block.slot(),
                proposer: block.proposer_index(),
                root: block.block_root(),
                signature: block.signature(),
                randao_reveal: block.randao_reveal(),
                fee_recipient: block.fee_recipient(),
                graffiti: block.graffiti(),
                full: Some(block),
            }
        }
        PayloadKind::Blinded => {
            let block = match &value {
                Some(v) => SignedBlindedBeaconBlock::<E>::from_json_value(fork, v.clone()),
                None => SignedBlindedBeaconBlock::<E>::from_ssz_bytes(body, fork),
            }
            .map_err(bad)?;
            Decoded {
                slot: block.slot(),
                proposer: block.proposer_index(),
                root: block.block_root(),
                signature: block.signature(),
                randao_reveal: block.randao_reveal(),
                fee_recipient: block.fee_recipient(),
                graffiti: block.graffiti(),
                full: None,
            }
        }
    };
    Ok((
        decoded,
        fork,
        if ssz { Encoding::Ssz } else { Encoding::Json },
    ))
}

fn verify_block<E: EthSpec>(
    shared: &Shared<E>,
    block: &Decoded<E>,
    fork: ForkName,
) -> Result<(), Rejected> {
    super::check_fork(shared, fork, block.slot)?;
    let (expected, pubkey, domain) = {
        let mut chain = shared.chain.lock();
        let expected = chain.proposer(block.slot);
        let pubkey = chain
            .validators
            .get(usize::try_from(block.proposer).unwrap_or(usize::MAX))
            .map(|v| v.validator.pubkey);
        let domain = chain.spec.get_domain(
            DomainKind::BeaconProposer,
            chain.epoch_of(block.slot),
            chain.genesis_validators_root,
        );
        (expected, pubkey, domain)
    };
    if expected != Some(block.proposer) {
        return Err(Rejected::new(format!(
            "validator {} is not the proposer of slot {} (expected {expected:?})",
            block.proposer, block.slot
        )));
    }
    let pubkey =
        pubkey.ok_or_else(|| Rejected::new(format!("unknown proposer {}", block.proposer)))?;
    shared
        .keys
        .verify(
            block.proposer,
            &pubkey,
            block.root.signing_root(domain),
            &block.signature,
        )
        .map_err(|e| Rejected::new(format!("invalid block signature: {e}")))?;
    verify_randao(shared, block.proposer, block.slot, &block.randao_reveal)
}

fn publish<E: EthSpec>(
    shared: &Shared<E>,
    headers: &HeaderMap,
    body: &[u8],
    kind: PayloadKind,
    route: &str,
    version_required: bool,
) -> Response {
    let (block, fork, encoding) = match decode(shared, headers, body, kind, version_required) {
        Ok(decoded) => decoded,
        Err(response) => return response.into_response(),
    };
    if let Err(reason) = verify_block(shared, &block, fork) {
        shared.reject(route, None, &reason);
        return error(StatusCode::BAD_REQUEST, reason.0).into_response();
    }
    let epoch = shared.chain.lock().epoch_of(block.slot);
    {
        let mut records = shared.records.lock();
        records.published.blocks.push(PublishedBlock {
            slot: block.slot,
            proposer_index: block.proposer,
            root: block.root,
            fork,
            payload: kind,
            fee_recipient: block.fee_recipient,
            graffiti: block.graffiti,
            encoding,
        });
        records.live.insert((epoch, block.proposer));
    }
    if let Some(full) = block.full {
        shared.chain.lock().insert_published(full);
        let data = serde_json::json!({ "slot": block.slot, "block": block.root, "execution_optimistic": false });
        shared.emit("block", data.to_string());
    }
    StatusCode::OK.into_response()
}

pub(crate) async fn publish_v2<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    publish(
        &shared,
        &headers,
        &body,
        PayloadKind::Full,
        "/eth/v2/beacon/blocks",
        true,
    )
}

pub(crate) async fn publish_v1<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    publish(
        &shared,
        &headers,
        &body,
        PayloadKind::Full,
        "/eth/v1/beacon/blocks",
        false,
    )
}

pub(crate) async fn publish_blinded_v2<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    publish(
        &shared,
        &headers,
        &body,
        PayloadKind::Blinded,
        "/eth/v2/beacon/blinded_blocks",
        true,
    )
}

pub(crate) async fn publish_blinded_v1<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    publish(
        &shared,
        &headers,
        &body,
        PayloadKind::Blinded,
        "/eth/v1/beacon/blinded_blocks",
        false,
    )
}
