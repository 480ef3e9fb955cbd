//! Concurrent clients racing to sign conflicting messages for the same keys.
//!
//! PostgreSQL: five clients, each with its own store and connection pool (as five poolvc
//! instances would be), make more than 10,000 attempts at conflicting attestations and blocks.
//! SQLite: four stores with separate connections on one file (the same locking as separate
//! processes). Afterwards everything any client was told it may sign is checked pairwise: no
//! double vote, surround vote or double proposal may exist, and every newly signed message must
//! be in the store's history.

mod common;

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slashing_protection::{
    AttestationRequest, BlockRequest, ExportScope, PostgresStore, Safe, SlashingProtection,
    SqliteConfig, SqliteStore,
};
use types::{Epoch, Hash256, Slot};

const GVR: Hash256 = Hash256::repeat_byte(0x33);
const KEYS: u64 = 6;

/// What one client was allowed to sign: `(key, source, target, root)` and `(key, slot, root)`.
#[derive(Default)]
struct Permitted {
    attestations: Vec<(u64, u64, u64, Hash256, Safe)>,
    blocks: Vec<(u64, u64, Hash256, Safe)>,
    attempts: usize,
    /// Batches that failed with an error (nothing in them may be signed).
    errors: Vec<String>,
}

async fn client(store: Arc<dyn SlashingProtection>, seed: u64, rounds: u64) -> Permitted {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut permitted = Permitted::default();
    for round in 0..rounds {
        // Everyone works around the same epoch at the same time, with their own roots: most
        // attempts conflict with another client's.
        let batch: Vec<AttestationRequest> = (0..rng.gen_range(1..=8))
            .map(|_| {
                let target = (round / 2 + rng.gen_range(0..3)).max(1);
                let source = target.saturating_sub(rng.gen_range(0..3));
                AttestationRequest {
                    pubkey: common::pubkey(rng.gen_range(0..KEYS)),
                    source: Epoch(source),
                    target: Epoch(target),
                    signing_root: common::root(rng.gen_range(1..4)),
                }
            })
            .collect();
        permitted.attempts += batch.len();
        let results = match store.check_and_insert_attestations(&batch).await {
            Ok(results) => results,
            Err(e) => {
                permitted.errors.push(e.to_string());
                continue;
            }
        };
        for (request, result) in batch.iter().zip(results) {
            if let Ok(safe) = result {
                let key = u64::from_be_bytes(request.pubkey[40..].try_into().expect("8 bytes"));
                permitted.attestations.push((
                    key,
                    request.source.as_u64(),
                    request.target.as_u64(),
                    request.signing_root,
                    safe,
                ));
            }
        }
        if rng.gen_bool(0.3) {
            let blocks: Vec<BlockRequest> = (0..rng.gen_range(1..=3))
                .map(|_| BlockRequest {
                    pubkey: common::pubkey(rng.gen_range(0..KEYS)),
                    slot: Slot(round / 3 + rng.gen_range(0..2)),
                    signing_root: common::root(rng.gen_range(1..4)),
                })
                .collect();
            permitted.attempts += blocks.len();
            let results = match store.check_and_insert_blocks(&blocks).await {
                Ok(results) => results,
                Err(e) => {
                    permitted.errors.push(e.to_string());
                    continue;
                }
            };
            for (request, result) in blocks.iter().zip(results) {
                if let Ok(safe) = result {
                    let key = u64::from_be_bytes(request.pubkey[40..].try_into().expect("8 bytes"));
                    permitted
                        .blocks
                        .push((key, request.slot.as_u64(), request.signing_root, safe));
                }
            }
        }
    }
    permitted
}

async fn race(stores: Vec<Arc<dyn SlashingProtection>>, rounds: u64, min_attempts: usize) {
    let keys: Vec<_> = (0..KEYS).map(common::pubkey).collect();
    stores[0]
        .register_validators(&keys)
        .await
        .expect("register");
    let tasks: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| tokio::spawn(client(Arc::clone(store), 1000 + i as u64, rounds)))
        .collect();
    let mut all = Permitted::default();
    for task in tasks {
        let permitted = task.await.expect("client task");
        all.attempts += permitted.attempts;
        all.attestations.extend(permitted.attestations);
        all.blocks.extend(permitted.blocks);
        all.errors.extend(permitted.errors);
    }
    assert!(
        all.attempts >= min_attempts,
        "only {} attempts",
        all.attempts
    );
    let new_attestations = all
        .attestations
        .iter()
        .filter(|a| a.4 == Safe::Valid)
        .count();
    let new_blocks = all.blocks.iter().filter(|b| b.3 == Safe::Valid).count();
    println!(
        "{} attempts by {} clients: {new_attestations} attestations and {new_blocks} blocks signed",
        all.attempts,
        stores.len()
    );
    assert!(
        new_attestations > 100 && new_blocks > 10,
        "the race must sign something"
    );

    for (i, a) in all.attestations.iter().enumerate() {
        for b in &all.attestations[i + 1..] {
            if a.0 != b.0 {
                continue;
            }
            let same = a.1 == b.1 && a.2 == b.2 && a.3 == b.3;
            let double = a.2 == b.2 && !same;
            let surround = (a.1 < b.1 && b.2 < a.2) || (b.1 < a.1 && a.2 < b.2);
            assert!(
                !double && !surround,
                "conflicting attestations permitted: {a:?} and {b:?}"
            );
        }
    }
    for (i, a) in all.blocks.iter().enumerate() {
        for b in &all.blocks[i + 1..] {
            assert!(
                !(a.0 == b.0 && a.1 == b.1 && a.2 != b.2),
                "double proposal permitted: {a:?} and {b:?}"
            );
        }
    }
    // Row locks are taken in one order with a generous timeout: contention must never fail a batch.
    assert!(
        all.errors.is_empty(),
        "{} batches failed: {:?}",
        all.errors.len(),
        &all.errors[..all.errors.len().min(3)]
    );
    // Every newly signed message is recorded exactly once (nothing was pruned).
    let export = stores[0]
        .export_interchange(ExportScope::All)
        .await
        .expect("export");
    let exported_attestations: usize = export
        .data
        .iter()
        .map(|d| d.signed_attestations.len())
        .sum();
    let exported_blocks: usize = export.data.iter().map(|d| d.signed_blocks.len()).sum();
    assert_eq!(exported_attestations, new_attestations);
    assert_eq!(exported_blocks, new_blocks);
}

#[test]
fn postgres_instances_never_sign_conflicting_messages() {
    let Some(url) = common::database_url("postgres race") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let guard = common::SchemaGuard::new(&url, "race");
        let mut stores: Vec<Arc<dyn SlashingProtection>> = Vec::new();
        for _ in 0..5 {
            let mut config = guard.config();
            config.max_connections = 2;
            stores.push(Arc::new(
                PostgresStore::connect(config, GVR).await.expect("connect"),
            ));
        }
        race(stores, 450, 10_000).await;
    });
}

#[test]
fn sqlite_connections_never_sign_conflicting_messages() {
    common::runtime().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("shared.sqlite");
        let mut stores: Vec<Arc<dyn SlashingProtection>> = Vec::new();
        for _ in 0..4 {
            let config = SqliteConfig {
                busy_timeout: std::time::Duration::from_secs(30),
            };
            stores.push(Arc::new(
                SqliteStore::open(&path, GVR, config).await.expect("open"),
            ));
        }
        race(stores, 120, 2_000).await;
    });
}
