//! Test support (feature `testing`): committees of interop keys and their aggregate signatures,
//! and real frame reports from `pool-registry`'s report builder (any number of operators), for
//! this crate's tests and benchmarks and for the crates built on it.

use std::path::Path;

use blst::min_pk::{AggregateSignature, SecretKey, Signature};
use pool_registry::ledger::{Duties, EpochLedger, ValidatorEpoch, ValidatorStatus};
use pool_registry::report::{ReportBuilder, ReportEnvelope, ReportParams, ReportStatus};
use pool_registry::{FrameSnapshot, Registry};
use types::{ChainSpec, Epoch, ForkName, Hash256, PublicKeyBytes, SignatureBytes, U256, Version};

use crate::bls::{Committee, Member, SIGNATURE_DST, prove_possession};
use crate::certificate::ChainBinding;

/// The genesis validators root of the test reports.
pub const GVR: Hash256 = Hash256::repeat_byte(0x4b);
/// The minimal preset's genesis fork version (the test chain's).
pub fn fork_version() -> Version {
    ChainSpec::minimal().genesis_fork_version()
}

/// The test chain.
pub fn chain_binding() -> ChainBinding {
    ChainBinding {
        genesis_validators_root: GVR,
        genesis_fork_version: fork_version(),
    }
}

/// Interop secret key `i` as a blst key.
pub fn secret(i: u64) -> SecretKey {
    let key = signer::derivation::interop_secret_key(i).expect("interop key");
    SecretKey::from_bytes(key.to_bytes().as_ref()).expect("valid secret key")
}

/// A committee of `size` interop keys starting at `first`, with its secret keys.
pub fn committee(first: u64, size: usize, quorum: usize) -> (Vec<SecretKey>, Committee) {
    let secrets: Vec<SecretKey> = (first..first + size as u64).map(secret).collect();
    let members: Vec<Member> = secrets
        .iter()
        .map(|s| Member {
            public_key: PublicKeyBytes::from(s.sk_to_pk().compress()),
            proof_of_possession: prove_possession(s),
        })
        .collect();
    (
        secrets,
        Committee::new(&members, quorum).expect("valid committee"),
    )
}

/// The aggregate signature of `secrets[i]` for every `i` in `signers` over `message`.
pub fn aggregate(secrets: &[SecretKey], signers: &[usize], message: Hash256) -> SignatureBytes {
    let sigs: Vec<Signature> = signers
        .iter()
        .map(|i| secrets[*i].sign(message.as_slice(), SIGNATURE_DST, &[]))
        .collect();
    let refs: Vec<&Signature> = sigs.iter().collect();
    SignatureBytes::from(
        AggregateSignature::aggregate(&refs, true)
            .expect("aggregate")
            .to_signature()
            .compress(),
    )
}

/// The mask of `signers`.
pub fn mask(signers: &[usize]) -> U256 {
    signers
        .iter()
        .fold(U256::ZERO, |m, i| m | (U256::from(1) << *i))
}

/// The first `n` member indices.
pub fn first(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// A registry of `operators` operators with `keys_per_operator` keys each (key `[k; 48]`-like
/// distinct bytes), 1-epoch frames.
pub fn registry(operators: usize, keys_per_operator: usize) -> Registry {
    let mut text = format!(
        "[pool]\nname = \"p\"\nwithdrawal_credentials = \"0x01{}\"\nel_rewards_vault = \"0x{}\"\nframe_epochs = 1\nframe_start_epoch = 1\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n[pool.shares]\ninitial_total_shares = \"1000000000000000000000\"\n",
        "00".repeat(11) + &"aa".repeat(20),
        "bb".repeat(20)
    );
    for op in 0..operators {
        let keys: Vec<String> = (0..keys_per_operator)
            .map(|k| format!("\"{}\"", key(op * keys_per_operator + k)))
            .collect();
        text.push_str(&format!(
            "\n[[operators]]\nid = {}\nname = \"Operator {op}\"\nreward_address = \"0x{}\"\nkeys = [{}]\n",
            op + 1,
            hex::encode([(op % 250 + 1) as u8; 20]),
            keys.join(", ")
        ));
    }
    Registry::parse(Path::new("registry.toml"), &text).expect("registry parses")
}

fn key(i: usize) -> PublicKeyBytes {
    let mut bytes = [0u8; 48];
    bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    bytes[47] = 0x5a;
    PublicKeyBytes::from(bytes)
}

fn record(index: usize, income: i64) -> ValidatorEpoch {
    ValidatorEpoch {
        validator_index: index as u64,
        pubkey: key(index),
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
            head_timely: 1,
            inclusion_delay: 1,
            ..Duties::default()
        },
        el_rewards: 0,
        el_values_missing: 0,
        fee_recipient_mismatches: 0,
        breakdown: None,
    }
}

/// Real final reports for frames 1..=frames of a pool with `operators` operators (2 keys each),
/// each report built on the previous one; income per validator grows with `boost` (gwei).
pub fn reports(operators: usize, frames: u64, boost: i64) -> Vec<ReportEnvelope> {
    let registry = registry(operators, 2);
    let spec = ChainSpec::minimal();
    let pool = registry.pool().clone();
    let mut out: Vec<ReportEnvelope> = Vec::new();
    for frame in 1..=frames {
        let params = ReportParams {
            spec: &spec,
            pool: &pool,
            genesis_validators_root: GVR,
            frame,
            previous: out.last().map(|e| &e.report),
            share_supply: pool.initial_total_shares,
        };
        let mut builder = ReportBuilder::new(params).expect("builder");
        let (first_epoch, last_epoch) = builder.epochs();
        let mut window = Vec::new();
        for e in first_epoch.as_u64()..=last_epoch.as_u64() {
            let snapshot =
                FrameSnapshot::capture(&registry, pool.frame.frame_of(Epoch(e)).unwrap());
            let ledger = EpochLedger {
                epoch: Epoch(e),
                fork: ForkName::Deneb,
                records: (0..operators * 2)
                    .map(|i| record(i, 1_000 + (i as i64 % 7) * 300 + boost * frame as i64))
                    .collect(),
            };
            window.push(ledger.summary());
            builder.add_epoch(&ledger, &snapshot).expect("add epoch");
        }
        let envelope = builder.finish(&window).expect("report");
        assert_eq!(
            envelope.status,
            ReportStatus::Final,
            "{:?}",
            envelope.violations
        );
        out.push(envelope);
    }
    out
}
