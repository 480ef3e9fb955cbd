//! The same store suite on SQLite and PostgreSQL. PostgreSQL tests need `DATABASE_URL`; each
//! runs in its own schema, dropped afterwards. Without the variable they print a SKIPPED line
//! (and fail under `CI=true`).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use pool_registry::ledger::*;
use pool_registry::oracle::{
    EquivocationEvidence, OracleMembership, OracleVote, QuorumCertificate, SignerSet,
    SnapshotMember,
};
use pool_registry::report::{
    FrameReport, RebaseWindow, ReportEnvelope, ReportParameters, ReportStatus, SanityViolation,
    Tally,
};
use pool_registry::{
    Error, FrameParameters, FrameSnapshot, LedgerStore, OperatorTerms, OracleStore,
    PostgresConfig, PostgresLedgerStore, ReportOrder, SanityLimits, SqliteLedgerStore,
    StoreOutcome, ValidatorEpochEntry, ValidatorEpochRow,
};
use types::{Address, Epoch, ForkName, Hash256, PublicKeyBytes, SignatureBytes, Slot, U256};

fn ledger(epoch: u64, income: i64) -> EpochLedger {
    EpochLedger {
        epoch: Epoch(epoch),
        fork: ForkName::Deneb,
        records: (0..3u64)
            .map(|i| ValidatorEpoch {
                validator_index: i,
                pubkey: PublicKeyBytes::from([i as u8 + 1; 48]),
                balance_start: 32_000_000_000,
                balance_end: (32_000_000_000 + income) as u64,
                withdrawals: 0,
                deposits: 0,
                income,
                effective_balance: 32_000_000_000,
                status: ValidatorStatus::ActiveOngoing,
                slashed_start: false,
                slashed_end: i == 2 && income < 0,
                credentials_mismatch: false,
                duties: Duties {
                    attestation_duties: 1,
                    attestation_included: 1,
                    ..Duties::default()
                },
                el_rewards: 0,
                el_values_missing: 0,
                fee_recipient_mismatches: 0,
                breakdown: (i == 0).then_some(Breakdown {
                    attestation: income,
                    ..Breakdown::default()
                }),
            })
            .collect(),
    }
}

fn snapshot(frame: u64, owner: u64) -> FrameSnapshot {
    FrameSnapshot {
        frame,
        protocol_bps: 500,
        operators: BTreeMap::from([(
            owner,
            OperatorTerms {
                operator_bps: 500,
                reward_address: Address::repeat_byte(1),
            },
        )]),
        assignments: BTreeMap::from([(PublicKeyBytes::from([1u8; 48]), owner)]),
    }
}

fn envelope(frame: u64, rate: u64, status: ReportStatus) -> ReportEnvelope {
    let report = FrameReport {
        version: 1,
        genesis_validators_root: Hash256::repeat_byte(9),
        frame,
        first_epoch: Epoch(frame * 4),
        last_epoch: Epoch(frame * 4 + 3),
        reference_slot: Slot(frame * 32 + 31),
        duration_seconds: 192,
        previous_report_root: Hash256::ZERO,
        assignments_root: Hash256::repeat_byte(3),
        protocol_bps: 500,
        share_supply: U256::from(1000u64),
        previous_rate: U256::from(1000u64),
        rate: U256::from(rate),
        shares_minted: U256::ZERO,
        pooled_before_wei: U256::from(1000u64),
        pooled_after_wei: U256::from(1001u64),
        apr_ppm: -5,
        cl_balance_base_gwei: 96_000_000_000,
        totals: Tally {
            cl_rewards_gwei: 7,
            net_rewards_gwei: -3,
            ..Tally::default()
        },
        operators: vec![],
        rewards_root: Hash256::ZERO,
    };
    ReportEnvelope {
        root: report.root().unwrap(),
        report,
        status,
        violations: vec![],
        proofs: BTreeMap::new(),
        signature: None,
        signer: None,
        parameters: Some(ReportParameters {
            frame_start_epoch: 0,
            frame_epochs: 4,
            sanity_limits: SanityLimits::LIDO_MAINNET,
            negative_rebase_window: RebaseWindow {
                first_epoch: Epoch(0),
                last_epoch: Epoch(frame * 4 + 3),
                epochs: frame * 4 + 4,
                cl_income_gwei: -7,
                newly_slashed: 1,
            },
        }),
    }
}

