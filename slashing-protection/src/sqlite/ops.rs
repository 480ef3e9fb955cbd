//! The SQLite operations, run synchronously on the store's connection (inside
//! `spawn_blocking`). Every write path is one `BEGIN IMMEDIATE` transaction: the write lock is
//! taken before the rows are read, so a check and its record are atomic even against another
//! process opening the same file.

use std::collections::HashMap;

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

/// Loads one validator's row id and state.
fn load(tx: &Transaction<'_>, pubkey: &PublicKeyBytes) -> Result<Option<(i64, ValidatorState)>> {
    let sql = format!("SELECT id, {STATE_COLUMNS} FROM validators WHERE pubkey = ?1");
    let found = tx
        .prepare_cached(&sql)
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
    let tx = immediate(conn)?;
    let mut states = HashMap::new();
    let mut unknown = std::collections::HashSet::new();
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
    Ok(ImportSummary::of(interchange, marks.len()))
}

fn history(tx: &Transaction<'_>, id: i64) -> Result<(Vec<BlockRecord>, Vec<AttestationRecord>)> {
    let mut blocks = Vec::new();
    let mut stmt = tx
        .prepare_cached("SELECT slot, signing_root FROM signed_blocks WHERE validator_id = ?1")
        .ctx("preparing the block history query")?;
    let mut rows = stmt.query(params![id]).ctx("reading block history")?;
    while let Some(row) = rows.next().ctx("reading block history")? {
        blocks.push(BlockRecord {
            slot: Slot(from_db(row.get(0).ctx("reading a slot")?, "slot")?),
            signing_root: root_from_db(row.get(1).ctx("reading a root")?, "block signing_root")?,
        });
    }
    let mut attestations = Vec::new();
    let mut stmt = tx
        .prepare_cached(
            "SELECT source_epoch, target_epoch, signing_root FROM signed_attestations
             WHERE validator_id = ?1",
        )
        .ctx("preparing the attestation history query")?;
    let mut rows = stmt.query(params![id]).ctx("reading attestation history")?;
    while let Some(row) = rows.next().ctx("reading attestation history")? {
        attestations.push(AttestationRecord {
            source: Epoch(from_db(
                row.get(0).ctx("reading a source")?,
                "source_epoch",
            )?),
            target: Epoch(from_db(
                row.get(1).ctx("reading a target")?,
                "target_epoch",
            )?),
            signing_root: root_from_db(
                row.get(2).ctx("reading a root")?,
                "attestation signing_root",
            )?,
        });
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
    let mut data = Vec::with_capacity(validators.len());
    for (id, pubkey, state) in validators {
        let (blocks, attestations) = history(&tx, id)?;
        data.push(export_entry(pubkey, &state, blocks, attestations));
    }
    Ok(data)
}

pub(super) fn validator_state(
    conn: &mut Connection,
    pubkey: &PublicKeyBytes,
) -> Result<Option<ValidatorState>> {
    let tx = conn.transaction().ctx("starting a read transaction")?;
    Ok(load(&tx, pubkey)?.map(|(_, state)| state))
}

/// Validators pruned per transaction (and per hold of the connection): keeps the write lock
/// short so signing is never starved by a large prune.
pub(super) const PRUNE_CHUNK: usize = 256;

/// A validator's latest block slot and attestation target, the bases of its prune window.
pub(super) type PruneBase = (i64, Option<i64>, Option<i64>);

pub(super) fn prune_scan(conn: &mut Connection) -> Result<Vec<PruneBase>> {
    let mut stmt = conn
        .prepare("SELECT id, last_block_slot, last_att_target FROM validators ORDER BY id")
        .ctx("preparing the prune scan")?;
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .ctx("listing validators to prune")?;
    rows.collect::<rusqlite::Result<_>>()
        .ctx("listing validators to prune")
}

pub(super) fn prune_chunk(
    conn: &mut Connection,
    chunk: &[PruneBase],
    window: PruneWindow,
) -> Result<PruneSummary> {
    let keep_epochs = i64::try_from(window.epochs).unwrap_or(i64::MAX);
    let keep_slots =
        i64::try_from(window.epochs.saturating_mul(window.slots_per_epoch)).unwrap_or(i64::MAX);
    let mut summary = PruneSummary::default();
    let tx = immediate(conn)?;
    for &(id, last_slot, last_target) in chunk {
        // The bound comes from the latest record, which itself is never deleted
        // (`slot < last - keep` is false for `slot == last`). The latest values in the row are
        // only ever raised, so a stale scan prunes less, never more.
        if let Some(last) = last_slot {
            let deleted = tx
                .prepare_cached("DELETE FROM signed_blocks WHERE validator_id = ?1 AND slot < ?2")
                .ctx("preparing block pruning")?
                .execute(params![id, last.saturating_sub(keep_slots)])
                .ctx("pruning blocks")?;
            summary.blocks += deleted as u64;
        }
        if let Some(last) = last_target {
            let deleted = tx
                .prepare_cached(
                    "DELETE FROM signed_attestations WHERE validator_id = ?1 AND target_epoch < ?2",
                )
                .ctx("preparing attestation pruning")?
                .execute(params![id, last.saturating_sub(keep_epochs)])
                .ctx("pruning attestations")?;
            summary.attestations += deleted as u64;
        }
    }
    tx.commit().ctx("committing pruning")?;
    Ok(summary)
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
