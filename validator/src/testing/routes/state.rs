//! State and block queries.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use types::api::{
    BlockHeaderData, BlockRootData, Committee, FinalityCheckpoints, StateValidatorsRequest,
    SyncCommitteeByValidatorIndices, ValidatorBalance, ValidatorData, ValidatorId,
    ValidatorStatusFilter,
};
use types::{Epoch, EthSpec, Hash256, Slot};

use super::{ApiError, error, json, param, parse_body, query_pairs, state_data};
use crate::testing::Shared;

/// The finalized and current justified epochs of the mock (two and one behind the head).
fn finality_epochs<E: EthSpec>(shared: &Shared<E>) -> (Epoch, Epoch) {
    let head_epoch = shared.chain.lock().epoch_of(shared.head_slot());
    (head_epoch.saturating_sub(2), head_epoch.saturating_sub(1))
}

/// The slot of a state id (`head`, `genesis`, `finalized`, `justified`, a slot).
fn state_slot<E: EthSpec>(shared: &Shared<E>, id: &str) -> Result<Slot, ApiError> {
    let head = shared.head_slot();
    let slot = match id {
        "head" => head,
        "genesis" => Slot(0),
        "finalized" | "justified" => {
            let (finalized, justified) = finality_epochs(shared);
            let epoch = if id == "finalized" {
                finalized
            } else {
                justified
            };
            shared.chain.lock().spec.compute_start_slot_at_epoch(epoch)
        }
        other if other.starts_with("0x") => {
            return Err(error(
                StatusCode::NOT_FOUND,
                format!("state {other} not found"),
            ));
        }
        other => Slot(other.parse::<u64>().map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("invalid state id {other:?}: {e}"),
            )
        })?),
    };
    if slot > head {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("state at slot {slot} not found"),
        ));
    }
    Ok(slot)
}

/// The slot of a block id (as states, or a block root).
fn block_slot<E: EthSpec>(shared: &Shared<E>, id: &str) -> Result<Slot, ApiError> {
    if id.starts_with("0x") {
        let root: Hash256 = id.parse().map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("invalid block root {id:?}: {e}"),
            )
        })?;
        let head = shared.head_slot();
        let mut chain = shared.chain.lock();
        chain.block_at(head);
        return chain
            .slot_of_root(&root)
            .filter(|slot| *slot <= head)
            .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("block {id} not found")));
    }
    state_slot(shared, id)
}

fn is_finalized<E: EthSpec>(shared: &Shared<E>, slot: Slot) -> bool {
    let (finalized, _) = finality_epochs(shared);
    let chain = shared.chain.lock();
    slot <= chain.spec.compute_start_slot_at_epoch(finalized)
}

fn select_validators<E: EthSpec>(
    shared: &Shared<E>,
    slot: Slot,
    ids: &[ValidatorId],
    statuses: &[ValidatorStatusFilter],
) -> Vec<ValidatorData> {
    let chain = shared.chain.lock();
    let epoch = chain.epoch_of(slot);
    let wanted = |index: u64, pubkey| {
        ids.is_empty()
            || ids.iter().any(|id| match id {
                ValidatorId::Index(i) => *i == index,
                ValidatorId::PublicKey(p) => *p == pubkey,
            })
    };
    chain
        .validators
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let index = i as u64;
            let status = v.status(epoch);
            let keep = wanted(index, v.validator.pubkey)
                && (statuses.is_empty() || statuses.iter().any(|f| f.matches(status)));
            keep.then_some(ValidatorData {
                index,
                balance: v.balance,
                status,
                validator: v.validator,
            })
        })
        .collect()
}

/// Ids from repeated `id` parameters, each possibly comma-separated.
fn query_ids(pairs: &[(String, String)], name: &str) -> Result<Vec<String>, ApiError> {
    Ok(pairs
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .collect())
}

fn parse_ids(values: &[String]) -> Result<Vec<ValidatorId>, ApiError> {
    values
        .iter()
        .map(|v| {
            v.parse()
                .map_err(|e| error(StatusCode::BAD_REQUEST, format!("{e}")))
        })
        .collect()
}

