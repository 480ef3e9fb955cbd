//! Block requests: `BLOCK` (a phase0 or Altair block) and `BLOCK_V2` (`{"version", "block"}`
//! with a whole or blinded block of any fork, or `{"version", "block_header"}`).
//!
//! A whole block is decoded as the container of its declared fork — blinded when its body has
//! an `execution_payload_header` — and reduced to its header (the header's root is the block
//! root); the body is kept for the pool's fee-recipient check. `block` and `block_header` may
//! not both be sent.

use serde::Deserialize;
use serde_json::Value;
use types::{BeaconBlock, BeaconBlockHeader, BlindedBeaconBlock, EthSpec, ForkName};

use super::{BadRequest, decode, parse_fork, types_error};
use crate::message::{BlockBody, BlockToSign};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockRequest {
    version: String,
    #[serde(default)]
    block: Option<Value>,
    #[serde(default)]
    block_header: Option<Value>,
}

/// Whether a block's JSON has a blinded body (an execution payload header).
fn is_blinded(block: &Value) -> bool {
    block
        .get("body")
        .and_then(Value::as_object)
        .is_some_and(|body| body.contains_key("execution_payload_header"))
}

fn whole_block<E: EthSpec>(
    field: &str,
    fork: ForkName,
    block: Value,
) -> Result<BlockToSign<E>, BadRequest> {
    if is_blinded(&block) {
        let block = BlindedBeaconBlock::<E>::from_json_value(fork, block)
            .map_err(|e| types_error(field, e))?;
        Ok(BlockToSign {
            declared_fork: fork,
            header: block.block_header(),
            body: BlockBody::Blinded(Box::new(block)),
        })
    } else {
        let block =
            BeaconBlock::<E>::from_json_value(fork, block).map_err(|e| types_error(field, e))?;
        Ok(BlockToSign {
            declared_fork: fork,
            header: block.block_header(),
            body: BlockBody::Full(Box::new(block)),
        })
    }
}

/// `BLOCK`: a phase0 block, or an Altair block (told apart by its body's `sync_aggregate`).
pub(super) fn parse_block_v1<E: EthSpec>(
    field: &str,
    block: Value,
) -> Result<BlockToSign<E>, BadRequest> {
    let has_sync_aggregate = block
        .get("body")
        .and_then(Value::as_object)
        .is_some_and(|body| body.contains_key("sync_aggregate"));
    let fork = if has_sync_aggregate {
        ForkName::Altair
    } else {
        ForkName::Phase0
    };
    whole_block(field, fork, block)
}

/// `BLOCK_V2`: the versioned block or header.
pub(super) fn parse_block_v2<E: EthSpec>(
    field: &str,
    object: Value,
) -> Result<BlockToSign<E>, BadRequest> {
    let request = decode::<BlockRequest>(field, object)?;
    let fork = parse_fork(&format!("{field}.version"), &request.version)?;
    match (request.block, request.block_header) {
        (Some(block), None) => whole_block(&format!("{field}.block"), fork, block),
        (None, Some(header)) => {
            let header_field = format!("{field}.block_header");
            Ok(BlockToSign {
                declared_fork: fork,
                header: decode::<BeaconBlockHeader>(&header_field, header)?,
                body: BlockBody::HeaderOnly,
            })
        }
        (Some(_), Some(_)) => Err(BadRequest(format!(
            "`{field}` has both `block` and `block_header`: send one"
        ))),
        (None, None) => Err(BadRequest(format!(
            "`{field}` needs `block` (phase0, Altair, or any fork's whole or blinded block) or \
             `block_header` (Bellatrix on)"
        ))),
    }
}
