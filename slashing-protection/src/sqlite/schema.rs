//! SQLite connection setup and schema migrations.
//!
//! Invariants: the database runs in WAL mode with `synchronous=FULL`, so a committed
//! transaction survives power loss; migrations run in one `BEGIN IMMEDIATE` transaction and
//! are recorded in `schema_migrations`; the genesis validators root is written once, at
//! creation, and every later open must present the same root.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use types::Hash256;

use crate::error::{Context, Error, Result};

/// Every schema version, in order. Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: watermark rows and bounded history.
    "CREATE TABLE metadata (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         genesis_validators_root BLOB NOT NULL CHECK (length(genesis_validators_root) = 32)
     );
     CREATE TABLE validators (
         id INTEGER PRIMARY KEY,
         pubkey BLOB NOT NULL UNIQUE CHECK (length(pubkey) = 48),
         block_low INTEGER CHECK (block_low >= 0),
         att_source_low INTEGER CHECK (att_source_low >= 0),
         att_target_low INTEGER CHECK (att_target_low >= 0),
         last_block_slot INTEGER CHECK (last_block_slot >= 0),
         last_block_root BLOB CHECK (last_block_root IS NULL OR length(last_block_root) = 32),
         last_att_source INTEGER CHECK (last_att_source >= 0),
         last_att_target INTEGER CHECK (last_att_target >= 0),
         last_att_root BLOB CHECK (last_att_root IS NULL OR length(last_att_root) = 32),
         CHECK ((att_source_low IS NULL) = (att_target_low IS NULL)),
         CHECK ((last_att_source IS NULL) = (last_att_target IS NULL))
     );
     -- History is clustered by time, not by validator: a batch's rows share one epoch, so they
     -- append at the right edge of the B-tree and touch a handful of pages whatever the
     -- history size, and pruning removes a contiguous range at the left edge.
     CREATE TABLE signed_blocks (
         slot INTEGER NOT NULL,
         validator_id INTEGER NOT NULL REFERENCES validators (id),
         signing_root BLOB,
         PRIMARY KEY (slot, validator_id)
     ) WITHOUT ROWID;
     CREATE TABLE signed_attestations (
         target_epoch INTEGER NOT NULL,
         validator_id INTEGER NOT NULL REFERENCES validators (id),
         source_epoch INTEGER NOT NULL,
         signing_root BLOB,
         PRIMARY KEY (target_epoch, validator_id)
     ) WITHOUT ROWID;",
];

/// The newest schema version this build knows.
pub(super) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed) and migrates the database, binding it to `gvr`.
pub(super) fn open(path: &Path, gvr: Hash256, busy_timeout: Duration) -> Result<Connection> {
    let mut conn = Connection::open(path).ctx("opening the database file")?;
    conn.busy_timeout(busy_timeout)
        .ctx("setting the busy timeout")?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .ctx("enabling WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!(
            "{} refused WAL journal mode (got {mode})",
            path.display()
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .ctx("setting durability pragmas")?;
    // Room for every statement of the hot paths and of import/export.
    conn.set_prepared_statement_cache_capacity(64);
    migrate(&mut conn, path, gvr)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path, gvr: Hash256) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting the migration transaction")?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         );",
    )
    .ctx("creating schema_migrations")?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .ctx("reading the schema version")?;
    if current > LATEST_VERSION {
        return Err(Error::UnsupportedSchemaVersion {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS.iter())
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.execute_batch(sql).ctx("applying a schema migration")?;
        tracing::info!(version, path = %path.display(), "applied slashing protection schema migration");
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
            params![version],
        )
        .ctx("recording a schema migration")?;
    }
    let stored: Option<Vec<u8>> = tx
        .query_row(
            "SELECT genesis_validators_root FROM metadata WHERE id = 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .ctx("reading the genesis validators root")?;
    match stored {
        None => {
            tx.execute(
                "INSERT INTO metadata (id, genesis_validators_root) VALUES (1, ?1)",
                params![gvr.as_slice()],
            )
            .ctx("storing the genesis validators root")?;
            tracing::info!(genesis_validators_root = %gvr, path = %path.display(), "created slashing protection database");
        }
        Some(bytes) => {
            let stored = crate::row::root_from_db(Some(bytes), "genesis_validators_root")?
                .unwrap_or_default();
            if stored != gvr {
                return Err(Error::GenesisValidatorsRootMismatch {
                    stored,
                    provided: gvr,
                });
            }
        }
    }
    tx.commit().ctx("committing migrations")
}
