//! `POST /eth/v1/validator/{pubkey}/voluntary_exit[?epoch=N]`: a signed voluntary exit, handed
//! back (not published).
//!
//! The exit's epoch defaults to the current epoch. The signature goes through the validator
//! store like every other (doppelganger holding applies) with the domain of the chain's current
//! fork: `DOMAIN_VOLUNTARY_EXIT` with the Capella fork version once the chain is at Deneb or
//! later (EIP-7044), else the version of the fork at the exit's epoch.

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use types::{Epoch, EthSpec, SignedVoluntaryExit, VoluntaryExit};

use super::Data;
use super::body::{internal, parse_pubkey};
use super::ready::Ready;
use crate::Error;
use crate::http::ApiError;
use crate::http::reports::params::Query;
use crate::services::duties::refresh_validators;

/// `POST …/voluntary_exit`.
pub(super) async fn voluntary_exit<E: EthSpec>(
    Ready(km): Ready<E>,
    Path(pubkey): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Data<SignedVoluntaryExit>>, ApiError> {
    let pubkey = parse_pubkey("pubkey", &pubkey)?;
    let query = Query::parse(query.as_deref(), &["epoch"])?;
    let requested_epoch = query.u64("epoch")?;
    km.ensure_managed(&pubkey)?;
    let ctx = &km.ctx;
    let mut index = ctx.store.key(&pubkey).and_then(|k| k.index);
    if index.is_none() {
        // Imported moments ago, or the chain learnt of it since the last refresh.
        if let Err(error) = refresh_validators(ctx).await {
            tracing::warn!(%error, "voluntary exit: cannot refresh validator indices");
        }
        index = ctx.store.key(&pubkey).and_then(|k| k.index);
    }
    let Some(validator_index) = index else {
        return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "validator {pubkey} has no index: the beacon chain does not know it (yet), so it \
                 cannot exit"
            ),
        });
    };
    let current_epoch = ctx.current_epoch();
    let exit = VoluntaryExit {
        epoch: requested_epoch.map_or(current_epoch, Epoch),
        validator_index,
    };
    let signed = ctx
        .store
        .sign_voluntary_exit(pubkey, exit, current_epoch)
        .await
        .map_err(|error| match error {
            Error::DoppelgangerHeld { .. } | Error::UnknownValidator(_) | Error::Config(_) => {
                ApiError {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("cannot sign the exit: {error}"),
                }
            }
            other => internal(&format!("signing the exit failed: {other}")),
        })?;
    tracing::info!(%pubkey, validator_index, epoch = %signed.message.epoch, "Keymanager: voluntary exit signed");
    Ok(Json(Data { data: signed }))
}
