//! Genesis and node status (`/eth/v1/beacon/genesis`, `/eth/v1/node/*`).

use serde::{Deserialize, Serialize};

use crate::primitives::{Hash256, Slot, Version};

/// `GET /eth/v1/beacon/genesis` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GenesisData {
    /// Unix time (seconds) of the genesis slot's start.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub genesis_time: u64,
    /// The root every signature domain binds to.
    pub genesis_validators_root: Hash256,
    /// `GENESIS_FORK_VERSION`.
    pub genesis_fork_version: Version,
}

/// `GET /eth/v1/node/syncing` data.
///
/// `is_optimistic` and `el_offline` are required by the current spec but absent from nodes
/// released before they were added; absence reads as "not optimistic" / "EL online".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncingData {
    /// The node's head slot.
    pub head_slot: Slot,
    /// How many slots the head is behind the wall clock.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub sync_distance: u64,
    /// Whether the node considers itself syncing (it then refuses validator duties).
    pub is_syncing: bool,
    /// Whether the head was imported optimistically (EL not yet verified it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_optimistic: Option<bool>,
    /// Whether the execution layer is unreachable (the node cannot produce blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub el_offline: Option<bool>,
}

impl SyncingData {
    /// `is_optimistic`, absent read as `false`.
    pub fn optimistic(&self) -> bool {
        self.is_optimistic.unwrap_or(false)
    }

    /// `el_offline`, absent read as `false`.
    pub fn execution_offline(&self) -> bool {
        self.el_offline.unwrap_or(false)
    }
}

/// `GET /eth/v1/node/version` data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VersionData {
    /// The node's software version, e.g. `Lodestar/v1.5.1/2115aa7`.
    pub version: String,
}

/// `GET /eth/v1/node/peer_count` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerCount {
    /// Disconnected peers.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub disconnected: u64,
    /// Peers being connected.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub connecting: u64,
    /// Connected peers.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub connected: u64,
    /// Peers being disconnected.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub disconnecting: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn syncing_without_newer_fields() {
        let old = json!({"head_slot": "5", "sync_distance": "0", "is_syncing": false});
        let decoded: SyncingData = serde_json::from_value(old.clone()).unwrap();
        assert!(!decoded.optimistic() && !decoded.execution_offline());
        assert_eq!(serde_json::to_value(decoded).unwrap(), old);
        let err =
            serde_json::from_value::<SyncingData>(json!({"head_slot": "5", "is_syncing": false}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("sync_distance"), "{err}");
    }

    #[test]
    fn genesis_requires_exact_lengths() {
        let bad = json!({"genesis_time": "1", "genesis_validators_root": "0x00", "genesis_fork_version": "0x00000000"});
        assert!(serde_json::from_value::<GenesisData>(bad).is_err());
    }
}
