//! The contract's building blocks against independent implementations, on anvil: hash-to-G2
//! (EIP-2537 MAP_FP2_TO_G2 twice + G2ADD after expand_message_xmd) against blst's hash_to_g2, the
//! signing root against `pool-registry`'s report signing root, and the report root recomputed
//! from field values against `FrameReport::root` for reports of 10 and 100 operators.

mod common;

use contracts::bls::{SIGNATURE_DST, g2_serialized_to_eip2537};
use contracts::report::{EncodedReport, root_from_parts};
use pool_registry::report::report_signing_root;
use types::{ChainSpec, Hash256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_to_g2_signing_root_and_report_root_match_offchain() {
    if !common::kit("onchain_math::hash_to_g2_signing_root_and_report_root_match_offchain") {
        return;
    }
    let setup = common::Setup::new(&[]).await;
    let oracle = &setup.oracle;

    // hash_to_curve: the precompile's map output is already cofactor-cleared, so
    // map(u0) + map(u1) is blst's hash_to_g2 exactly.
    let mut messages = vec![
        Hash256::ZERO,
        Hash256::repeat_byte(0xff),
        Hash256::repeat_byte(0x42),
    ];
    for i in 0..5u8 {
        messages.push(alloy::primitives::keccak256([i]));
    }
    for m in &messages {
        let expected =
            g2_serialized_to_eip2537(&signer::bls::hash_to_g2(m.as_slice(), SIGNATURE_DST));
        let onchain = oracle.hash_to_g2(*m).await.expect("hashToG2");
        assert_eq!(onchain, expected.to_vec(), "hash_to_g2({m})");
    }

    // The signing root: the contract's domain (computed in its constructor) and blst's side.
    let spec = ChainSpec::minimal();
    for report in common::reports(10, 2, 0) {
        let expected = report_signing_root(&spec, common::GVR, report.root);
        assert_eq!(
            oracle.signing_root(report.root).await.expect("signingRoot"),
            expected
        );
        assert_eq!(common::chain_binding().signing_root(report.root), expected);
    }

    // The report root from field values + witness, for 10 and 100 operators.
    for operators in [1, 10, 100] {
        for envelope in common::reports(operators, 2, 3) {
            let encoded = EncodedReport::new(&envelope.report).expect("encode");
            assert_eq!(encoded.root, envelope.root);
            assert_eq!(
                root_from_parts(&encoded.fields, &encoded.witness),
                envelope.root
            );
            assert_eq!(
                oracle.report_root(&encoded).await.expect("reportRoot"),
                envelope.root,
                "{operators} operators, frame {}",
                envelope.report.frame
            );
        }
    }
}
