//! `/eth/v1/keystores` and `/eth/v1/remotekeys`: listing, importing and deleting keys.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use types::{EthSpec, PublicKeyBytes};

use super::body::JsonBody;
use super::delete::DeleteRequest;
use super::import::ImportRequest;
use super::{Data, ItemStatus, Keymanager};
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
pub(super) async fn list<E: EthSpec>(
    State(km): State<Arc<Keymanager<E>>>,
) -> Json<Data<Vec<LocalKey>>> {
    let mut keys: Vec<PublicKeyBytes> = km
        .ctx
        .store
        .keys()
        .into_iter()
        .map(|k| k.pubkey)
        .filter(|pubkey| km.local.is_none() || km.is_local(pubkey))
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
            readonly: km.local.is_none(),
        })
        .collect();
    Json(Data { data })
}

/// `POST /eth/v1/keystores`.
pub(super) async fn import<E: EthSpec>(
    State(km): State<Arc<Keymanager<E>>>,
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
    State(km): State<Arc<Keymanager<E>>>,
    JsonBody(request): JsonBody<DeleteRequest>,
) -> Result<Json<DeleteResponse>, ApiError> {
    Ok(Json(super::delete::delete(&km, request).await?))
}

/// One entry of `GET /eth/v1/remotekeys`.
#[derive(Debug, Serialize)]
pub(super) struct RemoteKey {
    pubkey: PublicKeyBytes,
    url: String,
    readonly: bool,
}

/// `GET /eth/v1/remotekeys`.
pub(super) async fn list_remote<E: EthSpec>(
    State(_km): State<Arc<Keymanager<E>>>,
) -> Json<Data<Vec<RemoteKey>>> {
    Json(Data { data: Vec::new() })
}

/// `POST /eth/v1/remotekeys` body.
#[derive(Debug, Deserialize)]
pub(super) struct ImportRemoteRequest {
    remote_keys: Vec<serde_json::Value>,
}

/// `POST /eth/v1/remotekeys`.
pub(super) async fn import_remote<E: EthSpec>(
    State(_km): State<Arc<Keymanager<E>>>,
    JsonBody(request): JsonBody<ImportRemoteRequest>,
) -> Json<Data<Vec<ItemStatus>>> {
    let data = request
        .remote_keys
        .iter()
        .map(|_| ItemStatus::error("this client holds local keys only"))
        .collect();
    Json(Data { data })
}

/// `DELETE /eth/v1/remotekeys`.
pub(super) async fn delete_remote<E: EthSpec>(
    State(_km): State<Arc<Keymanager<E>>>,
    JsonBody(request): JsonBody<DeleteRequest>,
) -> Result<Json<Data<Vec<ItemStatus>>>, ApiError> {
    let pubkeys = request.parse()?;
    Ok(Json(Data {
        data: pubkeys
            .iter()
            .map(|_| ItemStatus::ok("not_found"))
            .collect(),
    }))
}
