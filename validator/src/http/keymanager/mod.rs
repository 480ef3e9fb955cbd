//! The standard Keymanager API (`ethereum/keymanager-APIs`): local keystores, remote keys, fee
//! recipients, gas limits, graffiti and voluntary exits of the running client.
//!
//! Routes: `GET/POST/DELETE /eth/v1/keystores`, `GET/POST/DELETE /eth/v1/remotekeys`,
//! `GET/POST/DELETE /eth/v1/validator/{pubkey}/feerecipient`, `…/gas_limit`, `…/graffiti`,
//! `POST /eth/v1/validator/{pubkey}/voluntary_exit`.
//!
//! Invariants:
//! - every request, whatever its route or method, is answered 401 unless it carries the bearer
//!   token (see [`auth`]); nothing else looks at an unauthenticated request; a 401 says what
//!   is missing or wrong, never where the token file is (that is logged once at start-up);
//! - the API is served from the moment its port is bound; until the client's keys are loaded,
//!   routes that need them answer 503 with `Retry-After` (see [`ready`]);
//! - bodies past the configured limit are refused (413); malformed bodies and parameters are
//!   400 with a message naming the field;
//! - key set changes (imports, deletions) run one at a time;
//! - an import records the request's slashing protection data durably before any of its keys
//!   can sign; keystores are decrypted on a bounded pool of blocking threads, never on the
//!   async workers; an imported key is written to disk, added to the signer, registered with
//!   slashing protection and only then made known to the validator store (held by
//!   doppelganger protection when it is enabled);
//! - a deletion stops the keys first (no signing operation with them is in flight or can
//!   start), then removes their files, then exports their slashing protection data;
//! - the key cache is rewritten after every change (or removed when it cannot describe the
//!   keystores on disk), so a restart loads exactly the keys on disk;
//! - a remote key is registered with slashing protection, added to the signer and recorded in
//!   the validator definitions (so a restart loads it again) before the store knows it; keys of
//!   `--remote-signer-url` are read-only here.

mod auth;
mod body;
mod delete;
mod exit;
mod import;
mod keystores;
mod ready;
mod remote;
mod settings;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use parking_lot::Mutex;
use serde::Serialize;
use signer::cache::{CacheParams, CacheUpdate};
use signer::keyfiles::KeystoreFileInfo;
use signer::{CompositeSigner, LocalSigner, Signer};
use tokio::net::TcpListener;
use types::{EthSpec, PublicKeyBytes};

pub use auth::{ApiToken, TokenOrigin};
pub use ready::LOADING_RETRY_AFTER_SECS;

use crate::config::{KeySource, KeymanagerConfig};
use crate::error::{Error, Result};
use crate::executor::{TaskExecutor, TaskKind};
use crate::http::{ApiError, ServerLimits, serve_named};
use crate::services::Context;
use body::internal;

/// The name of the server task.
pub const KEYMANAGER_TASK: &str = "keymanager-api";

/// Every path the router serves, in axum syntax.
pub const ROUTES: &[&str] = &[
    "/eth/v1/keystores",
    "/eth/v1/remotekeys",
    "/eth/v1/validator/{pubkey}/feerecipient",
    "/eth/v1/validator/{pubkey}/gas_limit",
    "/eth/v1/validator/{pubkey}/graffiti",
    "/eth/v1/validator/{pubkey}/voluntary_exit",
];

/// What the Keymanager API works on.
pub struct KeymanagerParts<E: EthSpec> {
    /// The services' context (store, duties, beacon nodes, clock).
    pub ctx: Context<E>,
    /// The signer keys are imported into, local and remote (`None` when the client runs with
    /// a fixed signer: keys can then not be imported or deleted).
    pub signer: Option<Arc<CompositeSigner>>,
    /// Remote keys given by `--remote-signer-url` (listed read-only).
    pub configured_remote: HashSet<PublicKeyBytes>,
    /// The remote signer of imported remote keys that name none (`--remote-signer-url`).
    pub remote_default_url: Option<String>,
    /// The executor (blocking jobs, doppelganger services of imported keys).
    pub executor: TaskExecutor,
    /// Where keystores, passwords and the key cache live.
    pub keys: KeySource,
    /// Doppelganger epochs for imported keys (0: they sign at once).
    pub doppelganger_epochs: u64,
    /// Keystores decrypted at once.
    pub decrypt_threads: usize,
}

/// The Keymanager API's state.
pub struct Keymanager<E: EthSpec> {
    ctx: Context<E>,
    signer: Option<Arc<CompositeSigner>>,
    configured_remote: HashSet<PublicKeyBytes>,
    remote_default_url: Option<String>,
    executor: TaskExecutor,
    keys: KeySource,
    doppelganger_epochs: u64,
    decrypt_threads: usize,
    /// The keystore files on disk by validator (refreshed after every change).
    files: Mutex<HashMap<PublicKeyBytes, Vec<KeystoreFileInfo>>>,
    /// Held for the whole of an import or a deletion.
    changes: tokio::sync::Mutex<()>,
}

