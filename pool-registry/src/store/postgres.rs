//! The PostgreSQL backend, for setups where several instances share one accounting database.
//!
//! Tables live in a configurable schema (created if absent). Every write is one transaction:
//! `INSERT … ON CONFLICT DO NOTHING`, and when the row existed, `SELECT … FOR UPDATE` and
//! compare, so concurrent writers of the same epoch agree or one gets the conflict error.
//! Connections run with `synchronous_commit=on`: a returned write is durable.

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use types::{Epoch, Hash256, Slot, U256};

use super::{
    LedgerStore, ReportOrder, ReportWrite, StoreOutcome, ValidatorEpochRow, clamp_i64, entry_of,
    envelope_from_json, envelope_json, missing_between, parameters_from_json, parameters_json,
    plan_report_write, snapshot_from_json, snapshot_json,
};
use crate::error::{Context, Error, Result};
use crate::ledger::{ElBlockValue, EpochLedger, EpochSummary, decode_records, encode_records};
use crate::registry::{FrameParameters, FrameSnapshot};
use crate::report::ReportEnvelope;

/// PostgreSQL settings.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// Connection parameters (`tokio_postgres::Config` parses `postgres://` URLs).
    pub connection: tokio_postgres::Config,
    /// Schema holding the tables: lowercase letters, digits and `_`.
    pub schema: String,
    /// Maximum pooled connections.
    pub max_connections: usize,
}

impl PostgresConfig {
    /// Settings from a URL with the default schema `poolvc_accounting`.
    pub fn from_url(url: &str) -> Result<Self> {
        let connection = url.parse().map_err(|e: tokio_postgres::Error| {
            Error::PostgresPool(format!("cannot parse the database URL: {e}"))
        })?;
        Ok(Self {
            connection,
            schema: "poolvc_accounting".to_owned(),
            max_connections: 4,
        })
    }

    /// The same settings with another schema.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }
}

/// The PostgreSQL [`LedgerStore`].
pub struct PostgresLedgerStore {
    pool: Pool,
    schema: String,
}

impl std::fmt::Debug for PostgresLedgerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLedgerStore")
            .field("schema", &self.schema)
            .finish()
    }
}

pub(super) fn i(v: u64, what: &'static str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Overflow(what))
}

fn u(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative {what} {v}")))
}

fn hash_from(bytes: &[u8], what: &str) -> Result<Hash256> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash256::from)
        .map_err(|_| Error::Corrupt(format!("{what} is not 32 bytes")))
}

