//! Shared test code: the EVM kit, committees of interop keys with their certificates, real frame
//! reports from `pool-registry`'s report builder, and a deployed oracle + shares on anvil.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use blst::min_pk::{AggregateSignature, SecretKey, Signature};
use contracts::anvil::Anvil;
use contracts::bls::SIGNATURE_DST;
use contracts::{
    Anchor, Chain, ChainBinding, Committee, CommitteeEpoch, Member, Oracle, OracleParams, Shares,
    VerifierContext, prove_possession,
};
use pool_registry::ledger::{Duties, EpochLedger, ValidatorEpoch, ValidatorStatus};
use pool_registry::report::{ReportBuilder, ReportEnvelope, ReportParams, ReportStatus};
use pool_registry::{FrameSnapshot, Registry};
use types::{ChainSpec, Epoch, ForkName, Hash256, PublicKeyBytes, SignatureBytes, U256, Version};

/// The chain of the tests.
pub(crate) const GVR: Hash256 = Hash256::repeat_byte(0x4b);
/// Minimal preset's genesis fork version.
pub(crate) fn fork_version() -> Version {
    ChainSpec::minimal().genesis_fork_version()
}

pub(crate) fn chain_binding() -> ChainBinding {
    ChainBinding {
        genesis_validators_root: GVR,
        genesis_fork_version: fork_version(),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

/// Installs the EVM kit (idempotent). `false` (after a loud SKIPPED line) when it cannot be
/// installed outside CI; under `CI=true` a failure panics.
pub(crate) fn kit(test: &str) -> bool {
    let status = Command::new("bash")
        .arg(repo_root().join("scripts/evm.sh"))
        .arg("install")
        .status();
    let ok = status.as_ref().is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "scripts/evm.sh install failed under CI: {status:?}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: the EVM kit could not be installed (scripts/evm.sh install: {status:?})"
    );
    false
}

/// Runs `scripts/evm.sh` with `args`; its status and output.
pub(crate) fn evm_sh(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(repo_root().join("scripts/evm.sh"))
        .args(args)
        .output()
        .expect("bash runs")
}

/// Interop secret key `i` as a blst key.
pub(crate) fn secret(i: u64) -> SecretKey {
    let key = signer::derivation::interop_secret_key(i).expect("interop key");
    SecretKey::from_bytes(key.to_bytes().as_ref()).expect("valid secret key")
}

/// A committee of `size` interop keys starting at `first`, with its secret keys.
pub(crate) fn committee(first: u64, size: usize, quorum: usize) -> (Vec<SecretKey>, Committee) {
    let secrets: Vec<SecretKey> = (first..first + size as u64).map(secret).collect();
    let members: Vec<Member> = secrets
        .iter()
        .map(|s| Member {
            public_key: PublicKeyBytes::from(s.sk_to_pk().compress()),
            proof_of_possession: prove_possession(s),
        })
        .collect();
    (secrets, Committee::new(&members, quorum).expect("valid committee"))
}

/// The aggregate signature of `secrets[i]` for every `i` in `signers` over `message`.
pub(crate) fn aggregate(secrets: &[SecretKey], signers: &[usize], message: Hash256) -> SignatureBytes {
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
pub(crate) fn mask(signers: &[usize]) -> U256 {
    signers
        .iter()
        .fold(U256::ZERO, |m, i| m | (U256::from(1) << *i))
}

/// The first `n` member indices.
pub(crate) fn first(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// A registry of `operators` operators with `keys_per_operator` keys each (key `[k; 48]`-like
/// distinct bytes), 1-epoch frames.
pub(crate) fn registry(operators: usize, keys_per_operator: usize) -> Registry {
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
pub(crate) fn reports(operators: usize, frames: u64, boost: i64) -> Vec<ReportEnvelope> {
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
            let snapshot = FrameSnapshot::capture(&registry, pool.frame.frame_of(Epoch(e)).unwrap());
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
        assert_eq!(envelope.status, ReportStatus::Final, "{:?}", envelope.violations);
        out.push(envelope);
    }
    out
}

/// A fresh anvil with `PoolOracle` and `PoolShares` deployed and committees set.
pub(crate) struct Setup {
    pub(crate) anvil: Anvil,
    pub(crate) admin: Chain,
    pub(crate) submitter: Chain,
    pub(crate) oracle: Oracle,
    pub(crate) shares: Shares,
    pub(crate) secrets: Vec<Vec<SecretKey>>,
    pub(crate) committees: Vec<CommitteeEpoch>,
}

impl Setup {
    /// Deploys with the given committees `(from_frame, size, quorum)`, each of fresh interop keys.
    pub(crate) async fn new(committees: &[(u64, usize, usize)]) -> Self {
        let anvil = Anvil::spawn().expect("anvil starts");
        let admin = Chain::connect(anvil.endpoint(), anvil.signer(0));
        let submitter = Chain::connect(anvil.endpoint(), anvil.signer(1));
        let params = OracleParams {
            admin: admin.sender(),
            genesis_validators_root: GVR,
            genesis_fork_version: fork_version(),
            max_positive_rebase_1e9: 750_000,
            anchor: Anchor::default(),
        };
        let (oracle, _) = Oracle::deploy(&admin, &params).await.expect("deploy oracle");
        let (shares, _) = Shares::deploy(&admin, oracle.address(), admin.sender())
            .await
            .expect("deploy shares");
        let mut secrets = Vec::new();
        let mut epochs = Vec::new();
        let mut next_key = 0;
        for (i, (from_frame, size, quorum)) in committees.iter().enumerate() {
            let (s, c) = committee(next_key, *size, *quorum);
            next_key += *size as u64;
            let (id, _) = oracle
                .set_committee(*from_frame, &c)
                .await
                .expect("set committee");
            assert_eq!(id as usize, i);
            secrets.push(s);
            epochs.push(CommitteeEpoch {
                from_frame: *from_frame,
                committee: c,
            });
        }
        let oracle_for_submitter = Oracle::at(&submitter, oracle.address());
        Self {
            anvil,
            admin,
            submitter,
            oracle: oracle_for_submitter,
            shares,
            secrets,
            committees: epochs,
        }
    }

    /// The off-chain verifier's context with the oracle's current state.
    pub(crate) async fn context(&self) -> VerifierContext {
        VerifierContext {
            chain: chain_binding(),
            state: self.oracle.state().await.expect("state"),
            committees: self.committees.clone(),
        }
    }

    /// The aggregate signature of `signers` of committee `id` over the signing root of `root`.
    pub(crate) fn sign(&self, id: usize, signers: &[usize], root: Hash256) -> SignatureBytes {
        aggregate(&self.secrets[id], signers, chain_binding().signing_root(root))
    }
}

/// Cumulative fee and proof of every operator of a report.
pub(crate) fn leaves(envelope: &ReportEnvelope) -> BTreeMap<u64, (U256, Vec<Hash256>)> {
    envelope
        .report
        .operators
        .iter()
        .map(|o| {
            (
                o.operator_id,
                (o.cumulative_fee_wei, envelope.proofs[&o.operator_id].clone()),
            )
        })
        .collect()
}
