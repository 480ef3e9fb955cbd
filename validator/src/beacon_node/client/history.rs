//! Historical reads for accounting and report verification: the standard rewards endpoints,
//! Electra's pending deposits, and debug states (for nodes whose state endpoints no longer
//! serve finalized states, and that serve proposer duties only for the current epoch).
//!
//! Optional endpoints answer `Ok(None)` when the node does not have them (404, 405, 501), so
//! a node without the rewards API is "breakdown unavailable", never a failure.

use serde::de::DeserializeOwned;
use types::Epoch;
use types::api::{BlockId, StateId};

use super::{BeaconNodeClient, Call};
use crate::beacon_node::error::{Error, Result};

/// Whether a status means "this node does not serve that route (or that object)".
fn is_absent(error: &Error) -> bool {
    matches!(
        error,
        Error::Status {
            status: 404 | 405 | 501,
            ..
        }
    )
}

/// The `data` of a response whose envelope may carry other fields (`execution_optimistic`,
/// `finalized`, `version`) that accounting does not need.
#[derive(serde::Deserialize)]
struct DataOnly<T> {
    data: T,
}

impl BeaconNodeClient {
    async fn optional_json<T: DeserializeOwned>(&self, call: Call) -> Result<Option<T>> {
        match self.execute_json::<DataOnly<T>>(call).await {
            Ok(response) => Ok(Some(response.data)),
            Err(error) if is_absent(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST /eth/v1/beacon/rewards/attestations/{epoch}` for `indices`; `None` when the node
    /// has no rewards API.
    pub async fn post_attestation_rewards<T: DeserializeOwned>(
        &self,
        epoch: Epoch,
        indices: &[u64],
    ) -> Result<Option<T>> {
        let ids: Vec<String> = indices.iter().map(u64::to_string).collect();
        let call = Call::post(
            format!("eth/v1/beacon/rewards/attestations/{epoch}"),
            self.timeouts().state_queries,
        )
        .json_body(&ids)?;
        self.optional_json(call).await
    }

    /// `GET /eth/v1/beacon/rewards/blocks/{block_id}`; `None` when the node has no rewards API.
    pub async fn get_block_rewards<T: DeserializeOwned>(
        &self,
        block: BlockId,
    ) -> Result<Option<T>> {
        let call = Call::get(
            format!("eth/v1/beacon/rewards/blocks/{block}"),
            self.timeouts().state_queries,
        );
        self.optional_json(call).await
    }

    /// `POST /eth/v1/beacon/rewards/sync_committee/{block_id}` for `indices`; `None` when the
    /// node has no rewards API.
    pub async fn post_sync_committee_rewards<T: DeserializeOwned>(
        &self,
        block: BlockId,
        indices: &[u64],
    ) -> Result<Option<T>> {
        let ids: Vec<String> = indices.iter().map(u64::to_string).collect();
        let call = Call::post(
            format!("eth/v1/beacon/rewards/sync_committee/{block}"),
            self.timeouts().state_queries,
        )
        .json_body(&ids)?;
        self.optional_json(call).await
    }

    /// `GET /eth/v1/beacon/states/{state_id}/pending_deposits` (Electra+); `None` when the node
    /// does not serve it.
    pub async fn get_pending_deposits<T: DeserializeOwned>(
        &self,
        state: StateId,
    ) -> Result<Option<T>> {
        let call = Call::get(
            format!("eth/v1/beacon/states/{state}/pending_deposits"),
            self.timeouts().state_queries,
        );
        self.optional_json(call).await
    }

    /// A debug state (`GET /eth/v2/debug/beacon/states/{state_id}`, JSON) decoded into `T`,
    /// which names only the fields the caller reads (the rest is skipped while parsing).
    /// Nodes serve finalized states here by replaying blocks when their state endpoints no
    /// longer do.
    pub async fn get_debug_state<T: DeserializeOwned>(&self, state: StateId) -> Result<T> {
        let call = Call::get(
            format!("eth/v2/debug/beacon/states/{state}"),
            self.timeouts().state_queries * 2,
        );
        Ok(self.execute_json::<DataOnly<T>>(call).await?.data)
    }
}
