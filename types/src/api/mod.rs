//! Beacon API request and response JSON types (serde only, no I/O).
//!
//! Covers every endpoint the validator client calls (`beacon-APIs` v4.0.0): genesis, node status,
//! state queries (validators, committees, sync committees, finality, fork), block lookups, duties,
//! subscriptions, proposer preparation, liveness, block production metadata, SSE event payloads
//! and error bodies. Consensus containers themselves (blocks, attestations, ...) live in
//! [`crate::containers`] and [`crate::block`]; fork-versioned envelopes in [`crate::versioned`].
//!
//! Conventions: integers are quoted decimal strings on output and accepted quoted or bare on
//! input; byte strings are 0x-prefixed hex of the exact length. Fields the spec marks required are
//! required here. Fields added to the spec after nodes we must support were released (e.g.
//! `finalized`, `el_offline`) are optional and omitted on output when absent, so responses of
//! such nodes decode and re-encode unchanged. Unknown extra fields in responses are ignored:
//! newer nodes add fields and that must not break an older client.

mod block;
mod duties;
mod error;
mod events;
mod node;
pub mod quoted;
mod state;

use serde::{Deserialize, Serialize};

pub use block::{BroadcastValidation, ProduceBlockV3Metadata};
pub use duties::{
    AttesterDuty, BeaconCommitteeSubscription, LivenessResponseData, ProposerDuty,
    ProposerPreparationData, SyncCommitteeSubscription, SyncDuty,
};
pub use error::{ErrorMessage, IndexedError};
pub use events::{BlockEvent, ChainReorgEvent, EventTopic, FinalizedCheckpointEvent, HeadEvent};
pub use node::{GenesisData, PeerCount, SyncingData, VersionData};
pub use state::{
    BlockHeaderData, BlockId, BlockRootData, Committee, FinalityCheckpoints, StateId,
    StateValidatorsRequest, SyncCommitteeByValidatorIndices, Validator, ValidatorBalance,
    ValidatorData, ValidatorId, ValidatorStatus, ValidatorStatusFilter,
};

use crate::containers::Fork;
use crate::primitives::Hash256;

/// One entry of `/eth/v1/config/fork_schedule` (the `Fork` container).
pub type ForkScheduleEntry = Fork;

/// The plain `{"data": ...}` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericResponse<T> {
    /// The payload.
    pub data: T,
}

/// The `{"execution_optimistic", "finalized", "data"}` envelope of state and block queries.
///
/// Both flags are optional: older nodes (Lodestar 1.5.1) omit `finalized`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionOptimisticResponse<T> {
    /// Whether the response references an optimistically imported block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
    /// Whether the response references finalized history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized: Option<bool>,
    /// The payload.
    pub data: T,
}

/// The attester/proposer duties envelope: duties are valid as long as the block at
/// `dependent_root` stays canonical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutiesResponse<T> {
    /// The block root the duties were computed from (see the duties endpoints' description).
    pub dependent_root: Hash256,
    /// Whether the duties were computed from an optimistically imported block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
    /// The duties.
    pub data: T,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn envelopes_keep_absent_flags_absent() {
        let lodestar = json!({"data": [], "execution_optimistic": false});
        let decoded: ExecutionOptimisticResponse<Vec<u64>> =
            serde_json::from_value(lodestar.clone()).unwrap();
        assert_eq!(decoded.finalized, None);
        assert_eq!(serde_json::to_value(&decoded).unwrap(), lodestar);

        let err = serde_json::from_value::<DutiesResponse<Vec<u64>>>(json!({"data": []}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("dependent_root"), "{err}");
    }
}
