//! PostgreSQL statements and migrations, qualified with the configured schema.
//!
//! Invariants: every table lives in one schema (several stores — or test runs — can share a
//! database in separate schemas); statements are built once per store and prepared once per
//! connection (statement cache); batch writes are set-based (`UNNEST` of arrays), so a batch
//! costs the same number of round trips whatever its size.

use crate::row::STATE_COLUMNS;

/// Every schema version, in order, with `{s}` standing for the quoted schema. Never edit a
/// released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: watermark rows and bounded history.
    "CREATE TABLE {s}.metadata (
         id smallint PRIMARY KEY CHECK (id = 1),
         genesis_validators_root bytea NOT NULL CHECK (length(genesis_validators_root) = 32)
     );
     CREATE TABLE {s}.validators (
         id bigserial PRIMARY KEY,
         pubkey bytea NOT NULL UNIQUE CHECK (length(pubkey) = 48),
         block_low bigint CHECK (block_low >= 0),
         att_source_low bigint CHECK (att_source_low >= 0),
         att_target_low bigint CHECK (att_target_low >= 0),
         last_block_slot bigint CHECK (last_block_slot >= 0),
         last_block_root bytea CHECK (length(last_block_root) = 32),
         last_att_source bigint CHECK (last_att_source >= 0),
         last_att_target bigint CHECK (last_att_target >= 0),
         last_att_root bytea CHECK (length(last_att_root) = 32),
         CHECK ((att_source_low IS NULL) = (att_target_low IS NULL)),
         CHECK ((last_att_source IS NULL) = (last_att_target IS NULL))
     );
     -- History is clustered by time (primary key first on the epoch/slot): a batch's rows
     -- append at the right edge of the index whatever the history size, and pruning removes
     -- the left edge. No foreign key to validators: its per-row trigger would double the
     -- insert cost, and validator rows are never deleted.
     CREATE TABLE {s}.signed_blocks (
         slot bigint NOT NULL,
         validator_id bigint NOT NULL,
         signing_root bytea,
         PRIMARY KEY (slot, validator_id)
     );
     CREATE TABLE {s}.signed_attestations (
         target_epoch bigint NOT NULL,
         validator_id bigint NOT NULL,
         source_epoch bigint NOT NULL,
         signing_root bytea,
         PRIMARY KEY (target_epoch, validator_id)
     );",
];

/// The newest schema version this build knows.
pub(super) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Key of the transaction-scoped advisory lock that serialises migrations across instances
/// (an arbitrary constant: "poolvc-sp" in ASCII).
pub(super) const MIGRATION_LOCK_KEY: i64 = 0x706f_6f6c_7663_7370;

/// A schema name accepted by [`Sql::new`]: lowercase identifier, at most 63 bytes.
pub(super) fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

/// The store's statements.
#[derive(Debug)]
pub(super) struct Sql {
    pub create_schema: String,
    pub migrations: Vec<String>,
    pub current_version: String,
    pub record_version: String,
    pub read_gvr: String,
    pub write_gvr: String,
    pub register: String,
    pub lock_validators: String,
    pub select_state: String,
    pub select_all: String,
    pub select_some: String,
    pub update_states: String,
    pub insert_blocks: String,
    pub insert_attestations: String,
    pub block_history: String,
    pub attestation_history: String,
    pub prune_blocks: String,
    pub prune_attestations: String,
}

impl Sql {
    pub(super) fn new(schema: &str) -> Self {
        let s = format!("\"{schema}\"");
        Self {
            create_schema: format!(
                "CREATE SCHEMA IF NOT EXISTS {s};
                 CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
                     version integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 );"
            ),
            migrations: MIGRATIONS.iter().map(|m| m.replace("{s}", &s)).collect(),
            current_version: format!(
                "SELECT COALESCE(MAX(version), 0)::bigint FROM {s}.schema_migrations"
            ),
            record_version: format!("INSERT INTO {s}.schema_migrations (version) VALUES ($1)"),
            read_gvr: format!("SELECT genesis_validators_root FROM {s}.metadata WHERE id = 1"),
            write_gvr: format!(
                "INSERT INTO {s}.metadata (id, genesis_validators_root) VALUES (1, $1)"
            ),
            // Callers sort the keys: concurrent registrations then wait on each other's
            // uncommitted inserts in the same order and cannot deadlock.
            register: format!(
                "INSERT INTO {s}.validators (pubkey) SELECT k FROM UNNEST($1::bytea[]) AS k
                 ON CONFLICT (pubkey) DO NOTHING"
            ),
            // The row locks are taken in id order (LockRows runs above the sort), the same order
            // in every transaction, so concurrent batches serialise without deadlocks.
            lock_validators: format!(
                "SELECT id, pubkey, {STATE_COLUMNS} FROM {s}.validators
                 WHERE pubkey = ANY($1::bytea[]) ORDER BY id FOR UPDATE"
            ),
            select_state: format!("SELECT {STATE_COLUMNS} FROM {s}.validators WHERE pubkey = $1"),
            select_all: format!(
                "SELECT id, pubkey, {STATE_COLUMNS} FROM {s}.validators ORDER BY id"
            ),
            select_some: format!(
                "SELECT id, pubkey, {STATE_COLUMNS} FROM {s}.validators
                 WHERE pubkey = ANY($1::bytea[]) ORDER BY id"
            ),
            update_states: format!(
                "UPDATE {s}.validators AS v SET
                     block_low = u.block_low, att_source_low = u.att_source_low,
                     att_target_low = u.att_target_low, last_block_slot = u.last_block_slot,
                     last_block_root = u.last_block_root, last_att_source = u.last_att_source,
                     last_att_target = u.last_att_target, last_att_root = u.last_att_root
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                             $5::bigint[], $6::bytea[], $7::bigint[], $8::bigint[], $9::bytea[])
                     AS u (id, block_low, att_source_low, att_target_low, last_block_slot,
                           last_block_root, last_att_source, last_att_target, last_att_root)
                 WHERE v.id = u.id"
            ),
            insert_blocks: format!(
                "INSERT INTO {s}.signed_blocks (validator_id, slot, signing_root)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bytea[])"
            ),
            insert_attestations: format!(
                "INSERT INTO {s}.signed_attestations
                     (validator_id, source_epoch, target_epoch, signing_root)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[])"
            ),
            block_history: format!(
                "SELECT validator_id, slot, signing_root FROM {s}.signed_blocks
                 WHERE validator_id = ANY($1::bigint[])"
            ),
            attestation_history: format!(
                "SELECT validator_id, source_epoch, target_epoch, signing_root
                 FROM {s}.signed_attestations WHERE validator_id = ANY($1::bigint[])"
            ),
            // The window is relative to the newest message signed by any validator. Reads the
            // validators rows without locking them: pruning never blocks signing.
            prune_blocks: format!(
                "DELETE FROM {s}.signed_blocks
                 WHERE slot < (SELECT max(last_block_slot) FROM {s}.validators) - $1"
            ),
            prune_attestations: format!(
                "DELETE FROM {s}.signed_attestations
                 WHERE target_epoch < (SELECT max(last_att_target) FROM {s}.validators) - $1"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        assert!(valid_schema_name("poolvc"));
        assert!(valid_schema_name("_t1"));
        assert!(!valid_schema_name(""));
        assert!(!valid_schema_name("1abc"));
        assert!(!valid_schema_name("a\"; DROP"));
        assert!(!valid_schema_name("Upper"));
        assert!(!valid_schema_name(&"a".repeat(64)));
    }
}
