//! The pure core: tally, equivocation, the certificate function, batch verification,
//! certificate verification and the node's own vote.

mod common;

use std::sync::Arc;

use common::*;
use oracle::own_vote::OwnVoter;
use oracle::tally::{FrameTally, Inserted, Screen};
use oracle::{certificate, verify_certificate, verify_votes, verify_votes_individually};
use pool_registry::oracle::SignerSet;
use pool_registry::{OracleStore, SqliteLedgerStore};
use proptest::prelude::*;
use types::SignatureBytes;

#[test]
fn quorum_of_agreeing_votes_makes_a_verifiable_certificate() {
    let m = membership(7, 4, 3);
    let votes = [
        vote(7, 0, root(1)),
        vote(7, 1, root(1)),
        vote(7, 3, root(1)),
    ];
    let cert = certificate(&m, &votes).expect("3 of 4 agree");
    assert_eq!(cert.frame, 7);
    assert_eq!(cert.report_root, root(1));
    assert_eq!(cert.signers, SignerSet::from_indices([0, 1, 3]));
    verify_certificate(&cert, &m, &domain()).unwrap();
    assert!(certificate(&m, &votes[..2]).is_none(), "2 < quorum");
    // The aggregate is the sum of exactly the signers' votes.
    let mut forged = cert.clone();
    forged.signers = SignerSet::from_indices([0, 1, 2]);
    assert!(verify_certificate(&forged, &m, &domain()).is_err());
}

#[test]
fn certificate_verification_names_each_failure() {
    let m = membership(7, 4, 3);
    let votes: Vec<_> = (0..4).map(|i| vote(7, i, root(1))).collect();
    let cert = certificate(&m, &votes).unwrap();
    assert_eq!(cert.signers.len(), 4);
    let check = |c: &oracle::QuorumCertificate, needle: &str| {
        let err = verify_certificate(c, &m, &domain())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err} lacks {needle}");
    };
    let mut c = cert.clone();
    c.signers.insert(9);
    check(&c, "signer 9 is not a member");
    let small = certificate(&membership(7, 3, 2), &votes[..2]).unwrap();
    check(&small, "2 signers, the quorum is 3");
    let mut c = cert.clone();
    c.report_root = root(2);
    check(&c, "does not verify");
    let mut c = cert.clone();
    c.aggregate_signature = SignatureBytes::repeat_byte(0x11);
    check(&c, "aggregate signature");
    let mut c = cert.clone();
    c.frame = 8;
    check(&c, "the membership given is frame 7's");
    // Another chain's domain.
    let other = oracle::VoteDomain::new(&types::ChainSpec::mainnet(), types::Hash256::ZERO);
    assert!(verify_certificate(&cert, &m, &other).is_err());
}

#[test]
fn equivocation_is_evidence_and_counts_for_neither_root() {
    let m = membership(3, 4, 3);
    let mut tally = FrameTally::new(3);
    for i in [0, 1] {
        assert_eq!(tally.insert(&m, vote(3, i, root(1))), Inserted::New);
    }
    assert_eq!(tally.insert(&m, vote(3, 2, root(1))), Inserted::New);
    assert_eq!(tally.agreed_root(&m), Some(root(1)));
    let evidence = match tally.insert(&m, vote(3, 2, root(2))) {
        Inserted::Evidence(e) => *e,
        other => panic!("{other:?}"),
    };
    assert_eq!((evidence.frame(), evidence.member()), (3, 2));
    assert_eq!(evidence.first, vote(3, 2, root(1)));
    assert_eq!(evidence.second, vote(3, 2, root(2)));
    assert_eq!(tally.equivocators(), SignerSet::from_indices([2]));
    assert_eq!(tally.agreeing(root(1)), SignerSet::from_indices([0, 1]));
    assert_eq!(
        tally.agreed_root(&m),
        None,
        "member 2 counts for neither root"
    );
    assert!(tally.certificate(&m).is_none());
    assert_eq!(tally.screen(&m, &vote(3, 2, root(3))), Screen::Equivocator);
    assert_eq!(tally.insert(&m, vote(3, 2, root(3))), Inserted::Ignored);
    assert_eq!(tally.len(), 4, "both votes kept, the third dropped");
    // The last honest member brings the quorum back without the equivocator.
    tally.insert(&m, vote(3, 3, root(1)));
    let cert = tally.certificate(&m).unwrap();
    assert_eq!(cert.signers, SignerSet::from_indices([0, 1, 3]));
    assert!(tally.all_accounted_for(&m));
    verify_certificate(&cert, &m, &domain()).unwrap();
}

#[test]
fn screening_drops_duplicates_and_strangers_before_verification() {
    let m = membership(3, 4, 3);
    let mut tally = FrameTally::new(3);
    tally.insert(&m, vote(3, 0, root(1)));
    assert_eq!(tally.screen(&m, &vote(3, 0, root(1))), Screen::Duplicate);
    let mut other_bytes = vote(3, 0, root(1));
    other_bytes.signature = SignatureBytes::repeat_byte(7);
    assert_eq!(tally.screen(&m, &other_bytes), Screen::Duplicate);
    assert_eq!(tally.screen(&m, &vote(3, 4, root(1))), Screen::NotAMember);
    assert_eq!(tally.screen(&m, &vote(4, 1, root(1))), Screen::WrongFrame);
    assert_eq!(tally.screen(&m, &vote(3, 1, root(1))), Screen::New);
}

