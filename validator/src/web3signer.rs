//! `poolvc signer`: assembling and running the Web3Signer-compatible signer of the
//! `signer-server` crate.
//!
//! Start-up order: learn the chain (given, or from a beacon node), pick the preset, read the
//! token file and bind the port (a bad file or a busy port stops the start before the keys are
//! decrypted), open slashing protection bound to the genesis validators root, load and
//! register the keys, then serve. Tasks, all named: `signer-api` (the HTTP API through the
//! hardened accept loop), `signer-dispatcher` (coalesced signing), `signer-reloader` (key
//! reloads), `signer-sighup` (SIGHUP → reload), and `metrics-server` when metrics are served.
//!
//! Shutdown: the listener closes, requests in flight finish (the accept loop's grace), the
//! dispatcher signs what is still queued, then every task is awaited.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use signer_server::{
    BearerToken, Chain, Keys, Reloader, ServiceParts, SignerApi, SignerObserver, SignerService,
};
use slashing_protection::SlashingProtection;
use tokio_util::sync::CancellationToken;
use types::{ChainSpec, EthSpec, Hash256, MainnetEthSpec, MinimalEthSpec, Preset};

use crate::cli::signer::{ChainSource, SignerConfig};
use crate::client::{METRICS_TASK, bootstrap, open_slashing_protection};
use crate::error::{Error, Result};
use crate::executor::{ShutdownReason, ShutdownReceiver, TaskExecutor, TaskKind};
use crate::http::{ServerLimits, serve_named};
use crate::metrics::{Metrics, SignerMetricsObserver};

/// The name of the HTTP API task.
pub const API_TASK: &str = "signer-api";
/// How long shutdown waits for tasks.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A started signer.
pub struct RunningSigner {
    executor: TaskExecutor,
    shutdown: ShutdownReceiver,
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    slashing: Arc<dyn SlashingProtection>,
    keys: Arc<Keys>,
    reloader: Arc<Reloader>,
}

impl std::fmt::Debug for RunningSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSigner")
            .field("addr", &self.addr)
            .field("tasks", &self.executor.running_tasks())
            .finish_non_exhaustive()
    }
}

impl RunningSigner {
    /// Where the API listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Slashing protection.
    pub fn slashing_protection(&self) -> &Arc<dyn SlashingProtection> {
        &self.slashing
    }

    /// The keys.
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// Asks for a key reload (as SIGHUP does); false when one is already running.
    pub fn request_reload(&self) -> bool {
        self.reloader.request().is_ok()
    }

    /// Runs until `stop` completes (with who asked) or a task fails; then shuts down.
    pub async fn run_until(mut self, stop: impl Future<Output = String>) -> ShutdownReason {
        let reason = tokio::select! {
            by = stop => ShutdownReason::Requested { by },
            reason = self.shutdown.recv() => reason,
        };
        match &reason {
            ShutdownReason::Requested { by } => tracing::info!(%by, "signer shutting down"),
            ShutdownReason::Failure { task, reason } => {
                tracing::error!(%task, %reason, "signer shutting down after a failure");
            }
        }
        self.executor.shutdown(reason.clone());
        let left = self.executor.wait_for_tasks(SHUTDOWN_GRACE).await;
        if !left.is_empty() {
            tracing::warn!(tasks = ?left, "tasks still running at the end of the shutdown grace period");
        }
        reason
    }
}

/// The chain config and genesis validators root, learning them from a beacon node if so
/// configured (waiting until one answers or `abort`).
async fn resolve_chain(
    source: &ChainSource,
    abort: &CancellationToken,
) -> Result<(ChainSpec, Hash256)> {
    match source {
        ChainSource::Given {
            spec,
            genesis_validators_root,
        } => Ok((spec.as_ref().clone(), *genesis_validators_root)),
        ChainSource::BeaconNodes {
            urls,
            genesis_validators_root,
        } => {
            let (genesis, spec) = bootstrap(urls, abort).await?;
            if let Some(expected) = genesis_validators_root
                && *expected != genesis.genesis_validators_root
            {
                return Err(Error::Config(format!(
                    "the beacon node's genesis validators root {} differs from \
                     --genesis-validators-root {expected}",
                    genesis.genesis_validators_root
                )));
            }
            Ok((spec, genesis.genesis_validators_root))
        }
    }
}

/// Starts the signer.
pub async fn start(config: &SignerConfig, abort: &CancellationToken) -> Result<RunningSigner> {
    let (spec, genesis_validators_root) = resolve_chain(&config.chain, abort).await?;
    match spec.preset_base {
        Preset::Mainnet => {
            start_with::<MainnetEthSpec>(config, spec, genesis_validators_root).await
        }
        Preset::Minimal => {
            start_with::<MinimalEthSpec>(config, spec, genesis_validators_root).await
        }
    }
}

async fn bind(address: SocketAddr, what: &str) -> Result<(tokio::net::TcpListener, SocketAddr)> {
    let cannot =
        |e: std::io::Error| Error::Config(format!("cannot serve {what} on {address}: {e}"));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(cannot)?;
    let bound = listener.local_addr().map_err(cannot)?;
    Ok((listener, bound))
}

