//! `DELETE /eth/v1/keystores`: stop, remove, and hand back the slashing protection data.
//!
//! Order: decode the body (400 on any bad pubkey) → remove the keys from the store, which
//! returns once no signing operation with them is in flight and none can start → remove them
//! from the signer and drop their duties → remove their keystore and password files and
//! rewrite the key cache → export the EIP-3076 data of every requested key that was deleted or
//! is not active but known to slashing protection (whose records are kept, so a second
//! identical request gets them too).

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use signer::keyfiles::{keystores_by_pubkey, password_file, remove_keystore, remove_password_file};
use signer::loader::PasswordSource;
use slashing_protection::{ExportScope, SlashingProtection};
use types::{EthSpec, PublicKeyBytes};

use super::body::{internal, parse_pubkey};
use super::keystores::DeleteResponse;
use super::{ItemStatus, Keymanager};
use crate::http::ApiError;

/// The body of `DELETE /eth/v1/keystores` (and of `DELETE /eth/v1/remotekeys`).
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteRequest {
    pubkeys: Vec<String>,
}

impl DeleteRequest {
    /// The pubkeys, each checked (a bad one is a 400 naming its position).
    pub(super) fn parse(&self) -> Result<Vec<PublicKeyBytes>, ApiError> {
        self.pubkeys
            .iter()
            .enumerate()
            .map(|(i, text)| parse_pubkey(&format!("pubkeys[{i}]"), text))
            .collect()
    }
}

/// Deletes the requested local keys.
pub(super) async fn delete<E: EthSpec>(
    km: &Keymanager<E>,
    request: DeleteRequest,
) -> Result<DeleteResponse, ApiError> {
    let pubkeys = request.parse()?;
    let _changing = km.changes.lock().await;
    let store = &km.ctx.store;
    let slashing = store.slashing_protection();

    let mut outcome: HashMap<PublicKeyBytes, ItemStatus> = HashMap::new();
    let mut to_remove = Vec::new();
    for pubkey in &pubkeys {
        if outcome.contains_key(pubkey) || to_remove.contains(pubkey) {
            continue;
        }
        if store.key(pubkey).is_some() {
            if km.is_local(pubkey) {
                to_remove.push(*pubkey);
            } else {
                outcome.insert(
                    *pubkey,
                    ItemStatus::error(
                        "this key is not a local keystore of this client (a remote key, or a \
                         fixed signer's key) and keeps signing; remote keys are removed with \
                         DELETE /eth/v1/remotekeys",
                    ),
                );
            }
            continue;
        }
        let known = slashing
            .validator_state(pubkey)
            .await
            .map_err(|e| internal(&format!("cannot read slashing protection: {e}")))?;
        let status = if known.is_some() {
            "not_active"
        } else {
            "not_found"
        };
        outcome.insert(*pubkey, ItemStatus::ok(status));
    }

    if !to_remove.is_empty() {
        // Stop first: once this returns, nothing can be signed with these keys any more.
        store.remove_keys(&to_remove).await;
        if let Some(local) = km.local() {
            for pubkey in &to_remove {
                local.remove_key(pubkey);
            }
        }
        let gone: BTreeSet<PublicKeyBytes> = to_remove.iter().copied().collect();
        km.ctx.duties.forget_keys(&gone);
        tracing::info!(keys = to_remove.len(), "Keymanager delete: keys stopped");

        let dir = km.keys.keystores_dir.clone();
        let cache = km.keys.key_cache.clone();
        let secrets = match &km.keys.passwords {
            PasswordSource::PerKeyFiles(dir) => Some(dir.clone()),
            PasswordSource::SharedFile(_) => None,
        };
        let removing = to_remove.clone();
        let results = km
            .blocking("keymanager-remove-files", move || {
                remove_files(&dir, cache.as_deref(), secrets.as_deref(), &removing)
            })
            .await?;
        const KEPT: &str = "the key no longer signs here, but its files could not be removed \
                            (it would be loaded again at the next start)";
        match results {
            Err(error) => {
                tracing::error!(%error, "Keymanager delete: keys stopped but their files remain");
                for pubkey in &to_remove {
                    outcome.insert(*pubkey, ItemStatus::error(format!("{KEPT}: {error}")));
                }
            }
            Ok(results) => {
                for (pubkey, result) in to_remove.iter().zip(results) {
                    let status = match result {
                        Ok(()) => ItemStatus::ok("deleted"),
                        Err(error) => {
                            tracing::error!(%pubkey, %error, "Keymanager delete: key stopped but its files remain");
                            ItemStatus::error(format!("{KEPT}: {error}"))
                        }
                    };
                    outcome.insert(*pubkey, status);
                }
            }
        }
    }

    if !to_remove.is_empty() {
        km.rescan().await?;
        km.update_key_cache().await;
    }

    let exported: Vec<PublicKeyBytes> = outcome
        .iter()
        .filter(|(_, s)| s.status == "deleted" || s.status == "not_active")
        .map(|(pk, _)| *pk)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let interchange = slashing
        .export_interchange(ExportScope::Only(&exported))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "Keymanager delete: slashing protection export failed");
            internal(&format!(
                "the keys were stopped, but exporting their slashing protection data failed \
                 (export it with `poolvc slashing-protection export`): {e}"
            ))
        })?;
    let slashing_protection = serde_json::to_string(&interchange)
        .map_err(|e| internal(&format!("cannot encode the interchange: {e}")))?;

    let data = pubkeys
        .iter()
        .map(|pk| {
            outcome
                .get(pk)
                .cloned()
                .unwrap_or_else(|| ItemStatus::error("not processed"))
        })
        .collect();
    Ok(DeleteResponse {
        data,
        slashing_protection,
    })
}

/// Removes every keystore file of each key and its password file; one result per key (the
/// outer error: the directory could not be read, nothing was removed).
fn remove_files(
    dir: &std::path::Path,
    cache: Option<&std::path::Path>,
    secrets: Option<&std::path::Path>,
    pubkeys: &[PublicKeyBytes],
) -> signer::Result<Vec<signer::Result<()>>> {
    let mut files = keystores_by_pubkey(dir, cache)?;
    Ok(pubkeys
        .iter()
        .map(|pubkey| {
            for file in files.remove(pubkey).unwrap_or_default() {
                remove_keystore(&file.path, dir)?;
            }
            if let Some(secrets) = secrets {
                remove_password_file(&password_file(secrets, pubkey))?;
            }
            Ok(())
        })
        .collect())
}