#[test]
fn batch_verification_finds_the_bad_votes() {
    let m = membership(5, 8, 5);
    let mut votes: Vec<_> = (0..8)
        .map(|i| vote(5, i, root(1 + (i % 2) as u8)))
        .collect();
    assert_eq!(verify_votes(&m, &domain(), &votes), vec![true; 8]);
    // A signature by another key, a signature over another root, garbage, a stranger.
    votes[1].signature = vote(5, 2, root(2)).signature;
    votes[3].report_root = root(9);
    votes[4].signature = SignatureBytes::repeat_byte(0xff);
    votes[6].member = 200;
    let expected = vec![true, false, true, false, false, true, false, true];
    assert_eq!(verify_votes(&m, &domain(), &votes), expected);
    assert_eq!(verify_votes_individually(&m, &domain(), &votes), expected);
    // Wrong frame for the membership.
    assert_eq!(
        verify_votes(&m, &domain(), &[vote(6, 0, root(1))]),
        vec![false]
    );
    assert!(verify_votes(&m, &domain(), &[]).is_empty());
}

#[tokio::test]
async fn own_vote_is_recorded_once_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteLedgerStore::open(dir.path().join("l.sqlite"))
            .await
            .unwrap(),
    );
    let voter = OwnVoter::new(store.clone(), Arc::new(bls_key(2)), domain());
    let m = membership(9, 4, 3);
    let v = voter.vote(&m, root(1)).await.unwrap();
    assert_eq!(v, vote(9, 2, root(1)));
    assert_eq!(
        store.own_vote(9).await.unwrap(),
        Some(v.clone()),
        "recorded"
    );
    assert_eq!(
        voter.vote(&m, root(1)).await.unwrap(),
        v,
        "same root: same vote"
    );
    let err = voter.vote(&m, root(2)).await.unwrap_err().to_string();
    assert!(err.contains("already voted for report root"), "{err}");
    assert_eq!(store.own_vote(9).await.unwrap(), Some(v));
    let stranger = OwnVoter::new(store.clone(), Arc::new(bls_key(40)), domain());
    let err = stranger
        .vote(&membership(10, 4, 3), root(1))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a committee member"), "{err}");
    assert_eq!(store.own_vote(10).await.unwrap(), None);
}

/// One member's behaviour in a random scenario.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Silent,
    Votes(u8),
    Equivocates(u8, u8),
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        1 => Just(Behaviour::Silent),
        6 => (1u8..=3).prop_map(Behaviour::Votes),
        1 => (1u8..=3, 1u8..=3).prop_map(|(a, b)| if a == b { Behaviour::Votes(a) } else { Behaviour::Equivocates(a, b) }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any set of votes, in any order, with any duplication: every honest member that holds
    /// the set computes the same certificate, and it verifies.
    #[test]
    fn certificate_is_a_function_of_the_vote_set(
        members in prop::collection::vec(behaviour(), 4..=7),
        orders in prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 0..40), 3),
        quorum_extra in 0usize..=1,
    ) {
        let n = members.len() as u64;
        let quorum = (n as usize / 2 + 1 + quorum_extra).min(n as usize) as u16;
        let m = membership(1, n, quorum);
        let mut set = Vec::new();
        for (i, b) in members.iter().enumerate() {
            match *b {
                Behaviour::Silent => {}
                Behaviour::Votes(r) => set.push(vote(1, i as u64, root(r))),
                Behaviour::Equivocates(a, b) => {
                    set.push(vote(1, i as u64, root(a)));
                    set.push(vote(1, i as u64, root(b)));
                }
            }
        }
        let reference = certificate(&m, &set);
        if let Some(cert) = &reference {
            verify_certificate(cert, &m, &domain()).unwrap();
            for (i, b) in members.iter().enumerate() {
                let signed = cert.signers.contains(i as u8);
                let agrees = matches!(b, Behaviour::Votes(r) if root(*r) == cert.report_root);
                prop_assert_eq!(signed, agrees, "member {} {:?}", i, b);
            }
        } else {
            let mut counts = std::collections::BTreeMap::new();
            for b in &members {
                if let Behaviour::Votes(r) = b { *counts.entry(*r).or_insert(0usize) += 1; }
            }
            prop_assert!(counts.values().all(|c| *c < quorum as usize));
        }
        for picks in orders {
            // A permutation with duplicates: every vote at least once, extra copies picked.
            let mut delivered = set.clone();
            for p in &picks {
                if !set.is_empty() {
                    delivered.push(set[p.index(set.len())].clone());
                }
            }
            let len = delivered.len();
            for (k, p) in picks.iter().enumerate() {
                if len > 1 {
                    delivered.swap(k % len, p.index(len));
                }
            }
            prop_assert_eq!(&certificate(&m, &delivered), &reference);
        }
    }
}
