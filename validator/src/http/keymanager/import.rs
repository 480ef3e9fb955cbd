//! `POST /eth/v1/keystores`: importing keystores while the client runs.
//!
//! Order (each step only for the items still in the race): decode the body (400 on any
//! malformed part, slashing protection data included, before anything changes) → classify
//! each keystore without decrypting it (malformed or hostile parameters: `error`; a key the
//! client already has: `duplicate`) → import the slashing protection data of the remaining
//! keys, durably → decrypt them on the bounded pool → register them with slashing protection →
//! write keystore and password files → add them to the signer → make them known to the store
//! (held) → learn their indices, let doppelganger protection decide, refresh the key cache.
//!
//! Copies of one key in one request are taken in request order, as if imported one after the
//! other: the first copy that decrypts to its key is the one imported, the copies after it are
//! `duplicate` (not decrypted), the failing copies before it are `error`. So `duplicate` always
//! means "already known" — loaded before the request, or imported from an earlier valid copy —
//! and a bad copy (wrong password, a `pubkey` field that lies) never keeps a good one out.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Deserialize;
use signer::keyfiles::{
    DecryptJob, decrypt_batch, keystore_file_name, password_file, read_password_file,
    write_imported,
};
use signer::keystore::{Keystore, process_password};
use signer::loader::PasswordSource;
use slashing_protection::{Interchange, SlashingProtection};
use types::{Epoch, EthSpec, PublicKeyBytes};

use super::body::{SecretString, bad_body, internal};
use super::{ItemStatus, Keymanager};
use crate::http::ApiError;
use crate::services::doppelganger::{self, DoppelgangerService};
use crate::services::duties::refresh_validators;
use crate::store::SigningState;

/// The body of `POST /eth/v1/keystores`.
#[derive(Debug, Deserialize)]
pub(crate) struct ImportRequest {
    /// EIP-2335 keystores, each as a JSON string.
    keystores: Vec<String>,
    /// `passwords[i]` unlocks `keystores[i]`.
    passwords: Vec<SecretString>,
    /// EIP-3076 interchange data (a JSON string; an object is accepted too).
    #[serde(default)]
    slashing_protection: Option<serde_json::Value>,
}

/// Where one keystore of the request stands.
enum Item {
    Done(ItemStatus),
    Candidate(Box<Candidate>),
}

struct Candidate {
    keystore: Keystore,
    json: String,
    pubkey: PublicKeyBytes,
}

/// A decrypted key on its way in.
struct Ready {
    position: usize,
    pubkey: PublicKeyBytes,
    secret: signer::bls::SecretKey,
    json: String,
    /// The processed password (processing is idempotent, so the loader reads it back alike).
    password: zeroize::Zeroizing<Vec<u8>>,
}

fn parse_interchange(
    value: Option<serde_json::Value>,
    genesis_validators_root: types::Hash256,
) -> Result<Option<Interchange>, ApiError> {
    let bytes = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(text)) => text.into_bytes(),
        Some(object @ serde_json::Value::Object(_)) => object.to_string().into_bytes(),
        Some(_) => {
            return Err(bad_body(
                "slashing_protection must be a string holding EIP-3076 interchange JSON",
            ));
        }
    };
    let interchange = Interchange::from_json_slice(&bytes)
        .map_err(|e| bad_body(format!("invalid slashing_protection: {e}")))?;
    if interchange.metadata.genesis_validators_root != genesis_validators_root {
        return Err(bad_body(format!(
            "slashing_protection is for the chain with genesis validators root {}, this client \
             runs on {genesis_validators_root}",
            interchange.metadata.genesis_validators_root
        )));
    }
    Ok(Some(interchange))
}

