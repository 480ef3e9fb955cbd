//! Assembling and running the client: what `poolvc run` does.
//!
//! Start-up order: connect to the beacon nodes and learn genesis and the chain config (waiting
//! for a node if none answers yet), pick the preset and dispatch the generic client, check every
//! node against that chain (genesis root, config, preset), open slashing protection bound to the
//! genesis validators root, load the keys (key cache), register them for slashing protection,
//! decide doppelganger holding, start the services. With the Keymanager API, its token file and
//! port are checked first, before anything else starts, and it is served from then on: routes
//! that need the keys answer 503 (`Retry-After`) until the keys are loaded and the API's state
//! is installed, so a request during a long key load is answered at once instead of hanging.
//! A start that fails after that stops the API again (the executor's shutdown token).
//!
//! Shutdown: a requested stop (signal) cancels the shutdown token: services stop taking new
//! duties, in-flight signing and publishing finish (services only watch the token between
//! duties), every task is awaited (with a deadline, stragglers named). A critical task that
//! fails or exits, or a doppelganger detection, ends the client with
//! [`ShutdownReason::Failure`] naming the task.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use signer::loader::{LoadOptions, PasswordSource, load_keys};
use signer::{CompositeSigner, LocalSigner, Signer};
use slashing_protection::{
    Observed, PostgresConfig, PostgresStore, SlashingProtection, SqliteConfig, SqliteStore,
};
use tokio_util::sync::CancellationToken;
use types::api::GenesisData;
use types::{ChainSpec, EthSpec, MainnetEthSpec, MinimalEthSpec, Preset, PublicKeyBytes};

use crate::accounting::{AccountingConfig, AccountingService, ElValueRecorder};
use crate::beacon_node::{
    BeaconNodeClient, BeaconNodeFallback, EventService, EventsConfig, FallbackConfig, Timeouts,
};
use crate::clock::SlotClock;
use crate::config::{Config, SlashingDb};
use crate::error::{Error, Result};
use crate::executor::{ShutdownReason, ShutdownReceiver, TaskExecutor, TaskKind};
use crate::http::keymanager;
use crate::http::{ChainInfo, ReportsState, ServerLimits};
use crate::metrics::{Metrics, SlashingMetrics};
use crate::pool::{PoolParts, RegistryWatcher, spawn_reports_server};
use crate::services::aggregation::AggregationService;
use crate::services::attestation::AttestationService;
use crate::services::block::BlockService;
use crate::services::doppelganger::{self, DoppelgangerService};
use crate::services::duties::{DutiesService, DutiesStore, refresh_validators};
use crate::services::epoch_summary::EpochSummaryService;
use crate::services::head::{HeadMonitor, head_channel};
use crate::services::preparation::PreparationService;
use crate::services::sync_committee::SyncCommitteeService;
use crate::services::{AttestationDataCache, Context, Tally};
use crate::store::{
    Defaults, Definitions, PoolCredentials, SigningState, StoreParts, ValidatorStore,
};

/// How long shutdown waits for tasks to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The name of the task serving `/metrics`.
pub const METRICS_TASK: &str = "metrics-server";

/// Where the keys come from.
pub enum Keys {
    /// The keystores of the configuration (with the key cache).
    FromConfig,
    /// As [`Keys::FromConfig`], with start-up held just before the keystores are loaded until
    /// the pause is released: a client whose keys take long to load, on demand.
    #[cfg(feature = "testing")]
    FromConfigPaused(KeyLoadPause),
    /// An already built signer (tests, remote signers).
    Signer(Arc<dyn Signer>),
}

/// Holds start-up where the keystores are about to be loaded (tests observe the client there).
#[cfg(feature = "testing")]
#[derive(Debug)]
pub struct KeyLoadPause {
    /// Told the Keymanager API's address (`None` when it is not served) once start-up waits.
    pub reached: tokio::sync::oneshot::Sender<Option<SocketAddr>>,
    /// Start-up goes on when this completes (or its sender is dropped).
    pub resume: tokio::sync::oneshot::Receiver<()>,
}

