//! Duties, attestation data, liveness, subscriptions, proposer preparation and registrations.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use types::api::{
    AttesterDuty, BeaconCommitteeSubscription, LivenessResponseData, ProposerDuty,
    ProposerPreparationData, SyncCommitteeSubscription, SyncDuty,
};
use types::{
    AttestationData, DomainKind, Epoch, EthSpec, SignedRoot, SignedValidatorRegistrationV1, Slot,
};

use super::{
    ApiError, batch_result, data, error, json, parse_body, path_u64, query_pairs, required,
};
use crate::testing::{Rejected, Shared};

/// Validator indices from a JSON array of quoted (or bare) integers.
fn parse_indices(body: &[u8]) -> Result<Vec<u64>, ApiError> {
    let values: Vec<Value> = parse_body(body)?;
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .map(|index| index.ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid validator index")))
        .collect()
}

fn duties_response<T: serde::Serialize>(dependent_root: types::Hash256, duties: T) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({ "dependent_root": dependent_root, "execution_optimistic": false, "data": duties }),
    )
}

fn current_epoch<E: EthSpec>(shared: &Shared<E>) -> Epoch {
    shared.chain.lock().epoch_of(shared.head_slot())
}

pub(crate) async fn attester<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(epoch): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let epoch = Epoch(path_u64(&epoch, "epoch")?);
        let indices = parse_indices(&body)?;
        if epoch > current_epoch(&shared) + 1 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("epoch {epoch} is too far in the future"),
            ));
        }
        let mut chain = shared.chain.lock();
        let start = chain.spec.compute_start_slot_at_epoch(epoch);
        let per_slot = chain.committees_per_slot(start);
        let mut duties = Vec::new();
        for slot in (0..chain.spec.slots_per_epoch).map(|i| start + i) {
            for committee_index in 0..per_slot {
                let committee = chain.committee(slot, committee_index).unwrap_or_default();
                for (position, validator) in committee.iter().enumerate() {
                    if !indices.contains(validator) {
                        continue;
                    }
                    let Some(record) = chain
                        .validators
                        .get(usize::try_from(*validator).unwrap_or(usize::MAX))
                    else {
                        continue;
                    };
                    duties.push(AttesterDuty {
                        pubkey: record.validator.pubkey,
                        validator_index: *validator,
                        committee_index,
                        committee_length: committee.len() as u64,
                        committees_at_slot: per_slot,
                        validator_committee_index: position as u64,
                        slot,
                    });
                }
            }
        }
        let dependent_root = chain.dependent_root(epoch.saturating_sub(1));
        drop(chain);
        Ok(duties_response(dependent_root, duties))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn proposer<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(epoch): Path<String>,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let epoch = Epoch(path_u64(&epoch, "epoch")?);
        if epoch > current_epoch(&shared) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("proposer duties of epoch {epoch} are not known yet"),
            ));
        }
        let mut chain = shared.chain.lock();
        let start = chain.spec.compute_start_slot_at_epoch(epoch);
        let mut duties = Vec::new();
        for slot in (0..chain.spec.slots_per_epoch).map(|i| start + i) {
            if let Some(index) = chain.proposer(slot) {
                let pubkey = chain.validators[usize::try_from(index).unwrap_or(0)]
                    .validator
                    .pubkey;
                duties.push(ProposerDuty {
                    pubkey,
                    validator_index: index,
                    slot,
                });
            }
        }
        let dependent_root = chain.dependent_root(epoch);
        drop(chain);
        Ok(duties_response(dependent_root, duties))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn sync<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(epoch): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let epoch = Epoch(path_u64(&epoch, "epoch")?);
        let indices = parse_indices(&body)?;
        let mut chain = shared.chain.lock();
        let current_period = chain
            .spec
            .sync_committee_period(chain.epoch_of(shared.head_slot()));
        if chain.spec.sync_committee_period(epoch) > current_period + 1 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("epoch {epoch} is beyond the next sync committee period"),
            ));
        }
        let committee = chain.sync_committee(epoch);
        let duties: Vec<SyncDuty> = indices
            .iter()
            .filter_map(|index| {
                let positions: Vec<u64> = committee
                    .iter()
                    .enumerate()
                    .filter(|(_, member)| *member == index)
                    .map(|(position, _)| position as u64)
                    .collect();
                let record = chain.validators.get(usize::try_from(*index).ok()?)?;
                (!positions.is_empty()).then_some(SyncDuty {
                    pubkey: record.validator.pubkey,
                    validator_index: *index,
                    validator_sync_committee_indices: positions,
                })
            })
            .collect();
        drop(chain);
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "execution_optimistic": false, "data": duties }),
        ))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn attestation_data<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let pairs = query_pairs(query.as_deref());
        let slot = Slot(required::<u64>(&pairs, "slot")?);
        let committee_index: u64 = required(&pairs, "committee_index")?;
        if slot > shared.head_slot() {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("slot {slot} is in the future"),
            ));
        }
        let mut chain = shared.chain.lock();
        if committee_index >= chain.committees_per_slot(slot) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("no committee {committee_index} at slot {slot}"),
            ));
        }
        let epoch = chain.epoch_of(slot);
        let electra = chain.spec.fork_name_at_slot(slot).is_electra_or_later();
        let attestation = AttestationData {
            slot,
            index: if electra { 0 } else { committee_index },
            beacon_block_root: chain.root_at(slot),
            source: chain.checkpoint(epoch.saturating_sub(1)),
            target: chain.checkpoint(epoch),
        };
        drop(chain);
        Ok(data(attestation))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn liveness<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    Path(epoch): Path<String>,
    body: Bytes,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let epoch = Epoch(path_u64(&epoch, "epoch")?);
        let indices = parse_indices(&body)?;
        let records = shared.records.lock();
        let live: Vec<LivenessResponseData> = indices
            .iter()
            .map(|index| LivenessResponseData {
                index: *index,
                is_live: records.live.contains(&(epoch, *index)),
            })
            .collect();
        drop(records);
        Ok(data(live))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn committee_subscriptions<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    match parse_body::<Vec<BeaconCommitteeSubscription>>(&body) {
        Ok(subscriptions) => {
            shared
                .records
                .lock()
                .published
                .beacon_committee_subscriptions
                .extend(subscriptions);
            StatusCode::OK.into_response()
        }
        Err(response) => response.into_response(),
    }
}