/// Imports the request's keystores; one status per keystore, in request order.
pub(super) async fn import<E: EthSpec>(
    km: &Keymanager<E>,
    request: ImportRequest,
) -> Result<Vec<ItemStatus>, ApiError> {
    let ImportRequest {
        keystores,
        passwords,
        slashing_protection,
    } = request;
    if keystores.len() != passwords.len() {
        return Err(bad_body(format!(
            "keystores has {} items but passwords has {}: passwords[i] must unlock keystores[i]",
            keystores.len(),
            passwords.len()
        )));
    }
    let store = &km.ctx.store;
    let interchange = parse_interchange(slashing_protection, store.genesis_validators_root())?;
    let _changing = km.changes.lock().await;

    // Classify without any KDF work: parse errors and hostile parameters are refused here.
    // Copies of one key all stay candidates: which one is imported is decided by decryption.
    let mut items: Vec<Item> = keystores
        .into_iter()
        .map(|json| match Keystore::from_json_str(&json) {
            Err(error) => Item::Done(ItemStatus::error(format!("invalid keystore: {error}"))),
            Ok(keystore) => match keystore.pubkey() {
                Err(error) => Item::Done(ItemStatus::error(format!("invalid keystore: {error}"))),
                Ok(pubkey) if store.key(&pubkey).is_some() => {
                    Item::Done(ItemStatus::ok("duplicate"))
                }
                Ok(pubkey) => Item::Candidate(Box::new(Candidate {
                    keystore,
                    json,
                    pubkey,
                })),
            },
        })
        .collect();

    let Some(local) = km.local().cloned() else {
        for item in &mut items {
            if matches!(item, Item::Candidate(_)) {
                *item = Item::Done(ItemStatus::error(
                    "keys cannot be imported: this client runs with a fixed signer",
                ));
            }
        }
        return Ok(finish(items));
    };

    // One password file for every keystore: an imported keystore must use that password, or
    // the next start could not open it.
    if let PasswordSource::SharedFile(path) = &km.keys.passwords {
        let path = path.clone();
        let shared = km
            .blocking("keymanager-password", move || read_password_file(&path))
            .await?
            .map_err(|e| internal(&format!("cannot read the password file: {e}")))?;
        for (item, password) in items.iter_mut().zip(&passwords) {
            if matches!(item, Item::Candidate(_))
                && process_password(&password.0).as_slice() != shared.as_slice()
            {
                *item = Item::Done(ItemStatus::error(
                    "this client reads every keystore password from one file (--password-file): \
                     an imported keystore must be encrypted with that password",
                ));
            }
        }
    }

    // Slashing protection data first, durably, for the keys that may still come in.
    if let Some(interchange) = interchange {
        let candidates: HashSet<PublicKeyBytes> = items
            .iter()
            .filter_map(|item| match item {
                Item::Candidate(c) => Some(c.pubkey),
                Item::Done(_) => None,
            })
            .collect();
        let data: Vec<_> = interchange
            .data
            .into_iter()
            .filter(|entry| candidates.contains(&entry.pubkey))
            .collect();
        if !data.is_empty() {
            let filtered = Interchange {
                metadata: interchange.metadata,
                data,
            };
            let summary = store
                .slashing_protection()
                .import_interchange(&filtered)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "Keymanager import: slashing protection import failed");
                    internal(&format!(
                        "importing the slashing protection data failed, nothing was imported: {e}"
                    ))
                })?;
            tracing::info!(
                validators = summary.validators,
                blocks = summary.blocks,
                attestations = summary.attestations,
                "Keymanager import: slashing protection data imported"
            );
        }
    }

    let ready = decrypt(km, &mut items, passwords).await?;
    let added = admit(km, &local, &mut items, ready).await;
    if !added.is_empty() {
        activate(km, &added).await;
        km.rescan().await?;
        km.update_key_cache().await;
    }
    Ok(finish(items))
}

fn finish(items: Vec<Item>) -> Vec<ItemStatus> {
    items
        .into_iter()
        .map(|item| match item {
            Item::Done(status) => status,
            Item::Candidate(_) => ItemStatus::error("not processed"),
        })
        .collect()
}

