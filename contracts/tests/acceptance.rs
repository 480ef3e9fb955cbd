//! Every verification branch of `PoolOracle.submitReport`, table-driven: each case states the
//! expected verdict, and both the off-chain verifier (blst FastAggregateVerify + the report root
//! from `pool-registry`) and the contract on anvil must give exactly that verdict.

mod common;

use common::{Setup, first, mask};
use contracts::{Error, Rejection, Submission, verify_offchain};
use pool_registry::report::FrameReport;
use types::{Hash256, SignatureBytes, U256};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Accept,
    Reject(Rejection),
}

struct Case {
    name: &'static str,
    report: FrameReport,
    committee_id: u32,
    signers: U256,
    signature: SignatureBytes,
    expect: Expect,
}

/// Runs the off-chain verdict and the contract on `case`; both must match `case.expect`.
async fn run(setup: &Setup, case: Case) {
    eprintln!("case: {}", case.name);
    let ctx = setup.context().await;
    let offchain = verify_offchain(
        &ctx,
        &case.report,
        case.committee_id,
        case.signers,
        &case.signature,
    );
    let submission = Submission::new(
        &case.report,
        case.committee_id,
        case.signers,
        &case.signature,
    )
    .expect("submission encodes");
    let onchain = setup.oracle.submit(&submission).await;
    eprintln!("  contract: {onchain:?}");
    match (&case.expect, offchain, onchain) {
        (Expect::Accept, Ok(root), Ok(tx)) => {
            assert_eq!(root, submission.report.root, "{}", case.name);
            let state = setup.oracle.state().await.expect("state");
            assert_eq!(state.last_report_root, root, "{}", case.name);
            assert_eq!(state.next_frame, case.report.frame + 1, "{}", case.name);
            assert_eq!(state.rate, case.report.rate, "{}", case.name);
            assert_eq!(
                state.rewards_root, case.report.rewards_root,
                "{}",
                case.name
            );
            assert!(tx.gas_used > 0);
        }
        (Expect::Reject(expected), Err(off), Err(Error::Rejected(on))) => {
            assert_eq!(&off, expected, "{}: off-chain verdict", case.name);
            assert_eq!(&on, expected, "{}: contract verdict", case.name);
        }
        (expect, off, on) => {
            panic!(
                "{}: expected {expect:?}, off-chain {off:?}, contract {on:?}",
                case.name
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_branch_agrees_with_the_offchain_verdict() {
    if !common::kit("acceptance::every_branch_agrees_with_the_offchain_verdict") {
        return;
    }
    // Committee 0: 5 of 9 from frame 0; committee 1: 3 of 4 from frame 3.
    let setup = Setup::new(&[(0, 9, 5), (3, 4, 3)]).await;
    let reports = common::reports(10, 3, 0);
    let fork = common::reports(10, 3, 7);
    let (r1, r2, r3) = (&reports[0].report, &reports[1].report, &reports[2].report);
    let root1 = reports[0].root;
    let signed = |id: usize, signers: &[usize], report: &FrameReport| {
        setup.sign(id, signers, report.root().expect("root"))
    };
    let quorum = first(5);
    let valid_sig = signed(0, &quorum, r1);

    let mut altered_rate = r1.clone();
    altered_rate.rate += U256::from(1);
    let mut altered_rewards = r1.clone();
    altered_rewards.rewards_root = Hash256::repeat_byte(0x77);
    let mut altered_unused = r1.clone();
    altered_unused.totals.fee_gwei += 1;
    let mut altered_operator = r1.clone();
    altered_operator.operators[3].cumulative_fee_wei += U256::from(1);
    let mut other_chain = r1.clone();
    other_chain.genesis_validators_root = Hash256::repeat_byte(0x01);
    let mut version2 = r1.clone();
    version2.version = 2;
    let mut wrong_previous_rate = r1.clone();
    wrong_previous_rate.previous_rate += U256::from(1);
    let mut zero_rate = r1.clone();
    zero_rate.rate = U256::ZERO;

    // An outsider (not a member) signs in place of member 4.
    let outsider = {
        let mut secrets: Vec<_> = setup.secrets[0][..4].to_vec();
        secrets.push(common::secret(5_000));
        common::aggregate(
            &secrets,
            &first(5),
            common::chain_binding().signing_root(root1),
        )
    };
    let reject = Expect::Reject;
    let cases = vec![
        Case {
            name: "a signer's bit cleared (6 signed, 5 claimed)",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&first(5)),
            signature: signed(0, &first(6), r1),
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "a non-signer's bit set (5 signed, 6 claimed)",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&first(6)),
            signature: valid_sig,
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "a bit beyond the committee",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&[0, 1, 2, 3, 4, 9]),
            signature: valid_sig,
            expect: reject(Rejection::NotAMember {
                bits: U256::from(1) << 9,
            }),
        },
        Case {
            name: "a non-member's signature in the aggregate",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&first(5)),
            signature: outsider,
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "below quorum (4 of 9, quorum 5)",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&first(4)),
            signature: signed(0, &first(4), r1),
            expect: reject(Rejection::BelowQuorum {
                signers: U256::from(4),
                quorum: U256::from(5),
            }),
        },
        Case {
            name: "signatures over another root",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: setup.sign(0, &quorum, Hash256::repeat_byte(0x99)),
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "rate altered after signing",
            report: altered_rate,
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "rewards root altered after signing",
            report: altered_rewards,
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "an unused field (totals) altered after signing",
            report: altered_unused,
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "an operator entry altered after signing",
            report: altered_operator,
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::InvalidSignature),
        },
        Case {
            name: "another chain (signed)",
            report: other_chain.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, &other_chain),
            expect: reject(Rejection::WrongChain {
                genesis_validators_root: Hash256::repeat_byte(0x01),
            }),
        },
        Case {
            name: "unsupported version (signed)",
            report: version2.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, &version2),
            expect: reject(Rejection::UnsupportedVersion { version: 2 }),
        },
        Case {
            name: "previous rate is not the accepted rate (signed)",
            report: wrong_previous_rate.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, &wrong_previous_rate),
            expect: reject(Rejection::PreviousRateMismatch {
                expected: r1.previous_rate,
                got: r1.previous_rate + U256::from(1),
            }),
        },
        Case {
            name: "zero rate (signed)",
            report: zero_rate.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, &zero_rate),
            expect: reject(Rejection::InvalidRate { rate: U256::ZERO }),
        },
        Case {
            name: "broken chain: frame 2 before frame 1",
            report: r2.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, r2),
            expect: reject(Rejection::BrokenChain {
                expected: Hash256::ZERO,
                got: root1,
            }),
        },
        Case {
            name: "unknown committee",
            report: r1.clone(),
            committee_id: 2,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::UnknownCommittee { committee_id: 2 }),
        },
        Case {
            name: "committee of a later membership epoch",
            report: r1.clone(),
            committee_id: 1,
            signers: mask(&first(3)),
            signature: signed(1, &first(3), r1),
            expect: reject(Rejection::CommitteeNotForFrame {
                committee_id: 1,
                frame: 1,
            }),
        },
    ];
    for case in cases {
        run(&setup, case).await;
    }

    // Positive-rebase limit (defence in depth): governance lowers it below the report's rebase.
    let rebase = (r1.rate - r1.previous_rate) * U256::from(1_000_000_000u64) / r1.previous_rate;
    assert!(rebase > U256::from(1), "the report must raise the rate");
    Oracle::at(&setup.admin, setup.oracle.address())
        .set_max_positive_rebase(1)
        .await
        .expect("limit lowered");
    run(
        &setup,
        Case {
            name: "positive rebase above the limit",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::PositiveRebaseTooHigh {
                rebase_1e9: rebase,
                limit_1e9: U256::from(1),
            }),
        },
    )
    .await;
    Oracle::at(&setup.admin, setup.oracle.address())
        .set_max_positive_rebase(750_000)
        .await
        .expect("limit restored");

    // Frame 1 with exactly the quorum, frame 2 with every member.
    run(
        &setup,
        Case {
            name: "valid: 5 of 9",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: Expect::Accept,
        },
    )
    .await;
    let after = vec![
        Case {
            name: "repeated frame",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::StaleFrame {
                frame: 1,
                next_frame: 2,
            }),
        },
        Case {
            name: "broken chain: frame 2 of another history",
            report: fork[1].report.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, &fork[1].report),
            expect: reject(Rejection::BrokenChain {
                expected: root1,
                got: fork[0].root,
            }),
        },
        Case {
            name: "valid: 9 of 9, frame 2",
            report: r2.clone(),
            committee_id: 0,
            signers: mask(&first(9)),
            signature: signed(0, &first(9), r2),
            expect: Expect::Accept,
        },
        Case {
            name: "old frame",
            report: r1.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: valid_sig,
            expect: reject(Rejection::StaleFrame {
                frame: 1,
                next_frame: 3,
            }),
        },
        Case {
            name: "committee of an earlier membership epoch",
            report: r3.clone(),
            committee_id: 0,
            signers: mask(&quorum),
            signature: signed(0, &quorum, r3),
            expect: reject(Rejection::CommitteeNotForFrame {
                committee_id: 0,
                frame: 3,
            }),
        },
        Case {
            name: "valid: 3 of 4 (non-signer 1), frame 3 by the next committee",
            report: r3.clone(),
            committee_id: 1,
            signers: mask(&[0, 2, 3]),
            signature: signed(1, &[0, 2, 3], r3),
            expect: Expect::Accept,
        },
    ];
    for case in after {
        run(&setup, case).await;
    }
}