impl PostgresLedgerStore {
    /// Connects and creates the schema and tables if needed.
    pub async fn open(config: PostgresConfig) -> Result<Self> {
        if config.schema.is_empty()
            || !config
                .schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(Error::PostgresPool(format!(
                "schema name {:?} must be lowercase letters, digits and _",
                config.schema
            )));
        }
        let mut connection = config.connection.clone();
        connection.options("-c synchronous_commit=on");
        let manager = Manager::from_config(
            connection,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_connections.max(1))
            .build()
            .map_err(|e| Error::PostgresPool(e.to_string()))?;
        let store = Self {
            pool,
            schema: config.schema,
        };
        let s = &store.schema;
        let client = store.client().await?;
        // The advisory lock serialises concurrent first starts creating the same schema.
        client
            .batch_execute(&format!(
                "SELECT pg_advisory_lock(7346001);
                 CREATE SCHEMA IF NOT EXISTS {s};
                 CREATE TABLE IF NOT EXISTS {s}.ledger_epochs (
                     epoch BIGINT PRIMARY KEY, digest BYTEA NOT NULL, validators BIGINT NOT NULL,
                     cl_income BIGINT NOT NULL, newly_slashed BIGINT NOT NULL,
                     unexplained BIGINT NOT NULL, records BYTEA);
                 CREATE TABLE IF NOT EXISTS {s}.frame_snapshots (
                     frame BIGINT PRIMARY KEY, root BYTEA NOT NULL, snapshot TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {s}.frame_parameters (
                     frame BIGINT PRIMARY KEY, parameters TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {s}.reports (
                     frame BIGINT PRIMARY KEY, root BYTEA NOT NULL, status TEXT NOT NULL,
                     envelope TEXT NOT NULL, report_json TEXT NOT NULL, ssz BYTEA NOT NULL);
                 CREATE TABLE IF NOT EXISTS {s}.el_block_values (
                     block_root BYTEA PRIMARY KEY, slot BIGINT NOT NULL,
                     proposer_index BIGINT NOT NULL, value_wei TEXT NOT NULL);
                 CREATE INDEX IF NOT EXISTS el_block_values_slot ON {s}.el_block_values(slot);
                 CREATE INDEX IF NOT EXISTS reports_root ON {s}.reports(root);
                 {oracle}
                 SELECT pg_advisory_unlock(7346001);",
                oracle = super::postgres_oracle::oracle_schema(s)
            ))
            .await
            .ctx("creating the accounting schema")?;
        drop(client);
        Ok(store)
    }

    pub(super) fn schema(&self) -> &str {
        &self.schema
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(|e| Error::PostgresPool(e.to_string()))
    }

    async fn read_report(
        &self,
        client: &impl deadpool_postgres::GenericClient,
        frame: u64,
        lock: bool,
    ) -> Result<Option<ReportEnvelope>> {
        let s = &self.schema;
        let sql = format!(
            "SELECT envelope FROM {s}.reports WHERE frame = $1{}",
            if lock { " FOR UPDATE" } else { "" }
        );
        let row = client
            .query_opt(&sql, &[&i(frame, "frame")?])
            .await
            .ctx("reading a report")?;
        row.map(|r| r.try_get::<_, String>(0).ctx("reading a report envelope"))
            .transpose()?
            .as_deref()
            .map(envelope_from_json)
            .transpose()
    }
}

#[async_trait]
impl LedgerStore for PostgresLedgerStore {
    async fn store_epoch(&self, ledger: &EpochLedger) -> Result<StoreOutcome> {
        let s = &self.schema;
        let blob = encode_records(ledger);
        let digest = alloy_primitives::keccak256(&blob);
        let summary = ledger.summary();
        let epoch = ledger.epoch;
        let mut client = self.client().await?;
        let tx = client.transaction().await.ctx("starting an epoch write")?;
        let inserted = tx
            .execute(
                &format!("INSERT INTO {s}.ledger_epochs (epoch, digest, validators, cl_income, newly_slashed, unexplained, records) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (epoch) DO NOTHING"),
                &[
                    &i(epoch.as_u64(), "epoch")?,
                    &digest.as_slice(),
                    &i(summary.validators, "validators")?,
                    &summary.cl_income,
                    &i(summary.newly_slashed, "newly slashed")?,
                    &summary.unexplained,
                    &blob,
                ],
            )
            .await
            .ctx("inserting an epoch")?;
        if inserted == 1 {
            tx.commit().await.ctx("committing an epoch")?;
            return Ok(StoreOutcome::Inserted);
        }
        let row = tx
            .query_one(
                &format!("SELECT digest FROM {s}.ledger_epochs WHERE epoch = $1"),
                &[&i(epoch.as_u64(), "epoch")?],
            )
            .await
            .ctx("reading an epoch digest")?;
        let stored = hash_from(
            row.try_get::<_, &[u8]>(0).ctx("reading a digest")?,
            "epoch digest",
        )?;
        if stored == digest {
            Ok(StoreOutcome::Unchanged)
        } else {
            Err(Error::LedgerConflict {
                epoch,
                stored,
                new: digest,
            })
        }
    }

    async fn epoch(&self, epoch: Epoch) -> Result<Option<EpochLedger>> {
        let s = &self.schema;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT records FROM {s}.ledger_epochs WHERE epoch = $1"),
                &[&i(epoch.as_u64(), "epoch")?],
            )
            .await
            .ctx("reading an epoch")?;
        let Some(row) = row else { return Ok(None) };
        let blob: Option<&[u8]> = row.try_get(0).ctx("reading epoch records")?;
        match blob {
            Some(blob) => decode_records(blob).map(Some),
            None => Err(Error::Pruned(epoch)),
        }
    }