impl<E: EthSpec> std::fmt::Debug for Keymanager<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keymanager")
            .field("keystores", &self.keys.keystores_dir)
            .finish_non_exhaustive()
    }
}

/// One item's outcome in an import or a deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ItemStatus {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl ItemStatus {
    pub(crate) fn ok(status: &'static str) -> Self {
        Self {
            status,
            message: None,
        }
    }

    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self {
            status: "error",
            message: Some(message.into()),
        }
    }
}

/// `{"data": …}`.
#[derive(Debug, Serialize)]
pub(crate) struct Data<T> {
    data: T,
}

impl<E: EthSpec> Keymanager<E> {
    /// The Keymanager state (the keystores directory is scanned once here).
    pub async fn new(parts: KeymanagerParts<E>) -> Result<Arc<Self>> {
        let keymanager = Arc::new(Self {
            ctx: parts.ctx,
            signer: parts.signer,
            configured_remote: parts.configured_remote,
            remote_default_url: parts.remote_default_url,
            executor: parts.executor,
            keys: parts.keys,
            doppelganger_epochs: parts.doppelganger_epochs,
            decrypt_threads: parts.decrypt_threads.max(1),
            files: Mutex::new(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
        });
        keymanager
            .rescan()
            .await
            .map_err(|e| Error::Config(e.message))?;
        Ok(keymanager)
    }

    /// Runs `job` on the blocking pool under `name`; a panic becomes a 500.
    async fn blocking<T: Send + 'static>(
        &self,
        name: &str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        self.executor
            .spawn_blocking(name, job)
            .await
            .map_err(|failed| internal(&failed.to_string()))
    }

    /// Reads the keystores directory again.
    async fn rescan(&self) -> std::result::Result<(), ApiError> {
        let dir = self.keys.keystores_dir.clone();
        let cache = self.keys.key_cache.clone();
        let scanned = self
            .blocking("keymanager-scan", move || {
                if !dir.exists() {
                    return Ok(HashMap::new());
                }
                signer::keyfiles::keystores_by_pubkey(&dir, cache.as_deref())
            })
            .await?
            .map_err(|e| internal(&format!("cannot read the keystores directory: {e}")))?;
        *self.files.lock() = scanned;
        Ok(())
    }

    /// Rewrites (or removes) the key cache after the key set changed; failures are logged,
    /// never fatal (the next start then decrypts the keystores).
    async fn update_key_cache(&self) {
        let (Some(local), Some(cache)) = (self.local().cloned(), self.keys.key_cache.clone())
        else {
            return;
        };
        let dir = self.keys.keystores_dir.clone();
        let passwords = self.keys.passwords.clone();
        let result = self
            .blocking("keymanager-key-cache", move || {
                local.rewrite_key_cache(&cache, &dir, &passwords, CacheParams::default())
            })
            .await;
        match result {
            Ok(Ok(CacheUpdate::Written(keys))) => {
                tracing::info!(keys, "key cache rewritten for the new key set");
            }
            Ok(Ok(CacheUpdate::Removed(reason))) => {
                tracing::warn!(%reason, "key cache removed: the next start decrypts every keystore");
            }
            Ok(Err(error)) => tracing::error!(%error, "cannot update the key cache"),
            Err(error) => tracing::error!(%error.message, "cannot update the key cache"),
        }
    }

    /// Whether `pubkey` is one of the local (keystore) keys.
    fn is_local(&self, pubkey: &PublicKeyBytes) -> bool {
        self.local().is_some_and(|l| l.has_key(pubkey))
    }

    /// The local keys' signer.
    fn local(&self) -> Option<&Arc<LocalSigner>> {
        self.signer.as_ref().map(|s| s.local())
    }

    /// 404 unless the store holds `pubkey`.
    fn ensure_managed(&self, pubkey: &PublicKeyBytes) -> std::result::Result<(), ApiError> {
        match self.ctx.store.key(pubkey) {
            Some(_) => Ok(()),
            None => Err(ApiError {
                status: StatusCode::NOT_FOUND,
                message: format!("validator {pubkey} is not managed by this client"),
            }),
        }
    }
}

