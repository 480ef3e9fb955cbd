//! `PoolShares`: the exchange rate of the last accepted report, and operator fee claims with
//! OpenZeppelin `MerkleProof` over the report's rewards root (leaves as `pool-registry`'s
//! `merkle` module builds them), each verdict compared with the off-chain proof check.

mod common;

use common::{Setup, first, mask};
use contracts::{Error, Rejection, Submission};
use pool_registry::merkle::verify_proof;
use pool_registry::report::ReportEnvelope;
use types::{Hash256, U256};

async fn accept(setup: &Setup, envelope: &ReportEnvelope) {
    let signers = first(5);
    let sig = setup.sign(0, &signers, envelope.root);
    let submission =
        Submission::new(&envelope.report, 0, mask(&signers), &sig).expect("submission");
    setup
        .oracle
        .submit(&submission)
        .await
        .expect("report accepted");
}

fn rejected(result: contracts::Result<contracts::ClaimOutcome>) -> Rejection {
    match result {
        Err(Error::Rejected(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_pay_the_difference_once_and_need_a_valid_proof() {
    if !common::kit("claims::claims_pay_the_difference_once_and_need_a_valid_proof") {
        return;
    }
    let setup = Setup::new(&[(0, 9, 5)]).await;
    let shares = &setup.shares;
    let reports = common::reports(10, 2, 0);
    let (e1, e2) = (&reports[0], &reports[1]);
    let op = &e1.report.operators[2];
    let id = op.operator_id;
    let proof1 = e1.proofs[&id].clone();
    assert!(
        op.cumulative_fee_wei > U256::ZERO,
        "the operator earned fees"
    );

    // Before any report: nothing to prove against.
    assert_eq!(
        rejected(shares.claim(id, op.cumulative_fee_wei, &proof1).await),
        Rejection::NoReport
    );
    accept(&setup, e1).await;
    assert_eq!(shares.exchange_rate().await.expect("rate"), e1.report.rate);

    let recipient = setup.anvil.signer(7).address();
    // No reward address yet (the proof is valid).
    assert!(verify_proof(
        e1.report.rewards_root,
        U256::from(id),
        op.cumulative_fee_wei,
        &proof1
    ));
    assert_eq!(
        rejected(shares.claim(id, op.cumulative_fee_wei, &proof1).await),
        Rejection::NoRewardAddress {
            operator_id: U256::from(id)
        }
    );
    shares
        .set_reward_address(id, recipient)
        .await
        .expect("reward address");
    // Not funded: the payment fails and nothing is recorded.
    assert_eq!(
        rejected(shares.claim(id, op.cumulative_fee_wei, &proof1).await),
        Rejection::TransferFailed {
            to: recipient,
            amount: op.cumulative_fee_wei
        }
    );
    assert_eq!(shares.claimed(id).await.expect("claimed"), U256::ZERO);
    setup
        .admin
        .transfer(shares.address(), U256::from(10u128.pow(20)))
        .await
        .expect("fund");

    // Bad proofs: a wrong amount, a sibling changed, another operator's proof.
    let too_much = op.cumulative_fee_wei + U256::from(1);
    let mut tampered = proof1.clone();
    tampered[0] = Hash256::repeat_byte(0x13);
    let other = e1.report.operators[3].operator_id;
    for (name, amount, proof) in [
        ("amount + 1", too_much, proof1.clone()),
        ("sibling changed", op.cumulative_fee_wei, tampered),
        (
            "another operator's proof",
            op.cumulative_fee_wei,
            e1.proofs[&other].clone(),
        ),
        ("empty proof", op.cumulative_fee_wei, Vec::new()),
    ] {
        assert!(
            !verify_proof(e1.report.rewards_root, U256::from(id), amount, &proof),
            "{name}: off-chain must refuse"
        );
        assert_eq!(
            rejected(shares.claim(id, amount, &proof).await),
            Rejection::InvalidProof {
                operator_id: U256::from(id),
                cumulative: amount
            },
            "{name}"
        );
    }

    // A valid claim pays the cumulative fees to the reward address.
    let before = setup.admin.balance(recipient).await.expect("balance");
    let paid = shares
        .claim(id, op.cumulative_fee_wei, &proof1)
        .await
        .expect("claim");
    assert_eq!(paid.amount, op.cumulative_fee_wei);
    assert_eq!(paid.to, recipient);
    assert_eq!(
        setup.admin.balance(recipient).await.expect("balance") - before,
        op.cumulative_fee_wei
    );
    assert_eq!(
        shares.claimed(id).await.expect("claimed"),
        op.cumulative_fee_wei
    );

    // Double claim.
    assert_eq!(
        rejected(shares.claim(id, op.cumulative_fee_wei, &proof1).await),
        Rejection::NothingToClaim {
            operator_id: U256::from(id),
            cumulative: op.cumulative_fee_wei,
            claimed: op.cumulative_fee_wei
        }
    );

    // The next report: its cumulative value pays only the difference; the old proof no longer
    // proves anything.
    accept(&setup, e2).await;
    let op2 = e2
        .report
        .operators
        .iter()
        .find(|o| o.operator_id == id)
        .expect("operator in the next report");
    assert!(op2.cumulative_fee_wei > op.cumulative_fee_wei);
    assert_eq!(
        rejected(shares.claim(id, op.cumulative_fee_wei, &proof1).await),
        Rejection::InvalidProof {
            operator_id: U256::from(id),
            cumulative: op.cumulative_fee_wei
        }
    );
    let paid = shares
        .claim(id, op2.cumulative_fee_wei, &e2.proofs[&id])
        .await
        .expect("second claim");
    assert_eq!(paid.amount, op2.cumulative_fee_wei - op.cumulative_fee_wei);
    assert_eq!(shares.exchange_rate().await.expect("rate"), e2.report.rate);
    assert_eq!(
        shares.claimed(id).await.expect("claimed"),
        op2.cumulative_fee_wei
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_of_a_100_operator_report_can_claim() {
    if !common::kit("claims::every_operator_of_a_100_operator_report_can_claim") {
        return;
    }
    let setup = Setup::new(&[(0, 9, 5)]).await;
    let reports = common::reports(100, 1, 0);
    let envelope = &reports[0];
    accept(&setup, envelope).await;
    let shares = &setup.shares;
    setup
        .admin
        .transfer(shares.address(), U256::from(10u128.pow(20)))
        .await
        .expect("fund");
    let recipient = setup.anvil.signer(8).address();
    for (id, (cumulative, proof)) in common::leaves(envelope) {
        assert!(verify_proof(
            envelope.report.rewards_root,
            U256::from(id),
            cumulative,
            &proof
        ));
        shares
            .set_reward_address(id, recipient)
            .await
            .expect("reward address");
        let paid = shares.claim(id, cumulative, &proof).await.expect("claim");
        assert_eq!(paid.amount, cumulative, "operator {id}");
    }
}
