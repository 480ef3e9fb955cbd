//! Faulty and malicious members on loopback TCP: forged votes, a flood, equivocation, a
//! stranger's connection. Every wait is bounded; outcomes are asserted, never durations.

mod common;

use std::sync::atomic::Ordering;

use common::net::*;
use common::*;
use oracle::{CommitteeEvent, OracleVote, VoteOutcome};
use pool_registry::OracleStore;
use pool_registry::oracle::{EquivocationEvidence, SignerSet};
use types::Hash256;

/// Publishes variants of `make(k)` until every honest node counted `outcome` once.
async fn deliver(
    attacker: &Node,
    honest: &[&Node],
    outcome: VoteOutcome,
    make: impl Fn(u64) -> Vec<u8>,
) {
    let k = std::sync::atomic::AtomicU64::new(0);
    wait_for(|| {
        let data = make(k.fetch_add(1, Ordering::Relaxed));
        async move {
            attacker.committee.publish_raw(data).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            honest
                .iter()
                .all(|n| n.metrics.of(outcome) >= 1)
                .then_some(())
        }
    })
    .await;
}

fn num_root(k: u64) -> Hash256 {
    let mut b = [0u8; 32];
    b[24..].copy_from_slice(&k.to_be_bytes());
    Hash256::from(b)
}

fn bad_signature(frame: u64, k: u64) -> OracleVote {
    let mut v = vote(frame, 3, num_root(k));
    v.signature = vote(frame, 0, num_root(k)).signature;
    v
}

/// Three honest members and member 3's identity run by an attacker, all connected.
async fn committee_with_attacker(setup: &Setup, dirs: &[tempfile::TempDir]) -> (Vec<Node>, Node) {
    let mut honest = Vec::new();
    for i in 0..3 {
        honest.push(setup.start(i, dirs[i as usize].path()).await);
    }
    let attacker = setup.start(3, dirs[3].path()).await;
    let mut all: Vec<&Node> = honest.iter().collect();
    all.push(&attacker);
    connect(&all).await;
    (honest, attacker)
}

