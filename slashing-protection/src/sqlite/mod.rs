//! The embedded SQLite backend: one database file in the data directory.
//!
//! Invariants: one connection, behind a mutex, used only from `spawn_blocking` so async
//! threads never block on disk; every check batch is one `BEGIN IMMEDIATE` transaction committed
//! with WAL + `synchronous=FULL` before the call returns. `BEGIN IMMEDIATE` takes SQLite's write
//! lock before reading, so even two processes sharing the file cannot both approve conflicting
//! messages (they serialise on the lock; the busy timeout bounds the wait).

mod ops;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;
use types::{Hash256, PublicKeyBytes};

use crate::error::Result;
use crate::interchange::{INTERCHANGE_FORMAT_VERSION, Interchange, InterchangeMetadata};
use crate::model::{AttestationRequest, BlockRequest, CheckResult, ValidatorState};
use crate::{ExportScope, ImportSummary, PruneSummary, PruneWindow, SlashingProtection};

/// SQLite tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteConfig {
    /// How long to wait for another process's write lock before failing the batch.
    pub busy_timeout: Duration,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The SQLite [`SlashingProtection`] store.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    gvr: Hash256,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("genesis_validators_root", &self.gvr)
            .finish()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating and binding it to `genesis_validators_root` if it
    /// does not exist, and migrating its schema. Fails if it was created for another chain.
    pub async fn open(
        path: impl AsRef<Path>,
        genesis_validators_root: Hash256,
        config: SqliteConfig,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let open_path = path.clone();
        let conn = tokio::task::spawn_blocking(move || {
            schema::open(&open_path, genesis_validators_root, config.busy_timeout)
        })
        .await??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            gvr: genesis_validators_root,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs SQLite's full `integrity_check` (reads the whole file: for startup checks after a
    /// crash, or audits, not for the hot path).
    pub async fn integrity_check(&self) -> Result<()> {
        self.run(ops::integrity_check).await
    }

    /// Runs `f` on the connection in a blocking thread. A panic inside `f` leaves no open
    /// transaction behind (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await?
    }
}

#[async_trait]
impl SlashingProtection for SqliteStore {
    fn genesis_validators_root(&self) -> Hash256 {
        self.gvr
    }

    async fn register_validators(&self, pubkeys: &[PublicKeyBytes]) -> Result<()> {
        let pubkeys = pubkeys.to_vec();
        self.run(move |conn| ops::register(conn, &pubkeys)).await
    }

    async fn check_and_insert_blocks(&self, requests: &[BlockRequest]) -> Result<Vec<CheckResult>> {
        let requests = requests.to_vec();
        self.run(move |conn| ops::check_blocks(conn, &requests))
            .await
    }

    async fn check_and_insert_attestations(
        &self,
        requests: &[AttestationRequest],
    ) -> Result<Vec<CheckResult>> {
        let requests = requests.to_vec();
        self.run(move |conn| ops::check_attestations(conn, &requests))
            .await
    }

    async fn import_interchange(&self, interchange: &Interchange) -> Result<ImportSummary> {
        interchange.validate_for(self.gvr)?;
        let interchange = interchange.clone();
        self.run(move |conn| ops::import(conn, &interchange)).await
    }

    async fn export_interchange(&self, scope: ExportScope<'_>) -> Result<Interchange> {
        let owned: Option<Vec<PublicKeyBytes>> = match scope {
            ExportScope::All => None,
            ExportScope::Only(pubkeys) => Some(pubkeys.to_vec()),
        };
        let data = self
            .run(move |conn| {
                let scope = owned.as_deref().map_or(ExportScope::All, ExportScope::Only);
                ops::export(conn, scope)
            })
            .await?;
        Ok(Interchange {
            metadata: InterchangeMetadata {
                interchange_format_version: INTERCHANGE_FORMAT_VERSION,
                genesis_validators_root: self.gvr,
            },
            data,
        })
    }

    async fn prune(&self, window: PruneWindow) -> Result<PruneSummary> {
        let mut total = PruneSummary::default();
        loop {
            // One bounded transaction per hold of the connection: signing interleaves.
            let (done, more) = self.run(move |conn| ops::prune_step(conn, window)).await?;
            total.blocks += done.blocks;
            total.attestations += done.attestations;
            if !more {
                break;
            }
        }
        tracing::debug!(
            blocks = total.blocks,
            attestations = total.attestations,
            "pruned slashing protection history"
        );
        Ok(total)
    }

    async fn validator_state(&self, pubkey: &PublicKeyBytes) -> Result<Option<ValidatorState>> {
        let pubkey = *pubkey;
        self.run(move |conn| ops::validator_state(conn, &pubkey))
            .await
    }
}