pub(crate) async fn validators_get<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let slot = state_slot(&shared, &state_id)?;
        let pairs = query_pairs(query.as_deref());
        let ids = parse_ids(&query_ids(&pairs, "id")?)?;
        let statuses = query_ids(&pairs, "status")?
            .iter()
            .map(|s| {
                serde_json::from_value::<ValidatorStatusFilter>(s.as_str().into()).map_err(|e| {
                    error(
                        StatusCode::BAD_REQUEST,
                        format!("invalid status {s:?}: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(state_data(
            select_validators(&shared, slot, &ids, &statuses),
            is_finalized(&shared, slot),
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn validators_post<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let slot = state_slot(&shared, &state_id)?;
        let request: StateValidatorsRequest = parse_body(&body)?;
        Ok(state_data(
            select_validators(
                &shared,
                slot,
                request.ids.as_deref().unwrap_or_default(),
                request.statuses.as_deref().unwrap_or_default(),
            ),
            is_finalized(&shared, slot),
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

fn balances<E: EthSpec>(shared: &Shared<E>, slot: Slot, ids: &[ValidatorId]) -> Response {
    let balances: Vec<ValidatorBalance> = select_validators(shared, slot, ids, &[])
        .into_iter()
        .map(|v| ValidatorBalance {
            index: v.index,
            balance: v.balance,
        })
        .collect();
    state_data(balances, is_finalized(shared, slot))
}

pub(crate) async fn balances_get<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let slot = state_slot(&shared, &state_id)?;
        let ids = parse_ids(&query_ids(&query_pairs(query.as_deref()), "id")?)?;
        Ok(balances(&shared, slot, &ids))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn balances_post<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let slot = state_slot(&shared, &state_id)?;
        let ids: Vec<ValidatorId> = parse_body(&body)?;
        Ok(balances(&shared, slot, &ids))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn fork<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
) -> Response {
    match state_slot(&shared, &state_id) {
        Ok(slot) => {
            let fork = {
                let chain = shared.chain.lock();
                chain.spec.fork_at_epoch(chain.epoch_of(slot))
            };
            state_data(fork, is_finalized(&shared, slot))
        }
        Err(response) => response.into_response(),
    }
}

pub(crate) async fn finality<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
) -> Response {
    if let Err(response) = state_slot(&shared, &state_id) {
        return response.into_response();
    }
    let (finalized, justified) = finality_epochs(&shared);
    let mut chain = shared.chain.lock();
    let checkpoints = FinalityCheckpoints {
        previous_justified: chain.checkpoint(justified.saturating_sub(1)),
        current_justified: chain.checkpoint(justified),
        finalized: chain.checkpoint(finalized),
    };
    drop(chain);
    state_data(checkpoints, false)
}

pub(crate) async fn committees<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let slot = state_slot(&shared, &state_id)?;
        let pairs = query_pairs(query.as_deref());
        let number = |name: &str| -> Result<Option<u64>, ApiError> {
            param(&pairs, name)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid {name}: {e}")))
                })
                .transpose()
        };
        let legacy = shared.faults.lock().api == crate::testing::ApiMode::Legacy;
        let mut chain = shared.chain.lock();
        let epoch = number("epoch")?.map_or_else(|| chain.epoch_of(slot), Epoch);
        let state_epoch = chain.epoch_of(slot);
        // Lodestar 1.5.1 serves the shufflings of the state's previous, current and next epoch.
        if legacy && (epoch + 1 < state_epoch || epoch > state_epoch + 1) {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "Requesting slot committee out of range epoch: {epoch} current: {state_epoch}"
                ),
            ));
        }
        let index_filter = number("index")?;
        let slot_filter = number("slot")?.map(Slot);
        let spe = chain.spec.slots_per_epoch;
        let start = chain.spec.compute_start_slot_at_epoch(epoch);
        let per_slot = chain.committees_per_slot(start);
        let mut committees = Vec::new();
        for slot in (0..spe).map(|i| start + i) {
            if slot_filter.is_some_and(|s| s != slot) {
                continue;
            }
            for index in (0..per_slot).filter(|i| index_filter.is_none_or(|f| f == *i)) {
                if let Some(validators) = chain.committee(slot, index) {
                    committees.push(Committee {
                        index,
                        slot,
                        validators,
                    });
                }
            }
        }
        drop(chain);
        if shared.faults.lock().api == crate::testing::ApiMode::Legacy {
            // Lodestar 1.5.1 labels the slot's position in the epoch `index` and the committee
            // index `slot`.
            for committee in &mut committees {
                let position = committee.slot.as_u64() % spe;
                committee.slot = Slot(committee.index);
                committee.index = position;
            }
        }
        Ok(state_data(committees, false))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn sync_committees<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(state_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let slot = state_slot(&shared, &state_id)?;
        let pairs = query_pairs(query.as_deref());
        let mut chain = shared.chain.lock();
        let epoch = match param(&pairs, "epoch") {
            Some(v) => Epoch(
                v.parse()
                    .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid epoch: {e}")))?,
            ),
            None => chain.epoch_of(slot),
        };
        let legacy = shared.faults.lock().api == crate::testing::ApiMode::Legacy;
        let state_period = chain.spec.sync_committee_period(chain.epoch_of(slot));
        let period = chain.spec.sync_committee_period(epoch);
        // Lodestar 1.5.1 serves the state's current and next sync committee only.
        if legacy && (period < state_period || period > state_period + 1) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!(
                    "Epoch {epoch} is not in the state's current or next sync committee period"
                ),
            ));
        }
        let validators = chain.sync_committee(epoch);
        let subnets = usize::try_from(chain.spec.sync_committee_subnet_count)
            .unwrap_or(1)
            .max(1);
        drop(chain);
        let size = validators.len().div_ceil(subnets).max(1);
        let validator_aggregates = validators.chunks(size).map(<[u64]>::to_vec).collect();
        Ok(state_data(
            SyncCommitteeByValidatorIndices {
                validators,
                validator_aggregates,
            },
            false,
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn block_root<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(block_id): Path<String>,
) -> Response {
    match block_slot(&shared, &block_id) {
        Ok(slot) => {
            let root = shared.chain.lock().root_at(slot);
            state_data(BlockRootData { root }, is_finalized(&shared, slot))
        }
        Err(response) => response.into_response(),
    }
}

fn header_data<E: EthSpec>(shared: &Shared<E>, slot: Slot) -> BlockHeaderData {
    let block = shared.chain.lock().block_at(slot);
    BlockHeaderData {
        root: block.root,
        canonical: true,
        header: block.block.signed_block_header(),
    }
}

pub(crate) async fn header<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(block_id): Path<String>,
) -> Response {
    match block_slot(&shared, &block_id) {
        Ok(slot) => state_data(header_data(&shared, slot), is_finalized(&shared, slot)),
        Err(response) => response.into_response(),
    }
}

