//! Block production (`produceBlockV3`, falling back to v2 / blinded v1) and publication
//! (`publishBlockV2` / `publishBlindedBlockV2`, falling back to v1), in JSON or SSZ.
//!
//! The produced block's fork is taken from the response (`version` field or
//! `Eth-Consensus-Version` header) and its slot is checked against the request; callers must still
//! check the fork against their own schedule, the proposer and the fee recipient before signing.

use reqwest::StatusCode;
use serde_json::Value;
use types::api::ProduceBlockV3Metadata;
use types::block::{PayloadKind, ProducedBlock, SignedProducedBlock};
use types::{EthSpec, ForkName, Graffiti, SignatureBytes, Slot, U256};

use super::routes::VersionedRoute;
use super::{
    BeaconNodeClient, CONSENSUS_BLOCK_VALUE_HEADER, CONSENSUS_VERSION_HEADER, Call, Encoding,
    PAYLOAD_BLINDED_HEADER, PAYLOAD_VALUE_HEADER, RawResponse,
};
use crate::beacon_node::error::{Error, Result};
use types::api::BroadcastValidation;

/// Which production route produced a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockProductionRoute {
    /// `GET /eth/v3/validator/blocks/{slot}` (full or blinded, node's choice).
    V3,
    /// `GET /eth/v2/validator/blocks/{slot}` (full).
    V2,
    /// `GET /eth/v1/validator/blinded_blocks/{slot}` (blinded).
    BlindedV1,
}

/// What to ask for when producing a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceBlockRequest {
    /// The proposal slot.
    pub slot: Slot,
    /// The proposer's RANDAO reveal for the slot's epoch.
    pub randao_reveal: SignatureBytes,
    /// Graffiti; the node's default when `None`.
    pub graffiti: Option<Graffiti>,
    /// `builder_boost_factor` (percent): `Some(0)` for local payloads only; `None` leaves the
    /// choice to the node. On nodes without v3, a non-zero factor tries a blinded block first.
    pub builder_boost_factor: Option<u64>,
    /// Preferred response encoding (v3 only; fallbacks use JSON).
    pub encoding: Encoding,
}

/// A produced block with the metadata the node reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducedBlockResponse<E: EthSpec> {
    /// The block (full, with blobs, or blinded).
    pub block: ProducedBlock<E>,
    /// The execution payload value in wei (v3 only).
    pub execution_payload_value: Option<U256>,
    /// The consensus rewards in wei (v3 only).
    pub consensus_block_value: Option<U256>,
    /// The route that produced it.
    pub route: BlockProductionRoute,
}

/// How the node took a published block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishOutcome {
    /// 200: broadcast and imported.
    Imported,
    /// 202: broadcast, but failed full validation (not imported).
    BroadcastNotImported,
}

fn parse_flag(response: &RawResponse, name: &str) -> Result<Option<bool>> {
    match response.header(name) {
        None => Ok(None),
        Some(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            other => Err(response.decode_error(format!(
                "header {name} is {other:?}, expected true or false"
            ))),
        },
    }
}

fn parse_wei(response: &RawResponse, name: &str) -> Result<Option<U256>> {
    response
        .header(name)
        .map(|text| {
            U256::from_str_radix(text.trim(), 10)
                .map_err(|e| response.decode_error(format!("header {name} is {text:?}: {e}")))
        })
        .transpose()
}

fn header_fork(response: &RawResponse) -> Result<Option<ForkName>> {
    response
        .header(CONSENSUS_VERSION_HEADER)
        .map(|text| {
            text.trim().parse::<ForkName>().map_err(|e| {
                response.decode_error(format!("header {CONSENSUS_VERSION_HEADER}: {e}"))
            })
        })
        .transpose()
}

fn check_slot<E: EthSpec>(
    response: &RawResponse,
    block: &ProducedBlock<E>,
    slot: Slot,
) -> Result<()> {
    if block.slot() != slot {
        return Err(response.decode_error(format!(
            "produced a block for slot {} when slot {slot} was requested",
            block.slot()
        )));
    }
    Ok(())
}

