//! Committees of in-process members on loopback TCP: agreement, dissent, catch-up after a
//! restart. Every wait is bounded and generous; nothing asserts a duration.

mod common;

use common::net::*;
use common::*;
use oracle::{CommitteeEvent, verify_certificate};
use pool_registry::OracleStore;
use pool_registry::oracle::SignerSet;
use pool_registry::report::{FrameReport, Tally};
use types::{Epoch, Hash256, Slot, U256};

fn report(frame: u64, rate: u64) -> FrameReport {
    FrameReport {
        version: 1,
        genesis_validators_root: GVR,
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
        apr_ppm: 5,
        cl_balance_base_gwei: 96_000_000_000,
        totals: Tally::default(),
        operators: vec![],
        rewards_root: Hash256::ZERO,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_members_agree_on_one_certificate() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for i in 0..4 {
        nodes.push(setup.start(i, dirs[i as usize].path()).await);
    }
    connect(&nodes.iter().collect::<Vec<_>>()).await;
    for node in &nodes {
        node.committee
            .submit(setup.submission(root(1)))
            .await
            .unwrap();
    }
    let mut certs = Vec::new();
    for node in &mut nodes {
        certs.push(node.certificate().await);
    }
    let m = membership(setup.frame, 4, 3);
    for cert in &certs {
        assert_eq!(cert, &certs[0], "identical on every member");
    }
    assert_eq!(certs[0].report_root, root(1));
    assert_eq!(
        certs[0].signers,
        SignerSet::from_indices([0, 1, 2, 3]),
        "all accounted for"
    );
    verify_certificate(&certs[0], &m, &domain()).unwrap();
    for node in &nodes {
        assert_eq!(
            node.store.certificate(setup.frame).await.unwrap().as_ref(),
            Some(&certs[0])
        );
        // Received votes are recorded right after the seal.
        wait_for(|| async {
            (node.store.votes(setup.frame).await.unwrap().len() == 4).then_some(())
        })
        .await;
        // The same root again returns the recorded vote; another root is refused.
        let again = node
            .committee
            .submit(setup.submission(root(1)))
            .await
            .unwrap();
        assert_eq!(again, vote(setup.frame, node.index, root(1)));
        assert!(
            node.committee
                .submit(setup.submission(root(2)))
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_member_dissents_and_fetches_the_agreed_body() {
    let setup = Setup::new(4, 3);
    let honest = report(setup.frame, 1001);
    let tampered = report(setup.frame, 1500);
    let (honest_root, tampered_root) = (honest.root().unwrap(), tampered.root().unwrap());
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for i in 0..4 {
        nodes.push(setup.start(i, dirs[i as usize].path()).await);
    }
    connect(&nodes.iter().collect::<Vec<_>>()).await;
    for node in &nodes {
        let body = if node.index == 3 { &tampered } else { &honest };
        let mut submission = setup.submission(body.root().unwrap());
        submission.report_ssz = Some(body.to_ssz().unwrap());
        node.committee.submit(submission).await.unwrap();
    }
    let mut certs = Vec::new();
    for node in &mut nodes {
        certs.push(node.certificate().await);
    }
    for cert in &certs {
        assert_eq!(cert, &certs[0]);
    }
    assert_eq!(certs[0].report_root, honest_root);
    assert_eq!(certs[0].signers, SignerSet::from_indices([0, 1, 2]));
    let dissent = nodes[3]
        .event(|e| matches!(e, CommitteeEvent::Dissent { .. }))
        .await;
    assert_eq!(
        dissent,
        CommitteeEvent::Dissent {
            frame: setup.frame,
            ours: tampered_root,
            agreed: honest_root
        }
    );
    assert_eq!(
        nodes[3]
            .metrics
            .dissent
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        nodes[0]
            .metrics
            .dissent
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // The dissenting member fetches the agreed body to diff it with its own.
    let body = nodes[3]
        .committee
        .fetch_report(setup.frame, honest_root)
        .await
        .unwrap();
    assert_eq!(body, honest.to_ssz().unwrap());
    let err = nodes[3]
        .committee
        .fetch_report(setup.frame, Hash256::repeat_byte(0x77))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not be fetched"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_member_catches_up_and_the_certificate_forms() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // Member 2 votes while alone, then goes down (its vote is only in its store).
    let early = setup.start(2, dirs[2].path()).await;
    let recorded = early
        .committee
        .submit(setup.submission(root(1)))
        .await
        .unwrap();
    early.committee.shutdown();
    drop(early);

    // Members 0 and 1 vote; 2 and 3 are down: no certificate.
    let mut a = setup.start(0, dirs[0].path()).await;
    let mut b = setup.start(1, dirs[1].path()).await;
    connect(&[&a, &b]).await;
    a.committee.submit(setup.submission(root(1))).await.unwrap();
    b.committee.submit(setup.submission(root(1))).await.unwrap();
    for node in [&a, &b] {
        wait_for(|| async {
            (node.store.votes(setup.frame).await.unwrap().len() == 2).then_some(())
        })
        .await;
        assert_eq!(
            node.store.certificate(setup.frame).await.unwrap(),
            None,
            "2 < quorum"
        );
    }

    // Longer than gossipsub's message history (3 heartbeats of 300 ms): the returning member
    // can only learn the earlier votes through the votes request-response protocol.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // Member 2 restarts on its stored state and catches up.
    let mut c = setup.start(2, dirs[2].path()).await;
    connect(&[&a, &b, &c]).await;
    let certs = [
        a.certificate().await,
        b.certificate().await,
        c.certificate().await,
    ];
    assert!(certs.iter().all(|x| *x == certs[0]));
    assert_eq!(certs[0].signers, SignerSet::from_indices([0, 1, 2]));
    verify_certificate(&certs[0], &membership(setup.frame, 4, 3), &domain()).unwrap();
    // The restarted member sent the vote it had recorded, not a new one.
    assert_eq!(
        c.store.own_vote(setup.frame).await.unwrap(),
        Some(recorded.clone())
    );
    wait_for(|| async {
        a.store
            .votes(setup.frame)
            .await
            .unwrap()
            .contains(&recorded)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_the_frame_is_reported_unagreed_at_its_deadline() {
    let mut setup = Setup::new(4, 3);
    setup.deadline = std::time::Duration::from_secs(1);
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut a = setup.start(0, dirs[0].path()).await;
    let b = setup.start(1, dirs[1].path()).await;
    connect(&[&a, &b]).await;
    a.committee.submit(setup.submission(root(1))).await.unwrap();
    b.committee.submit(setup.submission(root(2))).await.unwrap();
    wait_for(|| async { (a.store.votes(setup.frame).await.unwrap().len() == 2).then_some(()) })
        .await;
    let event = a
        .event(|e| matches!(e, CommitteeEvent::Unagreed { .. }))
        .await;
    match event {
        CommitteeEvent::Unagreed { frame, roots } => {
            assert_eq!(frame, setup.frame);
            // Member 1's dissenting vote may or may not have arrived when the deadline fired.
            assert!(roots.contains(&(root(1), 1)), "{roots:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.store.certificate(setup.frame).await.unwrap(), None);
}