/// The router: every Keymanager route behind the bearer token, bodies limited to
/// `max_body_bytes`; handlers answer 503 until `slot` holds the state.
fn router<E: EthSpec>(slot: Arc<ready::Slot<E>>, token: ApiToken, max_body_bytes: usize) -> Router {
    Router::new()
        .route(
            "/eth/v1/keystores",
            get(keystores::list::<E>)
                .post(keystores::import::<E>)
                .delete(keystores::delete::<E>),
        )
        .route(
            "/eth/v1/remotekeys",
            get(remote::list::<E>)
                .post(remote::import::<E>)
                .delete(remote::delete::<E>),
        )
        .route(
            "/eth/v1/validator/{pubkey}/feerecipient",
            get(settings::get_fee_recipient::<E>)
                .post(settings::set_fee_recipient::<E>)
                .delete(settings::delete_fee_recipient::<E>),
        )
        .route(
            "/eth/v1/validator/{pubkey}/gas_limit",
            get(settings::get_gas_limit::<E>)
                .post(settings::set_gas_limit::<E>)
                .delete(settings::delete_gas_limit::<E>),
        )
        .route(
            "/eth/v1/validator/{pubkey}/graffiti",
            get(settings::get_graffiti::<E>)
                .post(settings::set_graffiti::<E>)
                .delete(settings::delete_graffiti::<E>),
        )
        .route(
            "/eth/v1/validator/{pubkey}/voluntary_exit",
            post(exit::voluntary_exit::<E>),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(slot)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::Extension(body::BodyLimit(max_body_bytes)))
        .layer(middleware::from_fn_with_state(
            Arc::new(token),
            auth::require_token,
        ))
}

async fn not_found(request: axum::extract::Request) -> ApiError {
    ApiError::not_found(format!("route {}", request.uri().path()))
}

async fn method_not_allowed(request: axum::extract::Request) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!(
            "method {} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    }
}

/// The Keymanager API's listener and token, ready before the client starts its services (so a
/// busy port or a bad token file stops the start early).
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    token: ApiToken,
    max_body_bytes: usize,
}

impl Bound {
    /// The address actually bound (the port is chosen by the OS for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::Config(format!("Keymanager API: cannot read the address: {e}")))
    }
}

/// Reads (or creates) the token file and binds the listener. The token file's path is logged
/// here, once (401 answers do not name it).
pub async fn bind(config: &KeymanagerConfig) -> Result<Bound> {
    let path = config.token_file.clone();
    let token = tokio::task::spawn_blocking(move || ApiToken::load_or_create(&path))
        .await
        .map_err(|e| Error::Config(format!("token file task failed: {e}")))??;
    tracing::info!(
        token_file = %token.path().display(),
        origin = %token.origin(),
        "Keymanager API: requests must send `Authorization: Bearer <token>` with the token \
         held in this file"
    );
    if !config.listen.ip().is_loopback() {
        tracing::warn!(
            address = %config.listen,
            "the Keymanager API listens on a non-loopback address: other hosts can reach it; \
             put TLS or a tunnel in front (the token travels in clear text)"
        );
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::io("listen on", config.listen.to_string(), e))?;
    Ok(Bound {
        listener,
        token,
        max_body_bytes: config.max_body_bytes,
    })
}

/// The Keymanager API being served: routes that need the client's keys answer 503 until
/// [`Serving::ready`] installs the state.
pub struct Serving<E: EthSpec> {
    addr: SocketAddr,
    slot: Arc<ready::Slot<E>>,
}

impl<E: EthSpec> std::fmt::Debug for Serving<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("addr", &self.addr)
            .field("ready", &self.slot.get().is_some())
            .finish()
    }
}

impl<E: EthSpec> Serving<E> {
    /// The address the API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Installs the API's state: from now on every request is handled. The state is installed
    /// once; a second call changes nothing.
    pub fn ready(&self, keymanager: Arc<Keymanager<E>>) {
        if self.slot.set(keymanager).is_err() {
            tracing::warn!("Keymanager API state installed twice; the first one is kept");
        } else {
            tracing::info!(address = %self.addr, "Keymanager API ready");
        }
    }
}

/// Serves the Keymanager API on `bound` from now until shutdown, as the critical task
/// [`KEYMANAGER_TASK`]; requests are authenticated at once, and routes that need the keys
/// answer 503 (with `Retry-After`) until [`Serving::ready`].
pub fn spawn<E: EthSpec>(bound: Bound, executor: &TaskExecutor) -> Result<Serving<E>> {
    let addr = bound.local_addr()?;
    let slot = Arc::new(ready::Slot::<E>::new());
    let router = router(slot.clone(), bound.token, bound.max_body_bytes);
    let limits = ServerLimits {
        // Imports of thousands of keystores take long; connections are few and authenticated.
        max_connections: 64,
        ..ServerLimits::default()
    };
    executor.spawn_fallible(
        KEYMANAGER_TASK,
        TaskKind::Critical,
        serve_named(
            bound.listener,
            router,
            executor.shutdown_token(),
            limits,
            "Keymanager API",
        ),
    );
    Ok(Serving { addr, slot })
}
