//! Frame reports over synthetic ledgers: fees, exchange rate, sanity limits, withheld reports
//! and catch-up, assignment snapshots per frame, cumulative Merkle proofs, canonical JSON and
//! SSZ root stability, comparison and signing (BLS via blst).

use std::collections::BTreeMap;
use std::path::Path;

use pool_registry::ledger::*;
use pool_registry::merkle::verify_proof;
use pool_registry::report::*;
use pool_registry::{FrameSnapshot, OperatorTerms, PoolConfig, Registry, SanityLimits};
use types::{Address, ChainSpec, Epoch, ForkName, Hash256, PublicKeyBytes, SignatureBytes, U256};

fn key(i: u8) -> PublicKeyBytes {
    PublicKeyBytes::from([i; 48])
}

fn pool() -> PoolConfig {
    let text = format!(
        "[pool]\nname = \"p\"\nwithdrawal_credentials = \"0x01{}\"\nel_rewards_vault = \"0x{}\"\nframe_epochs = 4\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n[pool.shares]\ninitial_total_shares = \"1000000000000000000000\"\n",
        "00".repeat(11) + &"aa".repeat(20),
        "bb".repeat(20)
    );
    Registry::parse(Path::new("registry.toml"), &text)
        .unwrap()
        .pool()
        .clone()
}

/// Frame snapshot: operator 1 (keys 1, 2) at 500 bps, operator 2 (key 3) at 700 bps; with
/// `moved`, key 3 belongs to operator 1.
fn snapshot(frame: u64, moved: bool) -> FrameSnapshot {
    let terms = |bps| OperatorTerms {
        operator_bps: bps,
        reward_address: Address::repeat_byte(bps as u8),
    };
    FrameSnapshot {
        frame,
        protocol_bps: 500,
        operators: BTreeMap::from([(1, terms(500)), (2, terms(700))]),
        assignments: BTreeMap::from([
            (key(1), 1),
            (key(2), 1),
            (key(3), if moved { 1 } else { 2 }),
        ]),
    }
}

fn record(index: u64, income: i64) -> ValidatorEpoch {
    ValidatorEpoch {
        validator_index: index,
        pubkey: key(index as u8 + 1),
        balance_start: 32_000_000_000,
        balance_end: (32_000_000_000 + income) as u64,
        withdrawals: 0,
        deposits: 0,
        income,
        effective_balance: 32_000_000_000,
        status: ValidatorStatus::ActiveOngoing,
        slashed_start: false,
        slashed_end: false,
        credentials_mismatch: false,
        duties: Duties {
            attestation_duties: 1,
            attestation_included: 1,
            source_timely: 1,
            target_timely: 1,
            head_timely: u32::from(index != 1),
            inclusion_delay: 1,
            ..Duties::default()
        },
        el_rewards: 0,
        el_values_missing: 0,
        fee_recipient_mismatches: 0,
        breakdown: None,
    }
}

/// Validator 0: +1000/epoch, validator 1: +500, validator 2: −200 (a boost adds to v0).
fn ledger(epoch: u64, boost: i64) -> EpochLedger {
    EpochLedger {
        epoch: Epoch(epoch),
        fork: ForkName::Deneb,
        records: vec![record(0, 1000 + boost), record(1, 500), record(2, -200)],
    }
}

fn build(
    frame: u64,
    pool: &PoolConfig,
    previous: Option<&FrameReport>,
    boost: i64,
    moved_from: u64,
) -> ReportEnvelope {
    let spec = ChainSpec::minimal();
    let params = ReportParams {
        spec: &spec,
        pool,
        genesis_validators_root: Hash256::repeat_byte(0x4b),
        frame,
        previous,
        share_supply: pool.initial_total_shares,
    };
    let mut builder = ReportBuilder::new(params).unwrap();
    let (first, last) = builder.epochs();
    let mut window = Vec::new();
    for e in first.as_u64()..=last.as_u64() {
        let f = pool.frame.frame_of(Epoch(e)).unwrap();
        let l = ledger(e, if f == 2 { boost } else { 0 });
        window.push(l.summary());
        builder
            .add_epoch(&l, &snapshot(f, f >= moved_from))
            .unwrap();
    }
    builder.finish(&window).unwrap()
}

