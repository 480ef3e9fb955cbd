//! One slot of attestation duties through slashing protection.
//!
//! 313 and 3,125 attestations (one slot's share of 10k and 100k keys) checked and recorded in
//! one batch, with 0, 512 and 4,096 epochs of history already stored for every validator, on
//! SQLite and (with `DATABASE_URL`) PostgreSQL. Baseline in the same run: the naive loop, one
//! transaction per attestation, for 313 attestations on the same store.
//!
//! After the timings, a year of epochs (82,125) is signed for a small set of validators with
//! pruning on (window 512 epochs, pruned every 225 epochs ≈ daily) and the disk bytes per
//! validator are printed.
//!
//! Before measuring, every validator signs a few epochs (its first write fills the row) so the
//! store is in its steady state; "history_0" means no seeded history beyond that.
//!
//! History is seeded with bulk SQL straight into the history tables (`signed_attestations`) and
//! the watermark rows, as if the validators had signed for that long.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use slashing_protection::{
    AttestationRequest, PostgresConfig, PostgresStore, PruneWindow, Safe, SlashingProtection,
    SqliteConfig, SqliteStore,
};
use types::{Epoch, Hash256, PublicKeyBytes};

const VALIDATORS: u64 = 3_125;
const BATCHES: [usize; 2] = [313, 3_125];
const HISTORIES: [u64; 3] = [0, 512, 4_096];
const NAIVE_BATCH: usize = 313;
const WARM_UP_EPOCHS: u64 = 4;
const GVR: Hash256 = Hash256::repeat_byte(0x5a);

const YEAR_EPOCHS: u64 = 82_125;
const YEAR_VALIDATORS: u64 = 64;
const PRUNE_WINDOW: u64 = 512;
const PRUNE_EVERY: u64 = 225;
/// Epochs per transaction when simulating the year (all validators × this many epochs).
const YEAR_CHUNK: u64 = 75;

fn pubkey(i: u64) -> PublicKeyBytes {
    let mut bytes = [0u8; 48];
    bytes[0] = 0x8f;
    bytes[40..].copy_from_slice(&i.to_be_bytes());
    PublicKeyBytes::from(bytes)
}

fn root(epoch: u64, i: u64) -> Hash256 {
    let mut bytes = [0x17u8; 32];
    bytes[..8].copy_from_slice(&epoch.to_be_bytes());
    bytes[8..16].copy_from_slice(&i.to_be_bytes());
    Hash256::from(bytes)
}

fn batch(size: usize, target: u64) -> Vec<AttestationRequest> {
    (0..size as u64)
        .map(|i| AttestationRequest {
            pubkey: pubkey(i),
            source: Epoch(target - 1),
            target: Epoch(target),
            signing_root: root(target, i),
        })
        .collect()
}

/// Bulk history seeding, per backend.
enum Seeder {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

impl Seeder {
    /// Adds epochs `from..=to` (source = target - 1) for every validator and moves each
    /// validator's latest attestation to `to`.
    async fn seed(&self, from: u64, to: u64) {
        match self {
            Self::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || seed_sqlite(&path, from, to))
                    .await
                    .expect("seeding task");
            }
            Self::Postgres { url, schema } => seed_postgres(url, schema, from, to).await,
        }
    }
}

fn seed_sqlite(path: &Path, from: u64, to: u64) {
    let conn = rusqlite::Connection::open(path).expect("open for seeding");
    conn.busy_timeout(Duration::from_secs(60))
        .expect("busy timeout");
    // Seeding only: this connection's commits need not be durable.
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN IMMEDIATE;")
        .expect("begin");
    conn.execute(
        "WITH RECURSIVE e(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM e WHERE x < ?2)
         INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root)
         SELECT v.id, e.x - 1, e.x, zeroblob(32) FROM e, validators AS v ORDER BY e.x, v.id",
        rusqlite::params![from as i64, to as i64],
    )
    .expect("seed history");
    conn.execute(
        "UPDATE validators SET last_att_source = ?1, last_att_target = ?2, last_att_root = NULL",
        rusqlite::params![to as i64 - 1, to as i64],
    )
    .expect("seed watermarks");
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("commit");
}

