//! Gas of `PoolOracle.submitReport` (one transaction per accepted report) for committees of
//! 3 of 4, 5 of 9 and 43 of 64 and reports of 10 and 100 operators, and of `PoolShares.claim`,
//! measured on the pinned anvil (Prague rules). Run: `cargo bench -p contracts --bench gas`
//! (after `scripts/evm.sh install`). Prints a table; the figures are recorded in
//! docs/performance.md.
//!
//! Each report is signed by exactly the quorum (the first M members): the most non-signers a
//! valid certificate can have, so the most G1 additions. Gas is the whole transaction's
//! (`gasUsed`: 21,000 intrinsic + calldata + execution). Frame 1 is the first report (its
//! storage slots go from zero to non-zero); frames 2 and 3 are steady state.

use contracts::anvil::Anvil;
use contracts::testing::{GVR, aggregate, chain_binding, committee, fork_version, mask, reports};
use contracts::{Anchor, Chain, Oracle, OracleParams, Shares, Submission};
use types::U256;

/// EIP-7623: 4 tokens per non-zero calldata byte, 1 per zero byte; floor = 21,000 + 10/token.
fn calldata_floor(data: &[u8]) -> u64 {
    let tokens: u64 = data.iter().map(|b| if *b == 0 { 1 } else { 4 }).sum();
    21_000 + 10 * tokens
}

struct Row {
    committee: String,
    operators: usize,
    set_committee: u64,
    first: u64,
    steady: Vec<u64>,
    calldata: usize,
    floor: u64,
}

async fn submit_series(anvil: &Anvil, size: usize, quorum: usize, operators: usize) -> Row {
    let admin = Chain::connect(anvil.endpoint(), anvil.signer(0));
    let params = OracleParams {
        admin: admin.sender(),
        genesis_validators_root: GVR,
        genesis_fork_version: fork_version(),
        max_positive_rebase_1e9: 750_000,
        anchor: Anchor::default(),
    };
    let (oracle, _) = Oracle::deploy(&admin, &params).await.expect("deploy");
    let (secrets, c) = committee(0, size, quorum);
    let (_, set) = oracle.set_committee(0, &c).await.expect("set committee");
    let signers: Vec<usize> = (0..quorum).collect();
    let mut gas = Vec::new();
    let mut calldata = 0;
    let mut floor = 0;
    for envelope in reports(operators, 3, 0) {
        let sig = aggregate(
            &secrets,
            &signers,
            chain_binding().signing_root(envelope.root),
        );
        let submission =
            Submission::new(&envelope.report, 0, mask(&signers), &sig).expect("encode");
        let tx = oracle.submit(&submission).await.expect("accepted");
        let input = oracle_calldata(&submission);
        calldata = input.len();
        floor = calldata_floor(&input);
        gas.push(tx.gas_used);
    }
    Row {
        committee: format!("{quorum} of {size}"),
        operators,
        set_committee: set.gas_used,
        first: gas[0],
        steady: gas[1..].to_vec(),
        calldata,
        floor,
    }
}

fn oracle_calldata(s: &Submission) -> Vec<u8> {
    use alloy::sol_types::SolCall;
    contracts::bindings::PoolOracle::submitReportCall {
        r: s.report.fields.clone(),
        w: s.report.witness.clone(),
        committeeId: s.committee_id,
        signers: s.signers,
        signature: std::array::from_fn(|i| {
            types::Hash256::from_slice(&s.signature[i * 32..(i + 1) * 32])
        }),
    }
    .abi_encode()
}

async fn claims(anvil: &Anvil) -> (u64, u64) {
    let admin = Chain::connect(anvil.endpoint(), anvil.signer(0));
    let params = OracleParams {
        admin: admin.sender(),
        genesis_validators_root: GVR,
        genesis_fork_version: fork_version(),
        max_positive_rebase_1e9: 750_000,
        anchor: Anchor::default(),
    };
    let (oracle, _) = Oracle::deploy(&admin, &params).await.expect("deploy");
    let (secrets, c) = committee(0, 9, 5);
    oracle.set_committee(0, &c).await.expect("set committee");
    let (shares, _) = Shares::deploy(&admin, oracle.address(), admin.sender())
        .await
        .expect("deploy shares");
    admin
        .transfer(shares.address(), U256::from(10u128.pow(21)))
        .await
        .expect("fund");
    let recipient = anvil.signer(5).address();
    shares
        .set_reward_address(1, recipient)
        .await
        .expect("reward address");
    let all = reports(100, 2, 0);
    let mut gas = Vec::new();
    for envelope in &all {
        let signers: Vec<usize> = (0..5).collect();
        let sig = aggregate(
            &secrets,
            &signers,
            chain_binding().signing_root(envelope.root),
        );
        let s = Submission::new(&envelope.report, 0, mask(&signers), &sig).expect("encode");
        oracle.submit(&s).await.expect("accepted");
        let op = &envelope.report.operators[0];
        let claim = shares
            .claim(
                op.operator_id,
                op.cumulative_fee_wei,
                &envelope.proofs[&op.operator_id],
            )
            .await
            .expect("claim");
        gas.push(claim.tx.gas_used);
    }
    (gas[0], gas[1])
}

fn main() {
    let anvil_path = contracts::anvil::anvil_path();
    if !anvil_path.is_file() {
        eprintln!(
            "anvil not found at {}: run scripts/evm.sh install",
            anvil_path.display()
        );
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let mut rows = Vec::new();
        for (size, quorum) in [(4, 3), (9, 5), (64, 43)] {
            for operators in [10, 100] {
                let anvil = Anvil::spawn().expect("anvil starts");
                rows.push(submit_series(&anvil, size, quorum, operators).await);
            }
        }
        let anvil = Anvil::spawn().expect("anvil starts");
        let (claim_first, claim_next) = claims(&anvil).await;
        println!();
        println!("| quorum | operators | non-signers | submitReport, first report (gas) | submitReport, next reports (gas) | calldata (bytes) | EIP-7623 floor (gas) | setCommittee (gas) |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &rows {
            let (m, n) = r.committee.split_once(" of ").expect("label");
            let non_signers = n.parse::<usize>().unwrap() - m.parse::<usize>().unwrap();
            let steady: Vec<String> = r.steady.iter().map(u64::to_string).collect();
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.committee, r.operators, non_signers, r.first, steady.join(", "), r.calldata, r.floor, r.set_committee
            );
        }
        println!();
        println!("| PoolShares.claim | gas |");
        println!("|---|---:|");
        println!("| first claim of an operator | {claim_first} |");
        println!("| next claim (after the next report) | {claim_next} |");
        let worst = rows.iter().flat_map(|r| std::iter::once(r.first).chain(r.steady.iter().copied())).max().unwrap_or(0);
        println!();
        println!("largest submitReport: {worst} gas (target <= 300,000: {})", if worst <= 300_000 { "met" } else { "NOT met" });
    });
}