    async fn prune_records_before(&self, before: Epoch) -> Result<u64> {
        let s = &self.schema;
        let client = self.client().await?;
        let n = client
            .execute(
                &format!("UPDATE {s}.ledger_epochs SET records = NULL WHERE epoch < $1 AND records IS NOT NULL"),
                &[&i(before.as_u64(), "epoch")?],
            )
            .await
            .ctx("pruning records")?;
        Ok(n)
    }

    async fn epoch_summaries(&self, from: Epoch, to: Epoch) -> Result<Vec<EpochSummary>> {
        let s = &self.schema;
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT epoch, validators, cl_income, newly_slashed, unexplained FROM {s}.ledger_epochs WHERE epoch BETWEEN $1 AND $2 ORDER BY epoch"),
                &[&i(from.as_u64(), "epoch")?, &i(to.as_u64(), "epoch")?],
            )
            .await
            .ctx("reading summaries")?;
        rows.iter()
            .map(|r| {
                Ok(EpochSummary {
                    epoch: Epoch(u(r.try_get(0).ctx("epoch")?, "epoch")?),
                    validators: u(r.try_get(1).ctx("validators")?, "validator count")?,
                    cl_income: r.try_get(2).ctx("cl_income")?,
                    newly_slashed: u(r.try_get(3).ctx("newly_slashed")?, "slashed count")?,
                    unexplained: r.try_get(4).ctx("unexplained")?,
                })
            })
            .collect()
    }

    async fn missing_epochs(
        &self,
        from: Epoch,
        finalized_checkpoint_epoch: Epoch,
    ) -> Result<Vec<Epoch>> {
        let s = &self.schema;
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT epoch FROM {s}.ledger_epochs WHERE epoch >= $1 ORDER BY epoch"),
                &[&i(from.as_u64(), "epoch")?],
            )
            .await
            .ctx("listing epochs")?;
        let stored = rows
            .iter()
            .map(|r| u(r.try_get(0).ctx("epoch")?, "epoch"))
            .collect::<Result<Vec<u64>>>()?;
        Ok(missing_between(from, finalized_checkpoint_epoch, &stored))
    }

    async fn ensure_snapshot(&self, snapshot: &FrameSnapshot) -> Result<FrameSnapshot> {
        let s = &self.schema;
        let json = snapshot_json(snapshot)?;
        let root = snapshot.root()?;
        let client = self.client().await?;
        client
            .execute(
                &format!("INSERT INTO {s}.frame_snapshots (frame, root, snapshot) VALUES ($1, $2, $3) ON CONFLICT (frame) DO NOTHING"),
                &[&i(snapshot.frame, "frame")?, &root.as_slice(), &json],
            )
            .await
            .ctx("inserting a snapshot")?;
        let row = client
            .query_one(
                &format!("SELECT snapshot FROM {s}.frame_snapshots WHERE frame = $1"),
                &[&i(snapshot.frame, "frame")?],
            )
            .await
            .ctx("reading a snapshot")?;
        snapshot_from_json(row.try_get::<_, &str>(0).ctx("reading a snapshot")?)
    }

    async fn snapshot(&self, frame: u64) -> Result<Option<FrameSnapshot>> {
        let s = &self.schema;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT snapshot FROM {s}.frame_snapshots WHERE frame = $1"),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading a snapshot")?;
        row.map(|r| snapshot_from_json(r.try_get::<_, &str>(0).ctx("reading a snapshot")?))
            .transpose()
    }

    async fn ensure_frame_parameters(
        &self,
        parameters: &FrameParameters,
    ) -> Result<FrameParameters> {
        let s = &self.schema;
        let json = parameters_json(parameters)?;
        let frame = i(parameters.frame, "frame")?;
        let client = self.client().await?;
        client
            .execute(
                &format!("INSERT INTO {s}.frame_parameters (frame, parameters) VALUES ($1, $2) ON CONFLICT (frame) DO NOTHING"),
                &[&frame, &json],
            )
            .await
            .ctx("inserting frame parameters")?;
        let row = client
            .query_one(
                &format!("SELECT parameters FROM {s}.frame_parameters WHERE frame = $1"),
                &[&frame],
            )
            .await
            .ctx("reading frame parameters")?;
        parameters_from_json(row.try_get::<_, &str>(0).ctx("reading frame parameters")?)
    }

    async fn frame_parameters(&self, frame: u64) -> Result<Option<FrameParameters>> {
        let s = &self.schema;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT parameters FROM {s}.frame_parameters WHERE frame = $1"),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading frame parameters")?;
        row.map(|r| parameters_from_json(r.try_get::<_, &str>(0).ctx("reading frame parameters")?))
            .transpose()
    }

    async fn snapshot_frames(&self) -> Result<Option<(u64, u64)>> {
        let s = &self.schema;
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!("SELECT MIN(frame), MAX(frame) FROM {s}.frame_snapshots"),
                &[],
            )
            .await
            .ctx("reading the snapshot frames")?;
        let low: Option<i64> = row.try_get(0).ctx("reading the snapshot frames")?;
        let high: Option<i64> = row.try_get(1).ctx("reading the snapshot frames")?;
        Ok(match (low, high) {
            (Some(low), Some(high)) => Some((u(low, "frame")?, u(high, "frame")?)),
            _ => None,
        })
    }

    async fn store_report(&self, envelope: &ReportEnvelope) -> Result<StoreOutcome> {
        let s = &self.schema;
        let json = envelope_json(envelope)?;
        let report_json = crate::canonical::to_canonical_json(&envelope.report)?;
        let ssz = envelope.report.to_ssz()?;
        let frame = i(envelope.report.frame, "frame")?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.ctx("starting a report write")?;
        let inserted = tx
            .execute(
                &format!("INSERT INTO {s}.reports (frame, root, status, envelope, report_json, ssz) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (frame) DO NOTHING"),
                &[&frame, &envelope.root.as_slice(), &envelope.status.as_str(), &json, &report_json, &ssz],
            )
            .await
            .ctx("inserting a report")?;
        if inserted == 1 {
            tx.commit().await.ctx("committing a report")?;
            return Ok(StoreOutcome::Inserted);
        }
        let stored = self.read_report(&tx, envelope.report.frame, true).await?;
        match plan_report_write(stored.as_ref(), envelope)? {
            ReportWrite::Unchanged | ReportWrite::Insert => Ok(StoreOutcome::Unchanged),
            ReportWrite::AddSignature => {
                tx.execute(
                    &format!("UPDATE {s}.reports SET envelope = $2 WHERE frame = $1"),
                    &[&frame, &json],
                )
                .await
                .ctx("adding a report signature")?;
                tx.commit().await.ctx("committing a report signature")?;
                Ok(StoreOutcome::Signed)
            }
        }
    }

    async fn report(&self, frame: u64) -> Result<Option<ReportEnvelope>> {
        let client = self.client().await?;
        self.read_report(&client, frame, false).await
    }

    async fn latest_final_report(&self) -> Result<Option<ReportEnvelope>> {
        let s = &self.schema;
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT envelope FROM {s}.reports WHERE status = 'final' ORDER BY frame DESC LIMIT 1"), &[])
            .await
            .ctx("reading the latest final report")?;
        row.map(|r| envelope_from_json(r.try_get::<_, &str>(0).ctx("reading a report envelope")?))
            .transpose()
    }

    async fn reports(
        &self,
        from: u64,
        to: u64,
        order: ReportOrder,
        limit: u64,
    ) -> Result<Vec<ReportEnvelope>> {
        let s = &self.schema;
        let direction = match order {
            ReportOrder::Ascending => "ASC",
            ReportOrder::Descending => "DESC",
        };
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT envelope FROM {s}.reports WHERE frame BETWEEN $1 AND $2 ORDER BY frame {direction} LIMIT $3"),
                &[&clamp_i64(from), &clamp_i64(to), &clamp_i64(limit)],
            )
            .await
            .ctx("listing reports")?;
        rows.iter()
            .map(|r| envelope_from_json(r.try_get::<_, &str>(0).ctx("reading a listed report")?))
            .collect()
    }

    async fn report_by_root(&self, root: Hash256) -> Result<Option<ReportEnvelope>> {
        let s = &self.schema;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT envelope FROM {s}.reports WHERE root = $1"),
                &[&root.as_slice()],
            )
            .await
            .ctx("reading a report by root")?;
        row.map(|r| envelope_from_json(r.try_get::<_, &str>(0).ctx("reading a report envelope")?))
            .transpose()
    }

    async fn validator_epochs(
        &self,
        validator_index: u64,
        from: Epoch,
        to: Epoch,
        limit: u64,
    ) -> Result<Vec<ValidatorEpochRow>> {
        let s = &self.schema;
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT epoch, records FROM {s}.ledger_epochs WHERE epoch BETWEEN $1 AND $2 ORDER BY epoch LIMIT $3"),
                &[&clamp_i64(from.as_u64()), &clamp_i64(to.as_u64()), &clamp_i64(limit)],
            )
            .await
            .ctx("reading a validator's ledger")?;
        rows.iter()
            .map(|r| {
                let epoch = Epoch(u(r.try_get(0).ctx("epoch")?, "epoch")?);
                let records: Option<&[u8]> = r.try_get(1).ctx("records")?;
                Ok(ValidatorEpochRow {
                    epoch,
                    entry: entry_of(records, validator_index)?,
                })
            })
            .collect()
    }

    async fn record_el_value(&self, value: &ElBlockValue) -> Result<StoreOutcome> {
        let s = &self.schema;
        let slot = i(value.slot.as_u64(), "slot")?;
        let proposer = i(value.proposer_index, "proposer index")?;
        let wei = value.value_wei.to_string();
        let client = self.client().await?;
        let inserted = client
            .execute(
                &format!("INSERT INTO {s}.el_block_values (block_root, slot, proposer_index, value_wei) VALUES ($1, $2, $3, $4) ON CONFLICT (block_root) DO NOTHING"),
                &[&value.block_root.as_slice(), &slot, &proposer, &wei],
            )
            .await
            .ctx("inserting an EL value")?;
        if inserted == 1 {
            return Ok(StoreOutcome::Inserted);
        }
        let row = client
            .query_one(&format!("SELECT slot, proposer_index, value_wei FROM {s}.el_block_values WHERE block_root = $1"), &[&value.block_root.as_slice()])
            .await
            .ctx("reading an EL value")?;
        let stored: (i64, i64, String) = (
            row.try_get(0).ctx("slot")?,
            row.try_get(1).ctx("proposer")?,
            row.try_get(2).ctx("value")?,
        );
        if stored == (slot, proposer, wei) {
            Ok(StoreOutcome::Unchanged)
        } else {
            Err(Error::Conflict {
                what: format!("EL value of block {}", value.block_root),
            })
        }
    }

    async fn el_values(&self, from: Slot, to: Slot) -> Result<Vec<ElBlockValue>> {
        let s = &self.schema;
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT block_root, slot, proposer_index, value_wei FROM {s}.el_block_values WHERE slot BETWEEN $1 AND $2 ORDER BY slot, block_root"),
                &[&i(from.as_u64(), "slot")?, &i(to.as_u64(), "slot")?],
            )
            .await
            .ctx("reading EL values")?;
        rows.iter()
            .map(|r| {
                let wei: String = r.try_get(3).ctx("value")?;
                Ok(ElBlockValue {
                    block_root: hash_from(r.try_get::<_, &[u8]>(0).ctx("root")?, "block root")?,
                    slot: Slot(u(r.try_get(1).ctx("slot")?, "slot")?),
                    proposer_index: u(r.try_get(2).ctx("proposer")?, "proposer index")?,
                    value_wei: U256::from_str_radix(&wei, 10)
                        .map_err(|e| Error::Corrupt(format!("EL value {wei:?}: {e}")))?,
                })
            })
            .collect()
    }
}