async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect for seeding");
    tokio::spawn(connection);
    client
}

async fn seed_postgres(url: &str, schema: &str, from: u64, to: u64) {
    let client = pg_client(url).await;
    client
        .batch_execute(&format!(
            "SET synchronous_commit = off;
             BEGIN;
             INSERT INTO \"{schema}\".signed_attestations
                 (validator_id, source_epoch, target_epoch, signing_root)
             SELECT v.id, e - 1, e, sha256(int8send(e))
             FROM \"{schema}\".validators AS v CROSS JOIN generate_series({from}::bigint, {to}::bigint) AS e
             ORDER BY e, v.id;
             UPDATE \"{schema}\".validators
                 SET last_att_source = {to} - 1, last_att_target = {to}, last_att_root = NULL;
             COMMIT;"
        ))
        .await
        .expect("seed PostgreSQL history");
    // As autovacuum would after a bulk load (VACUUM cannot run inside a transaction block).
    for table in ["signed_attestations", "validators"] {
        client
            .batch_execute(&format!("VACUUM ANALYZE \"{schema}\".{table}"))
            .await
            .expect("vacuum after seeding");
    }
}

fn bench_backend(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    store: Arc<dyn SlashingProtection>,
    seeder: &Seeder,
) {
    let keys: Vec<_> = (0..VALIDATORS).map(pubkey).collect();
    runtime
        .block_on(store.register_validators(&keys))
        .expect("register");
    // The next target epoch to sign, shared by all benches of this backend.
    let next = Cell::new(1u64);
    // Steady state before measuring: every validator row has signed once (its first write
    // fills NULL columns) and the journal has reached its working size. "history_0" is this
    // fresh store: no seeded history, only these epochs and the benchmark's own iterations.
    for _ in 0..WARM_UP_EPOCHS {
        let requests = batch(VALIDATORS as usize, next.get());
        next.set(next.get() + 1);
        runtime
            .block_on(store.check_and_insert_attestations(&requests))
            .expect("warm-up batch");
    }
    let mut seeded = 0u64;
    for history in HISTORIES {
        if history > seeded {
            let (from, to) = (next.get(), next.get() + history - seeded - 1);
            let started = std::time::Instant::now();
            runtime.block_on(seeder.seed(from, to));
            eprintln!(
                "{name}: seeded epochs {from}..={to} for {VALIDATORS} validators in {:.1?}",
                started.elapsed()
            );
            next.set(to + 1);
            seeded = history;
        }
        let mut group = c.benchmark_group(format!("slashing_slot/{name}/history_{history}"));
        group
            .sample_size(10)
            // Same iteration count in every sample: the naive baseline takes ~0.1–1 s per
            // iteration, and linear sampling would need 55 of them.
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        for size in BATCHES {
            group.bench_function(format!("batch_{size}"), |b| {
                b.iter_batched(
                    || {
                        let target = next.get();
                        next.set(target + 1);
                        batch(size, target)
                    },
                    |requests| {
                        let results = runtime
                            .block_on(store.check_and_insert_attestations(&requests))
                            .expect("batch");
                        assert!(results.iter().all(|r| *r == Ok(Safe::Valid)));
                    },
                    BatchSize::PerIteration,
                );
            });
        }
        group.bench_function(format!("naive_per_attestation_{NAIVE_BATCH}"), |b| {
            b.iter_batched(
                || {
                    let target = next.get();
                    next.set(target + 1);
                    batch(NAIVE_BATCH, target)
                },
                |requests| {
                    runtime.block_on(async {
                        for request in &requests {
                            let results = store
                                .check_and_insert_attestations(std::slice::from_ref(request))
                                .await
                                .expect("single");
                            assert_eq!(results[0], Ok(Safe::Valid));
                        }
                    });
                },
                BatchSize::PerIteration,
            );
        });
        group.finish();
    }
}