/// Decrypts the candidates on the bounded pool, in rounds: each round takes, per key, its
/// earliest copy not yet tried. A copy that decrypts is the key's import and every later copy
/// of the key becomes `duplicate` without being decrypted; a copy that fails becomes `error`
/// and the key's next copy is tried in the next round. Distinct keys share every round, so a
/// request without repeated keys is one round.
async fn decrypt<E: EthSpec>(
    km: &Keymanager<E>,
    items: &mut [Item],
    passwords: Vec<SecretString>,
) -> Result<Vec<Ready>, ApiError> {
    // The copies of each key in request order; keys in order of their first copy.
    let mut passwords: Vec<Option<SecretString>> = passwords.into_iter().map(Some).collect();
    let mut order: Vec<PublicKeyBytes> = Vec::new();
    let mut copies: HashMap<PublicKeyBytes, VecDeque<usize>> = HashMap::new();
    for (position, item) in items.iter().enumerate() {
        if let Item::Candidate(candidate) = item {
            copies
                .entry(candidate.pubkey)
                .or_insert_with(|| {
                    order.push(candidate.pubkey);
                    VecDeque::new()
                })
                .push_back(position);
        }
    }
    let mut ready: Vec<Ready> = Vec::new();
    loop {
        let round: Vec<(PublicKeyBytes, usize)> = order
            .iter()
            .filter_map(|pubkey| Some((*pubkey, copies.get_mut(pubkey)?.pop_front()?)))
            .collect();
        if round.is_empty() {
            ready.sort_by_key(|r| r.position);
            return Ok(ready);
        }
        let mut jobs = Vec::with_capacity(round.len());
        let mut texts = Vec::with_capacity(round.len());
        for (_, position) in &round {
            let Item::Candidate(candidate) = &mut items[*position] else {
                return Err(internal("keystore import lost track of a keystore"));
            };
            let password = passwords[*position]
                .take()
                .ok_or_else(|| internal("keystore import lost track of a password"))?;
            let processed = process_password(&password.0);
            texts.push((std::mem::take(&mut candidate.json), processed.clone()));
            jobs.push(DecryptJob {
                keystore: candidate.keystore.clone(),
                password: processed,
            });
        }
        let threads = km.decrypt_threads;
        let count = jobs.len();
        let started = std::time::Instant::now();
        let results = km
            .blocking("keymanager-decrypt", move || decrypt_batch(&jobs, threads))
            .await?;
        tracing::info!(
            keystores = count,
            threads,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Keymanager import: keystores decrypted"
        );
        for (((pubkey, position), (json, password)), result) in
            round.into_iter().zip(texts).zip(results)
        {
            match result {
                Ok(secret) => {
                    ready.push(Ready {
                        position,
                        pubkey,
                        secret,
                        json,
                        password,
                    });
                    // The key is known from here on: its later copies are duplicates.
                    for later in copies.remove(&pubkey).unwrap_or_default() {
                        items[later] = Item::Done(ItemStatus::ok("duplicate"));
                    }
                }
                Err(error) => {
                    items[position] = Item::Done(ItemStatus::error(format!(
                        "cannot decrypt keystore: {error}"
                    )));
                }
            }
        }
    }
}

/// A keystore and its password to write.
struct WriteJob {
    path: std::path::PathBuf,
    json: String,
    password_path: Option<std::path::PathBuf>,
    password: zeroize::Zeroizing<Vec<u8>>,
}

