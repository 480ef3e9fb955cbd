//! The SQLite operations, run synchronously on the store's connection (inside
//! `spawn_blocking`). Every write path is one `BEGIN IMMEDIATE` transaction: the write lock is
//! taken before the rows are read, so a check and its record are atomic even against another
//! process opening the same file.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use types::{Epoch, PublicKeyBytes, Slot};

use crate::error::{Context, Error, Result};
use crate::interchange::{Interchange, InterchangeData, export_entry, minify};
use crate::model::{
    AttestationRecord, AttestationRequest, BlockRecord, BlockRequest, CheckResult, Checkable,
    ValidatorState, known_root, plan_batch,
};
use crate::row::{STATE_COLUMNS, StateRow, from_db, root_from_db, root_to_db, to_db};
use crate::{ExportScope, ImportSummary, PruneSummary, PruneWindow};

fn immediate(conn: &mut Connection) -> Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting a write transaction")
}

fn state_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<StateRow> {
    Ok(StateRow {
        block_low: row.get(first)?,
        att_source_low: row.get(first + 1)?,
        att_target_low: row.get(first + 2)?,
        last_block_slot: row.get(first + 3)?,
        last_block_root: row.get(first + 4)?,
        last_att_source: row.get(first + 5)?,
        last_att_target: row.get(first + 6)?,
        last_att_root: row.get(first + 7)?,
    })
}

static SELECT_STATE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT id, {STATE_COLUMNS} FROM validators WHERE pubkey = ?1"));

/// Loads one validator's row id and state.
fn load(tx: &Transaction<'_>, pubkey: &PublicKeyBytes) -> Result<Option<(i64, ValidatorState)>> {
    let found = tx
        .prepare_cached(&SELECT_STATE)
        .ctx("preparing the state query")?
        .query_row(params![pubkey.as_slice()], |row| {
            Ok((row.get::<_, i64>(0)?, state_row(row, 1)?))
        })
        .optional()
        .ctx("loading a validator")?;
    found.map(|(id, row)| Ok((id, row.to_state()?))).transpose()
}

fn store(tx: &Transaction<'_>, id: i64, state: &ValidatorState) -> Result<()> {
    let r = StateRow::from_state(state)?;
    tx.prepare_cached(
        "UPDATE validators SET block_low = ?2, att_source_low = ?3, att_target_low = ?4,
             last_block_slot = ?5, last_block_root = ?6, last_att_source = ?7,
             last_att_target = ?8, last_att_root = ?9
         WHERE id = ?1",
    )
    .ctx("preparing the state update")?
    .execute(params![
        id,
        r.block_low,
        r.att_source_low,
        r.att_target_low,
        r.last_block_slot,
        r.last_block_root,
        r.last_att_source,
        r.last_att_target,
        r.last_att_root
    ])
    .ctx("updating a validator")?;
    Ok(())
}

fn register_in(tx: &Transaction<'_>, pubkeys: &[PublicKeyBytes]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO validators (pubkey) VALUES (?1) ON CONFLICT (pubkey) DO NOTHING",
        )
        .ctx("preparing registration")?;
    for pubkey in pubkeys {
        stmt.execute(params![pubkey.as_slice()])
            .ctx("registering a validator")?;
    }
    Ok(())
}

pub(super) fn register(conn: &mut Connection, pubkeys: &[PublicKeyBytes]) -> Result<()> {
    let tx = immediate(conn)?;
    register_in(&tx, pubkeys)?;
    tx.commit().ctx("committing registration")
}

/// Loads the batch's validators, plans it, writes the changed rows and the new history, and
/// commits (durably: WAL + `synchronous=FULL`) before returning.
fn run_batch<R: Checkable>(
    conn: &mut Connection,
    requests: &[R],
    insert_history: impl Fn(&Transaction<'_>, i64, &R) -> Result<()>,
) -> Result<Vec<CheckResult>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let tx = immediate(conn)?;
    let mut states = HashMap::new();
    let mut unknown = HashSet::new();
    for request in requests {
        let pubkey = request.pubkey();
        if states.contains_key(&pubkey) || unknown.contains(&pubkey) {
            continue;
        }
        match load(&tx, &pubkey)? {
            Some((id, state)) => {
                states.insert(pubkey, (id, state, false));
            }
            None => {
                unknown.insert(pubkey);
            }
        }
    }
    let plan = plan_batch(requests, states);
    for (id, state) in &plan.changed {
        store(&tx, *id, state)?;
    }
    for (id, index) in &plan.recorded {
        insert_history(&tx, *id, &requests[*index])?;
    }
    tx.commit().ctx("committing signed messages")?;
    Ok(plan.results)
}