/// Every honest member bans the attacker, records nothing of it, and still agrees.
async fn attacker_banned_and_honest_agree(setup: &Setup, honest: &mut [Node], attacker: &Node) {
    let frame = setup.frame;
    for node in honest.iter() {
        wait_for(|| async {
            let peers = node.committee.connected_peers().await.unwrap();
            (node.metrics.bans.load(Ordering::Relaxed) >= 1 && !peers.contains(&attacker.peer_id()))
                .then_some(())
        })
        .await;
    }
    for node in honest.iter() {
        let held = node.store.votes(frame).await.unwrap();
        assert!(held.is_empty(), "member {}: {held:?}", node.index);
    }
    for node in honest.iter() {
        node.committee
            .submit(setup.submission(root(1)))
            .await
            .unwrap();
    }
    let mut certs = Vec::new();
    for node in honest.iter_mut() {
        certs.push(node.certificate().await);
    }
    assert!(certs.iter().all(|c| *c == certs[0]));
    assert_eq!(certs[0].signers, SignerSet::from_indices([0, 1, 2]));
    for node in honest.iter() {
        // Received votes are recorded right after the seal.
        let members = wait_for(|| async {
            let votes = node.store.votes(frame).await.unwrap();
            (votes.len() >= 3).then(|| votes.iter().map(|v| v.member).collect::<Vec<_>>())
        })
        .await;
        assert_eq!(members, vec![0, 1, 2]);
        assert!(node.store.evidence(frame).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_peer_is_dropped_and_the_sender_banned() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (mut honest, attacker) = committee_with_attacker(&setup, &dirs).await;
    let h: Vec<&Node> = honest.iter().collect();
    // Gossip is flowing: a valid vote of an earlier frame (no penalty, no effect on frame 5).
    deliver(&attacker, &h, VoteOutcome::Accepted, |k| {
        vote(4, 3, num_root(k)).to_ssz()
    })
    .await;
    // A burst of 10,000 distinct invalid votes.
    for k in 0..10_000u64 {
        attacker
            .committee
            .publish_raw(bad_signature(setup.frame, 100_000 + k).to_ssz())
            .await
            .unwrap();
    }
    attacker_banned_and_honest_agree(&setup, &mut honest, &attacker).await;
    for node in &honest {
        let rejected =
            node.metrics.of(VoteOutcome::BadSignature) + node.metrics.of(VoteOutcome::Dropped);
        assert!(
            rejected >= 1,
            "the flood reached the member and was refused"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_votes_are_rejected_and_the_sender_banned() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (mut honest, attacker) = committee_with_attacker(&setup, &dirs).await;
    let h: Vec<&Node> = honest.iter().collect();
    let frame = setup.frame;

    // A vote of a non-member index (signed by its own key).
    deliver(&attacker, &h, VoteOutcome::NotAMember, |k| {
        vote(frame, 7, num_root(k)).to_ssz()
    })
    .await;
    // Member 3's vote with a signature that is not its own.
    deliver(&attacker, &h, VoteOutcome::BadSignature, |k| {
        bad_signature(frame, 1000 + k).to_ssz()
    })
    .await;
    // A valid vote of a frame outside the window.
    deliver(&attacker, &h, VoteOutcome::WrongFrame, |k| {
        vote(1000, 3, num_root(k)).to_ssz()
    })
    .await;
    // Oversized.
    deliver(&attacker, &h, VoteOutcome::Malformed, |k| {
        let mut data = vec![0u8; 4096];
        data[..8].copy_from_slice(&k.to_le_bytes());
        data
    })
    .await;
    // An attacker that keeps forging is scored down, then disconnected and banned.
    let k = std::sync::atomic::AtomicU64::new(0);
    wait_for(|| {
        let k = k.fetch_add(1, Ordering::Relaxed);
        let forged = [
            vote(frame, 7, num_root(5000 + k)).to_ssz(),
            bad_signature(frame, 6000 + k).to_ssz(),
            vote(1000, 3, num_root(7000 + k)).to_ssz(),
            vec![1u8; 4096 + k as usize],
        ];
        let (attacker, h) = (&attacker, &h);
        async move {
            for data in forged {
                // Refused once the attacker is disconnected: nothing to deliver to.
                let _ = attacker.committee.publish_raw(data).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            h.iter()
                .all(|n| n.metrics.bans.load(Ordering::Relaxed) >= 1)
                .then_some(())
        }
    })
    .await;
    attacker_banned_and_honest_agree(&setup, &mut honest, &attacker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_is_recorded_and_counts_for_neither_root() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut honest = Vec::new();
    for i in 0..3 {
        honest.push(setup.start(i, dirs[i as usize].path()).await);
    }
    let equivocator = setup.start(3, dirs[3].path()).await;
    let mut all: Vec<&Node> = honest.iter().collect();
    all.push(&equivocator);
    connect(&all).await;
    let frame = setup.frame;
    let first = vote(frame, 3, root(1));
    let second = vote(frame, 3, root(2));
    let expected = EquivocationEvidence::new(first.clone(), second.clone()).unwrap();
    // Both signed by member 3's real key; sent until every honest member holds the evidence.
    for node in &honest {
        let node_store = node.store.clone();
        wait_for(|| {
            let (a, b, store) = (first.clone(), second.clone(), node_store.clone());
            let committee = equivocator.committee.clone();
            async move {
                committee.publish_raw(a.to_ssz()).await.unwrap();
                committee.publish_raw(b.to_ssz()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                (!store.evidence(frame).await.unwrap().is_empty()).then_some(())
            }
        })
        .await;
    }
    for node in &mut honest {
        let event = node
            .event(|e| matches!(e, CommitteeEvent::Evidence(_)))
            .await;
        assert_eq!(event, CommitteeEvent::Evidence(expected.clone()));
        assert_eq!(
            node.store.evidence(frame).await.unwrap(),
            vec![expected.clone()]
        );
    }
    for node in &honest {
        node.committee
            .submit(setup.submission(root(2)))
            .await
            .unwrap();
    }
    for node in &mut honest {
        let cert = node.certificate().await;
        assert_eq!(cert.report_root, root(2));
        assert_eq!(
            cert.signers,
            SignerSet::from_indices([0, 1, 2]),
            "member 3 counts for neither"
        );
        assert_eq!(
            node.metrics.bans.load(Ordering::Relaxed),
            0,
            "valid votes are not penalised"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_connect() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut a = setup.start(0, dirs[0].path()).await;
    let mut b = setup.start(1, dirs[1].path()).await;
    // Identity 99 is not in the registry.
    let stranger = setup.start(99, dirs[2].path()).await;
    for node in [&a, &b] {
        stranger
            .committee
            .add_address(node.peer_id(), node.address.clone())
            .await
            .unwrap();
    }
    connect(&[&a, &b]).await;
    // The members connect to each other; the stranger's dials are refused.
    wait_for(|| async {
        (a.committee.connected_peers().await.unwrap() == vec![b.peer_id()]).then_some(())
    })
    .await;
    a.committee.submit(setup.submission(root(1))).await.unwrap();
    b.committee.submit(setup.submission(root(1))).await.unwrap();
    let _ = (&mut a, &mut b);
    wait_for(|| async { (b.store.votes(setup.frame).await.unwrap().len() == 2).then_some(()) })
        .await;
    for node in [&a, &b] {
        assert!(
            !node
                .committee
                .connected_peers()
                .await
                .unwrap()
                .contains(&stranger.peer_id())
        );
    }
    assert!(
        stranger.store.votes(setup.frame).await.unwrap().is_empty(),
        "no gossip reached it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_replayed_under_another_frame_is_refused() {
    let setup = Setup::new(4, 3);
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (honest, attacker) = committee_with_attacker(&setup, &dirs).await;
    // Every honest member holds the reports of these roots as frame 4's.
    for node in &honest {
        let mut bodies = node.bodies.0.lock();
        for k in 0..2000 {
            bodies.insert(num_root(k), (4, Vec::new()));
        }
    }
    let h: Vec<&Node> = honest.iter().collect();
    // Member 3's genuine signatures over those roots, claimed for frame 5.
    deliver(&attacker, &h, VoteOutcome::WrongFrame, |k| {
        vote(setup.frame, 3, num_root(k)).to_ssz()
    })
    .await;
    for node in &honest {
        assert!(node.store.votes(setup.frame).await.unwrap().is_empty());
        assert_eq!(node.metrics.of(VoteOutcome::Accepted), 0);
    }
}
