//! End to end on SQLite: the Deneb fixture epoch goes through snapshot capture, accounting,
//! storage and a signed frame report; registry changes inside a frame do not apply to it.

mod common;

use common::{fixtures_dir, load};
use pool_registry::pipeline::{account_and_store, build_and_store_report, capture_frame_snapshot};
use pool_registry::report::{ReportSigner, ReportStatus, report_signing_root};
use pool_registry::{Error, LedgerStore, Registry, SqliteLedgerStore, StoreOutcome};
use types::{Epoch, Hash256, PublicKeyBytes, SignatureBytes, U256};

struct Signer(blst::min_pk::SecretKey);

impl ReportSigner for Signer {
    fn public_key(&self) -> PublicKeyBytes {
        PublicKeyBytes::from(self.0.sk_to_pk().compress())
    }
    fn sign(&self, root: Hash256) -> pool_registry::Result<SignatureBytes> {
        let dst = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
        Ok(SignatureBytes::from(
            self.0.sign(root.as_slice(), dst, &[]).compress(),
        ))
    }
}

/// The fixture registry with one-epoch frames starting at epoch 3 (frame 0 = epoch 3).
fn registry(dir: &std::path::Path, text: &str) -> Registry {
    let text = text.replace(
        "frame_epochs = 4",
        "frame_epochs = 1\nframe_start_epoch = 3",
    );
    Registry::parse(dir.join("registry.toml"), &text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epoch_to_signed_report() {
    let fixture = fixtures_dir().join("ledger/deneb");
    let l = load(&fixture, 3);
    let text = std::fs::read_to_string(fixture.join("registry.toml")).unwrap();
    let reg = registry(&fixture, &text);
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteLedgerStore::open(tmp.path().join("ledger.sqlite"))
        .await
        .unwrap();

    let snapshot = capture_frame_snapshot(&store, &reg, Epoch(3))
        .await
        .unwrap();
    assert_eq!(snapshot.frame, 0);
    let mut inputs = l.inputs.clone();
    inputs.rewards = l.rewards.clone();
    // Not before epoch 4 is final.
    let err = account_and_store(&store, &l.spec, &reg, &inputs, Epoch(4))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not accountable yet"), "{err}");
    assert_eq!(store.epoch(Epoch(3)).await.unwrap(), None);
    let (ledger, outcome) = account_and_store(&store, &l.spec, &reg, &inputs, Epoch(5))
        .await
        .unwrap();
    assert_eq!(outcome, StoreOutcome::Inserted);
    assert_eq!(ledger.records.len(), 9);

    // Inside the frame, a registry change (key of validator 3 removed) does not apply: the
    // stored snapshot wins and re-accounting is a no-op.
    let changed = registry(
        &fixture,
        &text.replace(&format!(", \"{}\"", common::scenario::pubkey(3)), ""),
    );
    assert!(!changed.contains_key(&common::scenario::pubkey(3)));
    let (again, outcome) = account_and_store(&store, &l.spec, &changed, &inputs, Epoch(5))
        .await
        .unwrap();
    assert_eq!(outcome, StoreOutcome::Unchanged);
    assert_eq!(again, ledger);
    // Nor does a new vault (a restart with an edited registry): the frame's epochs are
    // accounted with the parameters stored when it started, which the API publishes.
    let stored = store
        .frame_parameters(0)
        .await
        .unwrap()
        .expect("parameters");
    assert_eq!(stored, reg.frame_parameters(0));
    let vault = format!("0x{}", hex::encode(common::scenario::VAULT));
    let moved = registry(
        &fixture,
        &text.replace(&vault, &format!("0x{}", "cd".repeat(20))),
    );
    assert_ne!(moved.pool().el_rewards_vault, reg.pool().el_rewards_vault);
    let (again, outcome) = account_and_store(&store, &l.spec, &moved, &inputs, Epoch(5))
        .await
        .unwrap();
    assert_eq!(outcome, StoreOutcome::Unchanged);
    assert_eq!(again, ledger);
    assert!(
        again
            .records
            .iter()
            .all(|r| r.fee_recipient_mismatches == 0)
    );
    // The same epoch with different inputs is refused.
    let mut tampered = inputs.clone();
    tampered.validators_end[0].balance += 1;
    assert!(matches!(
        account_and_store(&store, &l.spec, &reg, &tampered, Epoch(5)).await,
        Err(Error::LedgerConflict { .. })
    ));

    let signer = Signer(blst::min_pk::SecretKey::key_gen(&[3u8; 32], &[]).unwrap());
    let gvr = Hash256::repeat_byte(0x42);
    let shares = U256::from(64u64) * U256::from(1_000_000_000_000_000_000u64);
    let env = build_and_store_report(
        &store,
        &l.spec,
        reg.pool(),
        gvr,
        0,
        Some(shares),
        Some(&signer),
    )
    .await
    .unwrap();
    // Pool: CL −999_922_000 gwei (a 1 ETH slashing), EL +50_000_000: no fees, the rate falls.
    // Negative rebase allowance: 7 active × 0.101 ETH + 1 slashed × 1 ETH ≥ 0.999922 ETH.
    assert_eq!(env.status, ReportStatus::Final, "{:?}", env.violations);
    let t = &env.report.totals;
    assert_eq!(
        (t.cl_rewards_gwei, t.penalties_gwei, t.slashing_losses_gwei),
        (98_000, 10_000, 1_000_010_000)
    );
    assert_eq!(
        (t.el_rewards_gwei, t.net_rewards_gwei, t.fee_gwei),
        (50_000_000, -949_922_000, 0)
    );
    assert_eq!(
        (
            t.newly_slashed,
            t.validators_active,
            t.validators_exited,
            t.validators_slashed
        ),
        (1, 7, 1, 1)
    );
    assert_eq!(
        (
            t.proposals_assigned,
            t.proposals_missed,
            t.credential_mismatches
        ),
        (2, 1, 1)
    );
    assert_eq!(
        (t.unexplained_gwei, t.breakdown_available),
        (-1_000_000_000, 9)
    );
    assert!(env.report.rate < U256::from(1_000_000_000_000_000_000u64));
    assert_eq!(env.report.operators.len(), 2);
    // Operator 2 carries the slashing (validator 7).
    assert_eq!(
        env.report.operators[1].tally.slashing_losses_gwei,
        1_000_010_000
    );
    // Signed over the report domain, stored, and the base of nothing newer yet.
    let pk = blst::min_pk::PublicKey::uncompress(env.signer.unwrap().as_slice()).unwrap();
    let sig = blst::min_pk::Signature::uncompress(env.signature.unwrap().as_slice()).unwrap();
    let root = report_signing_root(&l.spec, gvr, env.root);
    assert_eq!(
        sig.verify(
            true,
            root.as_slice(),
            b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            &[],
            &pk,
            true
        ),
        blst::BLST_ERROR::BLST_SUCCESS
    );
    assert_eq!(
        store.latest_final_report().await.unwrap(),
        Some(env.clone())
    );
    assert!(
        build_and_store_report(
            &store,
            &l.spec,
            reg.pool(),
            gvr,
            0,
            Some(shares),
            Some(&signer)
        )
        .await
        .is_err()
    );
    // The next frame's report needs its snapshot and its epoch in the ledger first.
    let err = build_and_store_report(&store, &l.spec, reg.pool(), gvr, 1, Some(shares), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no assignment snapshot stored for frame 1"),
        "{err}"
    );
    capture_frame_snapshot(&store, &reg, Epoch(4))
        .await
        .unwrap();
    let err = build_and_store_report(&store, &l.spec, reg.pool(), gvr, 1, Some(shares), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not stored"), "{err}");
}

/// Without a final report (the pool's first report withheld, or not built), the next report
/// covers every epoch since the pool's first frame, found from the stored snapshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_final_report_the_pool_reports_from_its_first_frame() {
    let fixture = fixtures_dir().join("ledger/deneb");
    let l = load(&fixture, 3);
    let text = std::fs::read_to_string(fixture.join("registry.toml")).unwrap();
    let reg = registry(&fixture, &text);
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteLedgerStore::open(tmp.path().join("ledger.sqlite"))
        .await
        .unwrap();
    let mut inputs = l.inputs.clone();
    inputs.rewards = l.rewards.clone();
    let (ledger, _) = account_and_store(&store, &l.spec, &reg, &inputs, Epoch(5))
        .await
        .unwrap();
    let mut next = ledger.clone();
    next.epoch = Epoch(4);
    capture_frame_snapshot(&store, &reg, Epoch(4))
        .await
        .unwrap();
    store.store_epoch(&next).await.unwrap();
    let gvr = Hash256::repeat_byte(0x42);
    let env = build_and_store_report(&store, &l.spec, reg.pool(), gvr, 1, None, None)
        .await
        .unwrap();
    assert_eq!(
        (env.report.first_epoch, env.report.last_epoch),
        (Epoch(3), Epoch(4))
    );
    assert_eq!(
        env.report.totals.net_rewards_gwei,
        2 * (-949_922_000),
        "both epochs counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_membership_is_stored_with_the_frame_snapshot() {
    use pool_registry::OracleStore;
    let fixture = fixtures_dir().join("ledger/deneb");
    let text = std::fs::read_to_string(fixture.join("registry.toml")).unwrap();
    let key = |i: u64| {
        signer::derivation::interop_secret_key(i)
            .unwrap()
            .public_key()
            .to_bytes()
    };
    let with_oracle = |quorum: u64, members: u64| {
        let mut text = format!("{text}\n[oracle]\nquorum = {quorum}\n");
        for i in 0..members {
            text.push_str(&format!(
                "\n[[oracle.members]]\nindex = {i}\npubkey = \"{}\"\npeer_id = \"12D3KooWAHoEkEqnKzM5PXFygh2movVBCSX3k8tDsT2cneU68Gy{}\"\n",
                key(i),
                ["t", "u", "v"][i as usize]
            ));
        }
        registry(&fixture, &text)
    };
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteLedgerStore::open(tmp.path().join("ledger.sqlite"))
        .await
        .unwrap();
    let reg = with_oracle(2, 3);
    capture_frame_snapshot(&store, &reg, Epoch(3))
        .await
        .unwrap();
    let stored = store
        .membership(0)
        .await
        .unwrap()
        .expect("captured with frame 0");
    assert_eq!(stored, reg.oracle_membership(0).unwrap());
    assert_eq!((stored.quorum, stored.size()), (2, 3));
    // A registry change inside the frame does not apply to it; the next frame takes it.
    let changed = with_oracle(1, 1);
    capture_frame_snapshot(&store, &changed, Epoch(3))
        .await
        .unwrap();
    assert_eq!(store.membership(0).await.unwrap(), Some(stored));
    capture_frame_snapshot(&store, &changed, Epoch(4))
        .await
        .unwrap();
    assert_eq!(store.membership(1).await.unwrap().unwrap().size(), 1);
    // Without an [oracle] section nothing is stored.
    capture_frame_snapshot(&store, &registry(&fixture, &text), Epoch(5))
        .await
        .unwrap();
    assert_eq!(store.membership(2).await.unwrap(), None);
}
