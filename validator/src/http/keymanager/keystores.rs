//! `/eth/v1/keystores`: listing, importing and deleting local keys.

use axum::Json;
use serde::Serialize;
use types::{EthSpec, PublicKeyBytes};

use super::body::JsonBody;
use super::delete::DeleteRequest;
use super::import::ImportRequest;
use super::ready::Ready;
use super::{Data, ItemStatus};
use crate::http::ApiError;

/// One entry of `GET /eth/v1/keystores`.
#[derive(Debug, Serialize)]
pub(super) struct LocalKey {
    validating_pubkey: PublicKeyBytes,
    #[serde(skip_serializing_if = "Option::is_none")]
    derivation_path: Option<String>,
    readonly: bool,
}

/// `GET /eth/v1/keystores`: the local keys, sorted.
pub(super) async fn list<E: EthSpec>(Ready(km): Ready<E>) -> Json<Data<Vec<LocalKey>>> {
    let mut keys: Vec<PublicKeyBytes> = km
        .ctx
        .store
        .keys()
        .into_iter()
        .map(|k| k.pubkey)
        .filter(|pubkey| km.signer.is_none() || km.is_local(pubkey))
        .collect();
    keys.sort();
    let files = km.files.lock();
    let data = keys
        .into_iter()
        .map(|pubkey| LocalKey {
            validating_pubkey: pubkey,
            derivation_path: files
                .get(&pubkey)
                .and_then(|f| f.first())
                .map(|f| f.derivation_path.clone())
                .filter(|p| !p.is_empty()),
            // Keys of a fixed signer cannot be removed through the API.
            readonly: km.signer.is_none(),
        })
        .collect();
    Json(Data { data })
}

/// `POST /eth/v1/keystores`.
pub(super) async fn import<E: EthSpec>(
    Ready(km): Ready<E>,
    JsonBody(request): JsonBody<ImportRequest>,
) -> Result<Json<Data<Vec<ItemStatus>>>, ApiError> {
    let data = super::import::import(&km, request).await?;
    Ok(Json(Data { data }))
}

/// The answer of `DELETE /eth/v1/keystores`.
#[derive(Debug, Serialize)]
pub(super) struct DeleteResponse {
    pub(super) data: Vec<ItemStatus>,
    /// The EIP-3076 interchange JSON of the keys deleted or not active, as a string.
    pub(super) slashing_protection: String,
}

/// `DELETE /eth/v1/keystores`.
pub(super) async fn delete<E: EthSpec>(
    Ready(km): Ready<E>,
    JsonBody(request): JsonBody<DeleteRequest>,
) -> Result<Json<DeleteResponse>, ApiError> {
    Ok(Json(super::delete::delete(&km, request).await?))
}