pub(crate) async fn headers<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let pairs = query_pairs(query.as_deref());
        let head = shared.head_slot();
        let slot = match (param(&pairs, "slot"), param(&pairs, "parent_root")) {
            (Some(slot), _) => Slot(
                slot.parse()
                    .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid slot: {e}")))?,
            ),
            (None, Some(parent)) => {
                let parent: Hash256 = parent.parse().map_err(|e| {
                    error(StatusCode::BAD_REQUEST, format!("invalid parent_root: {e}"))
                })?;
                match block_slot(&shared, &parent.to_string()) {
                    Ok(slot) => slot + 1,
                    Err(_) => return Ok(state_data(Vec::<BlockHeaderData>::new(), false)),
                }
            }
            (None, None) => head,
        };
        if slot > head {
            return Ok(state_data(Vec::<BlockHeaderData>::new(), false));
        }
        Ok(state_data(
            vec![header_data(&shared, slot)],
            is_finalized(&shared, slot),
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn block<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(block_id): Path<String>,
) -> Response {
    match block_slot(&shared, &block_id) {
        Ok(slot) => {
            let block = shared.chain.lock().block_at(slot);
            json(
                StatusCode::OK,
                &serde_json::json!({
                    "version": block.block.fork_name(),
                    "execution_optimistic": false,
                    "finalized": is_finalized(&shared, slot),
                    "data": block.block,
                }),
            )
        }
        Err(response) => response.into_response(),
    }
}