#[test]
fn first_report_fees_rate_and_proofs() {
    let pool = pool();
    let env = build(1, &pool, None, 0, 99);
    let r = &env.report;
    assert_eq!(env.status, ReportStatus::Final, "{:?}", env.violations);
    assert_eq!(
        (r.first_epoch, r.last_epoch, r.reference_slot.as_u64()),
        (Epoch(4), Epoch(7), 63)
    );
    assert_eq!(r.duration_seconds, 4 * 8 * 6);
    let op1 = &r.operators[0].tally;
    let op2 = &r.operators[1].tally;
    // Operator 1: R = 4 × 1500 = 6000; F = 600 at 10%; split 300/300.
    assert_eq!(
        (
            op1.net_rewards_gwei,
            op1.fee_gwei,
            op1.operator_fee_gwei,
            op1.protocol_fee_gwei
        ),
        (6000, 600, 300, 300)
    );
    assert_eq!((op1.cl_rewards_gwei, op1.penalties_gwei), (6000, 0));
    // Operator 2: R = −800: penalties, no fees.
    assert_eq!(
        (op2.net_rewards_gwei, op2.penalties_gwei, op2.fee_gwei),
        (-800, 800, 0)
    );
    assert_eq!(
        (
            r.totals.net_rewards_gwei,
            r.totals.fee_gwei,
            r.totals.cl_rewards_gwei,
            r.totals.penalties_gwei
        ),
        (5200, 600, 6000, 800)
    );
    // Effectiveness: op 1 = v0 all flags (54) + v1 no head (40) per epoch: 94/108.
    assert_eq!(op1.effectiveness_ppm, 94 * 1_000_000 / 108);
    assert_eq!(
        (
            op1.attestation_duties,
            op1.head_timely,
            op1.attestations_missed
        ),
        (8, 4, 0)
    );
    assert_eq!(
        (
            op1.validators_active,
            op2.validators_active,
            r.totals.validators_active
        ),
        (2, 1, 3)
    );
    // Rate (computed independently): P1 = 1000 ETH + 5200 gwei, F = 600 gwei.
    assert_eq!(
        r.pooled_after_wei,
        U256::from(1_000_000_005_200_000_000_000u128)
    );
    assert_eq!(r.shares_minted, U256::from(599_999_997_240u128));
    assert_eq!(r.rate, U256::from(1_000_000_004_600_000_000u128));
    assert_eq!(r.apr_ppm, 755);
    assert_eq!(r.cl_balance_base_gwei, 96_000_000_000);
    // Merkle leaves: cumulative operator fees in wei.
    assert_eq!(
        r.operators[0].cumulative_fee_wei,
        U256::from(300_000_000_000u64)
    );
    assert_eq!(r.operators[1].cumulative_fee_wei, U256::ZERO);
    for o in &r.operators {
        let proof = &env.proofs[&o.operator_id];
        assert!(verify_proof(
            r.rewards_root,
            U256::from(o.operator_id),
            o.cumulative_fee_wei,
            proof
        ));
        assert!(!verify_proof(
            r.rewards_root,
            U256::from(o.operator_id),
            o.cumulative_fee_wei + U256::from(1u64),
            proof
        ));
    }
    assert_eq!(env.root, r.root().unwrap());
    // The parameters it was built with are recorded beside it, with the window it summed.
    assert_eq!(
        env.parameters,
        Some(ReportParameters {
            frame_start_epoch: 0,
            frame_epochs: 4,
            sanity_limits: pool.sanity,
            negative_rebase_window: RebaseWindow {
                first_epoch: Epoch(4),
                last_epoch: Epoch(7),
                epochs: 4,
                cl_income_gwei: 4 * 1300,
                newly_slashed: 0,
            },
        })
    );
}

