//! Genesis, config, node status, state and block queries.

use serde_json::Value;
use types::api::{
    BlockHeaderData, BlockId, BlockRootData, Committee, ExecutionOptimisticResponse,
    FinalityCheckpoints, ForkScheduleEntry, GenericResponse, GenesisData, PeerCount, StateId,
    StateValidatorsRequest, SyncCommitteeByValidatorIndices, SyncingData, ValidatorBalance,
    ValidatorData, ValidatorId, ValidatorStatusFilter, VersionData,
};
use types::{ChainSpec, Epoch, EthSpec, Fork, ForkVersioned, Hash256, SignedBeaconBlock, Slot};

use super::routes::VersionedRoute;
use super::{BeaconNodeClient, Call};
use crate::beacon_node::error::{Error, Result};

/// Ids per GET request when falling back from POST (the spec's `maxItems` for `id`).
pub const GET_ID_CHUNK: usize = 64;

/// Merges chunked responses: optimistic if any chunk is, finalized only if all are.
fn merge_chunks<T>(
    chunks: Vec<ExecutionOptimisticResponse<Vec<T>>>,
) -> ExecutionOptimisticResponse<Vec<T>> {
    let mut merged = ExecutionOptimisticResponse {
        execution_optimistic: None,
        finalized: None,
        data: Vec::new(),
    };
    for (i, chunk) in chunks.into_iter().enumerate() {
        merged.execution_optimistic =
            match (merged.execution_optimistic, chunk.execution_optimistic) {
                (Some(a), Some(b)) => Some(a || b),
                (a, b) => a.or(b),
            };
        merged.finalized = if i == 0 {
            chunk.finalized
        } else {
            match (merged.finalized, chunk.finalized) {
                (Some(a), Some(b)) => Some(a && b),
                _ => None,
            }
        };
        merged.data.extend(chunk.data);
    }
    merged
}

impl BeaconNodeClient {
    /// `GET /eth/v1/beacon/genesis`.
    pub async fn get_genesis(&self) -> Result<GenesisData> {
        let call = Call::get("eth/v1/beacon/genesis", self.timeouts().health);
        Ok(self
            .execute_json::<GenericResponse<GenesisData>>(call)
            .await?
            .data)
    }

    /// `GET /eth/v1/config/spec`, parsed into a [`ChainSpec`] (keeping every raw key).
    pub async fn get_config_spec(&self) -> Result<ChainSpec> {
        let response = self
            .execute(Call::get("eth/v1/config/spec", self.timeouts().default))
            .await?;
        let value: Value = response.json()?;
        ChainSpec::from_spec_response(&value).map_err(|e| response.decode_error(e.to_string()))
    }

    /// `GET /eth/v1/config/fork_schedule`.
    pub async fn get_fork_schedule(&self) -> Result<Vec<ForkScheduleEntry>> {
        let call = Call::get("eth/v1/config/fork_schedule", self.timeouts().default);
        Ok(self.execute_json::<GenericResponse<_>>(call).await?.data)
    }

    /// `GET /eth/v1/node/syncing`.
    pub async fn get_node_syncing(&self) -> Result<SyncingData> {
        let call = Call::get("eth/v1/node/syncing", self.timeouts().health);
        Ok(self.execute_json::<GenericResponse<_>>(call).await?.data)
    }

    /// `GET /eth/v1/node/version`: the node's software version string.
    pub async fn get_node_version(&self) -> Result<String> {
        let call = Call::get("eth/v1/node/version", self.timeouts().health);
        Ok(self
            .execute_json::<GenericResponse<VersionData>>(call)
            .await?
            .data
            .version)
    }

    /// `GET /eth/v1/node/peer_count`.
    pub async fn get_peer_count(&self) -> Result<PeerCount> {
        let call = Call::get("eth/v1/node/peer_count", self.timeouts().health);
        Ok(self.execute_json::<GenericResponse<_>>(call).await?.data)
    }

