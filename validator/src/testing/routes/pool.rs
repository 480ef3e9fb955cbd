//! Attestations, aggregates, sync committee messages and contributions: publication (verified
//! against the right domain) and the mock's own aggregation of what was published.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ssz::{BitList, BitVector};
use tree_hash::TreeHash;
use types::{
    AggregateAndProof, Attestation, AttestationData, AttestationElectra, AttestationPhase0,
    DomainKind, Epoch, EthSpec, ForkName, Hash256, SignedAggregateAndProof,
    SignedContributionAndProof, SignedRoot, SingleAttestation, Slot, SyncAggregatorSelectionData,
    SyncCommitteeContribution, SyncCommitteeMessage, compute_signing_root, is_aggregator,
    is_sync_committee_aggregator,
};

use super::{
    ApiError, batch_result, check_fork, consensus_version, data, error, json, parse_body,
    query_pairs, required,
};
use crate::testing::verify::aggregate;
use crate::testing::{AttestationShape, PublishedAttestation, Rejected, Shared};

/// Domain and validator public key lookups.
fn domain<E: EthSpec>(shared: &Shared<E>, kind: DomainKind, epoch: Epoch) -> Hash256 {
    let chain = shared.chain.lock();
    chain
        .spec
        .get_domain(kind, epoch, chain.genesis_validators_root)
}

fn pubkey<E: EthSpec>(shared: &Shared<E>, index: u64) -> Result<types::PublicKeyBytes, Rejected> {
    shared
        .chain
        .lock()
        .validators
        .get(usize::try_from(index).unwrap_or(usize::MAX))
        .map(|v| v.validator.pubkey)
        .ok_or_else(|| Rejected::new(format!("unknown validator {index}")))
}

fn verify_by<E: EthSpec>(
    shared: &Shared<E>,
    index: u64,
    root: Hash256,
    signature: &types::SignatureBytes,
) -> Result<(), Rejected> {
    if !shared.faults.lock().verify {
        return Ok(());
    }
    shared
        .keys
        .verify(index, &pubkey(shared, index)?, root, signature)
}

fn verify_aggregate_by<E: EthSpec>(
    shared: &Shared<E>,
    signers: &[(u64, types::PublicKeyBytes)],
    root: Hash256,
    signature: &types::SignatureBytes,
) -> Result<(), Rejected> {
    if !shared.faults.lock().verify {
        return Ok(());
    }
    shared.keys.verify_aggregate(signers, root, signature)
}

fn committee<E: EthSpec>(shared: &Shared<E>, slot: Slot, index: u64) -> Result<Vec<u64>, Rejected> {
    shared
        .chain
        .lock()
        .committee(slot, index)
        .ok_or_else(|| Rejected::new(format!("no committee {index} at slot {slot}")))
}

fn check_target<E: EthSpec>(shared: &Shared<E>, data: &AttestationData) -> Result<(), Rejected> {
    if !shared.faults.lock().verify {
        return Ok(());
    }
    let epoch = shared.chain.lock().epoch_of(data.slot);
    if data.target.epoch != epoch {
        return Err(Rejected::new(format!(
            "target epoch {} is not the epoch {epoch} of slot {}",
            data.target.epoch, data.slot
        )));
    }
    if data.slot > shared.head_slot() {
        return Err(Rejected::new(format!(
            "attestation for future slot {}",
            data.slot
        )));
    }
    Ok(())
}

