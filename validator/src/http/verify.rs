//! Independent checks of a stored report, as an auditor would make them: the SSZ root is
//! recomputed from the content, the Merkle tree of `(operator id, cumulative fee)` is rebuilt
//! and every stored proof verified against it, and the oracle's BLS signature is verified over
//! the report's signing root with the oracle key the node is configured with (never the key the
//! report names: that one is only compared).
//!
//! Invariant: [`Verification::verified`] is true only when every check passed; a withheld
//! report passes the signature check only when it carries no signature.

use pool_registry::merkle::{MerkleTree, verify_proof};
use pool_registry::report::{ReportEnvelope, ReportStatus, report_signing_root};
use serde::Serialize;
use types::{ChainSpec, Hash256, PublicKeyBytes, U256};

/// The outcome of the signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureCheck {
    /// The signature verifies against the oracle key.
    Valid,
    /// The signature does not verify (or does not decode).
    Invalid,
    /// A final report without a signature.
    Missing,
    /// The report names another signer than the configured oracle key.
    WrongSigner,
    /// A withheld report, correctly unsigned.
    NotSigned,
    /// A withheld report that carries a signature (withheld reports are never signed).
    UnexpectedSignature,
    /// No oracle key is configured, so the signature cannot be checked.
    NoOracleKey,
}

impl SignatureCheck {
    /// The name used in JSON and on the dashboard.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Missing => "missing",
            Self::WrongSigner => "wrong_signer",
            Self::NotSigned => "not_signed",
            Self::UnexpectedSignature => "unexpected_signature",
            Self::NoOracleKey => "no_oracle_key",
        }
    }
}

/// Results of the checks of one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The SSZ root recomputed from the content equals the stored root.
    pub root_matches: bool,
    /// The Merkle root rebuilt from the operators' cumulative fees equals `rewards_root`.
    pub rewards_root_matches: bool,
    /// Every operator has a proof and every proof verifies under `rewards_root`.
    pub proofs_verify: bool,
    /// The signature check.
    pub signature: SignatureCheck,
    /// Every check passed.
    pub verified: bool,
}

/// Runs every check on `envelope` (CPU: one BLS verification and one Merkle tree; call from a
/// blocking thread for many reports).
pub fn verify_report(
    envelope: &ReportEnvelope,
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    oracle: Option<&PublicKeyBytes>,
) -> Verification {
    let report = &envelope.report;
    let root_matches = report.root().is_ok_and(|root| root == envelope.root);
    let leaves: Vec<(U256, U256)> = report
        .operators
        .iter()
        .map(|o| (U256::from(o.operator_id), o.cumulative_fee_wei))
        .collect();
    let rewards_root_matches = if leaves.is_empty() {
        report.rewards_root == Hash256::ZERO
    } else {
        MerkleTree::build(&leaves).is_ok_and(|tree| tree.root() == report.rewards_root)
    };
    let proofs_verify = envelope.proofs.len() == report.operators.len()
        && report.operators.iter().all(|o| {
            envelope.proofs.get(&o.operator_id).is_some_and(|proof| {
                verify_proof(
                    report.rewards_root,
                    U256::from(o.operator_id),
                    o.cumulative_fee_wei,
                    proof,
                )
            })
        });
    let signature = check_signature(envelope, spec, genesis_validators_root, oracle);
    Verification {
        root_matches,
        rewards_root_matches,
        proofs_verify,
        signature,
        verified: root_matches
            && rewards_root_matches
            && proofs_verify
            && matches!(signature, SignatureCheck::Valid | SignatureCheck::NotSigned),
    }
}

fn check_signature(
    envelope: &ReportEnvelope,
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    oracle: Option<&PublicKeyBytes>,
) -> SignatureCheck {
    let Some(signature) = &envelope.signature else {
        return match envelope.status {
            ReportStatus::Final => SignatureCheck::Missing,
            ReportStatus::Withheld => SignatureCheck::NotSigned,
        };
    };
    if envelope.status == ReportStatus::Withheld {
        return SignatureCheck::UnexpectedSignature;
    }
    let Some(oracle) = oracle else {
        return SignatureCheck::NoOracleKey;
    };
    if envelope
        .signer
        .as_ref()
        .is_some_and(|signer| signer != oracle)
    {
        return SignatureCheck::WrongSigner;
    }
    let (Ok(key), Ok(signature)) = (
        signer::bls::PublicKey::from_bytes(oracle.as_slice()),
        signer::bls::Signature::from_bytes(signature.as_slice()),
    ) else {
        return SignatureCheck::Invalid;
    };
    // The node's own chain, not the one the report names: a report of another chain fails.
    let signing_root = report_signing_root(spec, genesis_validators_root, envelope.root);
    if key.verify(signing_root.as_slice(), &signature) {
        SignatureCheck::Valid
    } else {
        SignatureCheck::Invalid
    }
}

/// A Merkle proof of one operator's cumulative fees in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorProof {
    /// The operator.
    pub operator_id: u64,
    /// The leaf value: cumulative operator fees over all final reports (wei).
    pub cumulative_fee_wei: U256,
    /// `keccak256(keccak256(abi.encode(id, cumulative)))`.
    pub leaf_hash: Hash256,
    /// Siblings from the leaf up to the root.
    pub proof: Vec<Hash256>,
    /// The report's `rewards_root`.
    pub rewards_root: Hash256,
    /// Whether the proof verifies under `rewards_root`.
    pub verifies: bool,
}

/// The proof of `operator_id` in `envelope`, `None` when the report has no such operator.
pub fn operator_proof(envelope: &ReportEnvelope, operator_id: u64) -> Option<OperatorProof> {
    let report = &envelope.report;
    let operator = report
        .operators
        .iter()
        .find(|o| o.operator_id == operator_id)?;
    let proof = envelope
        .proofs
        .get(&operator_id)
        .cloned()
        .unwrap_or_default();
    let id = U256::from(operator_id);
    Some(OperatorProof {
        operator_id,
        cumulative_fee_wei: operator.cumulative_fee_wei,
        leaf_hash: pool_registry::merkle::leaf_hash(id, operator.cumulative_fee_wei),
        verifies: envelope.proofs.contains_key(&operator_id)
            && verify_proof(report.rewards_root, id, operator.cumulative_fee_wei, &proof),
        proof,
        rewards_root: report.rewards_root,
    })
}
