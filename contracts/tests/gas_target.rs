//! The gas target as a regression check: gas is the EVM's deterministic count, not time, so it
//! can be asserted. A report of 100 operators certified by 43 of 64 members (21 non-signers, the
//! most a valid certificate of that committee can have) is accepted in one transaction of at
//! most 300,000 gas, the first report included. The full table is `benches/gas.rs`.

mod common;

use common::{Setup, first, mask};
use contracts::Submission;

const TARGET: u64 = 300_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_43_of_64_report_of_100_operators_fits_the_gas_target() {
    if !common::kit("gas_target::a_43_of_64_report_of_100_operators_fits_the_gas_target") {
        return;
    }
    let setup = Setup::new(&[(0, 64, 43)]).await;
    let signers = first(43);
    for envelope in common::reports(100, 2, 0) {
        let sig = setup.sign(0, &signers, envelope.root);
        let submission =
            Submission::new(&envelope.report, 0, mask(&signers), &sig).expect("submission");
        let tx = setup.oracle.submit(&submission).await.expect("accepted");
        assert!(
            tx.gas_used <= TARGET,
            "frame {}: {} gas > {TARGET}",
            envelope.report.frame,
            tx.gas_used
        );
    }
}