/// Fees at or above the pooled ether (one operator's gains, another's losses, a tiny pool)
/// cannot be minted: the rate is computed without minting and the report is withheld.
#[test]
fn fees_above_the_pooled_ether_are_not_minted() {
    let mut pool = pool();
    pool.initial_total_shares = U256::from(1_000_000_000u64);
    // Operator 1: 4 × (−1290 + 500) … per epoch 210 → R₁ = 840, F₁ = 84; operator 2: −800.
    let env = build(2, &pool, None, -1290, 99);
    let r = &env.report;
    assert_eq!(
        (r.totals.net_rewards_gwei, r.totals.fee_gwei),
        (40, 84),
        "fees above the pool's rewards"
    );
    assert_eq!(r.shares_minted, U256::ZERO);
    // P1 = 1e9 wei + 40 gwei; rate = P1 · 1e18 / S.
    assert_eq!(r.pooled_after_wei, U256::from(41_000_000_000u64));
    assert_eq!(
        r.rate,
        U256::from(41_000_000_000u64) * U256::from(1_000_000_000_000_000_000u64)
            / U256::from(1_000_000_000u64)
    );
    assert_eq!(env.status, ReportStatus::Withheld);
    assert!(
        env.violations
            .contains(&SanityViolation::FeesExceedRewards {
                fees_gwei: 84,
                net_rewards_gwei: 40
            })
    );
}

#[test]
fn withheld_report_is_not_a_base_and_the_next_catches_up() {
    let pool = pool();
    let f1 = build(1, &pool, None, 0, 99);
    // Frame 2: +1 ETH per epoch on validator 0 (4 ETH on 96 ETH in 192 s) breaks the annual
    // increase and the positive rebase limits.
    let f2 = build(2, &pool, Some(&f1.report), 1_000_000_000, 99);
    assert_eq!(f2.status, ReportStatus::Withheld);
    let kinds: Vec<&str> = f2
        .violations
        .iter()
        .map(|v| match v {
            SanityViolation::AnnualBalanceIncrease { .. } => "annual",
            SanityViolation::PositiveRebase { .. } => "rebase",
            SanityViolation::NegativeRebase { .. } => "negative",
            SanityViolation::FeesExceedRewards { .. } => "fees",
        })
        .collect();
    assert_eq!(kinds, vec!["annual", "rebase"]);
    assert_eq!(f2.report.previous_report_root, f1.root);
    // Frame 3 builds on frame 1 (the last final report), covering epochs 8..=15; with limits
    // raised (a registry change after review) it is final.
    let mut relaxed = pool.clone();
    relaxed.sanity = SanityLimits {
        annual_balance_increase_bps: u64::MAX,
        max_positive_rebase_1e9: u64::MAX,
        ..pool.sanity
    };
    let f3 = build(3, &relaxed, Some(&f1.report), 1_000_000_000, 99);
    assert_eq!(f3.status, ReportStatus::Final);
    assert_eq!(
        (f3.report.first_epoch, f3.report.last_epoch),
        (Epoch(8), Epoch(15))
    );
    assert_eq!(f3.report.previous_report_root, f1.root);
    assert_eq!(f3.report.previous_rate, f1.report.rate);
    // Operator 1 over 8 epochs: R = 8 × 1500 + 4 ETH; operator fee = R·1000/10000/2.
    let r1: i64 = 8 * 1500 + 4_000_000_000;
    let op1 = &f3.report.operators[0];
    assert_eq!(op1.tally.net_rewards_gwei, r1);
    assert_eq!(op1.tally.operator_fee_gwei, (r1 as u64 * 1000 / 10_000) / 2);
    assert_eq!(
        op1.cumulative_fee_wei,
        U256::from(300u64 + op1.tally.operator_fee_gwei) * U256::from(1_000_000_000u64)
    );
    // Without relaxing, frame 3 is still withheld.
    assert_eq!(
        build(3, &pool, Some(&f1.report), 1_000_000_000, 99).status,
        ReportStatus::Withheld
    );
}

