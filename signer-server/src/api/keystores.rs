//! The Keymanager API's keystores routes (`/eth/v1/keystores`), as Web3Signer serves them.
//!
//! The signer's keys are the keystores of its keystores directory: they are listed as
//! read-only, and the set changes by adding or removing keystore files and reloading
//! (`POST /reload`, SIGHUP). An import therefore answers `duplicate` for a key already held
//! and `error` (naming the way to add it) for any other; a deletion answers `error` for a key
//! held (naming the way to remove it) and `not_found` otherwise. Nothing is imported, deleted
//! or exported by these routes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use types::{EthSpec, PublicKeyBytes};

use super::{SignerApi, error};
use crate::request::parse_identifier;

pub(super) async fn list<E: EthSpec>(State(api): State<Arc<SignerApi<E>>>) -> Response {
    let data: Vec<Value> = api
        .service
        .keys()
        .public_keys()
        .into_iter()
        .map(|pubkey| json!({"validating_pubkey": pubkey, "readonly": true}))
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

#[derive(Deserialize)]
struct ImportBody {
    keystores: Vec<String>,
    passwords: Vec<String>,
    #[serde(default)]
    slashing_protection: Option<String>,
}

#[derive(Deserialize)]
struct DeleteBody {
    pubkeys: Vec<String>,
}

/// A request body that is not what the route takes (a 400 naming where).
struct BadBody(String);

impl IntoResponse for BadBody {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, self.0)
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BadBody> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        BadBody(format!(
            "invalid request body at `{path}`: {}",
            e.into_inner()
        ))
    })
}

/// The `pubkey` a keystore names.
fn keystore_pubkey(keystore: &str) -> Option<PublicKeyBytes> {
    let value: Value = serde_json::from_str(keystore).ok()?;
    parse_identifier(value.get("pubkey")?.as_str()?).ok()
}

pub(super) async fn import<E: EthSpec>(
    State(api): State<Arc<SignerApi<E>>>,
    body: Bytes,
) -> Response {
    let body: ImportBody = match parse_body(&body) {
        Ok(body) => body,
        Err(bad) => return bad.into_response(),
    };
    if body.keystores.len() != body.passwords.len() {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "{} keystores but {} passwords: passwords[i] must unlock keystores[i]",
                body.keystores.len(),
                body.passwords.len()
            ),
        );
    }
    let _ = body.slashing_protection;
    let keys = api.service.keys();
    let data: Vec<Value> = body
        .keystores
        .iter()
        .map(|keystore| match keystore_pubkey(keystore) {
            Some(pubkey) if keys.has_key(&pubkey) => json!({"status": "duplicate"}),
            _ => json!({
                "status": "error",
                "message": "keys are not imported through this API: put the keystore and its \
                            password in the signer's keystores and secrets directories, then \
                            POST /reload (or send SIGHUP)",
            }),
        })
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

pub(super) async fn delete<E: EthSpec>(
    State(api): State<Arc<SignerApi<E>>>,
    body: Bytes,
) -> Response {
    let body: DeleteBody = match parse_body(&body) {
        Ok(body) => body,
        Err(bad) => return bad.into_response(),
    };
    let mut pubkeys = Vec::with_capacity(body.pubkeys.len());
    for (i, text) in body.pubkeys.iter().enumerate() {
        match parse_identifier(text) {
            Ok(pubkey) => pubkeys.push(pubkey),
            Err(problem) => {
                return error(StatusCode::BAD_REQUEST, format!("pubkeys[{i}]: {problem}"));
            }
        }
    }
    let keys = api.service.keys();
    let data: Vec<Value> = pubkeys
        .iter()
        .map(|pubkey| {
            if keys.has_key(pubkey) {
                json!({
                    "status": "error",
                    "message": "the key is read-only here: remove its keystore from the \
                                signer's keystores directory, then POST /reload (or send SIGHUP)",
                })
            } else {
                json!({"status": "not_found"})
            }
        })
        .collect();
    let interchange = json!({
        "metadata": {
            "interchange_format_version": "5",
            "genesis_validators_root": api.service.chain().genesis_validators_root(),
        },
        "data": [],
    });
    axum::Json(json!({
        "data": data,
        "slashing_protection": interchange.to_string(),
    }))
    .into_response()
}