use contracts::Oracle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_signature_points_are_refused() {
    if !common::kit("acceptance::malformed_signature_points_are_refused") {
        return;
    }
    let setup = Setup::new(&[(0, 4, 3)]).await;
    let reports = common::reports(10, 1, 0);
    let r1 = &reports[0].report;
    let good = Submission::new(
        r1,
        0,
        mask(&first(3)),
        &setup.sign(0, &first(3), reports[0].root),
    )
    .expect("submission");
    // Not on the curve: one coordinate changed.
    let mut off_curve = good.clone();
    off_curve.signature[255] ^= 1;
    // A coordinate not below p.
    let mut not_reduced = good.clone();
    not_reduced.signature[16..64].fill(0xff);
    // The point at infinity (all zeros).
    let mut infinity = good.clone();
    infinity.signature = [0u8; 256];
    for (name, submission) in [
        ("off curve", off_curve),
        ("coordinate >= p", not_reduced),
        ("infinity", infinity),
    ] {
        match setup.oracle.submit(&submission).await {
            Err(Error::Rejected(Rejection::InvalidSignature)) => {}
            other => panic!("{name}: expected InvalidSignature, got {other:?}"),
        }
    }
    setup
        .oracle
        .submit(&good)
        .await
        .expect("the intact one is accepted");
}

