//! The oracle committee's data: the `[oracle]` registry section, the membership snapshot of a
//! frame, votes, equivocation evidence and quorum certificates, with their SSZ and JSON forms.
//!
//! This module holds data and encodings only (normative text: `docs/accounting.md`, "Oracle
//! committee"); the committee logic and its network live in the `oracle` crate.
//!
//! Invariants:
//! - a member index is below [`MAX_ORACLE_MEMBERS`] (256), so a signer set is a `uint256`
//!   bitmask (bit i ⇔ member i) and an SSZ `Bitvector[256]`;
//! - a validated [`OracleConfig`] has unique indices, public keys (each passing KeyValidate)
//!   and peer ids, and a quorum `M` with `N/2 < M ≤ N`;
//! - [`EquivocationEvidence`] holds its two votes ordered by report root, so every node
//!   builds identical evidence from the same two votes.

mod membership;
mod records;
mod signers;

pub use membership::{
    DEFAULT_AGREEMENT_DEADLINE_SECONDS, DEFAULT_LISTEN_ADDRESS, DEFAULT_SETTLE_WINDOW_MS,
    MemberIndex, OracleConfig, OracleMember, OracleMembership, SnapshotMember,
};
pub use records::{
    CERTIFICATE_SSZ_LEN, EquivocationEvidence, OracleVote, QuorumCertificate, VOTE_SSZ_LEN,
};
pub use signers::SignerSet;

/// At most this many members (a signer set is a `uint256` bitmask).
pub const MAX_ORACLE_MEMBERS: usize = 256;