pub(super) fn check_blocks(
    conn: &mut Connection,
    requests: &[BlockRequest],
) -> Result<Vec<CheckResult>> {
    run_batch(conn, requests, |tx, id, r| {
        tx.prepare_cached(
            "INSERT INTO signed_blocks (validator_id, slot, signing_root) VALUES (?1, ?2, ?3)",
        )
        .ctx("preparing the block insert")?
        .execute(params![
            id,
            to_db(r.slot.as_u64())?,
            root_to_db(known_root(r.signing_root))
        ])
        .ctx("recording a block")?;
        Ok(())
    })
}

pub(super) fn check_attestations(
    conn: &mut Connection,
    requests: &[AttestationRequest],
) -> Result<Vec<CheckResult>> {
    run_batch(conn, requests, |tx, id, r| {
        tx.prepare_cached(
            "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .ctx("preparing the attestation insert")?
        .execute(params![
            id,
            to_db(r.source.as_u64())?,
            to_db(r.target.as_u64())?,
            root_to_db(known_root(r.signing_root))
        ])
        .ctx("recording an attestation")?;
        Ok(())
    })
}

pub(super) fn import(conn: &mut Connection, interchange: &Interchange) -> Result<ImportSummary> {
    let marks = minify(interchange);
    let tx = immediate(conn)?;
    for (pubkey, imported) in &marks {
        register_in(&tx, std::slice::from_ref(pubkey))?;
        let (id, mut state) = load(&tx, pubkey)?
            .ok_or_else(|| Error::Corrupt(format!("validator {pubkey} vanished during import")))?;
        state.merge_import(imported);
        store(&tx, id, &state)?;
    }
    tx.commit().ctx("committing the import")?;
    tracing::info!(
        validators = marks.len(),
        "imported slashing protection interchange"
    );
    Ok(ImportSummary::of(interchange, marks.len()))
}

type History = (
    HashMap<i64, Vec<BlockRecord>>,
    HashMap<i64, Vec<AttestationRecord>>,
);

/// The retained history of the validators in `ids`, in one pass over each table (history is
/// clustered by time and window-bounded, so a scan is the cheap way to read it).
fn history(tx: &Transaction<'_>, ids: &HashSet<i64>) -> Result<History> {
    let mut blocks: HashMap<i64, Vec<BlockRecord>> = HashMap::new();
    let mut stmt = tx
        .prepare_cached("SELECT validator_id, slot, signing_root FROM signed_blocks")
        .ctx("preparing the block history query")?;
    let mut rows = stmt.query([]).ctx("reading block history")?;
    while let Some(row) = rows.next().ctx("reading block history")? {
        let id: i64 = row.get(0).ctx("reading a validator id")?;
        if ids.contains(&id) {
            blocks.entry(id).or_default().push(BlockRecord {
                slot: Slot(from_db(row.get(1).ctx("reading a slot")?, "slot")?),
                signing_root: root_from_db(
                    row.get(2).ctx("reading a root")?,
                    "block signing_root",
                )?,
            });
        }
    }
    let mut attestations: HashMap<i64, Vec<AttestationRecord>> = HashMap::new();
    let mut stmt = tx
        .prepare_cached(
            "SELECT validator_id, source_epoch, target_epoch, signing_root FROM signed_attestations",
        )
        .ctx("preparing the attestation history query")?;
    let mut rows = stmt.query([]).ctx("reading attestation history")?;
    while let Some(row) = rows.next().ctx("reading attestation history")? {
        let id: i64 = row.get(0).ctx("reading a validator id")?;
        if ids.contains(&id) {
            attestations.entry(id).or_default().push(AttestationRecord {
                source: Epoch(from_db(
                    row.get(1).ctx("reading a source")?,
                    "source_epoch",
                )?),
                target: Epoch(from_db(
                    row.get(2).ctx("reading a target")?,
                    "target_epoch",
                )?),
                signing_root: root_from_db(
                    row.get(3).ctx("reading a root")?,
                    "attestation signing_root",
                )?,
            });
        }
    }
    Ok((blocks, attestations))
}

pub(super) fn export(
    conn: &mut Connection,
    scope: ExportScope<'_>,
) -> Result<Vec<InterchangeData>> {
    // A deferred read transaction: one consistent snapshot for the whole export.
    let tx = conn.transaction().ctx("starting the export transaction")?;
    let mut validators = Vec::new();
    match scope {
        ExportScope::All => {
            let sql = format!("SELECT id, pubkey, {STATE_COLUMNS} FROM validators ORDER BY id");
            let mut stmt = tx.prepare(&sql).ctx("preparing the export query")?;
            let mut rows = stmt.query([]).ctx("listing validators")?;
            while let Some(row) = rows.next().ctx("listing validators")? {
                let id: i64 = row.get(0).ctx("reading an id")?;
                let pubkey: Vec<u8> = row.get(1).ctx("reading a pubkey")?;
                let pubkey = <[u8; 48]>::try_from(pubkey.as_slice())
                    .map(PublicKeyBytes::from)
                    .map_err(|_| {
                        Error::Corrupt(format!("pubkey of validator id {id} is not 48 bytes"))
                    })?;
                let state = state_row(row, 2).ctx("reading a state")?.to_state()?;
                validators.push((id, pubkey, state));
            }
        }
        ExportScope::Only(pubkeys) => {
            for pubkey in pubkeys {
                let (id, state) = load(&tx, pubkey)?.ok_or(Error::UnknownValidator(*pubkey))?;
                validators.push((id, *pubkey, state));
            }
        }
    }
    let ids = validators.iter().map(|(id, _, _)| *id).collect();
    let (mut blocks, mut attestations) = history(&tx, &ids)?;
    Ok(validators
        .into_iter()
        .map(|(id, pubkey, state)| {
            export_entry(
                pubkey,
                &state,
                blocks.remove(&id).unwrap_or_default(),
                attestations.remove(&id).unwrap_or_default(),
            )
        })
        .collect())
}

pub(super) fn validator_state(
    conn: &mut Connection,
    pubkey: &PublicKeyBytes,
) -> Result<Option<ValidatorState>> {
    let tx = conn.transaction().ctx("starting a read transaction")?;
    Ok(load(&tx, pubkey)?.map(|(_, state)| state))
}

/// Attestation rows deleted per pruning transaction (about): keeps the write lock short so a
/// large first prune never delays signing by more than a few milliseconds at a time.
const PRUNE_ROWS_PER_TRANSACTION: i64 = 20_000;

/// One bounded pruning transaction. Returns what it deleted and whether more remains.
///
/// The window is relative to the newest message any validator signed; history is clustered by
/// time, so each step deletes a contiguous range at the left edge of the tables.
pub(super) fn prune_step(
    conn: &mut Connection,
    window: PruneWindow,
) -> Result<(PruneSummary, bool)> {
    let keep_epochs = i64::try_from(window.epochs).unwrap_or(i64::MAX);
    let keep_slots =
        i64::try_from(window.epochs.saturating_mul(window.slots_per_epoch)).unwrap_or(i64::MAX);
    let tx = immediate(conn)?;
    let (newest_slot, newest_target, validators): (Option<i64>, Option<i64>, i64) = tx
        .query_row(
            "SELECT max(last_block_slot), max(last_att_target), count(*) FROM validators",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .ctx("reading the newest signed messages")?;
    let mut summary = PruneSummary::default();
    if let Some(newest) = newest_slot {
        summary.blocks = tx
            .prepare_cached("DELETE FROM signed_blocks WHERE slot < ?1")
            .ctx("preparing block pruning")?
            .execute(params![newest.saturating_sub(keep_slots)])
            .ctx("pruning blocks")? as u64;
    }
    let mut more = false;
    if let Some(newest) = newest_target {
        let cutoff = newest.saturating_sub(keep_epochs);
        let oldest: Option<i64> = tx
            .query_row(
                "SELECT min(target_epoch) FROM signed_attestations",
                [],
                |row| row.get(0),
            )
            .ctx("reading the oldest attestation")?;
        if let Some(oldest) = oldest.filter(|&oldest| oldest < cutoff) {
            let step = (PRUNE_ROWS_PER_TRANSACTION / validators.max(1)).max(1);
            let bound = cutoff.min(oldest.saturating_add(step));
            summary.attestations = tx
                .prepare_cached("DELETE FROM signed_attestations WHERE target_epoch < ?1")
                .ctx("preparing attestation pruning")?
                .execute(params![bound])
                .ctx("pruning attestations")? as u64;
            more = bound < cutoff;
        }
    }
    tx.commit().ctx("committing pruning")?;
    Ok((summary, more))
}

/// `PRAGMA integrity_check`: `Ok(())` when the file is sound, else the reported problems.
pub(super) fn integrity_check(conn: &mut Connection) -> Result<()> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .ctx("preparing the integrity check")?;
    let lines: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .ctx("running the integrity check")?
        .collect::<rusqlite::Result<_>>()
        .ctx("running the integrity check")?;
    if lines == ["ok"] {
        Ok(())
    } else {
        Err(Error::Corrupt(format!(
            "integrity_check: {}",
            lines.join("; ")
        )))
    }
}
