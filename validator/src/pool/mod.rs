//! The pool side of a running client: the live registry (reloaded on file change and SIGHUP),
//! the accounting store, the oracle key, the accounting service and the reports API.
//!
//! Invariants:
//! - a registry reload that fails validation, or that changes what must not change while
//!   running (frame geometry, the pool's withdrawal credentials, vault or fee-recipient rule),
//!   keeps the previous registry live; duties never stop for a reload;
//! - the oracle key is decrypted once at start and only ever used through
//!   `pool_registry::report::ReportSigner`; its password is wiped after use.

mod watch;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pool_registry::report::ReportSigner;
use pool_registry::{
    LedgerStore, PostgresConfig, PostgresLedgerStore, RegistryHandle, SqliteLedgerStore,
};
use signer::keystore::Keystore;
use zeroize::Zeroizing;

use crate::config::{LedgerDb, OracleKeySource, PoolSettings};
use crate::error::{Error, Result};
use crate::executor::{TaskExecutor, TaskKind};
use crate::http::ReportsState;

pub use watch::{REGISTRY_WATCH_TASK, RegistryWatcher};

/// The reports server's task name.
pub const REPORTS_SERVER_TASK: &str = "reports-server";

/// The pool side, opened at start.
pub struct PoolParts {
    /// The live registry.
    pub registry: Arc<RegistryHandle>,
    /// The accounting store.
    pub ledger: Arc<dyn LedgerStore>,
    /// The oracle key.
    pub oracle: Option<Arc<dyn ReportSigner>>,
}

impl std::fmt::Debug for PoolParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolParts")
            .field("registry", &self.registry.path())
            .field("oracle", &self.oracle.as_ref().map(|o| o.public_key()))
            .finish_non_exhaustive()
    }
}

impl PoolParts {
    /// Loads the registry, opens the accounting store and decrypts the oracle key.
    pub async fn open(settings: &PoolSettings) -> Result<Self> {
        let registry = load_registry(&settings.registry)?;
        let ledger = open_ledger_store(&settings.ledger_db).await?;
        tracing::info!(database = %settings.ledger_db, "accounting store opened");
        let oracle = match &settings.oracle {
            Some(source) => Some(load_oracle_key(source).await?),
            None => {
                tracing::warn!(
                    "no oracle key (--oracle-keystore): final reports are stored unsigned"
                );
                None
            }
        };
        Ok(Self {
            registry,
            ledger,
            oracle,
        })
    }

    /// Logs how the loaded keys and the registry's keys differ.
    pub fn compare_keys(&self, loaded: &[types::PublicKeyBytes]) {
        let registry = self.registry.current();
        let outside = loaded.iter().filter(|k| !registry.contains_key(k)).count();
        let loaded_set: std::collections::HashSet<_> = loaded.iter().collect();
        let not_loaded = registry.keys().filter(|k| !loaded_set.contains(k)).count();
        if outside > 0 {
            tracing::warn!(
                keys = outside,
                "loaded keys that are not in the pool registry: they run but are not accounted to any operator"
            );
        }
        if not_loaded > 0 {
            tracing::info!(
                keys = not_loaded,
                "registry keys not loaded here (run by another instance, or not yet imported): accounted all the same"
            );
        }
    }
}

/// Opens (creating when absent) the accounting store.
pub async fn open_ledger_store(db: &LedgerDb) -> Result<Arc<dyn LedgerStore>> {
    Ok(match db {
        LedgerDb::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("create directory", parent, e))?;
            }
            Arc::new(SqliteLedgerStore::open(path).await?)
        }
        LedgerDb::Postgres(url) => {
            Arc::new(PostgresLedgerStore::open(PostgresConfig::from_url(url)?).await?)
        }
    })
}

/// Decrypts the oracle keystore (on the blocking pool: the KDF is deliberately slow).
pub async fn load_oracle_key(source: &OracleKeySource) -> Result<Arc<dyn ReportSigner>> {
    let source = source.clone();
    let key = tokio::task::spawn_blocking(move || -> Result<signer::bls::SecretKey> {
        let keystore = Keystore::from_file(&source.keystore)?;
        let raw = Zeroizing::new(
            std::fs::read_to_string(&source.password_file)
                .map_err(|e| Error::io("read", &source.password_file, e))?,
        );
        let password = raw.trim_end_matches(['\n', '\r']);
        keystore.decrypt(password).map_err(|e| {
            Error::Config(format!(
                "oracle keystore {}: {e}",
                source.keystore.display()
            ))
        })
    })
    .await
    .map_err(|e| Error::Config(format!("oracle key loading task failed: {e}")))??;
    let signer: Arc<dyn ReportSigner> = Arc::new(key);
    tracing::info!(oracle = %signer.public_key(), "oracle key loaded: final reports will be signed");
    Ok(signer)
}

/// Loads the registry, failing with its file/line/field error.
pub fn load_registry(path: &Path) -> Result<Arc<RegistryHandle>> {
    let handle = RegistryHandle::load(path)?;
    let registry = handle.current();
    tracing::info!(
        path = %path.display(),
        pool = %registry.pool().name,
        operators = registry.operators().len(),
        keys = registry.key_count(),
        frame_epochs = registry.pool().frame.epochs,
        "pool registry loaded"
    );
    Ok(Arc::new(handle))
}

/// Binds the reports API and dashboard and serves them until shutdown (a non-critical task:
/// the reports API failing never stops duties).
pub async fn spawn_reports_server(
    executor: &TaskExecutor,
    listen: SocketAddr,
    state: ReportsState,
) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Error::Config(format!(
            "cannot listen on {listen} for the reports API: {e}"
        ))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("reports API address: {e}")))?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "the reports API listens beyond loopback: it is read-only and unauthenticated");
    }
    let token = executor.shutdown_token();
    let router = crate::http::reports::router(state);
    executor.spawn_fallible(REPORTS_SERVER_TASK, TaskKind::NonCritical, async move {
        crate::http::serve(listener, router, token).await
    });
    Ok(bound)
}