/// Registers, writes and loads the decrypted keys; returns the pubkeys now in the signer.
async fn admit<E: EthSpec>(
    km: &Keymanager<E>,
    local: &signer::LocalSigner,
    items: &mut [Item],
    ready: Vec<Ready>,
) -> Vec<PublicKeyBytes> {
    if ready.is_empty() {
        return Vec::new();
    }
    let pubkeys: Vec<PublicKeyBytes> = ready.iter().map(|r| r.pubkey).collect();
    if let Err(error) = km
        .ctx
        .store
        .slashing_protection()
        .register_validators(&pubkeys)
        .await
    {
        for r in &ready {
            items[r.position] = Item::Done(ItemStatus::error(format!(
                "cannot register the key with slashing protection: {error}"
            )));
        }
        return Vec::new();
    }

    // Over the validator's existing keystore file if there is one (one file per key), else a
    // new file; the password file beside the others.
    let secrets_dir = match &km.keys.passwords {
        PasswordSource::PerKeyFiles(dir) => Some(dir.clone()),
        PasswordSource::SharedFile(_) => None,
    };
    let mut jobs = Vec::with_capacity(ready.len());
    let mut keys = Vec::with_capacity(ready.len());
    {
        let files = km.files.lock();
        for r in ready {
            let path = files
                .get(&r.pubkey)
                .and_then(|f| f.first())
                .map(|f| f.path.clone())
                .unwrap_or_else(|| km.keys.keystores_dir.join(keystore_file_name(&r.pubkey)));
            jobs.push(WriteJob {
                path,
                json: r.json,
                password_path: secrets_dir
                    .as_ref()
                    .map(|dir| password_file(dir, &r.pubkey)),
                password: r.password,
            });
            keys.push((r.position, r.pubkey, r.secret));
        }
    }
    let results = km
        .blocking("keymanager-write", move || {
            jobs.iter()
                .map(|job| {
                    write_imported(
                        job.json.as_bytes(),
                        &job.path,
                        job.password_path
                            .as_deref()
                            .map(|path| (path, job.password.as_slice())),
                    )
                })
                .collect::<Vec<_>>()
        })
        .await;
    let results = match results {
        Ok(results) => results,
        Err(error) => {
            for (position, _, _) in &keys {
                items[*position] = Item::Done(ItemStatus::error(format!(
                    "cannot write the keystore: {}",
                    error.message
                )));
            }
            return Vec::new();
        }
    };
    let mut added = Vec::new();
    let mut secrets = Vec::new();
    for ((position, pubkey, secret), result) in keys.into_iter().zip(results) {
        match result {
            Ok(()) => {
                items[position] = Item::Done(ItemStatus::ok("imported"));
                added.push(pubkey);
                secrets.push(secret);
            }
            Err(error) => {
                items[position] = Item::Done(ItemStatus::error(format!(
                    "cannot write the keystore: {error}"
                )));
            }
        }
    }
    local.add_keys(secrets);
    added
}

/// Makes the added keys (already in the signer and registered with slashing protection) known
/// to the store and lets them start their duties.
pub(super) async fn activate<E: EthSpec>(km: &Keymanager<E>, added: &[PublicKeyBytes]) {
    let ctx = &km.ctx;
    // Held until doppelganger protection has decided, like every key at start.
    ctx.store.add_keys(
        added,
        SigningState::Held {
            until: Epoch(u64::MAX),
        },
    );
    if let Err(error) = refresh_validators(ctx).await {
        tracing::warn!(%error, "Keymanager import: cannot learn the new keys' indices yet; retrying next epoch");
    }
    // Proposer duties are kept for local keys only: fetch them again with the new keys.
    ctx.duties.mark_proposers_stale(ctx.current_epoch());
    let keys: Vec<_> = added.iter().filter_map(|pk| ctx.store.key(pk)).collect();
    match doppelganger::plan_keys(&ctx.store, &ctx.clock, km.doppelganger_epochs, keys).await {
        Ok(plan) => {
            let held = plan.held.len();
            if held > 0 {
                DoppelgangerService::new(ctx.clone(), plan, km.executor.clone())
                    .spawn(&km.executor);
            }
            tracing::info!(
                imported = added.len(),
                held,
                "Keymanager import: keys added"
            );
        }
        Err(error) => {
            // The keys stay held (they never sign) until the next start decides.
            tracing::error!(%error, "Keymanager import: doppelganger plan failed; imported keys stay held");
        }
    }
}
