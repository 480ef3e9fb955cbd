//! Store behaviour on both backends: registration, partial batches, genesis validators root
//! binding, bad interchange input (database unchanged), pruning (decisions unchanged), export
//! round trips and the observer hooks.

mod common;

use std::sync::Arc;

use common::{Backend, pubkey, root};
use slashing_protection::{
    AttestationRequest, BlockRequest, DEFAULT_MAX_IMPORT_BYTES, Error, ExistingFile, ExportScope,
    InvalidAttestation, InvalidBlock, NotSafe, Observed, PostgresStore, PruneWindow, Safe,
    SlashingProtection, SlashingStats, SqliteConfig, SqliteStore, export_file, import_file,
};
use types::{Epoch, Hash256, Slot};

const GVR: Hash256 = Hash256::repeat_byte(0x11);
const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn att(v: u64, source: u64, target: u64, r: u64) -> AttestationRequest {
    AttestationRequest {
        pubkey: pubkey(v),
        source: Epoch(source),
        target: Epoch(target),
        signing_root: root(r),
    }
}

fn block(v: u64, slot: u64, r: u64) -> BlockRequest {
    BlockRequest {
        pubkey: pubkey(v),
        slot: Slot(slot),
        signing_root: root(r),
    }
}

/// Runs `f` against a fresh store on each available backend.
fn on_each_backend<F>(test: &str, f: F)
where
    F: AsyncFn(&dyn SlashingProtection),
{
    let runtime = common::runtime();
    for backend in BACKENDS {
        runtime.block_on(async {
            if let Some(fresh) = common::fresh(backend, GVR, test).await {
                f(fresh.store()).await;
            }
        });
    }
}

#[test]
fn unregistered_keys_are_refused() {
    on_each_backend("unregistered", async |store| {
        let results = store
            .check_and_insert_attestations(&[att(1, 0, 1, 1)])
            .await
            .unwrap();
        assert_eq!(
            results,
            vec![Err(NotSafe::UnregisteredValidator(pubkey(1)))]
        );
        let result = store
            .check_and_insert_block(pubkey(1), Slot(1), root(1))
            .await
            .unwrap();
        assert_eq!(result, Err(NotSafe::UnregisteredValidator(pubkey(1))));
        store
            .register_validators(&[pubkey(1), pubkey(1)])
            .await
            .unwrap();
        store.register_validators(&[pubkey(1)]).await.unwrap();
        let results = store
            .check_and_insert_attestations(&[att(1, 0, 1, 1)])
            .await
            .unwrap();
        assert_eq!(results, vec![Ok(Safe::Valid)]);
    });
}

#[test]
fn batches_are_partial_and_ordered() {
    on_each_backend("batches", async |store| {
        store
            .register_validators(&[pubkey(1), pubkey(2)])
            .await
            .unwrap();
        let results = store
            .check_and_insert_attestations(&[
                att(1, 1, 2, 1),
                att(2, 1, 2, 1),
                att(1, 1, 2, 2), // double vote against the first request
                att(1, 1, 2, 1), // exact repeat
                att(1, 0, 3, 3), // surrounds the first
                att(3, 0, 1, 1), // unregistered
                att(2, 2, 3, 1), // next epoch
                att(2, 3, 2, 1), // source > target
            ])
            .await
            .unwrap();
        assert_eq!(results[0], Ok(Safe::Valid));
        assert_eq!(results[1], Ok(Safe::Valid));
        assert!(matches!(
            results[2],
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::DoubleVote { .. }
            ))
        ));
        assert_eq!(results[3], Ok(Safe::SameData));
        assert!(matches!(
            results[4],
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::SurroundsExisting { .. }
            ))
        ));
        assert_eq!(results[5], Err(NotSafe::UnregisteredValidator(pubkey(3))));
        assert_eq!(results[6], Ok(Safe::Valid));
        assert!(matches!(
            results[7],
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::SourceExceedsTarget { .. }
            ))
        ));
        let state = store.validator_state(&pubkey(2)).await.unwrap().unwrap();
        assert_eq!(state.last_attestation.map(|a| a.target), Some(Epoch(3)));

        let results = store
            .check_and_insert_blocks(&[
                block(1, 5, 1),
                block(1, 5, 2),
                block(1, 4, 1),
                block(1, 5, 1),
            ])
            .await
            .unwrap();
        assert_eq!(results[0], Ok(Safe::Valid));
        assert!(matches!(
            results[1],
            Err(NotSafe::InvalidBlock(InvalidBlock::DoubleProposal { .. }))
        ));
        assert!(matches!(
            results[2],
            Err(NotSafe::InvalidBlock(
                InvalidBlock::BelowLatestSigned { .. }
            ))
        ));
        assert_eq!(results[3], Ok(Safe::SameData));
        assert!(
            store
                .check_and_insert_attestations(&[])
                .await
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn values_beyond_i64_are_refused_not_errors() {
    on_each_backend("range", async |store| {
        store.register_validators(&[pubkey(1)]).await.unwrap();
        let results = store
            .check_and_insert_attestations(&[att(1, 0, u64::MAX, 1), att(1, 0, 1, 1)])
            .await
            .unwrap();
        assert!(matches!(results[0], Err(NotSafe::ValueOutOfRange { .. })));
        assert_eq!(results[1], Ok(Safe::Valid));
    });
}

#[test]
fn sqlite_refuses_another_chain_and_reopens_its_own() {
    let runtime = common::runtime();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.sqlite");
        let store = SqliteStore::open(&path, GVR, SqliteConfig::default())
            .await
            .unwrap();
        store.register_validators(&[pubkey(1)]).await.unwrap();
        drop(store);
        let err = SqliteStore::open(&path, Hash256::repeat_byte(0x22), SqliteConfig::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::GenesisValidatorsRootMismatch { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("genesis validators root"), "{err}");
        let store = SqliteStore::open(&path, GVR, SqliteConfig::default())
            .await
            .unwrap();
        assert!(store.validator_state(&pubkey(1)).await.unwrap().is_some());
        store.integrity_check().await.unwrap();
    });
}

