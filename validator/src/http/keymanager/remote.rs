//! `/eth/v1/remotekeys`: keys held by a Web3Signer-compatible remote signer.
//!
//! A remote key is registered with slashing protection (which stays local and is checked before
//! every remote request), added to the signer, recorded in the validator definitions (so a
//! restart loads it again) and then made known to the store, held like an imported keystore.
//! Keys given by `--remote-signer-url` are listed `readonly` and cannot be deleted here.

use std::collections::{BTreeSet, HashSet};

use axum::Json;
use serde::{Deserialize, Serialize};
use slashing_protection::SlashingProtection;
use types::{EthSpec, PublicKeyBytes};

use super::body::{JsonBody, parse_pubkey};
use super::delete::DeleteRequest;
use super::ready::Ready;
use super::{Data, ItemStatus};
use crate::http::ApiError;

/// One entry of `GET /eth/v1/remotekeys`.
#[derive(Debug, Serialize)]
pub(super) struct RemoteKey {
    pubkey: PublicKeyBytes,
    url: String,
    readonly: bool,
}

/// `GET /eth/v1/remotekeys`.
pub(super) async fn list<E: EthSpec>(Ready(km): Ready<E>) -> Json<Data<Vec<RemoteKey>>> {
    let data = km
        .signer
        .as_ref()
        .map(|signer| signer.remote_keys())
        .unwrap_or_default()
        .into_iter()
        .filter(|(pubkey, _)| km.ctx.store.key(pubkey).is_some())
        .map(|(pubkey, url)| RemoteKey {
            readonly: km.configured_remote.contains(&pubkey),
            pubkey,
            url,
        })
        .collect();
    Json(Data { data })
}

/// One key of `POST /eth/v1/remotekeys`.
#[derive(Debug, Deserialize)]
pub(super) struct RemoteKeyDefinition {
    pubkey: String,
    /// The remote signer (default: `--remote-signer-url`).
    #[serde(default)]
    url: Option<String>,
}

/// The body of `POST /eth/v1/remotekeys`.
#[derive(Debug, Deserialize)]
pub(super) struct ImportRemoteRequest {
    remote_keys: Vec<RemoteKeyDefinition>,
}

/// `POST /eth/v1/remotekeys`.
pub(super) async fn import<E: EthSpec>(
    Ready(km): Ready<E>,
    JsonBody(request): JsonBody<ImportRemoteRequest>,
) -> Result<Json<Data<Vec<ItemStatus>>>, ApiError> {
    let Some(signer) = km.signer.clone() else {
        let data = request
            .remote_keys
            .iter()
            .map(|_| {
                ItemStatus::error("keys cannot be added: this client runs with a fixed signer")
            })
            .collect();
        return Ok(Json(Data { data }));
    };
    let _changing = km.changes.lock().await;
    let store = &km.ctx.store;
    let mut statuses: Vec<Option<ItemStatus>> = Vec::with_capacity(request.remote_keys.len());
    let mut candidates: Vec<(usize, PublicKeyBytes, String)> = Vec::new();
    let mut seen = HashSet::new();
    for (i, definition) in request.remote_keys.iter().enumerate() {
        let pubkey = match parse_pubkey(&format!("remote_keys[{i}].pubkey"), &definition.pubkey) {
            Ok(pubkey) => pubkey,
            Err(error) => {
                statuses.push(Some(ItemStatus::error(error.message)));
                continue;
            }
        };
        let url = match definition
            .url
            .clone()
            .or_else(|| km.remote_default_url.clone())
        {
            Some(url) => url,
            None => {
                statuses.push(Some(ItemStatus::error(
                    "no url given, and no --remote-signer-url to default to",
                )));
                continue;
            }
        };
        if let Err(error) = signer::remote::check_url(&url) {
            statuses.push(Some(ItemStatus::error(error.to_string())));
            continue;
        }
        if let Err(error) = signer::bls::PublicKey::try_from(&pubkey) {
            statuses.push(Some(ItemStatus::error(format!("unusable pubkey: {error}"))));
            continue;
        }
        if store.key(&pubkey).is_some() || !seen.insert(pubkey) {
            statuses.push(Some(ItemStatus::ok("duplicate")));
            continue;
        }
        statuses.push(None);
        candidates.push((i, pubkey, url));
    }

    let mut added = Vec::new();
    if !candidates.is_empty() {
        let pubkeys: Vec<PublicKeyBytes> = candidates.iter().map(|(_, pk, _)| *pk).collect();
        // Registered before the key can sign; slashing protection stays local.
        if let Err(error) = store
            .slashing_protection()
            .register_validators(&pubkeys)
            .await
        {
            for (i, _, _) in &candidates {
                statuses[*i] = Some(ItemStatus::error(format!(
                    "cannot register the key with slashing protection: {error}"
                )));
            }
            candidates.clear();
        }
        for (i, pubkey, url) in candidates {
            match signer.add_remote(pubkey, &url) {
                Ok(true) => {}
                Ok(false) => {
                    statuses[i] = Some(ItemStatus::ok("duplicate"));
                    continue;
                }
                Err(error) => {
                    statuses[i] = Some(ItemStatus::error(error.to_string()));
                    continue;
                }
            }
            let persisted = {
                let store = store.clone();
                let url = url.clone();
                km.blocking("keymanager-definitions", move || {
                    store.with_definitions(|d| d.set_remote_signer(pubkey, Some(url)))
                })
                .await
            };
            match persisted {
                Ok(Ok(())) => {
                    statuses[i] = Some(ItemStatus::ok("imported"));
                    added.push(pubkey);
                }
                Ok(Err(error)) => {
                    // Not recorded: it would vanish at restart; do not use it at all.
                    signer.remove_remote(&pubkey);
                    statuses[i] = Some(ItemStatus::error(format!(
                        "cannot save the validator definitions: {error}"
                    )));
                }
                Err(error) => {
                    signer.remove_remote(&pubkey);
                    statuses[i] = Some(ItemStatus::error(error.message));
                }
            }
        }
    }
    if !added.is_empty() {
        super::import::activate(&km, &added).await;
    }
    let data = statuses
        .into_iter()
        .map(|s| s.unwrap_or_else(|| ItemStatus::error("not processed")))
        .collect();
    Ok(Json(Data { data }))
}

