//! The pool: registry of operators and keys, the per-validator accounting ledger, frame
//! reports with fees and the exchange rate, sanity limits, and OpenZeppelin-compatible Merkle
//! proofs of cumulative operator rewards.
//!
//! This crate is pure accounting plus persistence: it fetches nothing. All chain data comes in
//! as input structs shaped like Beacon API responses ([`ledger::EpochInputs`]), so every
//! ledger entry and report is reproducible by anyone from public beacon data. The normative
//! specification is `docs/accounting.md`; module docs state each module's invariants.
//!
//! - [`registry`]: the TOML registry, validated with file/line/field errors; [`RegistryHandle`]
//!   for hot reloads that keep the old registry on failure; per-frame [`FrameSnapshot`]s.
//! - [`ledger`]: [`ledger::account_epoch`], CL income, duty performance, rewards breakdown.
//! - [`store`]: the [`LedgerStore`] trait with SQLite and PostgreSQL backends.
//! - [`report`]: frame reports, fees, exchange rate, sanity limits, SSZ/JSON encodings,
//!   signing, comparison.
//! - [`pipeline`]: the snapshot → ledger → report workflow over a store.
//! - [`merkle`]: OpenZeppelin `StandardMerkleTree` of `(operatorId, cumulativeWei)`.
//! - [`oracle`]: the oracle committee's membership, votes, evidence and quorum certificates
//!   (data and encodings; the committee itself is the `oracle` crate).
//! - `testing` (feature `testing`): the ledger scenarios and their loader, for tests of this
//!   crate and of the crates built on it.

pub mod canonical;
mod error;
pub mod ledger;
pub mod merkle;
pub mod oracle;
pub mod pipeline;
pub mod registry;
pub mod report;
mod serde_num;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
pub use registry::{
    FeeConfig, FrameConfig, FrameParameters, FrameSnapshot, Operator, OperatorId, OperatorTerms,
    PoolConfig, Registry, RegistryHandle, ReloadOutcome, SanityLimits,
};
pub use store::{
    LedgerStore, OracleStore, PostgresConfig, PostgresLedgerStore, ReportOrder, SqliteLedgerStore,
    StoreOutcome, ValidatorEpochEntry, ValidatorEpochRow,
};