fn verify_phase0<E: EthSpec>(
    shared: &Shared<E>,
    attestation: &AttestationPhase0<E>,
) -> Result<PublishedAttestation, Rejected> {
    let data = attestation.data;
    check_target(shared, &data)?;
    let members = committee(shared, data.slot, data.index)?;
    if attestation.aggregation_bits.len() != members.len() {
        return Err(Rejected::new(format!(
            "{} aggregation bits for a committee of {}",
            attestation.aggregation_bits.len(),
            members.len()
        )));
    }
    let set: Vec<usize> = attestation
        .aggregation_bits
        .iter()
        .enumerate()
        .filter(|(_, b)| *b)
        .map(|(i, _)| i)
        .collect();
    let [position] = set[..] else {
        return Err(Rejected::new(format!(
            "expected exactly one aggregation bit, found {}",
            set.len()
        )));
    };
    let validator = members[position];
    let root = data.signing_root(domain(
        shared,
        DomainKind::BeaconAttester,
        data.target.epoch,
    ));
    verify_by(shared, validator, root, &attestation.signature)?;
    Ok(PublishedAttestation {
        validator_index: validator,
        committee_index: data.index,
        data,
        signature: attestation.signature,
        shape: AttestationShape::Phase0,
    })
}

fn verify_single<E: EthSpec>(
    shared: &Shared<E>,
    attestation: &SingleAttestation,
) -> Result<PublishedAttestation, Rejected> {
    let data = attestation.data;
    check_target(shared, &data)?;
    if data.index != 0 {
        return Err(Rejected::new(format!(
            "data.index must be 0 from Electra on, got {}",
            data.index
        )));
    }
    let members = committee(shared, data.slot, attestation.committee_index)?;
    if !members.contains(&attestation.attester_index) {
        return Err(Rejected::new(format!(
            "validator {} is not in committee {} at slot {}",
            attestation.attester_index, attestation.committee_index, data.slot
        )));
    }
    let root = data.signing_root(domain(
        shared,
        DomainKind::BeaconAttester,
        data.target.epoch,
    ));
    verify_by(
        shared,
        attestation.attester_index,
        root,
        &attestation.signature,
    )?;
    Ok(PublishedAttestation {
        validator_index: attestation.attester_index,
        committee_index: attestation.committee_index,
        data,
        signature: attestation.signature,
        shape: AttestationShape::Single,
    })
}

fn accept<E: EthSpec>(shared: &Shared<E>, attestation: PublishedAttestation) {
    {
        let mut records = shared.records.lock();
        records
            .live
            .insert((attestation.data.target.epoch, attestation.validator_index));
        records.published.attestations.push(attestation);
    }
    let mut chain = shared.chain.lock();
    let keep_from = attestation
        .data
        .slot
        .saturating_sub(chain.spec.slots_per_epoch);
    chain.pool.add(attestation, keep_from);
}

pub(crate) async fn attestations_v2<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "/eth/v2/beacon/pool/attestations";
    let fork = match consensus_version(&headers) {
        Ok(fork) => fork,
        Err(response) => return response.into_response(),
    };
    let mut failures = Vec::new();
    if fork.is_electra_or_later() {
        let items = match parse_body::<Vec<SingleAttestation>>(&body) {
            Ok(items) => items,
            Err(response) => return response.into_response(),
        };
        for (i, item) in items.iter().enumerate() {
            match check_fork(&shared, fork, item.data.slot)
                .and_then(|()| verify_single(&shared, item))
            {
                Ok(accepted) => accept(&shared, accepted),
                Err(reason) => failures.push((i, reason)),
            }
        }
    } else {
        let items = match parse_body::<Vec<AttestationPhase0<E>>>(&body) {
            Ok(items) => items,
            Err(response) => return response.into_response(),
        };
        for (i, item) in items.iter().enumerate() {
            match check_fork(&shared, fork, item.data.slot)
                .and_then(|()| verify_phase0(&shared, item))
            {
                Ok(accepted) => accept(&shared, accepted),
                Err(reason) => failures.push((i, reason)),
            }
        }
    }
    batch_result(&shared, ROUTE, failures)
}

pub(crate) async fn attestations_v1<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "/eth/v1/beacon/pool/attestations";
    let items = match parse_body::<Vec<AttestationPhase0<E>>>(&body) {
        Ok(items) => items,
        Err(response) => return response.into_response(),
    };
    let mut failures = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let fork = shared.chain.lock().spec.fork_name_at_slot(item.data.slot);
        let result = if fork.is_electra_or_later() {
            Err(Rejected::new("v1 takes no attestations from Electra on"))
        } else {
            verify_phase0(&shared, item)
        };
        match result {
            Ok(accepted) => accept(&shared, accepted),
            Err(reason) => failures.push((i, reason)),
        }
    }
    batch_result(&shared, ROUTE, failures)
}