/// Decodes a `produceBlockV3` response (JSON or SSZ).
fn decode_v3<E: EthSpec>(response: &RawResponse, slot: Slot) -> Result<ProducedBlockResponse<E>> {
    let header_fork = header_fork(response)?;
    let (block, payload_value, block_value) = if response.is_ssz() {
        let fork = header_fork.ok_or_else(|| {
            response.decode_error(format!("SSZ response without {CONSENSUS_VERSION_HEADER}"))
        })?;
        let blinded = parse_flag(response, PAYLOAD_BLINDED_HEADER)?.ok_or_else(|| {
            response.decode_error(format!("SSZ response without {PAYLOAD_BLINDED_HEADER}"))
        })?;
        let block = ProducedBlock::from_ssz_bytes(
            &response.body,
            fork,
            PayloadKind::from_blinded_flag(blinded),
        )
        .map_err(|e| response.decode_error(e.to_string()))?;
        (
            block,
            parse_wei(response, PAYLOAD_VALUE_HEADER)?,
            parse_wei(response, CONSENSUS_BLOCK_VALUE_HEADER)?,
        )
    } else {
        let mut value: Value = response.json()?;
        let metadata: ProduceBlockV3Metadata = serde_json::from_value(value.clone())
            .map_err(|e| response.decode_error(format!("produceBlockV3 metadata: {e}")))?;
        if let Some(fork) = header_fork.filter(|fork| *fork != metadata.version) {
            return Err(response.decode_error(format!(
                "{CONSENSUS_VERSION_HEADER} header says {fork} but the body says {}",
                metadata.version
            )));
        }
        let data = value
            .get_mut("data")
            .map(Value::take)
            .ok_or_else(|| response.decode_error("missing field `data`"))?;
        let kind = PayloadKind::from_blinded_flag(metadata.execution_payload_blinded);
        let block = ProducedBlock::from_json_value(metadata.version, kind, data)
            .map_err(|e| response.decode_error(e.to_string()))?;
        (
            block,
            Some(metadata.execution_payload_value),
            Some(metadata.consensus_block_value),
        )
    };
    check_slot(response, &block, slot)?;
    Ok(ProducedBlockResponse {
        block,
        execution_payload_value: payload_value,
        consensus_block_value: block_value,
        route: BlockProductionRoute::V3,
    })
}

/// Decodes a `{version, data}` response of the v2 / blinded v1 production routes.
fn decode_legacy<E: EthSpec>(
    response: &RawResponse,
    slot: Slot,
    kind: PayloadKind,
    route: BlockProductionRoute,
) -> Result<ProducedBlockResponse<E>> {
    let mut value: Value = response.json()?;
    let version_value = value
        .get("version")
        .cloned()
        .ok_or_else(|| response.decode_error("missing field `version`"))?;
    let fork: ForkName = serde_json::from_value(version_value)
        .map_err(|e| response.decode_error(format!("at `version`: {e}")))?;
    let data = value
        .get_mut("data")
        .map(Value::take)
        .ok_or_else(|| response.decode_error("missing field `data`"))?;
    let block = ProducedBlock::from_json_value(fork, kind, data)
        .map_err(|e| response.decode_error(e.to_string()))?;
    check_slot(response, &block, slot)?;
    Ok(ProducedBlockResponse {
        block,
        execution_payload_value: None,
        consensus_block_value: None,
        route,
    })
}

