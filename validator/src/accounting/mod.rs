//! The pool's accounting as the client runs it: the chain data of every finalized epoch is
//! fetched from the beacon nodes ([`fetch`]), handed to `pool-registry` (which computes the
//! ledger, the frame reports, fees, the exchange rate and the Merkle tree) and stored; the
//! [`service`] drives this once per epoch and catches up after downtime. [`verify`]
//! recomputes a published report from a beacon node, for `poolvc report verify`.
//!
//! Invariants:
//! - only final data is accounted: epoch e once the finalized checkpoint is at e+2 or later,
//!   with the checkpoint block's ancestors as its canonical blocks ([`canonical`]);
//! - the inputs are exactly the Beacon API responses `docs/accounting.md` names, so anyone can
//!   reproduce every stored number (the only recorded inputs are the EL values the node
//!   reported at block production, which the chain does not prove);
//! - stored history is never rewritten (`pool_registry::LedgerStore`): a recomputation that
//!   differs is an error that stops accounting, never an overwrite.

pub mod canonical;
pub mod fetch;
pub mod service;
pub mod state;
pub mod verify;

use types::{Checkpoint, Epoch};

pub use canonical::CanonicalChain;
pub use fetch::{EpochFetcher, StateAccess};
pub use service::{AccountingConfig, AccountingService, ElValueRecorder};
pub use state::{StateError, StateView};

/// Why an epoch could not be accounted (it is retried at the next epoch).
#[derive(Debug, thiserror::Error)]
pub enum AccountingError {
    /// A beacon node call failed on every node.
    #[error(transparent)]
    BeaconNode(#[from] crate::beacon_node::Error),
    /// The ledger, the report pipeline or the store refused.
    #[error("pool accounting: {0}")]
    Pool(#[from] pool_registry::Error),
    /// The chain data is not what accounting needs.
    #[error("epoch {epoch}: {detail}")]
    Input {
        /// The epoch.
        epoch: Epoch,
        /// What was wrong.
        detail: String,
    },
}

/// The finalized checkpoint of the best node's head state: the anchor every canonical block
/// is found from (`canonical`).
pub async fn finalized_checkpoint(
    fallback: &crate::beacon_node::BeaconNodeFallback,
) -> Result<Checkpoint> {
    Ok(fallback
        .first_success("accounting: finality", |client| async move {
            client
                .get_finality_checkpoints(types::api::StateId::Head)
                .await
        })
        .await?
        .data
        .finalized)
}

/// The finalized checkpoint epoch of the best node's head state.
pub async fn finalized_epoch(fallback: &crate::beacon_node::BeaconNodeFallback) -> Result<Epoch> {
    Ok(finalized_checkpoint(fallback).await?.epoch)
}

/// Accounting results.
pub type Result<T, E = AccountingError> = std::result::Result<T, E>;
