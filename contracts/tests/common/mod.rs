//! Shared test code: the EVM kit and a deployed oracle + shares on anvil; committees and reports
//! come from `contracts::testing`.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use blst::min_pk::SecretKey;
use contracts::anvil::Anvil;
use contracts::{Anchor, Chain, CommitteeEpoch, Oracle, OracleParams, Shares, VerifierContext};
use pool_registry::report::ReportEnvelope;
use std::collections::BTreeMap;
use types::{Hash256, SignatureBytes, U256};

pub(crate) use contracts::testing::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

/// Installs the EVM kit (idempotent). `false` (after a loud SKIPPED line) when it cannot be
/// installed outside CI; under `CI=true` a failure panics.
pub(crate) fn kit(test: &str) -> bool {
    // One install per test binary (the script also locks against other processes).
    static INSTALL: std::sync::OnceLock<std::io::Result<std::process::ExitStatus>> =
        std::sync::OnceLock::new();
    let status = INSTALL.get_or_init(|| {
        Command::new("bash")
            .arg(repo_root().join("scripts/evm.sh"))
            .arg("install")
            .status()
    });
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
        let (oracle, _) = Oracle::deploy(&admin, &params)
            .await
            .expect("deploy oracle");
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
        aggregate(
            &self.secrets[id],
            signers,
            chain_binding().signing_root(root),
        )
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
                (
                    o.cumulative_fee_wei,
                    envelope.proofs[&o.operator_id].clone(),
                ),
            )
        })
        .collect()
}
