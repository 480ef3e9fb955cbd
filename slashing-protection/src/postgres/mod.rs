//! The PostgreSQL backend, for several poolvc instances sharing keys and one database.
//!
//! Invariants:
//! - A check batch is one transaction: lock the batch's validator rows (`SELECT … FOR UPDATE`
//!   in id order, so concurrent batches cannot deadlock), decide in memory, write changed rows
//!   and history with set-based `UNNEST` statements, commit. While one instance holds a row,
//!   another blocks on it and then sees the committed result, so two instances can never both
//!   approve conflicting messages for the same key.
//! - Every connection runs with `synchronous_commit = on` (the commit is flushed before the call
//!   returns, whatever the server default) and a `lock_timeout`, so a stuck peer makes the
//!   batch fail (nothing signed) instead of hanging past the duty deadline.
//! - Schema creation and migrations are idempotent and serialised by an advisory lock.

mod sql;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use types::{Epoch, Hash256, PublicKeyBytes, Slot};

use crate::error::{Context, Error, Result};
use crate::interchange::{
    INTERCHANGE_FORMAT_VERSION, Interchange, InterchangeMetadata, export_entry, minify,
};
use crate::model::{
    AttestationRecord, AttestationRequest, BlockRecord, BlockRequest, CheckResult, Checkable,
    ValidatorState, known_root, plan_batch,
};
use crate::row::{StateRow, from_db, root_from_db, root_to_db, to_db};
use crate::{ExportScope, ImportSummary, PruneSummary, PruneWindow, SlashingProtection};
use sql::Sql;

/// PostgreSQL connection settings.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Server, user, database… (`tokio_postgres::Config` parses `postgres://` URLs).
    pub connection: tokio_postgres::Config,
    /// The schema holding the tables (created if absent): lowercase letters, digits and `_`.
    pub schema: String,
    /// Maximum pooled connections of this instance.
    pub max_connections: usize,
    /// How long a batch waits for another instance's row locks before failing (no signing).
    pub lock_timeout: Duration,
    /// How long to wait for a pooled connection or a new one.
    pub connect_timeout: Duration,
}

impl PostgresConfig {
    /// Settings from a `postgres://user@host:port/db` URL with the default schema `poolvc`.
    pub fn from_url(url: &str) -> Result<Self> {
        let connection = url.parse().map_err(|e: tokio_postgres::Error| {
            Error::InvalidPostgresConfig(format!("cannot parse the database URL: {e}"))
        })?;
        Ok(Self {
            connection,
            schema: "poolvc".to_owned(),
            max_connections: 4,
            lock_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// The same settings with another schema.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }
}

/// The PostgreSQL [`SlashingProtection`] store.
pub struct PostgresStore {
    pool: Pool,
    sql: Sql,
    gvr: Hash256,
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("genesis_validators_root", &self.gvr)
            .finish()
    }
}

fn pubkey_from_db(bytes: &[u8], id: i64) -> Result<PublicKeyBytes> {
    <[u8; 48]>::try_from(bytes)
        .map(PublicKeyBytes::from)
        .map_err(|_| Error::Corrupt(format!("pubkey of validator id {id} is not 48 bytes")))
}

/// Reads `id, pubkey, <state columns>` rows.
fn validator_rows(
    rows: &[tokio_postgres::Row],
) -> Result<Vec<(i64, PublicKeyBytes, ValidatorState)>> {
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get(0).ctx("reading a validator id")?;
            let pubkey: &[u8] = row.try_get(1).ctx("reading a pubkey")?;
            let state = state_row(row, 2)?.to_state()?;
            Ok((id, pubkey_from_db(pubkey, id)?, state))
        })
        .collect()
}

fn state_row(row: &tokio_postgres::Row, first: usize) -> Result<StateRow> {
    let get = |i: usize| {
        row.try_get::<_, Option<i64>>(first + i)
            .ctx("reading a state column")
    };
    let blob = |i: usize| {
        row.try_get::<_, Option<Vec<u8>>>(first + i)
            .ctx("reading a root")
    };
    Ok(StateRow {
        block_low: get(0)?,
        att_source_low: get(1)?,
        att_target_low: get(2)?,
        last_block_slot: get(3)?,
        last_block_root: blob(4)?,
        last_att_source: get(5)?,
        last_att_target: get(6)?,
        last_att_root: blob(7)?,
    })
}