/// Signs a year of epochs for a few validators, pruning daily, and prints bytes per validator.
/// `after_prune` runs after each prune (PostgreSQL: the VACUUM autovacuum would run).
async fn year_on_disk(
    name: &str,
    store: &dyn SlashingProtection,
    after_prune: impl AsyncFn(),
    size: impl AsyncFn() -> u64,
) {
    let keys: Vec<_> = (0..YEAR_VALIDATORS).map(pubkey).collect();
    store.register_validators(&keys).await.expect("register");
    let started = std::time::Instant::now();
    let mut epoch = 1;
    let mut last_prune = 0;
    while epoch <= YEAR_EPOCHS {
        let end = (epoch + YEAR_CHUNK - 1).min(YEAR_EPOCHS);
        let requests: Vec<_> = (epoch..=end)
            .flat_map(|target| {
                keys.iter()
                    .enumerate()
                    .map(move |(i, &pubkey)| AttestationRequest {
                        pubkey,
                        source: Epoch(target - 1),
                        target: Epoch(target),
                        signing_root: root(target, i as u64),
                    })
            })
            .collect();
        let results = store
            .check_and_insert_attestations(&requests)
            .await
            .expect("year batch");
        assert!(results.iter().all(|r| *r == Ok(Safe::Valid)));
        if end - last_prune >= PRUNE_EVERY {
            store
                .prune(PruneWindow {
                    epochs: PRUNE_WINDOW,
                    slots_per_epoch: 32,
                })
                .await
                .expect("prune");
            after_prune().await;
            last_prune = end;
        }
        epoch = end + 1;
    }
    let bytes = size().await;
    eprintln!(
        "{name}: a year ({YEAR_EPOCHS} epochs) for {YEAR_VALIDATORS} validators, window \
         {PRUNE_WINDOW} epochs pruned every {PRUNE_EVERY}: {bytes} bytes on disk = {} bytes per \
         validator ({:.1?})",
        bytes / YEAR_VALIDATORS,
        started.elapsed()
    );
}

fn sqlite_disk_bytes(path: &Path) -> u64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(name).ok().map(|m| m.len())
        })
        .sum()
}

fn slashing_slot(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.sqlite");
    let sqlite = runtime
        .block_on(SqliteStore::open(&path, GVR, SqliteConfig::default()))
        .expect("open SQLite");
    bench_backend(
        c,
        &runtime,
        "sqlite",
        Arc::new(sqlite),
        &Seeder::Sqlite(path),
    );

    let year_path = dir.path().join("year.sqlite");
    runtime.block_on(async {
        let store = SqliteStore::open(&year_path, GVR, SqliteConfig::default())
            .await
            .expect("open SQLite");
        year_on_disk(
            "sqlite",
            &store,
            async || {},
            async || sqlite_disk_bytes(&year_path),
        )
        .await;
    });

    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("\n*** SKIPPED: PostgreSQL benches: set DATABASE_URL to run them ***\n");
        return;
    };
    let schema = format!("bench_slashing_{}", std::process::id());
    let year_schema = format!("{schema}_year");
    let connect = |schema: &str| {
        let config = PostgresConfig::from_url(&url)
            .expect("DATABASE_URL")
            .with_schema(schema);
        runtime
            .block_on(PostgresStore::connect(config, GVR))
            .expect("connect PostgreSQL")
    };
    let postgres = connect(&schema);
    let seeder = Seeder::Postgres {
        url: url.clone(),
        schema: schema.clone(),
    };
    bench_backend(c, &runtime, "postgres", Arc::new(postgres), &seeder);

    let year = connect(&year_schema);
    runtime.block_on(async {
        let client = pg_client(&url).await;
        let vacuum = async || {
            client
                .batch_execute(&format!("VACUUM \"{year_schema}\".signed_attestations"))
                .await
                .expect("vacuum");
        };
        year_on_disk("postgres", &year, vacuum, async || {
            let row = client
                .query_one(
                    "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relkind = 'r'",
                    &[&year_schema],
                )
                .await
                .expect("size query");
            row.get::<_, i64>(0) as u64
        })
        .await;
        client
            .batch_execute(&format!(
                "DROP SCHEMA \"{schema}\" CASCADE; DROP SCHEMA \"{year_schema}\" CASCADE;"
            ))
            .await
            .expect("drop bench schemas");
    });
}

criterion_group!(benches, slashing_slot);
criterion_main!(benches);
