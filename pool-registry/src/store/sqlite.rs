//! The embedded SQLite backend (default): one file, WAL, `synchronous=FULL`.
//!
//! One connection behind a mutex, used only from `spawn_blocking`. Every write is one
//! `BEGIN IMMEDIATE` transaction that reads the existing row and decides insert / unchanged /
//! conflict before writing, so two processes sharing the file serialise on the write lock.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use types::{Epoch, Hash256, Slot};

use super::{
    LedgerStore, ReportOrder, ReportWrite, StoreOutcome, ValidatorEpochRow, clamp_i64, entry_of,
    envelope_from_json, envelope_json, missing_between, parameters_from_json, parameters_json,
    plan_report_write, snapshot_from_json, snapshot_json,
};
use crate::error::{Context, Error, Result};
use crate::ledger::{ElBlockValue, EpochLedger, EpochSummary, decode_records, encode_records};
use crate::registry::{FrameParameters, FrameSnapshot};
use crate::report::ReportEnvelope;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger_epochs (
    epoch INTEGER PRIMARY KEY,
    digest BLOB NOT NULL,
    validators INTEGER NOT NULL,
    cl_income INTEGER NOT NULL,
    newly_slashed INTEGER NOT NULL,
    unexplained INTEGER NOT NULL,
    records BLOB
);
CREATE TABLE IF NOT EXISTS frame_snapshots (
    frame INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS frame_parameters (
    frame INTEGER PRIMARY KEY,
    parameters TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    frame INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    status TEXT NOT NULL,
    envelope TEXT NOT NULL,
    report_json TEXT NOT NULL,
    ssz BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS el_block_values (
    block_root BLOB PRIMARY KEY,
    slot INTEGER NOT NULL,
    proposer_index INTEGER NOT NULL,
    value_wei TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS el_block_values_slot ON el_block_values(slot);
CREATE INDEX IF NOT EXISTS reports_root ON reports(root);
";

pub(super) fn to_i64(v: u64, what: &'static str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Overflow(what))
}

fn from_i64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative {what} {v}")))
}

fn hash_from(bytes: &[u8], what: &str) -> Result<Hash256> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash256::from)
        .map_err(|_| Error::Corrupt(format!("{what} is not 32 bytes")))
}

/// The SQLite [`LedgerStore`].
#[derive(Clone)]
pub struct SqliteLedgerStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteLedgerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLedgerStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteLedgerStore {
    /// Opens (creating if needed) the database at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let open_path = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let conn = Connection::open(&open_path).ctx("opening the ledger database")?;
            conn.busy_timeout(Duration::from_secs(5))
                .ctx("setting the busy timeout")?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .ctx("enabling WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")
                .ctx("setting synchronous=FULL")?;
            conn.execute_batch(SCHEMA)
                .ctx("creating the ledger schema")?;
            conn.execute_batch(super::sqlite_oracle::ORACLE_SCHEMA)
                .ctx("creating the oracle schema")?;
            Ok(conn)
        })
        .await??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic inside `f` rolls its transaction back on drop: the connection is reusable.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await?
    }
}

fn read_report(conn: &Connection, frame: u64) -> Result<Option<ReportEnvelope>> {
    let text: Option<String> = conn
        .query_row(
            "SELECT envelope FROM reports WHERE frame = ?1",
            params![to_i64(frame, "frame")?],
            |row| row.get(0),
        )
        .optional()
        .ctx("reading a report")?;
    text.as_deref().map(envelope_from_json).transpose()
}

