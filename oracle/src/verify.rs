//! Signature checks: one vote, many votes as one random-linear-combination batch (with a
//! per-vote fallback that finds the bad ones), and whole certificates.
//!
//! Every function here is CPU-bound: the service runs them on the blocking pool.

use pool_registry::oracle::{OracleVote, QuorumCertificate};
use pool_registry::report::report_domain;
use signer::bls::{PublicKey, Signature, SignatureSet, verify_signature_sets_grouped};
use types::{ChainSpec, Domain, Hash256, compute_signing_root};

use crate::error::{Error, Result};
use crate::membership::Membership;

/// The report signing domain of one chain:
/// `compute_domain(DOMAIN_POOL_REPORT, GENESIS_FORK_VERSION, genesis_validators_root)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteDomain(Domain);

impl VoteDomain {
    /// The domain of `spec`'s chain with `genesis_validators_root`.
    pub fn new(spec: &ChainSpec, genesis_validators_root: Hash256) -> Self {
        Self(report_domain(spec, genesis_validators_root))
    }

    /// What a member signs for `report_root` (the accounting spec's report signing root).
    pub fn signing_root(&self, report_root: Hash256) -> Hash256 {
        compute_signing_root(report_root, self.0)
    }
}

/// A vote's key and decoded signature, or why it cannot be checked.
fn prepare<'m>(
    membership: &'m Membership,
    vote: &OracleVote,
) -> Option<(&'m PublicKey, Signature)> {
    if vote.frame != membership.frame() {
        return None;
    }
    let member = membership.member(vote.member)?;
    let signature = Signature::from_bytes(vote.signature.as_slice()).ok()?;
    Some((&member.pubkey, signature))
}

/// Checks each vote on its own (one hash-to-curve and pairing check per vote).
pub fn verify_votes_individually(
    membership: &Membership,
    domain: &VoteDomain,
    votes: &[OracleVote],
) -> Vec<bool> {
    votes
        .iter()
        .map(|vote| {
            prepare(membership, vote).is_some_and(|(pk, sig)| {
                pk.verify(domain.signing_root(vote.report_root).as_slice(), &sig)
            })
        })
        .collect()
}

/// Checks votes of one frame: votes whose member, frame or signature encoding is wrong are
/// invalid at once; the rest are verified as one random-linear-combination batch and, when
/// the batch fails, one by one to find the bad ones. `result[i]` is vote i's validity.
pub fn verify_votes(
    membership: &Membership,
    domain: &VoteDomain,
    votes: &[OracleVote],
) -> Vec<bool> {
    let prepared: Vec<Option<(&PublicKey, Signature)>> =
        votes.iter().map(|v| prepare(membership, v)).collect();
    let roots: Vec<Hash256> = votes
        .iter()
        .map(|v| domain.signing_root(v.report_root))
        .collect();
    let candidates: Vec<usize> = (0..votes.len())
        .filter(|&i| prepared[i].is_some())
        .collect();
    let mut valid = vec![false; votes.len()];
    let sets: Vec<SignatureSet<'_>> = candidates
        .iter()
        .filter_map(|&i| {
            prepared[i].as_ref().map(|(pk, sig)| SignatureSet {
                pubkey: pk,
                message: roots[i].as_slice(),
                signature: sig,
            })
        })
        .collect();
    if sets.len() > 1 && verify_signature_sets_grouped(&sets) {
        for &i in &candidates {
            valid[i] = true;
        }
        return valid;
    }
    for (set, &i) in sets.iter().zip(&candidates) {
        valid[i] = set.pubkey.verify(set.message, set.signature);
    }
    valid
}

/// Verifies a certificate against its frame's membership, step by step as the accounting
/// spec's "Oracle committee" chapter states: frame, signers ⊆ members, quorum, signature
/// encoding, then `FastAggregateVerify(signers' keys in index order, signing root,
/// aggregate)`.
pub fn verify_certificate(
    certificate: &QuorumCertificate,
    membership: &Membership,
    domain: &VoteDomain,
) -> Result<()> {
    let fail = |reason: String| Error::InvalidCertificate {
        frame: certificate.frame,
        root: certificate.report_root,
        reason,
    };
    if certificate.frame != membership.frame() {
        return Err(fail(format!(
            "the membership given is frame {}'s",
            membership.frame()
        )));
    }
    let mut pubkeys = Vec::new();
    for index in certificate.signers.indices() {
        let member = membership
            .member(u64::from(index))
            .ok_or_else(|| fail(format!("signer {index} is not a member of the frame")))?;
        pubkeys.push(&member.pubkey);
    }
    if pubkeys.len() < membership.quorum() {
        return Err(fail(format!(
            "{} signers, the quorum is {}",
            pubkeys.len(),
            membership.quorum()
        )));
    }
    let aggregate = Signature::from_bytes(certificate.aggregate_signature.as_slice())
        .map_err(|e| fail(format!("aggregate signature: {e}")))?;
    let message = domain.signing_root(certificate.report_root);
    if !aggregate.fast_aggregate_verify(message.as_slice(), &pubkeys) {
        return Err(fail(
            "the aggregate signature does not verify against the signers' keys".to_owned(),
        ));
    }
    Ok(())
}