/// `DELETE /eth/v1/remotekeys`.
pub(super) async fn delete<E: EthSpec>(
    Ready(km): Ready<E>,
    JsonBody(request): JsonBody<DeleteRequest>,
) -> Result<Json<Data<Vec<ItemStatus>>>, ApiError> {
    let pubkeys = request.parse()?;
    let _changing = km.changes.lock().await;
    let Some(signer) = km.signer.clone() else {
        let data = pubkeys
            .iter()
            .map(|_| ItemStatus::ok("not_found"))
            .collect();
        return Ok(Json(Data { data }));
    };
    let store = &km.ctx.store;
    let mut outcome: std::collections::HashMap<PublicKeyBytes, ItemStatus> = Default::default();
    let mut to_remove = Vec::new();
    for pubkey in &pubkeys {
        if outcome.contains_key(pubkey) || to_remove.contains(pubkey) {
            continue;
        }
        let status = if signer.remote_url(pubkey).is_none() || store.key(pubkey).is_none() {
            if km.is_local(pubkey) {
                ItemStatus::error(
                    "this key is a local keystore; delete it with DELETE /eth/v1/keystores",
                )
            } else {
                ItemStatus::ok("not_found")
            }
        } else if km.configured_remote.contains(pubkey) {
            ItemStatus::error(
                "this remote key comes from --remote-signer-url (it would be loaded again at \
                 the next start); remove it from the remote signer or the configuration",
            )
        } else {
            to_remove.push(*pubkey);
            continue;
        };
        outcome.insert(*pubkey, status);
    }
    if !to_remove.is_empty() {
        store.remove_keys(&to_remove).await;
        for pubkey in &to_remove {
            signer.remove_remote(pubkey);
        }
        let gone: BTreeSet<PublicKeyBytes> = to_remove.iter().copied().collect();
        km.ctx.duties.forget_keys(&gone);
        let cleared = {
            let store = store.clone();
            let removing = to_remove.clone();
            km.blocking("keymanager-definitions", move || {
                store.with_definitions(|d| {
                    removing
                        .iter()
                        .map(|pk| d.set_remote_signer(*pk, None))
                        .collect::<Vec<_>>()
                })
            })
            .await?
        };
        for (pubkey, result) in to_remove.iter().zip(cleared) {
            let status = match result {
                Ok(()) => ItemStatus::ok("deleted"),
                Err(error) => ItemStatus::error(format!(
                    "the key no longer signs here, but the validator definitions could not be \
                     saved (it would be loaded again at the next start): {error}"
                )),
            };
            outcome.insert(*pubkey, status);
        }
        tracing::info!(keys = to_remove.len(), "Keymanager: remote keys deleted");
    }
    let data = pubkeys
        .iter()
        .map(|pk| {
            outcome
                .get(pk)
                .cloned()
                .unwrap_or_else(|| ItemStatus::error("not processed"))
        })
        .collect();
    Ok(Json(Data { data }))
}