/// Aggregates the published attestations with data root `root` in committee `index`.
fn build_aggregate<E: EthSpec>(
    shared: &Shared<E>,
    slot: Slot,
    root: Hash256,
    index: Option<u64>,
) -> Result<Option<Attestation<E>>, Rejected> {
    let matching: Vec<PublishedAttestation> = shared
        .records
        .lock()
        .published
        .attestations
        .iter()
        .filter(|a| {
            a.data.slot == slot
                && a.data.tree_hash_root() == root
                && index.is_none_or(|i| i == a.committee_index)
        })
        .copied()
        .collect();
    let Some(first) = matching.first() else {
        return Ok(None);
    };
    let committee_index = first.committee_index;
    let members = committee(shared, slot, committee_index)?;
    let mut positions = Vec::new();
    let mut signatures = Vec::new();
    for attestation in matching
        .iter()
        .filter(|a| a.committee_index == committee_index)
    {
        if let Some(position) = members
            .iter()
            .position(|m| *m == attestation.validator_index)
            && !positions.contains(&position)
        {
            positions.push(position);
            signatures.push(attestation.signature);
        }
    }
    let signature = aggregate(&signatures)?;
    let fork = shared.chain.lock().spec.fork_name_at_slot(slot);
    let bits_error =
        |e: ssz::BitfieldError| Rejected::new(format!("cannot build aggregation bits: {e:?}"));
    Ok(Some(if fork.is_electra_or_later() {
        let mut aggregation_bits = BitList::with_capacity(members.len()).map_err(bits_error)?;
        for position in &positions {
            aggregation_bits.set(*position, true).map_err(bits_error)?;
        }
        let mut committee_bits = BitVector::new();
        committee_bits
            .set(usize::try_from(committee_index).unwrap_or(usize::MAX), true)
            .map_err(bits_error)?;
        Attestation::Electra(AttestationElectra {
            aggregation_bits,
            data: first.data,
            signature,
            committee_bits,
        })
    } else {
        let mut aggregation_bits = BitList::with_capacity(members.len()).map_err(bits_error)?;
        for position in &positions {
            aggregation_bits.set(*position, true).map_err(bits_error)?;
        }
        Attestation::Phase0(AttestationPhase0 {
            aggregation_bits,
            data: first.data,
            signature,
        })
    }))
}

fn aggregate_route<E: EthSpec>(
    shared: &Shared<E>,
    query: Option<&str>,
    versioned: bool,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query);
    let root: Hash256 = required(&pairs, "attestation_data_root")?;
    let slot = Slot(required::<u64>(&pairs, "slot")?);
    let index = if versioned {
        Some(required::<u64>(&pairs, "committee_index")?)
    } else {
        None
    };
    let fork = shared.chain.lock().spec.fork_name_at_slot(slot);
    if !versioned && fork.is_electra_or_later() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "v1 serves no aggregates from Electra on",
        ));
    }
    match build_aggregate(shared, slot, root, index) {
        Ok(Some(aggregate)) if versioned => Ok(json(
            StatusCode::OK,
            &serde_json::json!({ "version": fork, "data": aggregate }),
        )),
        Ok(Some(aggregate)) => Ok(data(aggregate)),
        Ok(None) => Err(error(StatusCode::NOT_FOUND, "no matching attestations")),
        Err(reason) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, reason.0)),
    }
}

pub(crate) async fn aggregate_v2<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    RawQuery(query): RawQuery,
) -> Response {
    aggregate_route(&shared, query.as_deref(), true).unwrap_or_else(IntoResponse::into_response)
}

pub(crate) async fn aggregate_v1<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    RawQuery(query): RawQuery,
) -> Response {
    aggregate_route(&shared, query.as_deref(), false).unwrap_or_else(IntoResponse::into_response)
}

