//! Committees: the crate's validation (keys, proofs of possession, duplicates, quorum), the
//! contract's own checks in `setCommittee` (admin, quorum, G1 subgroup via G1MSM, infinity,
//! duplicates, first frame), and a 256-member committee whose keys span two data contracts.

mod common;

use common::{Setup, mask};
use contracts::bindings::PoolOracle;
use contracts::{Committee, Error, Member, Oracle, Rejection, Submission, prove_possession};
use types::{PublicKeyBytes, SignatureBytes, U256};

fn member(i: u64) -> Member {
    let s = common::secret(i);
    Member {
        public_key: PublicKeyBytes::from(s.sk_to_pk().compress()),
        proof_of_possession: prove_possession(&s),
    }
}

#[test]
fn committee_validation_offchain() {
    let members: Vec<Member> = (0..4).map(member).collect();
    assert!(Committee::new(&members, 3).is_ok());
    assert!(Committee::new(&members, 4).is_ok());
    for quorum in [0, 1, 2, 5] {
        assert!(
            matches!(
                Committee::new(&members, quorum),
                Err(Error::InvalidCommittee { size: 4, .. })
            ),
            "quorum {quorum} of 4"
        );
    }
    assert!(matches!(
        Committee::new(&[], 1),
        Err(Error::InvalidCommittee { size: 0, .. })
    ));
    let too_many: Vec<Member> = (0..257).map(|_| members[0]).collect();
    assert!(matches!(
        Committee::new(&too_many, 200),
        Err(Error::InvalidCommittee { size: 257, .. })
    ));

    // A proof of possession of another key.
    let mut wrong_pop = members.clone();
    wrong_pop[2].proof_of_possession = members[1].proof_of_possession;
    assert!(matches!(
        Committee::new(&wrong_pop, 3),
        Err(Error::InvalidProofOfPossession { index: 2, .. })
    ));
    // A signature over the key with the signature DST is not a proof of possession.
    let mut sig_not_pop = members.clone();
    let s1 = common::secret(1);
    sig_not_pop[1].proof_of_possession = SignatureBytes::from(
        s1.sign(
            members[1].public_key.as_slice(),
            contracts::bls::SIGNATURE_DST,
            &[],
        )
        .compress(),
    );
    assert!(matches!(
        Committee::new(&sig_not_pop, 3),
        Err(Error::InvalidProofOfPossession { index: 1, .. })
    ));
    // Not a key.
    let mut bad_key = members.clone();
    bad_key[3].public_key = PublicKeyBytes::repeat_byte(0x11);
    assert!(matches!(
        Committee::new(&bad_key, 3),
        Err(Error::InvalidPublicKey { index: 3, .. })
    ));
    // The same member twice.
    let mut twice = members.clone();
    twice[3] = members[0];
    assert!(matches!(
        Committee::new(&twice, 3),
        Err(Error::DuplicateMember {
            first: 0,
            second: 3
        })
    ));
}

/// `setCommittee` with raw keys, bypassing the crate's checks; the decoded refusal.
async fn raw_set(setup: &Setup, from_frame: u64, quorum: u16, keys: Vec<u8>) -> Option<Rejection> {
    let contract = PoolOracle::new(setup.oracle.address(), setup.admin.provider().clone());
    match contract
        .setCommittee(from_frame, quorum, keys.into())
        .send()
        .await
    {
        Ok(pending) => {
            let receipt = pending.get_receipt().await.expect("receipt");
            assert!(receipt.status(), "setCommittee reverted without a reason");
            None
        }
        Err(e) => Some(
            e.as_decoded_interface_error::<PoolOracle::PoolOracleErrors>()
                .map(Into::into)
                .unwrap_or_else(|| panic!("undecodable refusal: {e}")),
        ),
    }
}

