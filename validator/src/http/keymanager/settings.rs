//! `/eth/v1/validator/{pubkey}/feerecipient`, `…/gas_limit` and `…/graffiti`.
//!
//! Invariants: only keys this client manages are read or changed (404 otherwise); a fee
//! recipient the pool's policy would refuse at proposal time is refused here (400), never
//! stored; every change is persisted in the validator definitions file before the answer
//! (202 for a change, 204 for a reset to the default).

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use types::{EthSpec, ExecutionAddress, PublicKeyBytes};

use super::body::{JsonBody, bad_body, internal, parse_pubkey, quoted_u64};
use super::ready::Ready;
use super::{Data, Keymanager};
use crate::http::ApiError;
use crate::store::{Definitions, graffiti_from_str};

/// The path's pubkey, managed by this client.
fn managed<E: EthSpec>(km: &Keymanager<E>, text: &str) -> Result<PublicKeyBytes, ApiError> {
    let pubkey = parse_pubkey("pubkey", text)?;
    km.ensure_managed(&pubkey)?;
    Ok(pubkey)
}

/// Applies `change` to the definitions (and their file) on the blocking pool.
async fn persist<E: EthSpec>(
    km: &Keymanager<E>,
    change: impl FnOnce(&mut Definitions) -> crate::Result<()> + Send + 'static,
) -> Result<(), ApiError> {
    let store = km.ctx.store.clone();
    km.blocking("keymanager-definitions", move || {
        store.with_definitions(change)
    })
    .await?
    .map_err(|e| internal(&format!("cannot save the validator definitions: {e}")))
}

#[derive(Debug, Serialize)]
pub(super) struct FeeRecipient {
    pubkey: PublicKeyBytes,
    ethaddress: ExecutionAddress,
}

/// `GET …/feerecipient`: the recipient this key's proposals pay (policy applied).
pub(super) async fn get_fee_recipient<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
) -> Result<Json<Data<FeeRecipient>>, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    let ethaddress = km
        .ctx
        .store
        .fee_recipient(&pubkey)
        .ok_or_else(|| internal("no fee recipient is known for this key"))?;
    Ok(Json(Data {
        data: FeeRecipient { pubkey, ethaddress },
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct SetFeeRecipient {
    ethaddress: String,
}

fn parse_address(text: &str) -> Result<ExecutionAddress, ApiError> {
    let digits = text.strip_prefix("0x").unwrap_or("");
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_body(format!(
            "invalid `ethaddress`: expected 0x and 40 hex digits, got {:?}",
            text.chars().take(60).collect::<String>()
        )));
    }
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(digits, &mut bytes).map_err(|e| bad_body(format!("`ethaddress`: {e}")))?;
    Ok(ExecutionAddress::from(bytes))
}

/// `POST …/feerecipient`.
pub(super) async fn set_fee_recipient<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
    JsonBody(body): JsonBody<SetFeeRecipient>,
) -> Result<StatusCode, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    let address = parse_address(&body.ethaddress)?;
    if address == ExecutionAddress::ZERO {
        return Err(bad_body(
            "the zero address cannot be set as a fee recipient",
        ));
    }
    if let Some(policy) = km.ctx.store.fee_policy()
        && !policy.permits(address, Some(address))
    {
        return Err(bad_body(format!(
            "fee recipient {address} refused: the pool's policy requires blocks to pay the pool \
             vault {} and other recipients are not allowed (--allow-other-fee-recipients)",
            policy.vault
        )));
    }
    persist(&km, move |d| d.set_fee_recipient(pubkey, Some(address))).await?;
    tracing::info!(%pubkey, fee_recipient = %address, "Keymanager: fee recipient set");
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE …/feerecipient`: back to the default.
pub(super) async fn delete_fee_recipient<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
) -> Result<StatusCode, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    persist(&km, move |d| d.set_fee_recipient(pubkey, None)).await?;
    tracing::info!(%pubkey, "Keymanager: fee recipient reset to the default");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub(super) struct GasLimit {
    pubkey: PublicKeyBytes,
    #[serde(with = "types::serde_utils::quoted_u64")]
    gas_limit: u64,
}

/// `GET …/gas_limit`.
pub(super) async fn get_gas_limit<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
) -> Result<Json<Data<GasLimit>>, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    let gas_limit = km.ctx.store.gas_limit(&pubkey);
    Ok(Json(Data {
        data: GasLimit { pubkey, gas_limit },
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct SetGasLimit {
    #[serde(deserialize_with = "quoted_u64")]
    gas_limit: u64,
}

/// `POST …/gas_limit`.
pub(super) async fn set_gas_limit<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
    JsonBody(body): JsonBody<SetGasLimit>,
) -> Result<StatusCode, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    if body.gas_limit == 0 {
        return Err(bad_body("`gas_limit` must be greater than 0"));
    }
    let gas_limit = body.gas_limit;
    persist(&km, move |d| d.set_gas_limit(pubkey, Some(gas_limit))).await?;
    tracing::info!(%pubkey, gas_limit, "Keymanager: gas limit set");
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE …/gas_limit`.
pub(super) async fn delete_gas_limit<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
) -> Result<StatusCode, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    persist(&km, move |d| d.set_gas_limit(pubkey, None)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub(super) struct GraffitiView {
    pubkey: PublicKeyBytes,
    graffiti: String,
}

/// `GET …/graffiti`: the key's own graffiti, else the default (as text; empty when none).
pub(super) async fn get_graffiti<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
) -> Result<Json<Data<GraffitiView>>, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    let graffiti = km
        .ctx
        .store
        .graffiti(&pubkey)
        .map(|bytes| {
            let end = bytes
                .iter()
                .rposition(|b| *b != 0)
                .map_or(0, |last| last + 1);
            String::from_utf8_lossy(&bytes[..end]).into_owned()
        })
        .unwrap_or_default();
    Ok(Json(Data {
        data: GraffitiView { pubkey, graffiti },
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct SetGraffiti {
    graffiti: String,
}

/// `POST …/graffiti`.
pub(super) async fn set_graffiti<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
    JsonBody(body): JsonBody<SetGraffiti>,
) -> Result<StatusCode, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    if graffiti_from_str(&body.graffiti).is_none() {
        return Err(bad_body(format!(
            "`graffiti` is {} bytes of UTF-8, at most 32 are allowed",
            body.graffiti.len()
        )));
    }
    let graffiti = body.graffiti;
    persist(&km, move |d| d.set_graffiti(pubkey, Some(graffiti))).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE …/graffiti`.
pub(super) async fn delete_graffiti<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
) -> Result<StatusCode, ApiError> {
    let pubkey = managed(&km, &pubkey)?;
    persist(&km, move |d| d.set_graffiti(pubkey, None)).await?;
    Ok(StatusCode::NO_CONTENT)
}