impl BeaconNodeClient {
    /// Produces an unsigned block for `request.slot`.
    pub async fn produce_block<E: EthSpec>(
        &self,
        request: &ProduceBlockRequest,
    ) -> Result<ProducedBlockResponse<E>> {
        let timeout = self.timeouts().proposal;
        let slot = request.slot;
        let with_common = |mut call: Call| {
            call = call.query("randao_reveal", request.randao_reveal);
            if let Some(graffiti) = request.graffiti {
                call = call.query("graffiti", graffiti);
            }
            call
        };
        let v3 = || async {
            let mut call = with_common(Call::get(
                format!("eth/v3/validator/blocks/{slot}"),
                timeout,
            ));
            if let Some(factor) = request.builder_boost_factor {
                call = call.query("builder_boost_factor", factor);
            }
            if request.encoding == Encoding::Ssz {
                call = call.accept_ssz();
            }
            let response = self.execute(call).await?;
            decode_v3(&response, slot)
        };
        let v2 = || async {
            let call = with_common(Call::get(
                format!("eth/v2/validator/blocks/{slot}"),
                timeout,
            ));
            let response = self.execute(call).await?;
            decode_legacy(&response, slot, PayloadKind::Full, BlockProductionRoute::V2)
        };
        let blinded_v1 = || async {
            let call = with_common(Call::get(
                format!("eth/v1/validator/blinded_blocks/{slot}"),
                timeout,
            ));
            let response = self.execute(call).await?;
            decode_legacy(
                &response,
                slot,
                PayloadKind::Blinded,
                BlockProductionRoute::BlindedV1,
            )
        };
        let older = || async {
            if request
                .builder_boost_factor
                .is_some_and(|factor| factor > 0)
            {
                match blinded_v1().await {
                    Ok(block) => return Ok(block),
                    Err(error) => {
                        tracing::warn!(node = %self, %error, "blinded block production failed, producing a local block");
                    }
                }
            }
            v2().await
        };
        self.with_fallback(VersionedRoute::ProduceBlockV3, v3, Some(older))
            .await
    }

    /// Publishes a signed block (`publishBlockV2`/`publishBlindedBlockV2`, v1 on nodes without
    /// v2, which always takes JSON).
    pub async fn publish_block<E: EthSpec>(
        &self,
        block: &SignedProducedBlock<E>,
        encoding: Encoding,
        validation: BroadcastValidation,
    ) -> Result<PublishOutcome> {
        let timeout = self.timeouts().publish_block;
        let (v2_path, v1_path, route) = match block.payload_kind() {
            PayloadKind::Full => (
                "eth/v2/beacon/blocks",
                "eth/v1/beacon/blocks",
                VersionedRoute::PublishBlockV2,
            ),
            PayloadKind::Blinded => (
                "eth/v2/beacon/blinded_blocks",
                "eth/v1/beacon/blinded_blocks",
                VersionedRoute::PublishBlindedBlockV2,
            ),
        };
        let outcome = |status: StatusCode| {
            if status == StatusCode::ACCEPTED {
                PublishOutcome::BroadcastNotImported
            } else {
                PublishOutcome::Imported
            }
        };
        let v2_call = || {
            Call::post(v2_path, timeout)
                .query("broadcast_validation", validation.as_str())
                .header(CONSENSUS_VERSION_HEADER, block.fork_name())
        };
        let v2 = || async {
            let result = match encoding {
                Encoding::Json => self.execute(v2_call().json_body(block)?).await,
                Encoding::Ssz => self.execute(v2_call().ssz_body(block.as_ssz_bytes())).await,
            };
            match result {
                // A node that does not take SSZ bodies (415) gets JSON; a node without the
                // route at all (Lodestar 1.5.1 answers 415 before routing) then answers 404 and
                // falls back to v1.
                Err(Error::Status { status: 415, .. }) if encoding == Encoding::Ssz => {
                    tracing::debug!(node = %self, "SSZ block body refused (415), publishing as JSON");
                    Ok(outcome(
                        self.execute(v2_call().json_body(block)?).await?.status,
                    ))
                }
                other => Ok(outcome(other?.status)),
            }
        };
        let v1 = || async {
            let call = Call::post(v1_path, timeout)
                .header(CONSENSUS_VERSION_HEADER, block.fork_name())
                .json_body(block)?;
            Ok(outcome(self.execute(call).await?.status))
        };
        self.with_fallback(route, v2, Some(v1)).await
    }
}