fn verify_aggregate<E: EthSpec>(
    shared: &Shared<E>,
    signed: &SignedAggregateAndProof<E>,
) -> Result<(), Rejected> {
    let (message, signature): (AggregateAndProof<E>, _) = match signed {
        SignedAggregateAndProof::Phase0(s) => {
            (AggregateAndProof::Phase0(s.message.clone()), s.signature)
        }
        SignedAggregateAndProof::Electra(s) => {
            (AggregateAndProof::Electra(s.message.clone()), s.signature)
        }
    };
    let (selection_proof, aggregate_signature, bits, committee_index): (_, _, Vec<bool>, u64) =
        match &message {
            AggregateAndProof::Phase0(m) => (
                m.selection_proof,
                m.aggregate.signature,
                m.aggregate.aggregation_bits.iter().collect(),
                m.aggregate.data.index,
            ),
            AggregateAndProof::Electra(m) => {
                let indices = m.aggregate.committee_indices();
                let [index] = indices[..] else {
                    return Err(Rejected::new(format!(
                        "an aggregate must cover one committee, not {}",
                        indices.len()
                    )));
                };
                (
                    m.selection_proof,
                    m.aggregate.signature,
                    m.aggregate.aggregation_bits.iter().collect(),
                    index,
                )
            }
        };
    let data = *message.attestation_data();
    check_target(shared, &data)?;
    let aggregator = message.aggregator_index();
    let members = committee(shared, data.slot, committee_index)?;
    if !members.contains(&aggregator) {
        return Err(Rejected::new(format!(
            "aggregator {aggregator} is not in committee {committee_index}"
        )));
    }
    let epoch = data.target.epoch;
    verify_by(
        shared,
        aggregator,
        data.slot
            .signing_root(domain(shared, DomainKind::SelectionProof, epoch)),
        &selection_proof,
    )
    .map_err(|e| Rejected::new(format!("selection proof: {e}")))?;
    let spec = shared.chain.lock().spec.clone();
    if !is_aggregator(members.len() as u64, &selection_proof, &spec) {
        return Err(Rejected::new(format!(
            "validator {aggregator} is not an aggregator at slot {}",
            data.slot
        )));
    }
    let root = compute_signing_root(
        message.tree_hash_root(),
        domain(shared, DomainKind::AggregateAndProof, epoch),
    );
    verify_by(shared, aggregator, root, &signature)
        .map_err(|e| Rejected::new(format!("aggregate and proof: {e}")))?;
    if bits.len() != members.len() {
        return Err(Rejected::new(format!(
            "{} aggregation bits for a committee of {}",
            bits.len(),
            members.len()
        )));
    }
    let signers = members
        .iter()
        .zip(&bits)
        .filter(|(_, set)| **set)
        .map(|(index, _)| pubkey(shared, *index).map(|pk| (*index, pk)))
        .collect::<Result<Vec<_>, _>>()?;
    if signers.is_empty() {
        return Err(Rejected::new("aggregate without attesters"));
    }
    let attestation_root = data.signing_root(domain(shared, DomainKind::BeaconAttester, epoch));
    verify_aggregate_by(shared, &signers, attestation_root, &aggregate_signature)
        .map_err(|e| Rejected::new(format!("aggregate attestation: {e}")))
}

fn publish_aggregates<E: EthSpec>(
    shared: &Shared<E>,
    route: &str,
    fork: Option<ForkName>,
    items: Vec<SignedAggregateAndProof<E>>,
) -> Response {
    let mut failures = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let slot = item_slot(&item);
        let result = match fork {
            Some(fork) => check_fork(shared, fork, slot),
            None if shared
                .chain
                .lock()
                .spec
                .fork_name_at_slot(slot)
                .is_electra_or_later() =>
            {
                Err(Rejected::new("v1 takes no aggregates from Electra on"))
            }
            None => Ok(()),
        }
        .and_then(|()| verify_aggregate(shared, &item));
        match result {
            Ok(()) => shared.records.lock().published.aggregates.push(item),
            Err(reason) => failures.push((i, reason)),
        }
    }
    batch_result(shared, route, failures)
}