    /// Validators of a state, filtered by ids and statuses (empty = no filter): `POST
    /// .../validators`, or `GET` in chunks of [`GET_ID_CHUNK`] ids on nodes without the POST
    /// route. Validators that do not exist are simply absent from the result.
    pub async fn post_state_validators(
        &self,
        state_id: StateId,
        ids: &[ValidatorId],
        statuses: &[ValidatorStatusFilter],
    ) -> Result<ExecutionOptimisticResponse<Vec<ValidatorData>>> {
        let path = format!("eth/v1/beacon/states/{state_id}/validators");
        let timeout = self.timeouts().state_queries;
        let body = StateValidatorsRequest {
            ids: (!ids.is_empty()).then(|| ids.to_vec()),
            statuses: (!statuses.is_empty()).then(|| statuses.to_vec()),
        };
        let post = || async {
            self.execute_json(Call::post(path.as_str(), timeout).json_body(&body)?)
                .await
        };
        let get = || async {
            let chunks: Vec<&[ValidatorId]> = if ids.is_empty() {
                vec![&[]]
            } else {
                ids.chunks(GET_ID_CHUNK).collect()
            };
            let mut responses = Vec::with_capacity(chunks.len());
            for chunk in chunks {
                let mut call = Call::get(path.as_str(), timeout);
                for id in chunk {
                    call = call.query("id", id);
                }
                for status in statuses {
                    call = call.query("status", status);
                }
                responses.push(self.execute_json(call).await?);
            }
            Ok(merge_chunks(responses))
        };
        self.with_fallback(VersionedRoute::PostStateValidators, post, Some(get))
            .await
    }

    /// Balances of a state's validators (empty ids = all): `POST .../validator_balances`, or
    /// `GET` in chunks.
    pub async fn post_state_validator_balances(
        &self,
        state_id: StateId,
        ids: &[ValidatorId],
    ) -> Result<ExecutionOptimisticResponse<Vec<ValidatorBalance>>> {
        let path = format!("eth/v1/beacon/states/{state_id}/validator_balances");
        let timeout = self.timeouts().state_queries;
        let post = || async {
            self.execute_json(Call::post(path.as_str(), timeout).json_body(ids)?)
                .await
        };
        let get = || async {
            let chunks: Vec<&[ValidatorId]> = if ids.is_empty() {
                vec![&[]]
            } else {
                ids.chunks(GET_ID_CHUNK).collect()
            };
            let mut responses = Vec::with_capacity(chunks.len());
            for chunk in chunks {
                let mut call = Call::get(path.as_str(), timeout);
                for id in chunk {
                    call = call.query("id", id);
                }
                responses.push(self.execute_json(call).await?);
            }
            Ok(merge_chunks(responses))
        };
        self.with_fallback(VersionedRoute::PostStateValidatorBalances, post, Some(get))
            .await
    }

    /// `GET /eth/v1/beacon/states/{state_id}/fork`.
    pub async fn get_state_fork(
        &self,
        state_id: StateId,
    ) -> Result<ExecutionOptimisticResponse<Fork>> {
        let call = Call::get(
            format!("eth/v1/beacon/states/{state_id}/fork"),
            self.timeouts().default,
        );
        self.execute_json(call).await
    }

    /// `GET /eth/v1/beacon/states/{state_id}/finality_checkpoints`.
    pub async fn get_finality_checkpoints(
        &self,
        state_id: StateId,
    ) -> Result<ExecutionOptimisticResponse<FinalityCheckpoints>> {
        let call = Call::get(
            format!("eth/v1/beacon/states/{state_id}/finality_checkpoints"),
            self.timeouts().default,
        );
        self.execute_json(call).await
    }

    /// `GET /eth/v1/beacon/states/{state_id}/committees`, optionally narrowed to an epoch, a
    /// committee index and a slot.
    pub async fn get_committees(
        &self,
        state_id: StateId,
        epoch: Option<Epoch>,
        index: Option<u64>,
        slot: Option<Slot>,
    ) -> Result<ExecutionOptimisticResponse<Vec<Committee>>> {
        let mut call = Call::get(
            format!("eth/v1/beacon/states/{state_id}/committees"),
            self.timeouts().state_queries,
        );
        if let Some(epoch) = epoch {
            call = call.query("epoch", epoch);
        }
        if let Some(index) = index {
            call = call.query("index", index);
        }
        if let Some(slot) = slot {
            call = call.query("slot", slot);
        }
        self.execute_json(call).await
    }