#[test]
fn postgres_refuses_another_chain_and_reconnects_to_its_own() {
    let Some(url) = common::database_url("postgres genesis binding") else {
        return;
    };
    common::runtime().block_on(async {
        let guard = common::SchemaGuard::new(&url, "gvr");
        let store = PostgresStore::connect(guard.config(), GVR).await.unwrap();
        store.register_validators(&[pubkey(1)]).await.unwrap();
        let err = PostgresStore::connect(guard.config(), Hash256::repeat_byte(0x22))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::GenesisValidatorsRootMismatch { .. }),
            "{err}"
        );
        let again = PostgresStore::connect(guard.config(), GVR).await.unwrap();
        assert!(again.validator_state(&pubkey(1)).await.unwrap().is_some());
        let bad = guard.config().with_schema("Bad-Name");
        assert!(matches!(
            PostgresStore::connect(bad, GVR).await,
            Err(Error::InvalidPostgresConfig(_))
        ));
    });
}

fn interchange_json(gvr: &str, version: &str, data: &str) -> String {
    format!(
        r#"{{"metadata":{{"interchange_format_version":"{version}","genesis_validators_root":"{gvr}"}},"data":{data}}}"#
    )
}

#[test]
fn bad_interchange_files_change_nothing() {
    let gvr_hex = format!("{GVR}");
    let pk = format!("{}", pubkey(9));
    let good_data = format!(
        r#"[{{"pubkey":"{pk}","signed_blocks":[{{"slot":"100"}}],"signed_attestations":[{{"source_epoch":"10","target_epoch":"11"}}]}}]"#
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "malformed",
            b"{\"metadata\": {".to_vec(),
            "malformed interchange JSON",
        ),
        (
            "wrong root",
            interchange_json(&format!("{}", Hash256::repeat_byte(0x99)), "5", &good_data)
                .into_bytes(),
            "genesis validators root",
        ),
        (
            "unknown version",
            interchange_json(&gvr_hex, "4", &good_data).into_bytes(),
            "interchange_format_version",
        ),
        (
            "bad pubkey hex",
            interchange_json(&gvr_hex, "5", &good_data.replace(&pk[2..6], "zzzz")).into_bytes(),
            "data[0].pubkey",
        ),
        (
            "bad slot",
            interchange_json(&gvr_hex, "5", &good_data.replace("\"100\"", "\"-1\"")).into_bytes(),
            "data[0].signed_blocks[0].slot",
        ),
        (
            "too large",
            format!(
                "{}{}",
                interchange_json(&gvr_hex, "5", &good_data),
                " ".repeat(4096)
            )
            .into_bytes(),
            "limit",
        ),
    ];
    on_each_backend("bad input", async |store| {
        store.register_validators(&[pubkey(1)]).await.unwrap();
        store
            .check_and_insert_attestations(&[att(1, 3, 4, 1)])
            .await
            .unwrap();
        let before = store.export_interchange(ExportScope::All).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes, expected) in &cases {
            let path = dir.path().join(format!("{name}.json"));
            std::fs::write(&path, bytes).unwrap();
            let limit = if *name == "too large" {
                1024
            } else {
                DEFAULT_MAX_IMPORT_BYTES
            };
            let err = import_file(store, &path, limit)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{name}: {err}");
            assert_eq!(
                store.export_interchange(ExportScope::All).await.unwrap(),
                before,
                "{name} changed the database"
            );
        }
        // The good file imports, and registers its key.
        let path = dir.path().join("good.json");
        std::fs::write(&path, interchange_json(&gvr_hex, "5", &good_data)).unwrap();
        let summary = import_file(store, &path, DEFAULT_MAX_IMPORT_BYTES)
            .await
            .unwrap();
        assert_eq!(
            (summary.validators, summary.blocks, summary.attestations),
            (1, 1, 1)
        );
        let state = store.validator_state(&pubkey(9)).await.unwrap().unwrap();
        assert_eq!(state.block_low, Some(Slot(100)));
    });
}

