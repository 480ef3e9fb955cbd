//! The pure core: the valid votes of one frame, equivocation, agreement and the certificate.
//!
//! Invariants:
//! - only votes whose signature was verified enter a [`FrameTally`] (the service checks them
//!   first); [`FrameTally::screen`] is the cheap pre-check that drops duplicates and useless
//!   votes before any signature work;
//! - a member with valid votes for two roots is an equivocator: both votes are kept as
//!   [`EquivocationEvidence`] and the member counts for neither root;
//! - [`certificate`] is a function of the *set* of votes: order and duplication do not
//!   change it. Signers are every non-equivocating member that voted the agreed root, the
//!   aggregate is their signatures' sum (a group sum: order-free; BLS signatures are unique
//!   per key and message, so the same set gives the same bytes);
//! - since the quorum is a strict majority, at most one root can reach it.

use std::collections::BTreeMap;

use pool_registry::oracle::{
    EquivocationEvidence, MemberIndex, OracleVote, QuorumCertificate, SignerSet,
};
use signer::bls::{AggregateSignature, Signature};
use types::Hash256;

use crate::membership::Membership;

/// What the cheap pre-check says about an incoming vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Worth verifying: it may change the tally.
    New,
    /// The frame is not this tally's.
    WrongFrame,
    /// The member index is not in the frame's membership.
    NotAMember,
    /// The same member and root are already held (a valid signature is unique, so these
    /// bytes are either identical or invalid).
    Duplicate,
    /// The member is already proven equivocating: another root adds nothing.
    Equivocator,
}

/// What inserting a verified vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new vote.
    New,
    /// Already held, or from a proven equivocator: nothing changed.
    Ignored,
    /// The member's second root: it is now an equivocator.
    Evidence(Box<EquivocationEvidence>),
}

/// The verified votes of one frame.
#[derive(Debug, Clone, Default)]
pub struct FrameTally {
    frame: u64,
    /// Per member, its votes by root (at most two: the second makes it an equivocator).
    votes: BTreeMap<MemberIndex, BTreeMap<Hash256, OracleVote>>,
}

impl FrameTally {
    /// An empty tally for `frame`.
    pub fn new(frame: u64) -> Self {
        Self {
            frame,
            votes: BTreeMap::new(),
        }
    }

    /// The frame.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// The cheap pre-check, before any signature verification.
    pub fn screen(&self, membership: &Membership, vote: &OracleVote) -> Screen {
        if vote.frame != self.frame || membership.frame() != self.frame {
            return Screen::WrongFrame;
        }
        let Some(member) = membership.member(vote.member) else {
            return Screen::NotAMember;
        };
        match self.votes.get(&member.index) {
            Some(roots) if roots.contains_key(&vote.report_root) => Screen::Duplicate,
            Some(roots) if roots.len() >= 2 => Screen::Equivocator,
            _ => Screen::New,
        }
    }

    /// Adds a vote whose signature was verified against `membership`.
    pub fn insert(&mut self, membership: &Membership, vote: OracleVote) -> Inserted {
        if self.screen(membership, &vote) != Screen::New {
            return Inserted::Ignored;
        }
        let index = vote.member as MemberIndex; // screen() checked the range
        let roots = self.votes.entry(index).or_default();
        let previous = roots.values().next().cloned();
        roots.insert(vote.report_root, vote.clone());
        match previous {
            Some(first) => EquivocationEvidence::new(first, vote)
                .map_or(Inserted::New, |e| Inserted::Evidence(Box::new(e))),
            None => Inserted::New,
        }
    }

    /// Every vote held, by member then root.
    pub fn votes(&self) -> impl Iterator<Item = &OracleVote> {
        self.votes.values().flat_map(|roots| roots.values())
    }

    /// Number of votes held.
    pub fn len(&self) -> usize {
        self.votes.values().map(BTreeMap::len).sum()
    }

    /// Whether no vote is held.
    pub fn is_empty(&self) -> bool {
        self.votes.is_empty()
    }

    /// The members proven equivocating.
    pub fn equivocators(&self) -> SignerSet {
        SignerSet::from_indices(
            self.votes
                .iter()
                .filter(|(_, roots)| roots.len() >= 2)
                .map(|(i, _)| *i),
        )
    }

    /// The non-equivocating members that voted `root`.
    pub fn agreeing(&self, root: Hash256) -> SignerSet {
        SignerSet::from_indices(
            self.votes
                .iter()
                .filter(|(_, roots)| roots.len() == 1 && roots.contains_key(&root))
                .map(|(i, _)| *i),
        )
    }

    /// Distinct roots with the count of non-equivocating members voting each, by root.
    pub fn roots(&self) -> BTreeMap<Hash256, usize> {
        let mut out = BTreeMap::new();
        for roots in self.votes.values().filter(|r| r.len() == 1) {
            for root in roots.keys() {
                *out.entry(*root).or_default() += 1;
            }
        }
        out
    }

    /// The root a quorum of non-equivocating members agrees on, if any.
    pub fn agreed_root(&self, membership: &Membership) -> Option<Hash256> {
        self.roots()
            .into_iter()
            .find(|(_, n)| *n >= membership.quorum())
            .map(|(root, _)| root)
    }

    /// Whether every member of the frame has voted (an equivocator has voted twice).
    pub fn all_accounted_for(&self, membership: &Membership) -> bool {
        membership
            .members()
            .all(|m| self.votes.get(&m.index).is_some_and(|r| !r.is_empty()))
    }

    /// The certificate these votes support (see [`certificate`]).
    pub fn certificate(&self, membership: &Membership) -> Option<QuorumCertificate> {
        let root = self.agreed_root(membership)?;
        let signers = self.agreeing(root);
        let mut signatures = Vec::with_capacity(signers.len());
        for index in signers.indices() {
            let vote = self.votes.get(&index)?.get(&root)?;
            // Verified votes always decode; a vote that does not could never have verified.
            signatures.push(Signature::from_bytes(vote.signature.as_slice()).ok()?);
        }
        let refs: Vec<&Signature> = signatures.iter().collect();
        let aggregate = AggregateSignature::aggregate(&refs).ok()?.to_signature();
        Some(QuorumCertificate {
            frame: self.frame,
            report_root: root,
            signers,
            aggregate_signature: aggregate.to_bytes(),
        })
    }
}

/// The certificate a set of verified votes of `membership`'s frame supports: independent of
/// the order of `votes` and of duplicates in it. Votes of other frames or non-members are
/// ignored.
pub fn certificate<'a>(
    membership: &Membership,
    votes: impl IntoIterator<Item = &'a OracleVote>,
) -> Option<QuorumCertificate> {
    let mut tally = FrameTally::new(membership.frame());
    for vote in votes {
        tally.insert(membership, vote.clone());
    }
    tally.certificate(membership)
}