/// Without a previous final report, a report covers every epoch since the pool's first frame:
/// the epochs of a withheld first report are not lost.
#[test]
fn a_withheld_first_report_is_covered_by_the_next() {
    let pool = pool();
    let spec = ChainSpec::minimal();
    let params = ReportParams {
        spec: &spec,
        pool: &pool,
        genesis_validators_root: Hash256::repeat_byte(0x4b),
        frame: 2,
        previous: None,
        share_supply: pool.initial_total_shares,
    };
    assert_eq!(
        ReportBuilder::new(params).unwrap().epochs(),
        (Epoch(8), Epoch(11)),
        "a pool starting at frame 2"
    );
    let mut builder = ReportBuilder::for_pool(params, 1).unwrap();
    assert_eq!(builder.epochs(), (Epoch(4), Epoch(11)));
    let mut window = Vec::new();
    for e in 4..=11 {
        let l = ledger(e, 0);
        window.push(l.summary());
        builder
            .add_epoch(&l, &snapshot(pool.frame.frame_of(Epoch(e)).unwrap(), false))
            .unwrap();
    }
    let env = builder.finish(&window).unwrap();
    assert_eq!(env.report.first_epoch, Epoch(4));
    assert_eq!(env.report.duration_seconds, 8 * 8 * 6);
    assert_eq!(env.report.totals.net_rewards_gwei, 8 * 1300);
    assert_eq!(env.report.previous_report_root, Hash256::ZERO);
    // A pool's first frame after the report's is the report's own.
    assert_eq!(
        ReportBuilder::for_pool(params, 5).unwrap().epochs(),
        (Epoch(8), Epoch(11))
    );
}

#[test]
fn assignment_changes_apply_from_the_next_frame() {
    let pool = pool();
    let f1 = build(1, &pool, None, 0, 2);
    // Key 3 moves to operator 1 from frame 2: frame 1 still charges its penalties to operator 2.
    assert_eq!(f1.report.operators[1].tally.penalties_gwei, 800);
    let f2 = build(2, &pool, Some(&f1.report), 0, 2);
    assert_eq!(f2.report.operators[1].tally.penalties_gwei, 0);
    assert_eq!(f2.report.operators[0].tally.penalties_gwei, 800);
    assert_eq!(f2.report.operators[0].tally.validators_active, 3);
    assert_ne!(f1.report.assignments_root, f2.report.assignments_root);
}

#[test]
fn epochs_must_be_complete_and_in_order() {
    let pool = pool();
    let spec = ChainSpec::minimal();
    let params = ReportParams {
        spec: &spec,
        pool: &pool,
        genesis_validators_root: Hash256::ZERO,
        frame: 1,
        previous: None,
        share_supply: pool.initial_total_shares,
    };
    let mut b = ReportBuilder::new(params).unwrap();
    assert!(
        b.add_epoch(&ledger(5, 0), &snapshot(1, false)).is_err(),
        "gap"
    );
    assert!(
        b.add_epoch(&ledger(4, 0), &snapshot(0, false)).is_err(),
        "wrong frame's snapshot"
    );
    b.add_epoch(&ledger(4, 0), &snapshot(1, false)).unwrap();
    assert!(b.finish(&[]).is_err(), "epochs 5..=7 missing");
    // A key missing from the snapshot is an error, not a silent drop.
    let mut b = ReportBuilder::new(params).unwrap();
    let mut s = snapshot(1, false);
    s.assignments.remove(&key(3));
    assert!(b.add_epoch(&ledger(4, 0), &s).is_err());
}

