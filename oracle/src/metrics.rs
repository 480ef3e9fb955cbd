//! What the committee reports for metrics and to its user.
//!
//! The validator owns the Prometheus registry: it implements [`OracleMetrics`] (e.g. as
//! `poolvc_oracle_*` series in `validator/src/metrics`) and subscribes to
//! [`CommitteeEvent`]s. Every method has an empty default, so an implementation records
//! what it wants; labels come from the bounded enums below.

use std::time::Duration;

use pool_registry::oracle::{EquivocationEvidence, QuorumCertificate};
use types::Hash256;

/// What became of one received vote (a bounded label set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoteOutcome {
    /// Valid and new: recorded.
    Accepted,
    /// Already held (dropped before any signature check).
    Duplicate,
    /// From a member already proven equivocating (dropped before any signature check).
    FromEquivocator,
    /// Not exactly one SSZ vote (size cap) or undecodable.
    Malformed,
    /// The frame is outside the accepted window, or the root belongs to another frame.
    WrongFrame,
    /// The member index is not in the frame's membership.
    NotAMember,
    /// The signature does not verify.
    BadSignature,
    /// Dropped because the sender exceeded its rate or the verification queue was full.
    Dropped,
}

impl VoteOutcome {
    /// A short label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::FromEquivocator => "from_equivocator",
            Self::Malformed => "malformed",
            Self::WrongFrame => "wrong_frame",
            Self::NotAMember => "not_a_member",
            Self::BadSignature => "bad_signature",
            Self::Dropped => "dropped",
        }
    }

    /// Whether the sender misbehaved (penalised).
    pub fn is_invalid(self) -> bool {
        matches!(
            self,
            Self::Malformed | Self::WrongFrame | Self::NotAMember | Self::BadSignature
        )
    }
}

/// Metric hooks. Implementations must be cheap and non-blocking.
pub trait OracleMetrics: Send + Sync {
    /// Connected committee peers changed.
    fn peers(&self, _connected: usize) {}
    /// A received vote's outcome.
    fn vote(&self, _outcome: VoteOutcome) {}
    /// A frame reached agreement, `since_frame_end` after the frame's end (as the caller
    /// gave it at submission; `None` when the frame was not submitted here).
    fn agreed(&self, _frame: u64, _since_frame_end: Option<Duration>) {}
    /// The agreed root differs from this node's.
    fn dissent(&self, _frame: u64) {}
    /// A frame was still unagreed at its deadline.
    fn unagreed(&self, _frame: u64) {}
    /// Equivocation evidence was recorded.
    fn evidence(&self, _frame: u64) {}
    /// A peer was banned for misbehaving.
    fn peer_banned(&self) {}
}

/// Metrics that record nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl OracleMetrics for NoMetrics {}

/// What the committee tells its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitteeEvent {
    /// A certificate was sealed and stored (never rewritten).
    Agreed(QuorumCertificate),
    /// The agreed root is not this node's: fetch the agreed body
    /// ([`crate::Committee::fetch_report`]) and diff it with ours.
    Dissent {
        /// The frame.
        frame: u64,
        /// This node's root.
        ours: Hash256,
        /// The certificate's root.
        agreed: Hash256,
    },
    /// The deadline passed without a certificate.
    Unagreed {
        /// The frame.
        frame: u64,
        /// Votes per root (non-equivocating members), by root.
        roots: Vec<(Hash256, usize)>,
    },
    /// A member signed two roots in one frame.
    Evidence(EquivocationEvidence),
}
