//! EIP-3076 slashing protection for poolvc: the [`SlashingProtection`] store trait, an embedded
//! SQLite backend ([`SqliteStore`]) and a shared PostgreSQL backend ([`PostgresStore`]) for
//! several poolvc instances driving the same keys, interchange import/export and pruning.
//!
//! # Model (see `docs/slashing-protection.md`)
//! Each validator has one row of O(1) state ([`ValidatorState`]): low watermarks raised by
//! imports and the latest locally signed block and attestation. A check reads that row only,
//! so its cost does not depend on how much history is stored. A message is signed only when it
//! is strictly above everything recorded (or repeats the latest local message exactly), which
//! can never be slashable with respect to anything recorded or imported (minimal strategy).
//! A bounded recent history is kept for export and audit; pruning it never weakens protection.
//!
//! # Contract with the caller
//! - Register every key ([`SlashingProtection::register_validators`]) or import its history
//!   before it signs; unknown keys are refused ([`NotSafe::UnregisteredValidator`]).
//! - Release a signature only after the check returned `Ok(Ok(Safe::…))`: by then the record
//!   is durably committed. On `Err(Error)` nothing was recorded and nothing may be signed.

mod error;
mod files;
mod interchange;
mod model;
mod observer;
mod postgres;
mod row;
mod sqlite;

use async_trait::async_trait;
use types::{Hash256, PublicKeyBytes, Slot};

pub use error::{Error, Result};
pub use files::{
    DEFAULT_MAX_IMPORT_BYTES, ExistingFile, export_file, import_file, read_interchange,
};
pub use interchange::{
    INTERCHANGE_FORMAT_VERSION, ImportSummary, Interchange, InterchangeAttestation,
    InterchangeBlock, InterchangeData, InterchangeMetadata,
};
pub use model::{
    AttestationRecord, AttestationRequest, AttestationWatermark, BlockRecord, BlockRequest,
    CheckResult, InvalidAttestation, InvalidBlock, MAX_STORABLE, NotSafe, Safe, ValidatorState,
};
pub use observer::{
    BatchOutcome, KindSnapshot, MessageKind, Observed, SlashingObserver, SlashingStats,
    StatsSnapshot,
};
pub use postgres::{PostgresConfig, PostgresStore};
pub use sqlite::{SqliteConfig, SqliteStore};

/// How much signing history to keep when pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneWindow {
    /// Keep attestations whose target is within this many epochs of the newest target signed
    /// by any validator of the store, and blocks within this many epochs' worth of slots of
    /// the newest signed block. (A validator that stopped signing long ago may end up with no
    /// history at all: its protection lives in its state row, not in the history.)
    pub epochs: u64,
    /// Slots per epoch of the chain (32 on mainnet), to convert the window for blocks.
    pub slots_per_epoch: u64,
}

/// The default history window: 512 epochs (about 2.3 days on mainnet).
pub const DEFAULT_PRUNE_EPOCHS: u64 = 512;

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneSummary {
    /// Block history rows deleted.
    pub blocks: u64,
    /// Attestation history rows deleted.
    pub attestations: u64,
}

/// Which validators to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope<'a> {
    /// Every registered validator.
    All,
    /// Only these (each must be registered).
    Only(&'a [PublicKeyBytes]),
}

/// An EIP-3076 slashing protection store. Both backends behave identically; all methods are
/// safe to call concurrently, and on PostgreSQL from several processes at once.
#[async_trait]
pub trait SlashingProtection: Send + Sync {
    /// The genesis validators root this store is bound to.
    fn genesis_validators_root(&self) -> Hash256;

    /// Registers validators (idempotent). A key must be registered before it can sign.
    async fn register_validators(&self, pubkeys: &[PublicKeyBytes]) -> Result<()>;

    /// Checks a batch of block proposals in order and records the safe ones, in one durable
    /// transaction. One result per request, in request order.
    async fn check_and_insert_blocks(&self, requests: &[BlockRequest]) -> Result<Vec<CheckResult>>;

    /// Checks a batch of attestations in order and records the safe ones, in one durable
    /// transaction committed before this returns. One result per request, in request order;
    /// later requests for the same key see earlier ones of the same batch.
    async fn check_and_insert_attestations(
        &self,
        requests: &[AttestationRequest],
    ) -> Result<Vec<CheckResult>>;

    /// Imports EIP-3076 interchange data (minimal strategy: watermarks merge by maximum), all
    /// or nothing. Registers every pubkey it names.
    async fn import_interchange(&self, interchange: &Interchange) -> Result<ImportSummary>;

    /// Exports interchange data for the chosen validators. Export while no instance signs,
    /// or the file is stale the moment it is written.
    async fn export_interchange(&self, scope: ExportScope<'_>) -> Result<Interchange>;

    /// Deletes history older than the window. Never touches the protection state, so every
    /// decision after pruning is the same as before.
    async fn prune(&self, window: PruneWindow) -> Result<PruneSummary>;

    /// The protection state of one validator (`None` when unregistered), for audit and tests.
    async fn validator_state(&self, pubkey: &PublicKeyBytes) -> Result<Option<ValidatorState>>;

    /// Convenience for a single block: see [`SlashingProtection::check_and_insert_blocks`].
    async fn check_and_insert_block(
        &self,
        pubkey: PublicKeyBytes,
        slot: Slot,
        signing_root: Hash256,
    ) -> Result<CheckResult> {
        let request = BlockRequest {
            pubkey,
            slot,
            signing_root,
        };
        let mut results = self.check_and_insert_blocks(&[request]).await?;
        results
            .pop()
            .ok_or_else(|| Error::Corrupt("a one-block batch returned no result".to_owned()))
    }
}

/// A shared store is a store: lets `Arc<dyn SlashingProtection>` be wrapped and passed around.
#[async_trait]
impl<T: SlashingProtection + ?Sized> SlashingProtection for std::sync::Arc<T> {
    fn genesis_validators_root(&self) -> Hash256 {
        (**self).genesis_validators_root()
    }

    async fn register_validators(&self, pubkeys: &[PublicKeyBytes]) -> Result<()> {
        (**self).register_validators(pubkeys).await
    }

    async fn check_and_insert_blocks(&self, requests: &[BlockRequest]) -> Result<Vec<CheckResult>> {
        (**self).check_and_insert_blocks(requests).await
    }

    async fn check_and_insert_attestations(
        &self,
        requests: &[AttestationRequest],
    ) -> Result<Vec<CheckResult>> {
        (**self).check_and_insert_attestations(requests).await
    }

    async fn import_interchange(&self, interchange: &Interchange) -> Result<ImportSummary> {
        (**self).import_interchange(interchange).await
    }

    async fn export_interchange(&self, scope: ExportScope<'_>) -> Result<Interchange> {
        (**self).export_interchange(scope).await
    }

    async fn prune(&self, window: PruneWindow) -> Result<PruneSummary> {
        (**self).prune(window).await
    }

    async fn validator_state(&self, pubkey: &PublicKeyBytes) -> Result<Option<ValidatorState>> {
        (**self).validator_state(pubkey).await
    }
}