/// The canonical JSON of a fixed report, pinned byte for byte, and its SSZ root.
#[test]
fn canonical_json_and_ssz_root_are_stable() {
    let env = build(1, &pool(), None, 0, 99);
    let json = pool_registry::canonical::to_canonical_json(&env.report).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/frame1.json");
    if std::env::var("POOLVC_REGENERATE_FIXTURES").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{json}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap();
    assert_eq!(json, pinned.trim_end(), "canonical JSON changed");
    assert!(!json.contains(' ') && !json.contains('\n'));
    assert!(json.contains(r#""apr_ppm":"755""#));
    // Parsing the published text gives back the same report and root.
    let parsed: FrameReport = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, env.report);
    assert_eq!(
        format!("{}", env.report.root().unwrap()),
        "0xaea6d82ec33620776541fd8a7d263c932a4bbee7e8aa0a3847e31027a5d5c643",
        "golden SSZ root changed: the report encoding is not stable"
    );
}

#[test]
fn diff_names_differing_fields() {
    let pool = pool();
    let a = build(1, &pool, None, 0, 99).report;
    assert!(diff_reports(&a, &a).unwrap().is_empty());
    let mut b = a.clone();
    b.operators[1].tally.fee_gwei += 1;
    b.rate += U256::from(1u64);
    b.operators.remove(0);
    let paths: Vec<String> = diff_reports(&a, &b)
        .unwrap()
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(
        paths,
        vec!["operators[id=1]", "operators[id=2].tally.fee_gwei", "rate"]
    );
    let d = diff_reports(&a, &b).unwrap();
    assert_eq!(d[0].actual, "absent");
    assert_eq!(d[2].expected, format!("\"{}\"", a.rate));
}

struct BlstSigner(blst::min_pk::SecretKey);

impl ReportSigner for BlstSigner {
    fn public_key(&self) -> PublicKeyBytes {
        PublicKeyBytes::from(self.0.sk_to_pk().compress())
    }
    fn sign(&self, root: Hash256) -> pool_registry::Result<SignatureBytes> {
        Ok(SignatureBytes::from(
            self.0
                .sign(
                    root.as_slice(),
                    b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
                    &[],
                )
                .compress(),
        ))
    }
}

#[test]
fn final_reports_are_signed_over_the_report_domain() {
    let spec = ChainSpec::minimal();
    let signer = BlstSigner(blst::min_pk::SecretKey::key_gen(&[7u8; 32], &[]).unwrap());
    let mut env = build(1, &pool(), None, 0, 99);
    sign_report(&mut env, &spec, &signer).unwrap();
    assert_eq!(
        DOMAIN_POOL_REPORT.as_slice()[3],
        0x01,
        "an application domain"
    );
    let signing_root = report_signing_root(&spec, env.report.genesis_validators_root, env.root);
    let domain = report_domain(&spec, env.report.genesis_validators_root);
    assert_eq!(&domain[..4], DOMAIN_POOL_REPORT.as_slice());
    let pk = blst::min_pk::PublicKey::uncompress(env.signer.unwrap().as_slice()).unwrap();
    let sig = blst::min_pk::Signature::uncompress(env.signature.unwrap().as_slice()).unwrap();
    let dst = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    assert_eq!(
        sig.verify(true, signing_root.as_slice(), dst, &[], &pk, true),
        blst::BLST_ERROR::BLST_SUCCESS
    );
    // Another chain's domain does not verify.
    let other = report_signing_root(&spec, Hash256::repeat_byte(1), env.root);
    assert_ne!(
        sig.verify(true, other.as_slice(), dst, &[], &pk, true),
        blst::BLST_ERROR::BLST_SUCCESS
    );
    // Withheld reports and tampered envelopes are refused.
    let f1 = build(1, &pool(), None, 0, 99);
    let mut withheld = build(2, &pool(), Some(&f1.report), 1_000_000_000, 99);
    assert!(sign_report(&mut withheld, &spec, &signer).is_err());
    let mut tampered = build(1, &pool(), None, 0, 99);
    tampered.report.rate += U256::from(1u64);
    assert!(sign_report(&mut tampered, &spec, &signer).is_err());
}