#[test]
fn export_import_round_trip_keeps_protection() {
    on_each_backend("round trip", async |store| {
        store
            .register_validators(&[pubkey(1), pubkey(2)])
            .await
            .unwrap();
        for epoch in 1..20 {
            store
                .check_and_insert_attestations(&[att(1, epoch - 1, epoch, epoch)])
                .await
                .unwrap();
        }
        store
            .check_and_insert_block(pubkey(1), Slot(40), root(1))
            .await
            .unwrap()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.json");
        let written = export_file(store, &path, ExportScope::All, ExistingFile::Refuse)
            .await
            .unwrap();
        assert_eq!(written, 2);
        assert!(matches!(
            export_file(store, &path, ExportScope::All, ExistingFile::Refuse).await,
            Err(Error::FileExists(_))
        ));
        export_file(store, &path, ExportScope::All, ExistingFile::Replace)
            .await
            .unwrap();
        assert!(matches!(
            store
                .export_interchange(ExportScope::Only(&[pubkey(7)]))
                .await,
            Err(Error::UnknownValidator(_))
        ));
        let only = store
            .export_interchange(ExportScope::Only(&[pubkey(1)]))
            .await
            .unwrap();
        assert_eq!(only.data.len(), 1);
        assert_eq!(only.data[0].signed_attestations.len(), 19);

        let other = common::sqlite(GVR).await;
        import_file(other.store(), &path, DEFAULT_MAX_IMPORT_BYTES)
            .await
            .unwrap();
        // The importer refuses what the original refuses, including the latest messages.
        let results = other
            .store()
            .check_and_insert_attestations(&[
                att(1, 18, 19, 19),
                att(1, 17, 19, 5),
                att(1, 19, 20, 20),
            ])
            .await
            .unwrap();
        assert!(results[0].is_err() && results[1].is_err());
        assert_eq!(results[2], Ok(Safe::Valid));
        let block = other
            .store()
            .check_and_insert_block(pubkey(1), Slot(40), root(1))
            .await
            .unwrap();
        assert!(block.is_err());
        // Validator 2 never signed: it is registered on import and free to sign.
        let fresh = other
            .store()
            .check_and_insert_attestations(&[att(2, 0, 1, 1)])
            .await
            .unwrap();
        assert_eq!(fresh, vec![Ok(Safe::Valid)]);
    });
}

/// Decisions for a fixed list of attempts, recorded as they go.
async fn decisions(store: &dyn SlashingProtection) -> Vec<Result<Safe, NotSafe>> {
    let mut out = Vec::new();
    for v in 1..=3 {
        for (s, t) in [
            (0, 5),
            (10, 50),
            (49, 50),
            (50, 50),
            (60, 61),
            (20, 30),
            (61, 62),
        ] {
            out.extend(
                store
                    .check_and_insert_attestations(&[att(v, s, t, 9)])
                    .await
                    .unwrap(),
            );
        }
        for slot in [10, 99, 100, 150, 151] {
            out.push(
                store
                    .check_and_insert_block(pubkey(v), Slot(slot), root(9))
                    .await
                    .unwrap(),
            );
        }
    }
    out
}