/// A started client.
pub struct RunningClient {
    executor: TaskExecutor,
    shutdown: ShutdownReceiver,
    metrics: Arc<Metrics>,
    slashing: Arc<dyn SlashingProtection>,
    reports_addr: Option<std::net::SocketAddr>,
    keymanager: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for RunningClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningClient")
            .field("tasks", &self.executor.running_tasks())
            .finish_non_exhaustive()
    }
}

impl RunningClient {
    /// The client's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The task executor (tests spawn tasks into it).
    pub fn executor(&self) -> &TaskExecutor {
        &self.executor
    }

    /// The slashing protection store.
    pub fn slashing_protection(&self) -> &Arc<dyn SlashingProtection> {
        &self.slashing
    }

    /// Where the reports API and dashboard listen, when served.
    pub fn reports_addr(&self) -> Option<std::net::SocketAddr> {
        self.reports_addr
    }

    /// Serves `GET /metrics` on `address` until shutdown, as the named task [`METRICS_TASK`]
    /// (non-critical: a failed scrape endpoint must not stop the duties). Returns the bound
    /// address (port 0 picks a free one). A port already in use is an error here, at start.
    pub async fn serve_metrics(&self, address: SocketAddr) -> Result<SocketAddr> {
        let cannot =
            |e: std::io::Error| Error::Config(format!("cannot serve metrics on {address}: {e}"));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(cannot)?;
        let bound = listener.local_addr().map_err(cannot)?;
        let router = crate::http::metrics::router(self.metrics.clone());
        self.executor.spawn_fallible(
            METRICS_TASK,
            TaskKind::NonCritical,
            crate::http::serve_named(
                listener,
                router,
                self.executor.shutdown_token(),
                ServerLimits::default(),
                "metrics",
            ),
        );
        tracing::info!(address = %bound, "metrics served at /metrics");
        Ok(bound)
    }

    /// Where the Keymanager API listens, when it is served.
    pub fn keymanager_addr(&self) -> Option<std::net::SocketAddr> {
        self.keymanager
    }

    /// Runs until `stop` completes (with who asked) or the client fails; then shuts down
    /// gracefully and returns why it stopped.
    pub async fn run_until(mut self, stop: impl Future<Output = String>) -> ShutdownReason {
        let reason = tokio::select! {
            by = stop => ShutdownReason::Requested { by },
            reason = self.shutdown.recv() => reason,
        };
        match &reason {
            ShutdownReason::Requested { by } => {
                tracing::info!(%by, "shutting down: finishing in-flight duties");
            }
            ShutdownReason::Failure { task, reason } => {
                tracing::error!(%task, %reason, "shutting down after a failure");
            }
        }
        self.executor.shutdown(reason.clone());
        let left = self.executor.wait_for_tasks(SHUTDOWN_GRACE).await;
        if left.is_empty() {
            tracing::info!("all tasks stopped");
        } else {
            tracing::warn!(tasks = ?left, "tasks still running at the end of the shutdown grace period");
        }
        reason
    }
}

