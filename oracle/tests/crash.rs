//! A member killed with SIGKILL between recording its vote and sending it re-sends the SAME
//! vote after a restart on the same data directory, and never signs a second root.
//!
//! The child is this test binary re-executed with [`CHILD_DIR`] set: it records the vote
//! through the committee's own path and raises SIGKILL before any network exists.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::Arc;

use common::net::*;
use common::*;
use oracle::Membership;
use oracle::own_vote::OwnVoter;
use pool_registry::oracle::SignerSet;
use pool_registry::{OracleStore, SqliteLedgerStore};

const CHILD_DIR: &str = "ORACLE_CRASH_CHILD_DIR";
const FRAME: u64 = 5;

/// The child's job (does nothing unless [`CHILD_DIR`] is set): record member 2's vote for
/// root 1 in frame 5, then die by SIGKILL.
#[tokio::test]
async fn child_records_its_vote_then_is_killed() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let store = Arc::new(
        SqliteLedgerStore::open(std::path::Path::new(&dir).join("ledger.sqlite"))
            .await
            .unwrap(),
    );
    let snapshot = store
        .ensure_membership(&snapshot(FRAME, 4, 3))
        .await
        .unwrap();
    let membership = Membership::from_snapshot(&snapshot).unwrap();
    let voter = OwnVoter::new(store, Arc::new(bls_key(2)), domain());
    voter.vote(&membership, root(1)).await.unwrap();
    // SAFETY: raising a signal on our own process has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGKILL);
    }
    unreachable!("SIGKILL is not catchable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_member_resends_the_recorded_vote_after_restart() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_records_its_vote_then_is_killed",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dirs[2].path())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    let recorded = {
        let store = SqliteLedgerStore::open(dirs[2].path().join("ledger.sqlite"))
            .await
            .unwrap();
        store
            .own_vote(FRAME)
            .await
            .unwrap()
            .expect("recorded before the kill")
    };
    assert_eq!(recorded, vote(FRAME, 2, root(1)));

    let setup = Setup::new(4, 3);
    let mut a = setup.start(0, dirs[0].path()).await;
    let mut b = setup.start(1, dirs[1].path()).await;
    let mut c = setup.start(2, dirs[2].path()).await;
    connect(&[&a, &b, &c]).await;
    // The restarted member sends the vote it recorded: the others receive exactly it.
    for node in [&a, &b] {
        let got = wait_for(|| async {
            node.store
                .votes(FRAME)
                .await
                .unwrap()
                .into_iter()
                .find(|v| v.member == 2)
        })
        .await;
        assert_eq!(got, recorded);
    }
    // It never signs a second root for the frame; the same root is the recorded vote.
    let err = c
        .committee
        .submit(setup.submission(root(2)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already voted"), "{err}");
    assert_eq!(
        c.committee.submit(setup.submission(root(1))).await.unwrap(),
        recorded
    );
    for node in [&a, &b] {
        node.committee
            .submit(setup.submission(root(1)))
            .await
            .unwrap();
    }
    let certs = [
        a.certificate().await,
        b.certificate().await,
        c.certificate().await,
    ];
    assert!(certs.iter().all(|x| *x == certs[0]));
    assert_eq!(certs[0].signers, SignerSet::from_indices([0, 1, 2]));
    assert_eq!(c.store.own_vote(FRAME).await.unwrap(), Some(recorded));
}