fn item_slot<E: EthSpec>(item: &SignedAggregateAndProof<E>) -> Slot {
    match item {
        SignedAggregateAndProof::Phase0(s) => s.message.aggregate.data.slot,
        SignedAggregateAndProof::Electra(s) => s.message.aggregate.data.slot,
    }
}

pub(crate) async fn aggregates_v2<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fork = match consensus_version(&headers) {
        Ok(fork) => fork,
        Err(response) => return response.into_response(),
    };
    let values: Vec<serde_json::Value> = match parse_body(&body) {
        Ok(values) => values,
        Err(response) => return response.into_response(),
    };
    let items = match values
        .into_iter()
        .map(|v| SignedAggregateAndProof::<E>::from_json_value(fork, v))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(items) => items,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, format!("invalid aggregate: {e}"))
                .into_response();
        }
    };
    publish_aggregates(
        &shared,
        "/eth/v2/validator/aggregate_and_proofs",
        Some(fork),
        items,
    )
}

pub(crate) async fn aggregates_v1<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    let values: Vec<serde_json::Value> = match parse_body(&body) {
        Ok(values) => values,
        Err(response) => return response.into_response(),
    };
    let items = match values
        .into_iter()
        .map(|v| SignedAggregateAndProof::<E>::from_json_value(ForkName::Phase0, v))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(items) => items,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, format!("invalid aggregate: {e}"))
                .into_response();
        }
    };
    publish_aggregates(
        &shared,
        "/eth/v1/validator/aggregate_and_proofs",
        None,
        items,
    )
}

/// The sync committee positions of `validator` at `slot`.
fn sync_positions<E: EthSpec>(shared: &Shared<E>, slot: Slot, validator: u64) -> Vec<u64> {
    let mut chain = shared.chain.lock();
    // Messages of slot s go into block s + 1, verified with that block's committee.
    let epoch = chain.epoch_of(slot + 1);
    chain
        .sync_committee(epoch)
        .iter()
        .enumerate()
        .filter(|(_, member)| **member == validator)
        .map(|(position, _)| position as u64)
        .collect()
}

pub(crate) async fn sync_messages<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    let items = match parse_body::<Vec<SyncCommitteeMessage>>(&body) {
        Ok(items) => items,
        Err(response) => return response.into_response(),
    };
    let mut failures = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let result = if sync_positions(&shared, item.slot, item.validator_index).is_empty() {
            Err(Rejected::new(format!(
                "validator {} is not in the sync committee",
                item.validator_index
            )))
        } else {
            let epoch = shared.chain.lock().epoch_of(item.slot);
            let root = item.beacon_block_root.signing_root(domain(
                &shared,
                DomainKind::SyncCommittee,
                epoch,
            ));
            verify_by(&shared, item.validator_index, root, &item.signature)
        };
        match result {
            Ok(()) => {
                let epoch = shared.chain.lock().epoch_of(item.slot);
                let mut records = shared.records.lock();
                records.live.insert((epoch, item.validator_index));
                records.published.sync_messages.push(item);
            }
            Err(reason) => failures.push((i, reason)),
        }
    }
    batch_result(&shared, "/eth/v1/beacon/pool/sync_committees", failures)
}