/// Two members submit the same frame and both transactions land in one block: both pass
/// estimation, one is accepted, the other reverts on-chain and the client names the reason from
/// the state after the block (`StaleFrame`); the events list the accepted report once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submission_race_is_named() {
    use alloy::providers::Provider;

    if !common::kit("acceptance::a_lost_submission_race_is_named") {
        return;
    }
    let setup = Setup::new(&[(0, 4, 3)]).await;
    let other = contracts::Chain::connect(setup.anvil.endpoint(), setup.anvil.signer(2));
    let oracle_b = Oracle::at(&other, setup.oracle.address());
    let reports = common::reports(10, 1, 0);
    let e1 = &reports[0];
    let signers = first(3);
    let sig = setup.sign(0, &signers, e1.root);
    let submission = Submission::new(&e1.report, 0, mask(&signers), &sig).expect("submission");
    let provider = setup.admin.provider().clone();
    let _: serde_json::Value = provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .expect("automine off");
    let miner = async {
        // Bounded: up to 600 polls for both transactions to reach the pool, then one block.
        for _ in 0..600 {
            let status: serde_json::Value = provider
                .raw_request("txpool_status".into(), ())
                .await
                .expect("txpool_status");
            if status["pending"].as_str() == Some("0x2") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _: serde_json::Value = provider
            .raw_request("evm_mine".into(), ())
            .await
            .expect("evm_mine");
    };
    let (a, b, ()) = tokio::join!(
        setup.oracle.submit(&submission),
        oracle_b.submit(&submission),
        miner
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("expected one acceptance and one refusal, got {other:?}"),
    };
    match lost {
        Error::Rejected(Rejection::StaleFrame {
            frame: 1,
            next_frame: 2,
        }) => {}
        other => panic!("expected StaleFrame, got {other:?}"),
    }
    let accepted = setup.oracle.accepted_reports(0).await.expect("events");
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].frame, 1);
    assert_eq!(accepted[0].root, e1.root);
    assert_eq!(accepted[0].rate, e1.report.rate);
    assert_eq!(accepted[0].rewards_root, e1.report.rewards_root);
    assert_eq!(accepted[0].signers, mask(&signers));
    assert_eq!(accepted[0].tx_hash, won.tx_hash);
    assert_eq!(accepted[0].block_number, won.block_number);
}