#[async_trait]
impl LedgerStore for SqliteLedgerStore {
    async fn store_epoch(&self, ledger: &EpochLedger) -> Result<StoreOutcome> {
        let blob = encode_records(ledger);
        let digest = alloy_primitives::keccak256(&blob);
        let summary = ledger.summary();
        let epoch = ledger.epoch;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting an epoch write")?;
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT digest FROM ledger_epochs WHERE epoch = ?1",
                    params![to_i64(epoch.as_u64(), "epoch")?],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading an epoch digest")?;
            if let Some(stored) = stored {
                let stored = hash_from(&stored, "epoch digest")?;
                return if stored == digest {
                    Ok(StoreOutcome::Unchanged)
                } else {
                    Err(Error::LedgerConflict { epoch, stored, new: digest })
                };
            }
            tx.execute(
                "INSERT INTO ledger_epochs (epoch, digest, validators, cl_income, newly_slashed, unexplained, records) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    to_i64(epoch.as_u64(), "epoch")?,
                    digest.as_slice(),
                    to_i64(summary.validators, "validators")?,
                    summary.cl_income,
                    to_i64(summary.newly_slashed, "newly slashed")?,
                    summary.unexplained,
                    blob
                ],
            )
            .ctx("inserting an epoch")?;
            tx.commit().ctx("committing an epoch")?;
            Ok(StoreOutcome::Inserted)
        })
        .await
    }

    async fn epoch(&self, epoch: Epoch) -> Result<Option<EpochLedger>> {
        self.run(move |conn| {
            let blob: Option<Option<Vec<u8>>> = conn
                .query_row(
                    "SELECT records FROM ledger_epochs WHERE epoch = ?1",
                    params![to_i64(epoch.as_u64(), "epoch")?],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading an epoch")?;
            match blob {
                None => Ok(None),
                Some(None) => Err(Error::Pruned(epoch)),
                Some(Some(blob)) => decode_records(&blob).map(Some),
            }
        })
        .await
    }

    async fn prune_records_before(&self, before: Epoch) -> Result<u64> {
        self.run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE ledger_epochs SET records = NULL WHERE epoch < ?1 AND records IS NOT NULL",
                    params![to_i64(before.as_u64(), "epoch")?],
                )
                .ctx("pruning records")?;
            Ok(n as u64)
        })
        .await
    }

    async fn epoch_summaries(&self, from: Epoch, to: Epoch) -> Result<Vec<EpochSummary>> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT epoch, validators, cl_income, newly_slashed, unexplained FROM ledger_epochs WHERE epoch BETWEEN ?1 AND ?2 ORDER BY epoch")
                .ctx("preparing the summary query")?;
            let rows = stmt
                .query_map(
                    params![to_i64(from.as_u64(), "epoch")?, to_i64(to.as_u64(), "epoch")?],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?, row.get::<_, i64>(4)?)),
                )
                .ctx("reading summaries")?;
            let mut out = Vec::new();
            for row in rows {
                let (epoch, validators, cl_income, newly_slashed, unexplained) = row.ctx("reading a summary")?;
                out.push(EpochSummary {
                    epoch: Epoch(from_i64(epoch, "epoch")?),
                    validators: from_i64(validators, "validator count")?,
                    cl_income,
                    newly_slashed: from_i64(newly_slashed, "slashed count")?,
                    unexplained,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn missing_epochs(
        &self,
        from: Epoch,
        finalized_checkpoint_epoch: Epoch,
    ) -> Result<Vec<Epoch>> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT epoch FROM ledger_epochs WHERE epoch >= ?1 ORDER BY epoch")
                .ctx("preparing the epoch query")?;
            let stored = stmt
                .query_map(params![to_i64(from.as_u64(), "epoch")?], |row| {
                    row.get::<_, i64>(0)
                })
                .ctx("listing epochs")?
                .map(|r| {
                    r.ctx("reading an epoch number")
                        .and_then(|v| from_i64(v, "epoch"))
                })
                .collect::<Result<Vec<u64>>>()?;
            Ok(missing_between(from, finalized_checkpoint_epoch, &stored))
        })
        .await
    }

    async fn ensure_snapshot(&self, snapshot: &FrameSnapshot) -> Result<FrameSnapshot> {
        let json = snapshot_json(snapshot)?;
        let root = snapshot.root()?;
        let frame = snapshot.frame;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a snapshot write")?;
            let stored: Option<String> = tx
                .query_row(
                    "SELECT snapshot FROM frame_snapshots WHERE frame = ?1",
                    params![to_i64(frame, "frame")?],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a snapshot")?;
            if let Some(stored) = stored {
                return snapshot_from_json(&stored);
            }
            tx.execute(
                "INSERT INTO frame_snapshots (frame, root, snapshot) VALUES (?1, ?2, ?3)",
                params![to_i64(frame, "frame")?, root.as_slice(), json],
            )
            .ctx("inserting a snapshot")?;
            tx.commit().ctx("committing a snapshot")?;
            snapshot_from_json(&json)
        })
        .await
    }

    async fn snapshot(&self, frame: u64) -> Result<Option<FrameSnapshot>> {
        self.run(move |conn| {
            let stored: Option<String> = conn
                .query_row(
                    "SELECT snapshot FROM frame_snapshots WHERE frame = ?1",
                    params![to_i64(frame, "frame")?],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a snapshot")?;
            stored.as_deref().map(snapshot_from_json).transpose()
        })
        .await
    }

    async fn ensure_frame_parameters(
        &self,
        parameters: &FrameParameters,
    ) -> Result<FrameParameters> {
        let json = parameters_json(parameters)?;
        let frame = to_i64(parameters.frame, "frame")?;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a frame parameters write")?;
            let stored: Option<String> = tx
                .query_row(
                    "SELECT parameters FROM frame_parameters WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading frame parameters")?;
            if let Some(stored) = stored {
                return parameters_from_json(&stored);
            }
            tx.execute(
                "INSERT INTO frame_parameters (frame, parameters) VALUES (?1, ?2)",
                params![frame, json],
            )
            .ctx("inserting frame parameters")?;
            tx.commit().ctx("committing frame parameters")?;
            parameters_from_json(&json)
        })
        .await
    }

    async fn frame_parameters(&self, frame: u64) -> Result<Option<FrameParameters>> {
        self.run(move |conn| {
            let stored: Option<String> = conn
                .query_row(
                    "SELECT parameters FROM frame_parameters WHERE frame = ?1",
                    params![to_i64(frame, "frame")?],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading frame parameters")?;
            stored.as_deref().map(parameters_from_json).transpose()
        })
        .await
    }

    async fn snapshot_frames(&self) -> Result<Option<(u64, u64)>> {
        self.run(move |conn| {
            let (low, high): (Option<i64>, Option<i64>) = conn
                .query_row(
                    "SELECT MIN(frame), MAX(frame) FROM frame_snapshots",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .ctx("reading the snapshot frames")?;
            Ok(match (low, high) {
                (Some(low), Some(high)) => {
                    Some((from_i64(low, "frame")?, from_i64(high, "frame")?))
                }
                _ => None,
            })
        })
        .await
    }

    async fn store_report(&self, envelope: &ReportEnvelope) -> Result<StoreOutcome> {
        let envelope = envelope.clone();
        let json = envelope_json(&envelope)?;
        let ssz = envelope.report.to_ssz()?;
        let report_json = crate::canonical::to_canonical_json(&envelope.report)?;
        self.run(move |conn| {
            let frame = to_i64(envelope.report.frame, "frame")?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a report write")?;
            let stored = read_report(&tx, envelope.report.frame)?;
            let outcome = match plan_report_write(stored.as_ref(), &envelope)? {
                ReportWrite::Unchanged => return Ok(StoreOutcome::Unchanged),
                ReportWrite::Insert => {
                    tx.execute(
                        "INSERT INTO reports (frame, root, status, envelope, report_json, ssz) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![frame, envelope.root.as_slice(), envelope.status.as_str(), json, report_json, ssz],
                    )
                    .ctx("inserting a report")?;
                    StoreOutcome::Inserted
                }
                ReportWrite::AddSignature => {
                    tx.execute("UPDATE reports SET envelope = ?2 WHERE frame = ?1", params![frame, json])
                        .ctx("adding a report signature")?;
                    StoreOutcome::Signed
                }
            };
            tx.commit().ctx("committing a report")?;
            Ok(outcome)
        })
        .await
    }

    async fn report(&self, frame: u64) -> Result<Option<ReportEnvelope>> {
        self.run(move |conn| read_report(conn, frame)).await
    }

    async fn latest_final_report(&self) -> Result<Option<ReportEnvelope>> {
        self.run(move |conn| {
            let text: Option<String> = conn
                .query_row("SELECT envelope FROM reports WHERE status = 'final' ORDER BY frame DESC LIMIT 1", [], |row| row.get(0))
                .optional()
                .ctx("reading the latest final report")?;
            text.as_deref().map(envelope_from_json).transpose()
        })
        .await
    }

    async fn reports(
        &self,
        from: u64,
        to: u64,
        order: ReportOrder,
        limit: u64,
    ) -> Result<Vec<ReportEnvelope>> {
        let sql = match order {
            ReportOrder::Ascending => {
                "SELECT envelope FROM reports WHERE frame BETWEEN ?1 AND ?2 ORDER BY frame ASC LIMIT ?3"
            }
            ReportOrder::Descending => {
                "SELECT envelope FROM reports WHERE frame BETWEEN ?1 AND ?2 ORDER BY frame DESC LIMIT ?3"
            }
        };
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(sql)
                .ctx("preparing the report listing")?;
            let rows = stmt
                .query_map(
                    params![clamp_i64(from), clamp_i64(to), clamp_i64(limit)],
                    |row| row.get::<_, String>(0),
                )
                .ctx("listing reports")?;
            let mut out = Vec::new();
            for row in rows {
                out.push(envelope_from_json(&row.ctx("reading a listed report")?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn report_by_root(&self, root: Hash256) -> Result<Option<ReportEnvelope>> {
        self.run(move |conn| {
            let text: Option<String> = conn
                .query_row(
                    "SELECT envelope FROM reports WHERE root = ?1",
                    params![root.as_slice()],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a report by root")?;
            text.as_deref().map(envelope_from_json).transpose()
        })
        .await
    }

    async fn validator_epochs(
        &self,
        validator_index: u64,
        from: Epoch,
        to: Epoch,
        limit: u64,
    ) -> Result<Vec<ValidatorEpochRow>> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT epoch, records FROM ledger_epochs WHERE epoch BETWEEN ?1 AND ?2 ORDER BY epoch LIMIT ?3")
                .ctx("preparing the validator ledger query")?;
            let mut rows = stmt
                .query(params![clamp_i64(from.as_u64()), clamp_i64(to.as_u64()), clamp_i64(limit)])
                .ctx("reading a validator's ledger")?;
            let mut out = Vec::new();
            // Rows are read one at a time so only one epoch's records are in memory.
            while let Some(row) = rows.next().ctx("reading a ledger epoch")? {
                let epoch = Epoch(from_i64(row.get(0).ctx("reading an epoch number")?, "epoch")?);
                let records = row
                    .get_ref(1)
                    .ctx("reading an epoch's records")?
                    .as_blob_or_null()
                    .map_err(|e| Error::Corrupt(format!("records of epoch {epoch}: {e}")))?;
                out.push(ValidatorEpochRow {
                    epoch,
                    entry: entry_of(records, validator_index)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn record_el_value(&self, value: &ElBlockValue) -> Result<StoreOutcome> {
        let value = value.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting an EL value write")?;
            let stored: Option<(i64, i64, String)> = tx
                .query_row(
                    "SELECT slot, proposer_index, value_wei FROM el_block_values WHERE block_root = ?1",
                    params![value.block_root.as_slice()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .ctx("reading an EL value")?;
            let slot = to_i64(value.slot.as_u64(), "slot")?;
            let proposer = to_i64(value.proposer_index, "proposer index")?;
            let wei = value.value_wei.to_string();
            if let Some(stored) = stored {
                return if stored == (slot, proposer, wei) {
                    Ok(StoreOutcome::Unchanged)
                } else {
                    Err(Error::Conflict { what: format!("EL value of block {}", value.block_root) })
                };
            }
            tx.execute(
                "INSERT INTO el_block_values (block_root, slot, proposer_index, value_wei) VALUES (?1, ?2, ?3, ?4)",
                params![value.block_root.as_slice(), slot, proposer, wei],
            )
            .ctx("inserting an EL value")?;
            tx.commit().ctx("committing an EL value")?;
            Ok(StoreOutcome::Inserted)
        })
        .await
    }

    async fn el_values(&self, from: Slot, to: Slot) -> Result<Vec<ElBlockValue>> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT block_root, slot, proposer_index, value_wei FROM el_block_values WHERE slot BETWEEN ?1 AND ?2 ORDER BY slot, block_root")
                .ctx("preparing the EL value query")?;
            let rows = stmt
                .query_map(params![to_i64(from.as_u64(), "slot")?, to_i64(to.as_u64(), "slot")?], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, row.get::<_, String>(3)?))
                })
                .ctx("reading EL values")?;
            let mut out = Vec::new();
            for row in rows {
                let (root, slot, proposer, wei) = row.ctx("reading an EL value")?;
                out.push(ElBlockValue {
                    slot: Slot(from_i64(slot, "slot")?),
                    block_root: hash_from(&root, "block root")?,
                    proposer_index: from_i64(proposer, "proposer index")?,
                    value_wei: types::U256::from_str_radix(&wei, 10)
                        .map_err(|e| Error::Corrupt(format!("EL value {wei:?}: {e}")))?,
                });
            }
            Ok(out)
        })
        .await
    }
}