#[test]
fn pruning_never_changes_decisions() {
    let runtime = common::runtime();
    for backend in BACKENDS {
        runtime.block_on(async {
            let (Some(a), Some(b)) = (
                common::fresh(backend, GVR, "pruning").await,
                common::fresh(backend, GVR, "pruning").await,
            ) else {
                return;
            };
            for store in [a.store(), b.store()] {
                store
                    .register_validators(&[pubkey(1), pubkey(2), pubkey(3)])
                    .await
                    .unwrap();
                for epoch in 1..=60 {
                    let batch: Vec<_> = (1..=3).map(|v| att(v, epoch - 1, epoch, epoch)).collect();
                    store.check_and_insert_attestations(&batch).await.unwrap();
                }
                for slot in (100..=150).step_by(10) {
                    store
                        .check_and_insert_block(pubkey(2), Slot(slot), root(slot))
                        .await
                        .unwrap()
                        .unwrap();
                }
            }
            let pruned = b
                .store()
                .prune(PruneWindow {
                    epochs: 2,
                    slots_per_epoch: 4,
                })
                .await
                .unwrap();
            assert_eq!(pruned.attestations, 3 * 57, "{backend:?}");
            assert_eq!(pruned.blocks, 5, "{backend:?}");
            let again = b
                .store()
                .prune(PruneWindow {
                    epochs: 2,
                    slots_per_epoch: 4,
                })
                .await
                .unwrap();
            assert_eq!((again.blocks, again.attestations), (0, 0));
            let exported = b
                .store()
                .export_interchange(ExportScope::All)
                .await
                .unwrap();
            assert!(
                exported
                    .data
                    .iter()
                    .all(|d| d.signed_attestations.len() == 3)
            );
            assert_eq!(
                decisions(a.store()).await,
                decisions(b.store()).await,
                "{backend:?}"
            );
        });
    }
}

#[test]
fn observer_counts_outcomes() {
    common::runtime().block_on(async {
        let fresh = common::sqlite(GVR).await;
        let stats = Arc::new(SlashingStats::default());
        let store = Observed::new(fresh.store.clone(), stats.clone());
        store.register_validators(&[pubkey(1)]).await.unwrap();
        store
            .check_and_insert_attestations(&[att(1, 0, 1, 1), att(1, 0, 1, 1), att(1, 0, 1, 2)])
            .await
            .unwrap();
        store
            .check_and_insert_block(pubkey(1), Slot(3), root(1))
            .await
            .unwrap()
            .unwrap();
        let snapshot = stats.snapshot();
        assert_eq!(
            (
                snapshot.attestations.valid,
                snapshot.attestations.same_data,
                snapshot.attestations.refused
            ),
            (1, 1, 1)
        );
        assert_eq!(snapshot.attestations.batches, 1);
        assert_eq!((snapshot.blocks.valid, snapshot.blocks.batches), (1, 1));
        assert!(snapshot.attestations.total_duration > std::time::Duration::ZERO);
    });
}

#[test]
fn large_sqlite_prune_runs_in_bounded_steps() {
    common::runtime().block_on(async {
        let fresh = common::sqlite(GVR).await;
        let store = fresh.store();
        let keys: Vec<_> = (0..2_000).map(pubkey).collect();
        store.register_validators(&keys).await.unwrap();
        for epoch in 1..=40 {
            let batch: Vec<_> = (0..2_000)
                .map(|v| att(v, epoch - 1, epoch, epoch))
                .collect();
            let results = store.check_and_insert_attestations(&batch).await.unwrap();
            assert!(results.iter().all(|r| *r == Ok(Safe::Valid)));
        }
        // 20,000 rows per transaction = 10 epochs of 2,000 validators: 4 steps for 34 epochs
        // (targets below 40 - 5 go).
        let pruned = store
            .prune(PruneWindow {
                epochs: 5,
                slots_per_epoch: 32,
            })
            .await
            .unwrap();
        assert_eq!(pruned.attestations, 34 * 2_000);
        let export = store
            .export_interchange(ExportScope::Only(&keys[..1]))
            .await
            .unwrap();
        let targets: Vec<u64> = export.data[0]
            .signed_attestations
            .iter()
            .map(|a| a.target_epoch.as_u64())
            .collect();
        assert_eq!(targets, vec![35, 36, 37, 38, 39, 40]);
        fresh
            .sqlite
            .as_ref()
            .unwrap()
            .integrity_check()
            .await
            .unwrap();
    });
}