pub(crate) async fn sync_subscriptions<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    match parse_body::<Vec<SyncCommitteeSubscription>>(&body) {
        Ok(subscriptions) => {
            shared
                .records
                .lock()
                .published
                .sync_committee_subscriptions
                .extend(subscriptions);
            StatusCode::OK.into_response()
        }
        Err(response) => response.into_response(),
    }
}

pub(crate) async fn prepare_proposer<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    match parse_body::<Vec<ProposerPreparationData>>(&body) {
        Ok(preparations) => {
            let mut records = shared.records.lock();
            for preparation in &preparations {
                records
                    .fee_recipients
                    .insert(preparation.validator_index, preparation.fee_recipient);
            }
            records.published.preparations.extend(preparations);
            StatusCode::OK.into_response()
        }
        Err(response) => response.into_response(),
    }
}

pub(crate) async fn register_validator<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    let registrations = match parse_body::<Vec<SignedValidatorRegistrationV1>>(&body) {
        Ok(registrations) => registrations,
        Err(response) => return response.into_response(),
    };
    let domain = {
        let chain = shared.chain.lock();
        chain.spec.get_domain(
            DomainKind::ApplicationBuilder,
            Epoch(0),
            chain.genesis_validators_root,
        )
    };
    let mut failures = Vec::new();
    for (position, registration) in registrations.into_iter().enumerate() {
        let message = &registration.message;
        let index = shared
            .chain
            .lock()
            .validators
            .iter()
            .position(|v| v.validator.pubkey == message.pubkey);
        let result = match index {
            None => Err(Rejected::new(format!(
                "unknown validator {}",
                message.pubkey
            ))),
            Some(index) => shared.keys.verify(
                index as u64,
                &message.pubkey,
                message.signing_root(domain),
                &registration.signature,
            ),
        };
        match result {
            Ok(()) => shared
                .records
                .lock()
                .published
                .registrations
                .push(registration),
            Err(reason) => failures.push((position, reason)),
        }
    }
    batch_result(&shared, "/eth/v1/validator/register_validator", failures)
}
