//! Persistence of the oracle committee: membership snapshots, the node's own votes (its
//! "slashing protection": one root per frame), received votes, equivocation evidence and
//! quorum certificates.
//!
//! Invariants shared by both backends (the same suite runs on each):
//! - an own vote is recorded once per frame, durably, before it is sent; recording another
//!   root for that frame is [`crate::Error::OracleVoteConflict`], the same root returns the
//!   recorded vote;
//! - received votes are keyed by (frame, member, root): storing one again is a no-op;
//! - evidence is kept once per (frame, member): the first pair stored stays;
//! - a certificate is never rewritten: the same content is a no-op, a different one for the
//!   frame is [`crate::Error::Conflict`];
//! - a frame's membership is stored once (the first captured wins), like frame snapshots.

use async_trait::async_trait;
use types::Hash256;

use super::StoreOutcome;
use crate::error::{Error, Result};
use crate::oracle::{EquivocationEvidence, OracleMembership, OracleVote, QuorumCertificate};

/// The oracle committee's store (implemented by both ledger stores).
#[async_trait]
pub trait OracleStore: Send + Sync {
    /// Stores `membership` unless its frame already has one; returns the stored membership.
    async fn ensure_membership(&self, membership: &OracleMembership) -> Result<OracleMembership>;

    /// The stored membership of a frame.
    async fn membership(&self, frame: u64) -> Result<Option<OracleMembership>>;

    /// Records the node's own vote for its frame, durably. Returns the recorded vote: `vote`
    /// itself, or the identical one recorded earlier. A different root for a recorded frame
    /// is [`crate::Error::OracleVoteConflict`] and nothing changes.
    async fn record_own_vote(&self, vote: &OracleVote) -> Result<OracleVote>;

    /// The node's recorded vote of a frame.
    async fn own_vote(&self, frame: u64) -> Result<Option<OracleVote>>;

    /// The node's recorded votes of frames `≥ from`, ascending (re-sent after a restart).
    async fn own_votes_from(&self, from: u64) -> Result<Vec<OracleVote>>;

    /// Records a received (already verified) vote; the same (frame, member, root) again is
    /// [`StoreOutcome::Unchanged`].
    async fn record_vote(&self, vote: &OracleVote) -> Result<StoreOutcome>;

    /// Records received (already verified) votes in one transaction; one outcome per vote,
    /// in order.
    async fn record_votes(&self, votes: &[OracleVote]) -> Result<Vec<StoreOutcome>>;

    /// The recorded votes of a frame, ordered by member then root.
    async fn votes(&self, frame: u64) -> Result<Vec<OracleVote>>;

    /// The recorded votes for a report root, ordered by frame, member.
    async fn votes_by_root(&self, report_root: Hash256) -> Result<Vec<OracleVote>>;

    /// Records evidence (the first pair per frame and member stays; later ones are no-ops).
    async fn record_evidence(&self, evidence: &EquivocationEvidence) -> Result<StoreOutcome>;

    /// The evidence recorded for a frame, ordered by member.
    async fn evidence(&self, frame: u64) -> Result<Vec<EquivocationEvidence>>;

    /// Stores a certificate: new → inserted; identical → unchanged; different → conflict.
    async fn store_certificate(&self, certificate: &QuorumCertificate) -> Result<StoreOutcome>;

    /// The certificate of a frame.
    async fn certificate(&self, frame: u64) -> Result<Option<QuorumCertificate>>;

    /// The certificates for a report root (one at most, unless frames share a root).
    async fn certificates_by_root(&self, report_root: Hash256) -> Result<Vec<QuorumCertificate>>;
}

pub(crate) fn membership_json(m: &OracleMembership) -> Result<String> {
    serde_json::to_string(m).map_err(|source| Error::Json {
        what: "oracle membership".to_owned(),
        source,
    })
}

pub(crate) fn membership_from_json(text: &str) -> Result<OracleMembership> {
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: "stored oracle membership".to_owned(),
        source,
    })
}

pub(crate) fn evidence_json(e: &EquivocationEvidence) -> Result<String> {
    serde_json::to_string(e).map_err(|source| Error::Json {
        what: "equivocation evidence".to_owned(),
        source,
    })
}

pub(crate) fn evidence_from_json(text: &str) -> Result<EquivocationEvidence> {
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: "stored equivocation evidence".to_owned(),
        source,
    })
}

/// Decides an own-vote write against the recorded one.
pub(crate) fn plan_own_vote(
    stored: Option<OracleVote>,
    new: &OracleVote,
) -> Result<Option<OracleVote>> {
    match stored {
        None => Ok(None),
        Some(stored) if stored.report_root == new.report_root && stored.member == new.member => {
            Ok(Some(stored))
        }
        Some(stored) => Err(Error::OracleVoteConflict {
            frame: new.frame,
            recorded: stored.report_root,
            requested: new.report_root,
        }),
    }
}

/// Decides a certificate write against the stored one.
pub(crate) fn plan_certificate(
    stored: Option<&QuorumCertificate>,
    new: &QuorumCertificate,
) -> Result<Option<StoreOutcome>> {
    match stored {
        None => Ok(None),
        Some(stored) if stored == new => Ok(Some(StoreOutcome::Unchanged)),
        Some(stored) => Err(Error::Conflict {
            what: format!(
                "quorum certificate of frame {} (stored root {} signers {:?}, new root {} signers {:?})",
                new.frame, stored.report_root, stored.signers, new.report_root, new.signers
            ),
        }),
    }
}

/// The outcome of storing `new` where `stored` (same frame, member, root) may exist.
pub(crate) fn vote_outcome(
    stored: Option<OracleVote>,
    new: &OracleVote,
) -> Result<Option<StoreOutcome>> {
    match stored {
        None => Ok(None),
        Some(stored) if stored == *new => Ok(Some(StoreOutcome::Unchanged)),
        Some(_) => Err(Error::Conflict {
            what: format!(
                "vote of member {} for root {} in frame {}",
                new.member, new.report_root, new.frame
            ),
        }),
    }
}

pub(crate) fn vote_from_ssz(bytes: &[u8]) -> Result<OracleVote> {
    OracleVote::from_ssz(bytes).map_err(|e| Error::Corrupt(format!("stored oracle vote: {e}")))
}

pub(crate) fn certificate_from_ssz(bytes: &[u8]) -> Result<QuorumCertificate> {
    QuorumCertificate::from_ssz(bytes)
        .map_err(|e| Error::Corrupt(format!("stored quorum certificate: {e}")))
}