    /// `GET /eth/v1/beacon/states/{state_id}/sync_committees`, optionally for an epoch of the
    /// state's current or next sync committee period.
    pub async fn get_sync_committees(
        &self,
        state_id: StateId,
        epoch: Option<Epoch>,
    ) -> Result<ExecutionOptimisticResponse<SyncCommitteeByValidatorIndices>> {
        let mut call = Call::get(
            format!("eth/v1/beacon/states/{state_id}/sync_committees"),
            self.timeouts().state_queries,
        );
        if let Some(epoch) = epoch {
            call = call.query("epoch", epoch);
        }
        self.execute_json(call).await
    }

    /// `GET /eth/v1/beacon/blocks/{block_id}/root`; `None` when the node has no such block.
    pub async fn get_block_root(
        &self,
        block_id: BlockId,
    ) -> Result<Option<ExecutionOptimisticResponse<Hash256>>> {
        let call = Call::get(
            format!("eth/v1/beacon/blocks/{block_id}/root"),
            self.timeouts().default,
        );
        match self
            .execute_json::<ExecutionOptimisticResponse<BlockRootData>>(call)
            .await
        {
            Ok(response) => Ok(Some(ExecutionOptimisticResponse {
                execution_optimistic: response.execution_optimistic,
                finalized: response.finalized,
                data: response.data.root,
            })),
            Err(Error::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `GET /eth/v1/beacon/headers/{block_id}`; `None` when the node has no such block.
    pub async fn get_block_header(
        &self,
        block_id: BlockId,
    ) -> Result<Option<ExecutionOptimisticResponse<BlockHeaderData>>> {
        let call = Call::get(
            format!("eth/v1/beacon/headers/{block_id}"),
            self.timeouts().default,
        );
        match self.execute_json(call).await {
            Ok(response) => Ok(Some(response)),
            Err(Error::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `GET /eth/v1/beacon/headers`, optionally filtered by slot and parent root.
    pub async fn get_block_headers(
        &self,
        slot: Option<Slot>,
        parent_root: Option<Hash256>,
    ) -> Result<ExecutionOptimisticResponse<Vec<BlockHeaderData>>> {
        let mut call = Call::get("eth/v1/beacon/headers", self.timeouts().default);
        if let Some(slot) = slot {
            call = call.query("slot", slot);
        }
        if let Some(parent_root) = parent_root {
            call = call.query("parent_root", parent_root);
        }
        self.execute_json(call).await
    }

    /// `GET /eth/v2/beacon/blocks/{block_id}` as JSON, decoded at the fork the node names;
    /// `None` when the node has no such block.
    pub async fn get_block<E: EthSpec>(
        &self,
        block_id: BlockId,
    ) -> Result<Option<ForkVersioned<SignedBeaconBlock<E>>>> {
        let call = Call::get(
            format!("eth/v2/beacon/blocks/{block_id}"),
            self.timeouts().default,
        );
        let response = match self.execute(call).await {
            Ok(response) => response,
            Err(Error::Status { status: 404, .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        let value: Value = response.json()?;
        ForkVersioned::decode_json(value)
            .map(Some)
            .map_err(|e| response.decode_error(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_flags_merge_conservatively() {
        let chunk = |optimistic, finalized, n: u64| ExecutionOptimisticResponse {
            execution_optimistic: optimistic,
            finalized,
            data: vec![n],
        };
        let merged = merge_chunks(vec![
            chunk(Some(false), Some(true), 1),
            chunk(Some(true), Some(true), 2),
            chunk(None, Some(false), 3),
        ]);
        assert_eq!(merged.execution_optimistic, Some(true));
        assert_eq!(merged.finalized, Some(false));
        assert_eq!(merged.data, vec![1, 2, 3]);
        let merged = merge_chunks(vec![chunk(None, None, 1), chunk(None, Some(true), 2)]);
        assert_eq!(
            (merged.execution_optimistic, merged.finalized),
            (None, None)
        );
    }
}
