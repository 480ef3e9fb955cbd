//! The pool's contracts and their Rust client.
//!
//! - `PoolOracle` (`src/PoolOracle.sol`): accepts a frame report certified by a BLS quorum of
//!   the oracle committee in one transaction: it recomputes the report's SSZ root from the
//!   field values it uses, verifies the aggregate signature with the EIP-2537 precompiles
//!   (hash-to-G2 on-chain, one pairing check), enforces the chain of reports and re-checks the
//!   positive-rebase limit. The normative description is docs/accounting.md, "On-chain
//!   acceptance".
//! - `PoolShares` (`src/PoolShares.sol`): the exchange rate of the last accepted report and
//!   operator fee claims against its rewards Merkle root.
//!
//! This crate: [`bindings`] (from the checked-in artifacts), [`bls`] (EIP-2537 encodings,
//! proofs of possession, [`Committee`]), [`report`] (what `submitReport` takes),
//! [`certificate`] ([`QuorumCertificate`] and [`verify_offchain`], the independent verdict),
//! [`client`] ([`Chain`], [`Oracle`], [`Shares`]: deploy, submit, read, claim) and [`anvil`]
//! (the pinned local node for tests and benchmarks).
//!
//! Invariant: every refusal of a contract reaches the caller as [`Error::Rejected`] with the
//! decoded [`Rejection`], the same type the off-chain verdict returns.

pub mod anvil;
pub mod bindings;
pub mod bls;
pub mod certificate;
pub mod client;
mod error;
pub mod report;
#[cfg(feature = "testing")]
pub mod testing;

pub use bls::{Committee, Member, prove_possession};
pub use certificate::{
    ChainBinding, CommitteeEpoch, OracleState, QuorumCertificate, VerifierContext, verify_offchain,
};
pub use client::{
    Anchor, Chain, ClaimOutcome, Oracle, OracleParams, Shares, Submission, TxOutcome,
};
pub use error::{Error, Rejection, Result};
pub use report::EncodedReport;