async fn start_with<E: EthSpec>(
    config: &SignerConfig,
    spec: ChainSpec,
    genesis_validators_root: Hash256,
) -> Result<RunningSigner> {
    types::verify_preset::<E>(&spec)
        .map_err(|e| Error::Config(format!("the chain's preset: {e}")))?;
    std::fs::create_dir_all(&config.datadir)
        .map_err(|e| Error::io("create directory", &config.datadir, e))?;
    let token = match &config.token_file {
        Some(path) => {
            let token = BearerToken::load_or_create(path)
                .map_err(|e| Error::Config(format!("--token-file: {e}")))?;
            tracing::info!(file = %token.path().display(), "the signer API requires the bearer token of this file");
            Some(token)
        }
        None => None,
    };
    if !config.listen.ip().is_loopback() && token.is_none() {
        tracing::warn!(address = %config.listen, "the signer API listens beyond loopback without a bearer token: anyone reaching the port can request signatures");
    }
    let (listener, addr) = bind(config.listen, "the signer API").await?;
    let metrics_listener = match config.metrics {
        Some(address) => Some(bind(address, "metrics").await?),
        None => None,
    };
    let metrics = Arc::new(Metrics::new());
    let slashing =
        open_slashing_protection(&config.slashing_db, genesis_validators_root, &metrics).await?;
    tracing::info!(database = %config.slashing_db, "slashing protection opened");
    let (keys, loaded) = Keys::load(config.keys.clone(), slashing.clone())
        .await
        .map_err(|e| Error::Config(format!("loading the keys: {e}")))?;
    if loaded.keys == 0 {
        tracing::warn!(dir = %config.keys.keystores_dir.display(), "no key loaded: add keystores and reload (SIGHUP or POST /reload)");
    }
    tracing::info!(
        keys = loaded.keys,
        failed = loaded.errors,
        "signer keys loaded"
    );
    let keys = Arc::new(keys);
    let observer: Arc<dyn SignerObserver> = Arc::new(SignerMetricsObserver(metrics.clone()));
    let service = Arc::new(SignerService::<E>::new(ServiceParts {
        chain: Chain::new(spec, genesis_validators_root),
        keys: keys.clone(),
        slashing: slashing.clone(),
        fee_policy: config.fee_policy,
        coalescing: config.coalescing,
        observer: observer.clone(),
    }));
    if let Some(policy) = &config.fee_policy {
        tracing::info!(vault = %policy.vault, header_only_blocks = ?policy.header_only, "pool safety: blocks must pay the vault");
    }
    let reloader = Arc::new(Reloader::new(keys.clone(), observer));
    let api = Arc::new(SignerApi {
        service: service.clone(),
        reloader: reloader.clone(),
        token,
    });

    let (executor, shutdown) = TaskExecutor::new();
    let token = executor.shutdown_token();
    {
        let service = service.clone();
        let token = token.clone();
        executor.spawn("signer-dispatcher", TaskKind::Critical, async move {
            service.run_dispatcher(token).await;
        });
    }
    {
        let reloader = reloader.clone();
        let token = token.clone();
        executor.spawn("signer-reloader", TaskKind::Critical, async move {
            reloader.run(token).await;
        });
    }
    {
        let reloader = reloader.clone();
        let token = token.clone();
        executor.spawn("signer-sighup", TaskKind::NonCritical, async move {
            reload_on_sighup(&reloader, token).await;
        });
    }
    let limits = ServerLimits {
        max_connections: config.max_connections,
        ..ServerLimits::default()
    };
    executor.spawn_fallible(
        API_TASK,
        TaskKind::Critical,
        serve_named(
            listener,
            signer_server::router(api),
            token.clone(),
            limits,
            "signer API",
        ),
    );
    let metrics_addr = match metrics_listener {
        Some((listener, bound)) => {
            executor.spawn_fallible(
                METRICS_TASK,
                TaskKind::NonCritical,
                serve_named(
                    listener,
                    crate::http::metrics::router(metrics.clone()),
                    token.clone(),
                    ServerLimits::default(),
                    "metrics",
                ),
            );
            tracing::info!(address = %bound, "metrics served at /metrics");
            Some(bound)
        }
        None => None,
    };
    tracing::info!(
        %addr,
        keys = keys.len(),
        genesis_validators_root = %genesis_validators_root,
        coalescing = ?config.coalescing,
        "signer started"
    );
    Ok(RunningSigner {
        executor,
        shutdown,
        addr,
        metrics_addr,
        metrics,
        slashing,
        keys,
        reloader,
    })
}

/// Asks for a reload at every SIGHUP until `shutdown`.
async fn reload_on_sighup(reloader: &Reloader, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; reload with POST /reload");
            return;
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            received = hangup.recv() => {
                if received.is_none() {
                    return;
                }
                match reloader.request() {
                    Ok(()) => tracing::info!("SIGHUP: reloading the keys"),
                    Err(busy) => tracing::warn!(%busy, "SIGHUP ignored"),
                }
            }
        }
    }
}