pub(crate) async fn contribution<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    RawQuery(query): RawQuery,
) -> Response {
    let run = || -> Result<Response, ApiError> {
        let pairs = query_pairs(query.as_deref());
        let slot = Slot(required::<u64>(&pairs, "slot")?);
        let subcommittee: u64 = required(&pairs, "subcommittee_index")?;
        let root: Hash256 = required(&pairs, "beacon_block_root")?;
        let size = E::sync_subcommittee_size();
        let mut bits = BitVector::new();
        let mut signatures = Vec::new();
        let messages = shared.records.lock().published.sync_messages.clone();
        for message in messages
            .iter()
            .filter(|m| m.slot == slot && m.beacon_block_root == root)
        {
            for position in sync_positions(&shared, slot, message.validator_index) {
                if position / size == subcommittee {
                    let bit = usize::try_from(position % size).unwrap_or(usize::MAX);
                    if bits.get(bit).is_ok_and(|set| !set) {
                        bits.set(bit, true).map_err(|e| {
                            error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:?}"))
                        })?;
                        signatures.push(message.signature);
                    }
                }
            }
        }
        if signatures.is_empty() {
            return Err(error(
                StatusCode::NOT_FOUND,
                "no sync committee messages for this root",
            ));
        }
        let signature =
            aggregate(&signatures).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.0))?;
        Ok(data(SyncCommitteeContribution::<E> {
            slot,
            beacon_block_root: root,
            subcommittee_index: subcommittee,
            aggregation_bits: bits,
            signature,
        }))
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

fn verify_contribution<E: EthSpec>(
    shared: &Shared<E>,
    signed: &SignedContributionAndProof<E>,
) -> Result<(), Rejected> {
    let message = &signed.message;
    let contribution = &message.contribution;
    let slot = contribution.slot;
    let aggregator = message.aggregator_index;
    let size = E::sync_subcommittee_size();
    let positions = sync_positions(shared, slot, aggregator);
    if !positions
        .iter()
        .any(|p| p / size == contribution.subcommittee_index)
    {
        return Err(Rejected::new(format!(
            "aggregator {aggregator} is not in sync subcommittee {}",
            contribution.subcommittee_index
        )));
    }
    let epoch = shared.chain.lock().epoch_of(slot);
    let selection = SyncAggregatorSelectionData {
        slot,
        subcommittee_index: contribution.subcommittee_index,
    };
    let root = selection.signing_root(domain(
        shared,
        DomainKind::SyncCommitteeSelectionProof,
        epoch,
    ));
    verify_by(shared, aggregator, root, &message.selection_proof)
        .map_err(|e| Rejected::new(format!("selection proof: {e}")))?;
    let spec = shared.chain.lock().spec.clone();
    if !is_sync_committee_aggregator::<E>(&message.selection_proof, &spec) {
        return Err(Rejected::new(format!(
            "validator {aggregator} is not a sync aggregator"
        )));
    }
    let root = message.signing_root(domain(shared, DomainKind::ContributionAndProof, epoch));
    verify_by(shared, aggregator, root, &signed.signature)
        .map_err(|e| Rejected::new(format!("contribution and proof: {e}")))?;
    let committee = {
        let mut chain = shared.chain.lock();
        let signing_epoch = chain.epoch_of(slot + 1);
        chain.sync_committee(signing_epoch)
    };
    let base = usize::try_from(contribution.subcommittee_index * size).unwrap_or(usize::MAX);
    let signers = contribution
        .aggregation_bits
        .iter()
        .enumerate()
        .filter(|(_, set)| *set)
        .filter_map(|(bit, _)| committee.get(base + bit).copied())
        .map(|index| pubkey(shared, index).map(|pk| (index, pk)))
        .collect::<Result<Vec<_>, _>>()?;
    if signers.is_empty() {
        return Err(Rejected::new("contribution without participants"));
    }
    let root = contribution.beacon_block_root.signing_root(domain(
        shared,
        DomainKind::SyncCommittee,
        epoch,
    ));
    verify_aggregate_by(shared, &signers, root, &contribution.signature)
        .map_err(|e| Rejected::new(format!("contribution: {e}")))
}

pub(crate) async fn contributions<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    let items = match parse_body::<Vec<SignedContributionAndProof<E>>>(&body) {
        Ok(items) => items,
        Err(response) => return response.into_response(),
    };
    let mut failures = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match verify_contribution(&shared, &item) {
            Ok(()) => shared.records.lock().published.contributions.push(item),
            Err(reason) => failures.push((i, reason)),
        }
    }
    batch_result(
        &shared,
        "/eth/v1/validator/contribution_and_proofs",
        failures,
    )
}
