//! Genesis, config and node status.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use types::EthSpec;
use types::api::{GenesisData, PeerCount, SyncingData, VersionData};

use super::data;
use crate::testing::{Shared, SyncState};

pub(crate) async fn genesis<E: EthSpec>(State(shared): State<Arc<Shared<E>>>) -> Response {
    let root_override = shared.faults.lock().genesis_root_override;
    let chain = shared.chain.lock();
    data(GenesisData {
        genesis_time: chain.genesis_time,
        genesis_validators_root: root_override.unwrap_or(chain.genesis_validators_root),
        genesis_fork_version: chain.spec.genesis_fork_version(),
    })
}

pub(crate) async fn config_spec<E: EthSpec>(State(shared): State<Arc<Shared<E>>>) -> Response {
    data(shared.chain.lock().spec.raw_config().clone())
}

pub(crate) async fn fork_schedule<E: EthSpec>(State(shared): State<Arc<Shared<E>>>) -> Response {
    data(shared.chain.lock().spec.fork_schedule())
}

pub(crate) async fn syncing<E: EthSpec>(State(shared): State<Arc<Shared<E>>>) -> Response {
    let head = shared.head_slot();
    let sync = shared.faults.lock().sync;
    let (head_slot, distance, is_syncing, optimistic) = match sync {
        SyncState::Synced => (head, 0, false, false),
        SyncState::Optimistic => (head, 0, false, true),
        SyncState::Syncing { distance } => (head.saturating_sub(distance), distance, true, false),
    };
    data(SyncingData {
        head_slot,
        sync_distance: distance,
        is_syncing,
        is_optimistic: Some(optimistic),
        el_offline: Some(false),
    })
}

pub(crate) async fn version() -> Response {
    data(VersionData {
        version: concat!("poolvc-mock/v", env!("CARGO_PKG_VERSION")).to_owned(),
    })
}

pub(crate) async fn peer_count() -> Response {
    data(PeerCount {
        disconnected: 0,
        connecting: 0,
        connected: 50,
        disconnecting: 0,
    })
}