fn keys(first: u64, n: u64) -> Vec<u8> {
    let members: Vec<Member> = (first..first + n).map(member).collect();
    let quorum = n as usize / 2 + 1;
    Committee::new(&members, quorum)
        .expect("valid")
        .encoded_keys()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_committee_checks_on_chain() {
    if !common::kit("committee::set_committee_checks_on_chain") {
        return;
    }
    let setup = Setup::new(&[]).await;
    // Only the admin.
    let (_, c) = common::committee(0, 4, 3);
    match setup.oracle.set_committee(0, &c).await {
        Err(Error::Rejected(Rejection::NotAdmin)) => {}
        other => panic!("expected NotAdmin, got {other:?}"),
    }
    // Quorum and size.
    let four = keys(0, 4);
    for quorum in [0u16, 2, 5] {
        assert_eq!(
            raw_set(&setup, 0, quorum, four.clone()).await,
            Some(Rejection::InvalidCommittee {
                size: U256::from(4),
                quorum: U256::from(quorum)
            })
        );
    }
    assert_eq!(
        raw_set(&setup, 0, 1, four[..100].to_vec()).await,
        Some(Rejection::InvalidCommittee {
            size: U256::ZERO,
            quorum: U256::from(1)
        })
    );
    // A repeated key (same x), the point at infinity, a point outside G1, a point off the curve.
    let mut repeated = four.clone();
    repeated.copy_within(0..128, 256);
    assert_eq!(
        raw_set(&setup, 0, 3, repeated).await,
        Some(Rejection::InvalidMemberKey {
            index: U256::from(2)
        })
    );
    let mut infinity = four.clone();
    infinity[384..512].fill(0);
    assert_eq!(
        raw_set(&setup, 0, 3, infinity).await,
        Some(Rejection::InvalidMemberKey {
            index: U256::from(3)
        })
    );
    // (4, y) is on y^2 = x^3 + 4 but not in the prime-order subgroup.
    let mut not_in_g1 = four.clone();
    let x = [4u8];
    let y = hex::decode("0a989badd40d6212b33cffc3f3763e9bc760f988c9926b26da9dd85e928483446346b8ed00e1de5d5ea93e354abe706c")
        .expect("hex");
    not_in_g1[128..256].fill(0);
    not_in_g1[255 - 64] = x[0];
    not_in_g1[256 - y.len()..256].copy_from_slice(&y);
    assert_eq!(
        raw_set(&setup, 0, 3, not_in_g1).await,
        Some(Rejection::InvalidMemberKey { index: U256::MAX })
    );
    let mut off_curve = four.clone();
    off_curve[127] ^= 1;
    assert_eq!(
        raw_set(&setup, 0, 3, off_curve).await,
        Some(Rejection::InvalidMemberKey { index: U256::MAX })
    );

    // First frames only increase, and never go back before the next frame.
    let admin = Oracle::at(&setup.admin, setup.oracle.address());
    let (id, _) = admin.set_committee(5, &c).await.expect("committee 0");
    assert_eq!(id, 0);
    assert_eq!(
        raw_set(&setup, 5, 3, four.clone()).await,
        Some(Rejection::InvalidFromFrame { from_frame: 5 })
    );
    assert_eq!(
        raw_set(&setup, 4, 3, four.clone()).await,
        Some(Rejection::InvalidFromFrame { from_frame: 4 })
    );
    let (id, _) = admin.set_committee(6, &c).await.expect("committee 1");
    assert_eq!(id, 1);
    assert_eq!(
        admin.committees().await.expect("committees"),
        vec![(5, 4, 3), (6, 4, 3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_member_committee_spans_two_key_stores() {
    if !common::kit("committee::a_256_member_committee_spans_two_key_stores") {
        return;
    }
    let setup = Setup::new(&[(0, 256, 129)]).await;
    let reports = common::reports(10, 2, 0);
    // Non-signers in both halves (keys 0..127 in the first data contract, 128.. in the second).
    let absent = [3usize, 127, 128, 130, 255];
    let signers: Vec<usize> = (0..256).filter(|i| !absent.contains(i)).collect();
    let e1 = &reports[0];
    let ctx = setup.context().await;
    let sig = setup.sign(0, &signers, e1.root);
    assert!(contracts::verify_offchain(&ctx, &e1.report, 0, mask(&signers), &sig).is_ok());
    let s = Submission::new(&e1.report, 0, mask(&signers), &sig).expect("submission");
    setup
        .oracle
        .submit(&s)
        .await
        .expect("accepted with 251 of 256");
    // Exactly the quorum, every non-signer in the second half: 127 keys read from it.
    let e2 = &reports[1];
    let signers: Vec<usize> = (0..129).collect();
    let sig = setup.sign(0, &signers, e2.root);
    let s = Submission::new(&e2.report, 0, mask(&signers), &sig).expect("submission");
    let tx = setup
        .oracle
        .submit(&s)
        .await
        .expect("accepted with 129 of 256");
    assert!(tx.gas_used > 0);
    // A signer dropped from the mask.
    let e_state = setup.oracle.state().await.expect("state");
    assert_eq!(e_state.last_report_root, e2.root);
}

#[test]
fn the_crate_refuses_a_certificate_for_another_report() {
    let reports = common::reports(10, 2, 0);
    let (secrets, _) = common::committee(0, 4, 3);
    let signers = common::first(3);
    let sig = common::aggregate(
        &secrets,
        &signers,
        common::chain_binding().signing_root(reports[0].root),
    );
    let cert = contracts::QuorumCertificate {
        frame: reports[0].report.frame,
        report_root: reports[0].root,
        signers: mask(&signers),
        aggregate_signature: sig,
    };
    assert!(Submission::from_certificate(&reports[0].report, &cert, 0).is_ok());
    assert!(matches!(
        Submission::from_certificate(&reports[1].report, &cert, 0),
        Err(Error::CertificateMismatch { .. })
    ));
    let mut other_frame = cert.clone();
    other_frame.frame += 1;
    assert!(matches!(
        Submission::from_certificate(&reports[0].report, &other_frame, 0),
        Err(Error::CertificateMismatch { .. })
    ));
}