fn frame_parameters(frame: u64, vault: u8) -> FrameParameters {
    FrameParameters {
        frame,
        frame_start_epoch: 0,
        frame_epochs: 4,
        withdrawal_credentials: Hash256::repeat_byte(vault.wrapping_add(1)),
        el_rewards_vault: Address::repeat_byte(vault),
    }
}

async fn suite(store: &dyn LedgerStore) {
    // Idempotent epochs; a different result for a stored epoch is refused.
    let e5 = ledger(5, 1000);
    assert_eq!(
        store.store_epoch(&e5).await.unwrap(),
        StoreOutcome::Inserted
    );
    assert_eq!(
        store.store_epoch(&e5).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let err = store.store_epoch(&ledger(5, 1001)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::LedgerConflict {
                epoch: Epoch(5),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        store.epoch(Epoch(5)).await.unwrap(),
        Some(e5.clone()),
        "history untouched"
    );
    assert_eq!(store.epoch(Epoch(6)).await.unwrap(), None);

    store.store_epoch(&ledger(7, -2000)).await.unwrap();
    store.store_epoch(&ledger(8, 10)).await.unwrap();
    assert_eq!(
        store.missing_epochs(Epoch(4), Epoch(11)).await.unwrap(),
        vec![Epoch(4), Epoch(6), Epoch(9)]
    );
    assert_eq!(
        store.missing_epochs(Epoch(5), Epoch(7)).await.unwrap(),
        vec![]
    );
    assert_eq!(
        store.missing_epochs(Epoch(0), Epoch(1)).await.unwrap(),
        vec![]
    );
    let summaries = store.epoch_summaries(Epoch(5), Epoch(7)).await.unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[1], ledger(7, -2000).summary());
    assert_eq!(summaries[1].newly_slashed, 1);
    assert_eq!(summaries[1].unexplained, 0);

    // Pruning keeps digests and summaries: re-storing is still checked, catch-up unaffected.
    assert_eq!(store.prune_records_before(Epoch(8)).await.unwrap(), 2);
    assert_eq!(store.prune_records_before(Epoch(8)).await.unwrap(), 0);
    assert!(matches!(
        store.epoch(Epoch(5)).await,
        Err(Error::Pruned(Epoch(5)))
    ));
    assert_eq!(
        store.store_epoch(&e5).await.unwrap(),
        StoreOutcome::Unchanged
    );
    assert!(matches!(
        store.store_epoch(&ledger(5, 1001)).await,
        Err(Error::LedgerConflict { .. })
    ));
    assert_eq!(
        store.missing_epochs(Epoch(4), Epoch(11)).await.unwrap(),
        vec![Epoch(4), Epoch(6), Epoch(9)]
    );
    assert_eq!(
        store.epoch_summaries(Epoch(5), Epoch(7)).await.unwrap(),
        summaries
    );
    assert_eq!(store.epoch(Epoch(8)).await.unwrap(), Some(ledger(8, 10)));

    // Snapshots: the first capture of a frame wins.
    assert_eq!(store.snapshot_frames().await.unwrap(), None);
    let first = snapshot(2, 1);
    assert_eq!(store.ensure_snapshot(&first).await.unwrap(), first);
    assert_eq!(store.snapshot_frames().await.unwrap(), Some((2, 2)));
    assert_eq!(store.ensure_snapshot(&snapshot(2, 9)).await.unwrap(), first);
    assert_eq!(store.snapshot(2).await.unwrap(), Some(first));
    assert_eq!(store.snapshot(3).await.unwrap(), None);
    store.ensure_snapshot(&snapshot(5, 1)).await.unwrap();
    assert_eq!(store.snapshot_frames().await.unwrap(), Some((2, 5)));

    // Frame parameters: the first capture of a frame wins, like snapshots.
    assert_eq!(store.frame_parameters(2).await.unwrap(), None);
    let params = frame_parameters(2, 0xbb);
    assert_eq!(
        store.ensure_frame_parameters(&params).await.unwrap(),
        params
    );
    assert_eq!(
        store
            .ensure_frame_parameters(&frame_parameters(2, 0xcc))
            .await
            .unwrap(),
        params
    );
    assert_eq!(store.frame_parameters(2).await.unwrap(), Some(params));
    assert_eq!(store.frame_parameters(3).await.unwrap(), None);

    // Reports: insert, unchanged, signature added once, conflicting content refused.
    let r1 = envelope(1, 1001, ReportStatus::Final);
    assert_eq!(
        store.store_report(&r1).await.unwrap(),
        StoreOutcome::Inserted
    );
    assert_eq!(
        store.store_report(&r1).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let mut signed = r1.clone();
    signed.signature = Some(SignatureBytes::repeat_byte(4));
    signed.signer = Some(PublicKeyBytes::repeat_byte(5));
    assert_eq!(
        store.store_report(&signed).await.unwrap(),
        StoreOutcome::Signed
    );
    assert_eq!(
        store.store_report(&signed).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let mut resigned = signed.clone();
    resigned.signature = Some(SignatureBytes::repeat_byte(6));
    assert!(matches!(
        store.store_report(&resigned).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        store
            .store_report(&envelope(1, 1002, ReportStatus::Final))
            .await,
        Err(Error::Conflict { .. })
    ));
    // The parameters a report was built with are part of what is stored: other ones conflict,
    // and a report stored without them (before they were recorded) keeps none.
    let mut other_limits = signed.clone();
    if let Some(p) = other_limits.parameters.as_mut() {
        p.sanity_limits.annual_balance_increase_bps += 1;
    }
    assert!(matches!(
        store.store_report(&other_limits).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(store.report(1).await.unwrap(), Some(signed.clone()));
    let mut withheld = envelope(2, 1003, ReportStatus::Withheld);
    withheld.violations = vec![
        SanityViolation::AnnualBalanceIncrease {
            actual_bps: Some(u128::MAX),
            limit_bps: 1000,
        },
        SanityViolation::AnnualBalanceIncrease {
            actual_bps: None,
            limit_bps: 1000,
        },
        SanityViolation::PositiveRebase {
            actual_1e9: U256::MAX,
            limit_1e9: 750_000,
        },
        SanityViolation::NegativeRebase {
            decrease_gwei: 5,
            allowed_gwei: 4,
        },
        SanityViolation::FeesExceedRewards {
            fees_gwei: 3,
            net_rewards_gwei: i128::MIN,
        },
    ];
    store.store_report(&withheld).await.unwrap();
    assert_eq!(
        store.report(2).await.unwrap(),
        Some(withheld.clone()),
        "violations round-trip"
    );
    assert_eq!(
        store.latest_final_report().await.unwrap(),
        Some(signed),
        "withheld reports are never the base"
    );
    store
        .store_report(&envelope(3, 1004, ReportStatus::Final))
        .await
        .unwrap();
    assert_eq!(
        store
            .latest_final_report()
            .await
            .unwrap()
            .unwrap()
            .report
            .frame,
        3
    );

    // Listings, lookups by root and one validator's ledger (what the reports API reads).
    let frames = |reports: Vec<ReportEnvelope>| -> Vec<u64> {
        reports.iter().map(|r| r.report.frame).collect()
    };
    assert_eq!(
        frames(
            store
                .reports(0, u64::MAX, ReportOrder::Ascending, 10)
                .await
                .unwrap()
        ),
        vec![1, 2, 3]
    );
    assert_eq!(
        frames(
            store
                .reports(0, u64::MAX, ReportOrder::Descending, 2)
                .await
                .unwrap()
        ),
        vec![3, 2]
    );
    assert_eq!(
        frames(
            store
                .reports(2, 2, ReportOrder::Ascending, 10)
                .await
                .unwrap()
        ),
        vec![2]
    );
    assert!(
        store
            .reports(4, u64::MAX, ReportOrder::Ascending, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.report_by_root(withheld.root).await.unwrap(),
        Some(withheld)
    );
    assert_eq!(
        store
            .report_by_root(Hash256::repeat_byte(0x77))
            .await
            .unwrap(),
        None
    );
    let rows = store
        .validator_epochs(1, Epoch(0), Epoch(u64::MAX), 10)
        .await
        .unwrap();
    let expected_8 = ledger(8, 10).records[1].clone();
    assert_eq!(
        rows,
        vec![
            ValidatorEpochRow {
                epoch: Epoch(5),
                entry: ValidatorEpochEntry::Pruned
            },
            ValidatorEpochRow {
                epoch: Epoch(7),
                entry: ValidatorEpochEntry::Pruned
            },
            ValidatorEpochRow {
                epoch: Epoch(8),
                entry: ValidatorEpochEntry::Found(Box::new(expected_8))
            },
        ]
    );
    let rows = store
        .validator_epochs(99, Epoch(6), Epoch(8), 1)
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![ValidatorEpochRow {
            epoch: Epoch(7),
            entry: ValidatorEpochEntry::Pruned
        }]
    );
    let rows = store
        .validator_epochs(99, Epoch(8), Epoch(8), 10)
        .await
        .unwrap();
    assert_eq!(rows[0].entry, ValidatorEpochEntry::Absent);

    // A report stored before parameters were recorded keeps none when stored again.
    let mut legacy = envelope(9, 1009, ReportStatus::Final);
    legacy.parameters = None;
    store.store_report(&legacy).await.unwrap();
    assert_eq!(
        store
            .store_report(&envelope(9, 1009, ReportStatus::Final))
            .await
            .unwrap(),
        StoreOutcome::Unchanged
    );
    assert_eq!(store.report(9).await.unwrap(), Some(legacy));

    // EL values.
    let v = ElBlockValue {
        slot: Slot(40),
        block_root: Hash256::repeat_byte(1),
        proposer_index: 3,
        value_wei: U256::from(10u64).pow(U256::from(30u64)),
    };
    assert_eq!(
        store.record_el_value(&v).await.unwrap(),
        StoreOutcome::Inserted
    );
    assert_eq!(
        store.record_el_value(&v).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let other = ElBlockValue {
        value_wei: U256::from(1u64),
        ..v.clone()
    };
    assert!(matches!(
        store.record_el_value(&other).await,
        Err(Error::Conflict { .. })
    ));
    let w = ElBlockValue {
        slot: Slot(39),
        block_root: Hash256::repeat_byte(2),
        ..v.clone()
    };
    store.record_el_value(&w).await.unwrap();
    assert_eq!(
        store.el_values(Slot(39), Slot(40)).await.unwrap(),
        vec![w, v]
    );
    assert_eq!(store.el_values(Slot(41), Slot(50)).await.unwrap(), vec![]);

    oracle_suite(store).await;
}

fn vote(frame: u64, member: u64, root: u8) -> OracleVote {
    OracleVote {
        frame,
        report_root: Hash256::repeat_byte(root),
        member,
        signature: SignatureBytes::repeat_byte(root ^ member as u8),
    }
}

fn membership(frame: u64, quorum: u16) -> OracleMembership {
    OracleMembership {
        frame,
        quorum,
        members: (0..3u8)
            .map(|i| {
                (
                    i,
                    SnapshotMember {
                        pubkey: PublicKeyBytes::repeat_byte(i + 1),
                        peer_id: format!("peer{i}"),
                    },
                )
            })
            .collect(),
    }
}

/// The oracle committee's tables: same rules on both backends.
async fn oracle_suite(store: &dyn LedgerStore) {
    // Memberships: the first captured wins.
    assert_eq!(store.membership(4).await.unwrap(), None);
    let m = membership(4, 2);
    assert_eq!(store.ensure_membership(&m).await.unwrap(), m);
    assert_eq!(store.ensure_membership(&membership(4, 3)).await.unwrap(), m);
    assert_eq!(store.membership(4).await.unwrap(), Some(m));

    // Own votes: one root per frame.
    let own = vote(4, 1, 0x10);
    assert_eq!(store.own_vote(4).await.unwrap(), None);
    assert_eq!(store.record_own_vote(&own).await.unwrap(), own);
    assert_eq!(
        store.record_own_vote(&own).await.unwrap(),
        own,
        "same root: the recorded vote"
    );
    let err = store.record_own_vote(&vote(4, 1, 0x11)).await.unwrap_err();
    assert!(
        matches!(err, Error::OracleVoteConflict { frame: 4, recorded, requested }
            if recorded == Hash256::repeat_byte(0x10) && requested == Hash256::repeat_byte(0x11)),
        "{err}"
    );
    assert_eq!(
        store.own_vote(4).await.unwrap(),
        Some(own.clone()),
        "untouched"
    );
    store.record_own_vote(&vote(6, 1, 0x12)).await.unwrap();
    assert_eq!(
        store.own_votes_from(5).await.unwrap(),
        vec![vote(6, 1, 0x12)]
    );
    assert_eq!(store.own_votes_from(0).await.unwrap().len(), 2);

    // Received votes, keyed by (frame, member, root).
    for v in [
        vote(4, 2, 0x10),
        vote(4, 0, 0x10),
        vote(4, 2, 0x11),
        vote(5, 0, 0x10),
    ] {
        assert_eq!(store.record_vote(&v).await.unwrap(), StoreOutcome::Inserted);
    }
    assert_eq!(
        store.record_vote(&vote(4, 0, 0x10)).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let mut forged = vote(4, 0, 0x10);
    forged.signature = SignatureBytes::repeat_byte(0xee);
    assert!(matches!(
        store.record_vote(&forged).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        store.votes(4).await.unwrap(),
        vec![vote(4, 0, 0x10), vote(4, 2, 0x10), vote(4, 2, 0x11)]
    );
    assert_eq!(
        store
            .votes_by_root(Hash256::repeat_byte(0x10))
            .await
            .unwrap(),
        vec![vote(4, 0, 0x10), vote(4, 2, 0x10), vote(5, 0, 0x10)]
    );
    assert_eq!(store.votes(9).await.unwrap(), vec![]);
    // A batch: one transaction, one outcome per vote; a conflict fails the whole batch.
    assert_eq!(
        store
            .record_votes(&[vote(8, 0, 0x20), vote(4, 0, 0x10), vote(8, 1, 0x20)])
            .await
            .unwrap(),
        vec![
            StoreOutcome::Inserted,
            StoreOutcome::Unchanged,
            StoreOutcome::Inserted
        ]
    );
    assert!(matches!(
        store
            .record_votes(&[vote(8, 2, 0x20), forged.clone()])
            .await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        store.votes(8).await.unwrap(),
        vec![vote(8, 0, 0x20), vote(8, 1, 0x20)],
        "the failed batch left nothing"
    );

    // Evidence: the first pair per (frame, member) stays.
    let ev = EquivocationEvidence::new(vote(4, 2, 0x11), vote(4, 2, 0x10)).unwrap();
    assert_eq!(
        store.record_evidence(&ev).await.unwrap(),
        StoreOutcome::Inserted
    );
    assert_eq!(
        store.record_evidence(&ev).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let later = EquivocationEvidence::new(vote(4, 2, 0x12), vote(4, 2, 0x10)).unwrap();
    assert_eq!(
        store.record_evidence(&later).await.unwrap(),
        StoreOutcome::Unchanged
    );
    assert_eq!(store.evidence(4).await.unwrap(), vec![ev]);
    assert_eq!(store.evidence(5).await.unwrap(), vec![]);

    // Certificates are never rewritten.
    let cert = QuorumCertificate {
        frame: 4,
        report_root: Hash256::repeat_byte(0x10),
        signers: SignerSet::from_indices([0, 1]),
        aggregate_signature: SignatureBytes::repeat_byte(0x77),
    };
    assert_eq!(
        store.store_certificate(&cert).await.unwrap(),
        StoreOutcome::Inserted
    );
    assert_eq!(
        store.store_certificate(&cert).await.unwrap(),
        StoreOutcome::Unchanged
    );
    let mut other = cert.clone();
    other.signers = SignerSet::from_indices([0, 1, 2]);
    let err = store.store_certificate(&other).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(store.certificate(4).await.unwrap(), Some(cert.clone()));
    assert_eq!(store.certificate(5).await.unwrap(), None);
    assert_eq!(
        store
            .certificates_by_root(Hash256::repeat_byte(0x10))
            .await
            .unwrap(),
        vec![cert]
    );
    assert_eq!(
        store.certificates_by_root(Hash256::ZERO).await.unwrap(),
        vec![]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let store = SqliteLedgerStore::open(&path).await.unwrap();
    suite(&store).await;
    drop(store);
    // Durable across reopen.
    let store = SqliteLedgerStore::open(&path).await.unwrap();
    assert_eq!(store.epoch(Epoch(8)).await.unwrap(), Some(ledger(8, 10)));
    assert!(store.store_epoch(&ledger(5, 999)).await.is_err());
    // The oracle's own vote survives a reopen and still refuses a second root.
    assert_eq!(store.own_vote(4).await.unwrap(), Some(vote(4, 1, 0x10)));
    assert!(store.record_own_vote(&vote(4, 1, 0x13)).await.is_err());
}

fn database_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "DATABASE_URL is not set: CI=true requires the PostgreSQL tests ({test})"
            );
            // Straight to stderr: a skip must never look like a silent pass.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: PostgreSQL test {test}: set DATABASE_URL to run it ***\n"
            );
            None
        }
    }
}

fn unique_schema() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t_ledger_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn drop_schema(url: &str, schema: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backend() {
    let Some(url) = database_url("postgres_backend") else {
        return;
    };
    let schema = unique_schema();
    let config = PostgresConfig::from_url(&url)
        .unwrap()
        .with_schema(schema.clone());
    let store = PostgresLedgerStore::open(config.clone()).await.unwrap();
    suite(&store).await;
    drop(store);
    let store = PostgresLedgerStore::open(config).await.unwrap();
    assert_eq!(store.epoch(Epoch(8)).await.unwrap(), Some(ledger(8, 10)));
    drop(store);
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_writers_agree() {
    let Some(url) = database_url("postgres_concurrent_writers_agree") else {
        return;
    };
    let schema = unique_schema();
    let config = PostgresConfig::from_url(&url)
        .unwrap()
        .with_schema(schema.clone());
    let a = std::sync::Arc::new(PostgresLedgerStore::open(config.clone()).await.unwrap());
    let b = std::sync::Arc::new(PostgresLedgerStore::open(config).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store.store_epoch(&ledger(20, 5)).await.unwrap()
        }));
    }
    let mut inserted = 0;
    for t in tasks {
        if t.await.unwrap() == StoreOutcome::Inserted {
            inserted += 1;
        }
    }
    assert_eq!(
        inserted, 1,
        "exactly one writer inserts, the others see an identical row"
    );
    drop((a, b));
    drop_schema(&url, &schema).await;
}

#[test]
fn postgres_rejects_bad_schema_names() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = PostgresConfig::from_url("postgres://nobody@127.0.0.1:1/x")
        .unwrap()
        .with_schema("bad;name");
    assert!(matches!(
        rt.block_on(PostgresLedgerStore::open(config)),
        Err(Error::PostgresPool(_))
    ));
}
