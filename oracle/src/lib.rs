//! The oracle committee: independent members compute the same frame report root, sign it,
//! exchange votes over a permissioned libp2p network and seal a quorum certificate — the
//! root, the signers' bitfield and one BLS aggregate signature that anyone checks with one
//! `FastAggregateVerify`. The normative text is `docs/accounting.md`, "Oracle committee".
//!
//! - [`tally`]: the pure core (votes of a frame, equivocation, the certificate function);
//! - [`verify`]: vote, batch and certificate verification;
//! - [`own_vote`]: the node's own vote, recorded durably before it is sent;
//! - [`identity`]: the node's libp2p key file;
//! - [`network`]: the libp2p behaviour and its one swarm task;
//! - [`service`]: the [`Committee`] the validator drives;
//! - [`metrics`]: metric hooks and the events the committee emits.
//!
//! Data types, their encodings and storage are `pool_registry::oracle` and
//! `pool_registry::OracleStore`.

mod error;
pub mod identity;
pub mod membership;
pub mod metrics;
pub mod network;
pub mod own_vote;
pub mod service;
mod spawn;
pub mod tally;
pub mod verify;

pub use error::{Error, Result};
pub use membership::{Member, Membership};
pub use metrics::{CommitteeEvent, NoMetrics, OracleMetrics, VoteOutcome};
pub use pool_registry::oracle::{
    EquivocationEvidence, OracleMembership, OracleVote, QuorumCertificate, SignerSet,
};
pub use service::{
    Committee, CommitteeConfig, CommitteeDeps, FrameClock, LiveOracleConfig, NoReports,
    ReportBodyProvider, Submission,
};
pub use spawn::{TaskSpawner, TokioSpawner};
pub use tally::{FrameTally, certificate};
pub use verify::{VoteDomain, verify_certificate, verify_votes, verify_votes_individually};