/// Genesis and chain config from the first node (in the configured order) that answers,
/// waiting (and retrying every two seconds) until one does or `abort` is cancelled. Nodes that
/// answer with another genesis are reported: the fallback will not use them.
pub async fn bootstrap(
    urls: &[String],
    abort: &CancellationToken,
) -> Result<(GenesisData, ChainSpec)> {
    let clients = urls
        .iter()
        .map(|url| BeaconNodeClient::new(url, Timeouts::uniform(Duration::from_secs(5))))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut logged = false;
    loop {
        let answers = futures::future::join_all(clients.iter().map(|client| async move {
            let result = async {
                let genesis = client.get_genesis().await?;
                let spec = client.get_config_spec().await?;
                Ok::<_, crate::beacon_node::Error>((genesis, spec))
            }
            .await;
            (client, result)
        }))
        .await;
        let reference = answers
            .iter()
            .find_map(|(client, result)| result.as_ref().ok().map(|r| (*client, r.clone())));
        if let Some((chosen, (genesis, spec))) = reference {
            for (client, result) in &answers {
                match result {
                    Ok((other, _))
                        if other.genesis_validators_root != genesis.genesis_validators_root
                            || other.genesis_time != genesis.genesis_time =>
                    {
                        tracing::error!(
                            node = %client,
                            genesis_validators_root = %other.genesis_validators_root,
                            expected = %genesis.genesis_validators_root,
                            reference = %chosen,
                            "beacon node is on another chain than the first node; it will not be used"
                        );
                    }
                    Err(error) => {
                        tracing::warn!(node = %client, %error, "beacon node not ready");
                    }
                    Ok(_) => {}
                }
            }
            tracing::info!(
                node = %chosen,
                genesis_time = genesis.genesis_time,
                genesis_validators_root = %genesis.genesis_validators_root,
                preset = %spec.preset_base,
                config = spec.config_name.as_deref().unwrap_or("unnamed"),
                "chain learnt from the beacon node"
            );
            return Ok((genesis, spec));
        }
        for (client, result) in &answers {
            if let Err(error) = result {
                if logged {
                    tracing::debug!(node = %client, %error, "beacon node not ready");
                } else {
                    tracing::warn!(node = %client, %error, "beacon node not ready; waiting");
                }
            }
        }
        logged = true;
        tokio::select! {
            () = abort.cancelled() => {
                return Err(Error::Config("interrupted while waiting for a beacon node".into()));
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// The process exit code of a shutdown: 0 when requested, 1 when a critical task failed (or a
/// doppelganger was detected).
pub fn exit_code(reason: &ShutdownReason) -> u8 {
    match reason {
        ShutdownReason::Requested { .. } => 0,
        ShutdownReason::Failure { .. } => 1,
    }
}

/// Opens the slashing protection database bound to `genesis_validators_root`, reporting to
/// `metrics`.
pub async fn open_slashing_protection(
    db: &SlashingDb,
    genesis_validators_root: types::Hash256,
    metrics: &Arc<Metrics>,
) -> Result<Arc<dyn SlashingProtection>> {
    let observer = Arc::new(SlashingMetrics(metrics.clone()));
    Ok(match db {
        SlashingDb::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("create directory", parent, e))?;
            }
            let store =
                SqliteStore::open(path, genesis_validators_root, SqliteConfig::default()).await?;
            Arc::new(Observed::new(store, observer))
        }
        SlashingDb::Postgres(url) => {
            let store =
                PostgresStore::connect(PostgresConfig::from_url(url)?, genesis_validators_root)
                    .await?;
            Arc::new(Observed::new(store, observer))
        }
    })
}

/// Loads the configured keystores (with the key cache) on the blocking pool. With the
/// Keymanager API or a remote signer, no local key is fine (the directories are created when
/// missing); the caller checks that some key is loaded.
async fn load_signer(config: &Config) -> Result<Arc<LocalSigner>> {
    let others_possible = config.keymanager.is_some() || config.remote_signer.url.is_some();
    if others_possible {
        let mut dirs = vec![config.keys.keystores_dir.clone()];
        if let PasswordSource::PerKeyFiles(secrets) = &config.keys.passwords {
            dirs.push(secrets.clone());
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        }
    }
    let mut options = LoadOptions::new(&config.keys.keystores_dir, config.keys.passwords.clone());
    options.cache_file = config.keys.key_cache.clone();
    let report = tokio::task::spawn_blocking(move || load_keys(&options))
        .await
        .map_err(|e| Error::Config(format!("key loading task failed: {e}")))??;
    if !report.errors.is_empty() {
        tracing::error!(
            failed = report.errors.len(),
            loaded = report.keys.len(),
            "some keystores could not be loaded (see the warnings above)"
        );
    }
    if report.keys.is_empty() && !others_possible {
        return Err(Error::Config(format!(
            "no validator key loaded from {}",
            config.keys.keystores_dir.display()
        )));
    }
    tracing::info!(keys = report.keys.len(), source = ?report.source, "validator keys loaded");
    Ok(Arc::new(LocalSigner::from_loaded_keys(report.keys)))
}

/// Adds every key the remote signer at `url` lists (except keys held locally) and returns
/// them.
async fn add_configured_remote_keys(
    composite: &CompositeSigner,
    url: &str,
) -> Result<HashSet<PublicKeyBytes>> {
    let remote = composite.remote_signer(url)?;
    let listed = remote.public_keys().await.map_err(|e| {
        Error::Config(format!(
            "--remote-signer-url: cannot list the remote signer's keys: {e}"
        ))
    })?;
    let mut added = HashSet::new();
    for pubkey in listed {
        match composite.add_remote(pubkey, url) {
            Ok(true) => {
                added.insert(pubkey);
            }
            Ok(false) => {
                tracing::warn!(%pubkey, "key both local and on the remote signer; signing locally");
            }
            Err(error) => {
                return Err(Error::Config(format!(
                    "--remote-signer-url lists an unusable key {pubkey}: {error}"
                )));
            }
        }
    }
    tracing::info!(url = %remote.url(), keys = added.len(), "remote signer keys loaded");
    Ok(added)
}

/// Starts the client for a chain whose genesis and config are known.
pub async fn start(
    config: &Config,
    keys: Keys,
    genesis: GenesisData,
    spec: ChainSpec,
) -> Result<RunningClient> {
    match spec.preset_base {
        Preset::Mainnet => start_with::<MainnetEthSpec>(config, keys, genesis, spec).await,
        Preset::Minimal => start_with::<MinimalEthSpec>(config, keys, genesis, spec).await,
    }
}

async fn start_with<E: EthSpec>(
    config: &Config,
    keys: Keys,
    genesis: GenesisData,
    spec: ChainSpec,
) -> Result<RunningClient> {
    types::verify_preset::<E>(&spec)
        .map_err(|e| Error::Config(format!("the beacon node's preset: {e}")))?;
    std::fs::create_dir_all(&config.datadir)
        .map_err(|e| Error::io("create directory", &config.datadir, e))?;
    let metrics = Arc::new(Metrics::new());
    let spec = Arc::new(spec);
    let gvr = genesis.genesis_validators_root;

    let timeouts = Timeouts::from_slot_duration(spec.slot_duration());
    let clients = config
        .beacon_nodes
        .iter()
        .map(|url| BeaconNodeClient::new(url, timeouts))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut fallback_config = FallbackConfig::new::<E>();
    fallback_config.expected_genesis = Some(genesis);
    fallback_config.expected_spec = Some(spec.as_ref().clone());
    fallback_config.broadcast = config.broadcast.clone();
    let fallback = Arc::new(BeaconNodeFallback::new(clients, fallback_config));
    fallback.update_all_health().await;
    for node in fallback.status() {
        tracing::info!(node = %node.url, health = %node.health, "beacon node");
    }
    if fallback.status().iter().all(|n| n.health.rank().is_none()) {
        return Err(Error::Config(
            "every beacon node is on another chain or has another config (see above)".into(),
        ));
    }

    let (executor, shutdown) = TaskExecutor::new();
    // Until the start succeeds, a failure stops whatever was spawned (the Keymanager API).
    let stop_on_failure = executor.shutdown_token().drop_guard();
    // A bad token file or a busy port stops the start before anything else happens; from here
    // on the API answers (503 on routes that need keys, until they are loaded).
    let keymanager_server = match &config.keymanager {
        Some(settings) => {
            let bound = keymanager::bind(settings).await?;
            Some(keymanager::spawn::<E>(bound, &executor)?)
        }
        None => None,
    };
    let clock = SlotClock::from_spec(genesis.genesis_time, &spec);
    let slashing = open_slashing_protection(&config.slashing_db, gvr, &metrics).await?;
    tracing::info!(database = %config.slashing_db, "slashing protection opened");
    let (signer, managed): (Arc<dyn Signer>, Option<Arc<CompositeSigner>>) = match keys {
        Keys::FromConfig => {
            let local = load_signer(config).await?;
            let composite = Arc::new(CompositeSigner::new(local, config.remote_signer.config));
            (composite.clone(), Some(composite))
        }
        #[cfg(feature = "testing")]
        Keys::FromConfigPaused(pause) => {
            let _ = pause
                .reached
                .send(keymanager_server.as_ref().map(keymanager::Serving::addr));
            let _ = pause.resume.await;
            let local = load_signer(config).await?;
            let composite = Arc::new(CompositeSigner::new(local, config.remote_signer.config));
            (composite.clone(), Some(composite))
        }
        Keys::Signer(signer) => (signer, None),
    };
    // Keys of `--remote-signer-url`: given by the configuration, not removable through the API.
    let mut configured_remote = HashSet::new();
    if let (Some(composite), Some(url)) = (&managed, &config.remote_signer.url) {
        configured_remote = add_configured_remote_keys(composite, url).await?;
    }
    let defaults = Defaults {
        fee_recipient: config
            .duties
            .default_fee_recipient
            .or(config.duties.fee_policy.map(|p| p.vault)),
        gas_limit: config.duties.default_gas_limit,
        graffiti: config.duties.default_graffiti,
    };
    let definitions = Definitions::load_or_create(
        &config.definitions_path(),
        defaults,
        config.duties.fee_policy,
        &signer.public_keys(),
    )?;
    // Remote keys imported through the Keymanager API earlier.
    if let Some(composite) = &managed {
        for (pubkey, url) in definitions.remote_keys() {
            match composite.add_remote(pubkey, &url) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(%pubkey, %url, "remote key already loaded (a local keystore or --remote-signer-url); the definition's remote signer is not used")
                }
                Err(error) => {
                    return Err(Error::Config(format!(
                        "{}: remote key {pubkey}: {error}",
                        config.definitions_path().display()
                    )));
                }
            }
        }
        let remote = composite.remote_keys().len();
        if remote > 0 {
            tracing::info!(remote, "remote keys loaded");
        }
    }
    let pubkeys = signer.public_keys();
    if pubkeys.is_empty() {
        if config.keymanager.is_none() {
            return Err(Error::Config(format!(
                "no validator key loaded: no keystore in {} and no key on the remote signer",
                config.keys.keystores_dir.display()
            )));
        }
        tracing::warn!("no validator key loaded; import keys through the Keymanager API");
    }
    slashing.register_validators(&pubkeys).await?;
    let pool = match &config.pool {
        Some(settings) => {
            let parts = PoolParts::open(settings).await?;
            parts.compare_keys(&pubkeys);
            Some((settings, parts))
        }
        None => None,
    };
    let store = Arc::new(ValidatorStore::<E>::new(StoreParts {
        signer,
        slashing: slashing.clone(),
        spec: spec.clone(),
        genesis_validators_root: gvr,
        definitions,
        fee_policy: config.duties.fee_policy,
        metrics: metrics.clone(),
        // Nothing signs before doppelganger protection has decided.
        initial_state: SigningState::Held {
            until: types::Epoch(u64::MAX),
        },
    }));
    if let Some((settings, parts)) = &pool {
        store.set_pool_credentials(PoolCredentials {
            credentials: parts.registry.current().pool().withdrawal_credentials,
            policy: settings.credentials,
        });
    }

    let (head_sender, head) = head_channel();
    let ctx = Context {
        fallback: fallback.clone(),
        store: store.clone(),
        clock: clock.clone(),
        spec: spec.clone(),
        duties: Arc::new(DutiesStore::new(
            spec.slots_per_epoch,
            spec.epochs_per_sync_committee_period,
        )),
        head,
        metrics: metrics.clone(),
        config: Arc::new(config.duties.clone()),
        tally: Arc::new(Tally::default()),
        attestation_data: Arc::new(AttestationDataCache::default()),
    };
    if let Err(error) = refresh_validators(&ctx).await {
        tracing::warn!(%error, "cannot learn validator indices yet; retrying every epoch");
    }
    let plan = doppelganger::plan(&store, &clock, config.duties.doppelganger_epochs).await?;

    fallback.spawn_health_task(&executor, clock.clone());
    let events = EventService::new(
        fallback.clone(),
        EventsConfig::new(spec.slot_duration(), spec.slots_per_epoch),
    );
    HeadMonitor::new(events.subscribe(), head_sender).spawn(&executor);
    events.spawn(&executor);
    DutiesService::new(ctx.clone()).spawn(&executor);
    AttestationService::new(ctx.clone()).spawn(&executor);
    AggregationService::new(ctx.clone()).spawn(&executor);
    let blocks = BlockService::new(ctx.clone());
    match &pool {
        Some((_, parts)) => blocks.with_el_values(ElValueRecorder::new(parts.ledger.clone())),
        None => blocks,
    }
    .spawn(&executor);
    SyncCommitteeService::new(ctx.clone()).spawn(&executor);
    PreparationService::new(ctx.clone()).spawn(&executor);
    EpochSummaryService::new(ctx.clone()).spawn(&executor);
    if !plan.held.is_empty() {
        DoppelgangerService::new(ctx.clone(), plan, executor.clone()).spawn(&executor);
    }
    let keymanager_addr = match (keymanager_server, &config.keymanager) {
        (Some(server), Some(settings)) => {
            let state = keymanager::Keymanager::new(keymanager::KeymanagerParts {
                ctx: ctx.clone(),
                signer: managed,
                configured_remote,
                remote_default_url: config.remote_signer.url.clone(),
                executor: executor.clone(),
                keys: config.keys.clone(),
                doppelganger_epochs: config.duties.doppelganger_epochs,
                decrypt_threads: settings.decrypt_threads,
            })
            .await?;
            server.ready(state);
            Some(server.addr())
        }
        _ => None,
    };
    let mut reports_addr = None;
    if let Some((settings, parts)) = pool {
        RegistryWatcher::new(parts.registry.clone()).spawn(&executor);
        AccountingService::<E>::new(
            fallback.clone(),
            spec.clone(),
            clock.clone(),
            gvr,
            metrics.clone(),
            AccountingConfig {
                store: parts.ledger.clone(),
                registry: parts.registry.clone(),
                oracle: parts.oracle.clone(),
                share_supply: settings.share_supply,
                start_frame: settings.start_frame,
            },
        )
        .spawn(&executor);
        if let Some(listen) = settings.reports_listen {
            let state = ReportsState::new(
                parts.ledger.clone(),
                parts.registry.clone(),
                ChainInfo {
                    spec: spec.as_ref().clone(),
                    genesis_validators_root: gvr,
                    genesis_time: genesis.genesis_time,
                },
                parts.oracle.as_ref().map(|o| o.public_key()),
            );
            let bound = spawn_reports_server(&executor, listen, state).await?;
            tracing::info!(address = %bound, "reports API and dashboard: http://{bound}/dashboard/");
            reports_addr = Some(bound);
        }
    }
    stop_on_failure.disarm();
    tracing::info!(
        keys = store.num_keys(),
        active = store.active_indices().len(),
        nodes = fallback.len(),
        "validator client started"
    );
    Ok(RunningClient {
        executor,
        shutdown,
        metrics,
        slashing,
        reports_addr,
        keymanager: keymanager_addr,
    })
}