/// Sorted, deduplicated key bytes: the lock and insert order shared by every transaction.
fn sorted_keys(pubkeys: impl IntoIterator<Item = PublicKeyBytes>) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = pubkeys.into_iter().map(|k| k.as_slice().to_vec()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Column arrays for `update_states`.
fn update_params(changed: &[(i64, ValidatorState)]) -> Result<Vec<Box<dyn ToSql + Sync + Send>>> {
    let mut ids = Vec::with_capacity(changed.len());
    let mut rows = Vec::with_capacity(changed.len());
    for (id, state) in changed {
        ids.push(*id);
        rows.push(StateRow::from_state(state)?);
    }
    let ints = |f: fn(&StateRow) -> Option<i64>| rows.iter().map(f).collect::<Vec<_>>();
    let blobs = |f: fn(&StateRow) -> Option<Vec<u8>>| rows.iter().map(f).collect::<Vec<_>>();
    Ok(vec![
        Box::new(ids),
        Box::new(ints(|r| r.block_low)),
        Box::new(ints(|r| r.att_source_low)),
        Box::new(ints(|r| r.att_target_low)),
        Box::new(ints(|r| r.last_block_slot)),
        Box::new(blobs(|r| r.last_block_root.clone())),
        Box::new(ints(|r| r.last_att_source)),
        Box::new(ints(|r| r.last_att_target)),
        Box::new(blobs(|r| r.last_att_root.clone())),
    ])
}

fn as_params(boxed: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    boxed
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PostgresStore {
    /// Connects, creates or migrates the schema, and binds it to `genesis_validators_root` (or
    /// checks that it is already bound to it).
    pub async fn connect(config: PostgresConfig, genesis_validators_root: Hash256) -> Result<Self> {
        if !sql::valid_schema_name(&config.schema) {
            return Err(Error::InvalidPostgresConfig(format!(
                "schema name {:?} must be a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 bytes)",
                config.schema
            )));
        }
        let lock_ms = config.lock_timeout.as_millis();
        let session = format!("SET synchronous_commit = on; SET lock_timeout = {lock_ms};");
        let manager = Manager::from_config(
            config.connection.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.connect_timeout))
            .create_timeout(Some(config.connect_timeout))
            .post_create(Hook::async_fn(move |client, _| {
                let session = session.clone();
                Box::pin(async move {
                    client
                        .batch_execute(&session)
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()?;
        let store = Self {
            pool,
            sql: Sql::new(&config.schema),
            gvr: genesis_validators_root,
            schema: config.schema,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema holding this store's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client
            .transaction()
            .await
            .ctx("starting the migration transaction")?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&sql::MIGRATION_LOCK_KEY],
        )
        .await
        .ctx("taking the migration lock")?;
        tx.batch_execute(&self.sql.create_schema)
            .await
            .ctx("creating the schema")?;
        let current: i64 = tx
            .query_one(&self.sql.current_version, &[])
            .await
            .ctx("reading the schema version")?
            .try_get(0)
            .ctx("reading the schema version")?;
        if current > sql::LATEST_VERSION {
            return Err(Error::UnsupportedSchemaVersion {
                found: current,
                supported: sql::LATEST_VERSION,
            });
        }
        for (version, migration) in (1_i32..).zip(&self.sql.migrations) {
            if i64::from(version) <= current {
                continue;
            }
            tx.batch_execute(migration)
                .await
                .ctx("applying a schema migration")?;
            tracing::info!(version, schema = %self.schema, "applied slashing protection schema migration");
            tx.execute(&self.sql.record_version, &[&version])
                .await
                .ctx("recording a schema migration")?;
        }
        let stored = tx
            .query_opt(&self.sql.read_gvr, &[])
            .await
            .ctx("reading the genesis validators root")?;
        match stored {
            None => {
                tx.execute(&self.sql.write_gvr, &[&self.gvr.as_slice()])
                    .await
                    .ctx("storing the genesis validators root")?;
                tracing::info!(genesis_validators_root = %self.gvr, schema = %self.schema, "created slashing protection schema");
            }
            Some(row) => {
                let bytes: Vec<u8> = row.try_get(0).ctx("reading the genesis validators root")?;
                let stored =
                    root_from_db(Some(bytes), "genesis_validators_root")?.unwrap_or_default();
                if stored != self.gvr {
                    return Err(Error::GenesisValidatorsRootMismatch {
                        stored,
                        provided: self.gvr,
                    });
                }
            }
        }
        tx.commit().await.ctx("committing migrations")
    }

    /// One locked check batch: see the module invariants.
    async fn run_batch<R: Checkable>(
        &self,
        requests: &[R],
        history: impl FnOnce(&[(i64, usize)]) -> Result<(String, Vec<Box<dyn ToSql + Sync + Send>>)>,
    ) -> Result<Vec<CheckResult>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let keys = sorted_keys(requests.iter().map(Checkable::pubkey));
        let mut client = self.pool.get().await?;
        let tx = client
            .transaction()
            .await
            .ctx("starting a check transaction")?;
        let lock = tx
            .prepare_cached(&self.sql.lock_validators)
            .await
            .ctx("preparing the row lock")?;
        let rows = tx
            .query(&lock, &[&keys])
            .await
            .ctx("locking validator rows")?;
        let states: HashMap<_, _> = validator_rows(&rows)?
            .into_iter()
            .map(|(id, pubkey, state)| (pubkey, (id, state, false)))
            .collect();
        let plan = plan_batch(requests, states);
        if !plan.changed.is_empty() {
            let update = tx
                .prepare_cached(&self.sql.update_states)
                .await
                .ctx("preparing the state update")?;
            let params = update_params(&plan.changed)?;
            tx.execute(&update, &as_params(&params))
                .await
                .ctx("updating validator rows")?;
        }
        if !plan.recorded.is_empty() {
            let (sql, params) = history(&plan.recorded)?;
            let insert = tx
                .prepare_cached(&sql)
                .await
                .ctx("preparing the history insert")?;
            tx.execute(&insert, &as_params(&params))
                .await
                .ctx("recording signed messages")?;
        }
        tx.commit().await.ctx("committing signed messages")?;
        Ok(plan.results)
    }

    async fn load_history(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        ids: &[i64],
    ) -> Result<(
        HashMap<i64, Vec<BlockRecord>>,
        HashMap<i64, Vec<AttestationRecord>>,
    )> {
        let mut blocks: HashMap<i64, Vec<BlockRecord>> = HashMap::new();
        for row in tx
            .query(&self.sql.block_history, &[&ids])
            .await
            .ctx("reading block history")?
        {
            let id: i64 = row.try_get(0).ctx("reading block history")?;
            blocks.entry(id).or_default().push(BlockRecord {
                slot: Slot(from_db(row.try_get(1).ctx("reading a slot")?, "slot")?),
                signing_root: root_from_db(row.try_get(2).ctx("reading a root")?, "block root")?,
            });
        }
        let mut attestations: HashMap<i64, Vec<AttestationRecord>> = HashMap::new();
        for row in tx
            .query(&self.sql.attestation_history, &[&ids])
            .await
            .ctx("reading attestation history")?
        {
            let id: i64 = row.try_get(0).ctx("reading attestation history")?;
            attestations.entry(id).or_default().push(AttestationRecord {
                source: Epoch(from_db(row.try_get(1).ctx("reading a source")?, "source")?),
                target: Epoch(from_db(row.try_get(2).ctx("reading a target")?, "target")?),
                signing_root: root_from_db(row.try_get(3).ctx("reading a root")?, "root")?,
            });
        }
        Ok((blocks, attestations))
    }
}

#[async_trait]
impl SlashingProtection for PostgresStore {
    fn genesis_validators_root(&self) -> Hash256 {
        self.gvr
    }

    async fn register_validators(&self, pubkeys: &[PublicKeyBytes]) -> Result<()> {
        let keys = sorted_keys(pubkeys.iter().copied());
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&self.sql.register)
            .await
            .ctx("preparing registration")?;
        client
            .execute(&stmt, &[&keys])
            .await
            .ctx("registering validators")?;
        Ok(())
    }

    async fn check_and_insert_blocks(&self, requests: &[BlockRequest]) -> Result<Vec<CheckResult>> {
        self.run_batch(requests, |recorded| {
            let mut ids = Vec::with_capacity(recorded.len());
            let mut slots = Vec::with_capacity(recorded.len());
            let mut roots = Vec::with_capacity(recorded.len());
            for &(id, index) in recorded {
                let r = &requests[index];
                ids.push(id);
                slots.push(to_db(r.slot.as_u64())?);
                roots.push(root_to_db(known_root(r.signing_root)));
            }
            let params: Vec<Box<dyn ToSql + Sync + Send>> =
                vec![Box::new(ids), Box::new(slots), Box::new(roots)];
            Ok((self.sql.insert_blocks.clone(), params))
        })
        .await
    }

    async fn check_and_insert_attestations(
        &self,
        requests: &[AttestationRequest],
    ) -> Result<Vec<CheckResult>> {
        self.run_batch(requests, |recorded| {
            let mut ids = Vec::with_capacity(recorded.len());
            let mut sources = Vec::with_capacity(recorded.len());
            let mut targets = Vec::with_capacity(recorded.len());
            let mut roots = Vec::with_capacity(recorded.len());
            for &(id, index) in recorded {
                let r = &requests[index];
                ids.push(id);
                sources.push(to_db(r.source.as_u64())?);
                targets.push(to_db(r.target.as_u64())?);
                roots.push(root_to_db(known_root(r.signing_root)));
            }
            let params: Vec<Box<dyn ToSql + Sync + Send>> = vec![
                Box::new(ids),
                Box::new(sources),
                Box::new(targets),
                Box::new(roots),
            ];
            Ok((self.sql.insert_attestations.clone(), params))
        })
        .await
    }

    async fn import_interchange(&self, interchange: &Interchange) -> Result<ImportSummary> {
        interchange.validate_for(self.gvr)?;
        let marks = minify(interchange);
        let keys = sorted_keys(marks.iter().map(|(pubkey, _)| *pubkey));
        let mut client = self.pool.get().await?;
        let tx = client
            .transaction()
            .await
            .ctx("starting the import transaction")?;
        tx.execute(&self.sql.register, &[&keys])
            .await
            .ctx("registering imported validators")?;
        let rows = tx
            .query(&self.sql.lock_validators, &[&keys])
            .await
            .ctx("locking imported validators")?;
        let mut states: HashMap<PublicKeyBytes, (i64, ValidatorState)> = validator_rows(&rows)?
            .into_iter()
            .map(|(id, pubkey, state)| (pubkey, (id, state)))
            .collect();
        for (pubkey, imported) in &marks {
            let (_, state) = states.get_mut(pubkey).ok_or_else(|| {
                Error::Corrupt(format!("validator {pubkey} vanished during import"))
            })?;
            state.merge_import(imported);
        }
        let changed: Vec<(i64, ValidatorState)> = states.into_values().collect();
        if !changed.is_empty() {
            let params = update_params(&changed)?;
            tx.execute(&self.sql.update_states, &as_params(&params))
                .await
                .ctx("storing imported watermarks")?;
        }
        tx.commit().await.ctx("committing the import")?;
        tracing::info!(validators = marks.len(), schema = %self.schema, "imported slashing protection interchange");
        Ok(ImportSummary::of(interchange, marks.len()))
    }

    async fn export_interchange(&self, scope: ExportScope<'_>) -> Result<Interchange> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .ctx("starting the export transaction")?;
        let rows = match scope {
            ExportScope::All => tx.query(&self.sql.select_all, &[]).await,
            ExportScope::Only(pubkeys) => {
                let keys = sorted_keys(pubkeys.iter().copied());
                tx.query(&self.sql.select_some, &[&keys]).await
            }
        }
        .ctx("reading validators to export")?;
        let validators = validator_rows(&rows)?;
        if let ExportScope::Only(pubkeys) = scope {
            for pubkey in pubkeys {
                if !validators.iter().any(|(_, k, _)| k == pubkey) {
                    return Err(Error::UnknownValidator(*pubkey));
                }
            }
        }
        let ids: Vec<i64> = validators.iter().map(|(id, _, _)| *id).collect();
        let (mut blocks, mut attestations) = self.load_history(&tx, &ids).await?;
        tx.commit().await.ctx("ending the export transaction")?;
        let data = validators
            .into_iter()
            .map(|(id, pubkey, state)| {
                export_entry(
                    pubkey,
                    &state,
                    blocks.remove(&id).unwrap_or_default(),
                    attestations.remove(&id).unwrap_or_default(),
                )
            })
            .collect();
        Ok(Interchange {
            metadata: InterchangeMetadata {
                interchange_format_version: INTERCHANGE_FORMAT_VERSION,
                genesis_validators_root: self.gvr,
            },
            data,
        })
    }

    async fn prune(&self, window: PruneWindow) -> Result<PruneSummary> {
        let keep_epochs = i64::try_from(window.epochs).unwrap_or(i64::MAX);
        let keep_slots =
            i64::try_from(window.epochs.saturating_mul(window.slots_per_epoch)).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        let blocks = client
            .execute(&self.sql.prune_blocks, &[&keep_slots])
            .await
            .ctx("pruning blocks")?;
        let attestations = client
            .execute(&self.sql.prune_attestations, &[&keep_epochs])
            .await
            .ctx("pruning attestations")?;
        tracing::debug!(blocks, attestations, schema = %self.schema, "pruned slashing protection history");
        Ok(PruneSummary {
            blocks,
            attestations,
        })
    }

    async fn validator_state(&self, pubkey: &PublicKeyBytes) -> Result<Option<ValidatorState>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(&self.sql.select_state, &[&pubkey.as_slice()])
            .await
            .ctx("reading a validator")?;
        row.map(|row| state_row(&row, 0)?.to_state()).transpose()
    }
}
