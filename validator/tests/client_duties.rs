//! The client against the mock node, duty by duty and fork by fork: attestations (phase0
//! `Attestation` before Electra, `SingleAttestation` from Electra on), aggregation, block
//! production and publication (full, with blobs, blinded; JSON and SSZ), sync committee messages
//! and contributions. Every signature is made with the domain a validator must use and verified
//! by the mock, so a wrong domain, fork version or container shape fails here.

use ssz::BitList;
use tree_hash::TreeHash;
use types::api::BlockId;
use types::api::{BroadcastValidation, ProposerPreparationData};
use types::block::{PayloadKind, ProducedBlock};
use types::{
    AttestationPhase0, ChainSpec, ContributionAndProof, DomainKind, EthSpec, ExecutionAddress,
    ForkName, Graffiti, MainnetEthSpec, MinimalEthSpec, SignedContributionAndProof,
    SingleAttestation, SyncAggregatorSelectionData, SyncCommitteeMessage, is_aggregator,
};
use validator::beacon_node::{
    BlockProductionRoute, Encoding, Error, ProduceBlockRequest, PublishOutcome,
};
use validator::testing::{AttestationShape, PayloadSource, TestNode, spec_at};

const FORKS: [ForkName; 7] = [
    ForkName::Phase0,
    ForkName::Altair,
    ForkName::Bellatrix,
    ForkName::Capella,
    ForkName::Deneb,
    ForkName::Electra,
    ForkName::Fulu,
];

async fn node<E: EthSpec>(base: &ChainSpec, fork: ForkName) -> TestNode<E> {
    let spec = spec_at(base, fork).expect("spec");
    TestNode::start(spec, 64, 20).await.expect("mock starts")
}

/// Attests with one validator at the current slot, checks rejection of a bad signature, then
/// aggregates and publishes the aggregate.
async fn attestation_flow<E: EthSpec>(base: &ChainSpec, fork: ForkName) {
    let node = node::<E>(base, fork).await;
    let client = &node.client;
    let slot = node.slot();
    let epoch = node.spec.compute_epoch_at_slot(slot);
    let indices: Vec<u64> = (0..64).collect();
    let duties = client.post_attester_duties(epoch, &indices).await.unwrap();
    assert_eq!(
        duties.data.len(),
        64,
        "{fork}: every active validator attests once per epoch"
    );
    assert_eq!(
        duties.dependent_root,
        node.mock.block_root(
            node.spec
                .compute_start_slot_at_epoch(epoch.saturating_sub(1))
                .saturating_sub(1)
        )
    );
    let duty = *duties
        .data
        .iter()
        .find(|d| d.slot == slot)
        .expect("a duty at this slot");
    let committee = node.mock.committee(slot, duty.committee_index).unwrap();
    assert_eq!(
        committee[duty.validator_committee_index as usize],
        duty.validator_index
    );
    assert_eq!(committee.len() as u64, duty.committee_length);

    let electra = fork.is_electra_or_later();
    let data = client
        .get_attestation_data(slot, if electra { 0 } else { duty.committee_index })
        .await
        .unwrap();
    assert_eq!(data.target.epoch, epoch);
    assert_eq!(data.beacon_block_root, node.mock.block_root(slot));
    let signature = node.sign(
        duty.validator_index,
        DomainKind::BeaconAttester,
        data.target.epoch,
        &data,
    );
    let other = committee
        .iter()
        .copied()
        .find(|v| *v != duty.validator_index)
        .unwrap();
    if electra {
        let good = SingleAttestation {
            committee_index: duty.committee_index,
            attester_index: duty.validator_index,
            data,
            signature,
        };
        let forged = SingleAttestation {
            attester_index: other,
            ..good
        };
        client
            .post_single_attestations(fork, &[good])
            .await
            .unwrap();
        let err = client
            .post_single_attestations(fork, &[good, forged])
            .await
            .unwrap_err();
        match err {
            Error::Status {
                status: 400,
                failures,
                ..
            } => {
                assert_eq!(failures.len(), 1);
                assert_eq!(failures[0].index, 1);
                assert!(
                    failures[0].message.contains("invalid signature"),
                    "{}",
                    failures[0].message
                );
            }
            other => panic!("{fork}: unexpected {other}"),
        }
    } else {
        let mut bits = BitList::with_capacity(committee.len()).unwrap();
        bits.set(duty.validator_committee_index as usize, true)
            .unwrap();
        let good = AttestationPhase0::<E> {
            aggregation_bits: bits,
            data,
            signature,
        };
        client
            .post_attestations(fork, std::slice::from_ref(&good))
            .await
            .unwrap();
        let mut wrong_domain = good.clone();
        // Signed with the proposer domain: a domain mistake must be caught.
        wrong_domain.signature = node.sign(
            duty.validator_index,
            DomainKind::BeaconProposer,
            epoch,
            &data,
        );
        let err = client
            .post_attestations(fork, &[good, wrong_domain])
            .await
            .unwrap_err();
        match err {
            Error::Status {
                status: 400,
                failures,
                ..
            } => {
                assert_eq!(failures.len(), 1);
                assert_eq!(failures[0].index, 1);
            }
            other => panic!("{fork}: unexpected {other}"),
        }
    }
    let published = node.mock.published().attestations;
    assert_eq!(
        published.len(),
        2,
        "{fork}: the good attestation of each batch is kept"
    );
    let shape = if electra {
        AttestationShape::Single
    } else {
        AttestationShape::Phase0
    };
    assert!(
        published
            .iter()
            .all(|a| a.shape == shape && a.validator_index == duty.validator_index)
    );
    assert_eq!(node.mock.rejected().len(), 1);

    // Aggregation: the mock aggregates what was published; the validator aggregates it.
    let aggregate = client
        .get_aggregate_attestation::<E>(fork, slot, data.tree_hash_root(), duty.committee_index)
        .await
        .unwrap()
        .expect("an aggregate");
    assert_eq!(aggregate.is_electra(), electra);
    assert_eq!(aggregate.num_attesters(), 1);
    let missing = client
        .get_aggregate_attestation::<E>(
            fork,
            slot,
            types::Hash256::repeat_byte(9),
            duty.committee_index,
        )
        .await
        .unwrap();
    assert!(missing.is_none(), "{fork}: unknown root gives None");
    let aggregator = duty.validator_index;
    let proof = node.sign(aggregator, DomainKind::SelectionProof, epoch, &slot);
    assert!(
        is_aggregator(committee.len() as u64, &proof, &node.spec),
        "small committees always aggregate"
    );
    let message = aggregate.into_aggregate_and_proof(aggregator, proof);
    let outer = node.sign_root(
        aggregator,
        DomainKind::AggregateAndProof,
        epoch,
        message.tree_hash_root(),
    );
    let signed = message.into_signed(outer);
    client
        .post_aggregate_and_proofs(fork, std::slice::from_ref(&signed))
        .await
        .unwrap();
    assert_eq!(node.mock.published().aggregates, vec![signed]);

    let live = client
        .post_liveness(epoch, &[aggregator, other])
        .await
        .unwrap();
    assert!(live[0].is_live && !live[1].is_live, "{fork}: {live:?}");
}

#[tokio::test]
async fn attestations_and_aggregates_every_fork_minimal() {
    for fork in FORKS {
        attestation_flow::<MinimalEthSpec>(&ChainSpec::minimal(), fork).await;
    }
}

#[tokio::test]
async fn attestations_and_aggregates_mainnet_preset() {
    for fork in [ForkName::Capella, ForkName::Electra] {
        attestation_flow::<MainnetEthSpec>(&ChainSpec::mainnet(), fork).await;
    }
}

/// Produces, signs and publishes a block; checks fork, slot, proposer, fee recipient and that the
/// chain then serves it.
async fn block_flow<E: EthSpec>(base: &ChainSpec, fork: ForkName, encoding: Encoding) {
    let node = node::<E>(base, fork).await;
    let client = &node.client;
    let slot = node.slot();
    let epoch = node.spec.compute_epoch_at_slot(slot);
    let proposer = node.mock.proposer(slot).unwrap();
    let duties = client.get_proposer_duties(epoch).await.unwrap();
    assert!(
        duties
            .data
            .iter()
            .any(|d| d.slot == slot && d.validator_index == proposer)
    );
    let fee_recipient = ExecutionAddress::repeat_byte(0x42);
    client
        .post_prepare_beacon_proposer(&[ProposerPreparationData {
            validator_index: proposer,
            fee_recipient,
        }])
        .await
        .unwrap();
    let randao_reveal = node.sign(proposer, DomainKind::Randao, epoch, &epoch);
    let graffiti = Graffiti::repeat_byte(0x67);
    let request = ProduceBlockRequest {
        slot,
        randao_reveal,
        graffiti: Some(graffiti),
        builder_boost_factor: None,
        encoding,
    };
    let produced = client.produce_block::<E>(&request).await.unwrap();
    assert_eq!(produced.route, BlockProductionRoute::V3);
    let block = produced.block;
    assert_eq!(
        (block.fork_name(), block.slot(), block.proposer_index()),
        (fork, slot, proposer)
    );
    assert_eq!(block.payload_kind(), PayloadKind::Full);
    assert_eq!(
        matches!(block, ProducedBlock::Contents(_)),
        fork.has_blobs(),
        "{fork}: block contents from Deneb on"
    );
    let expected_recipient = fork.has_execution_payload().then_some(fee_recipient);
    assert_eq!(block.fee_recipient(), expected_recipient, "{fork}");
    assert!(produced.execution_payload_value.is_some());

    let signature = node.sign_root(
        proposer,
        DomainKind::BeaconProposer,
        epoch,
        block.block_root(),
    );
    let root = block.block_root();
    let signed = block.into_signed(signature);
    assert_eq!(
        client
            .publish_block(&signed, encoding, BroadcastValidation::Gossip)
            .await
            .unwrap(),
        PublishOutcome::Imported
    );
    let published = node.mock.published().blocks;
    assert_eq!(published.len(), 1, "{fork}: {:?}", node.mock.rejected());
    assert_eq!(
        (
            published[0].root,
            published[0].encoding,
            published[0].graffiti
        ),
        (root, encoding, graffiti)
    );

    let fetched = client
        .get_block::<E>(BlockId::Slot(slot))
        .await
        .unwrap()
        .expect("published block");
    assert_eq!((fetched.version, fetched.data.block_root()), (fork, root));
    let by_root = client
        .get_block_root(BlockId::Root(root))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_root.data, root);
    let header = client
        .get_block_header(BlockId::Slot(slot))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header.data.root, root);
    assert_eq!(header.data.header, fetched.data.signed_block_header());
}

#[tokio::test]
async fn blocks_every_fork_json() {
    for fork in FORKS {
        block_flow::<MinimalEthSpec>(&ChainSpec::minimal(), fork, Encoding::Json).await;
    }
}

#[tokio::test]
async fn blocks_ssz_deneb_to_fulu_and_mainnet_electra() {
    for fork in [
        ForkName::Capella,
        ForkName::Deneb,
        ForkName::Electra,
        ForkName::Fulu,
    ] {
        block_flow::<MinimalEthSpec>(&ChainSpec::minimal(), fork, Encoding::Ssz).await;
    }
    block_flow::<MainnetEthSpec>(&ChainSpec::mainnet(), ForkName::Electra, Encoding::Json).await;
}

#[tokio::test]
async fn blinded_blocks_and_bad_randao() {
    type E = MinimalEthSpec;
    for fork in [ForkName::Capella, ForkName::Electra] {
        let node = node::<E>(&ChainSpec::minimal(), fork).await;
        node.mock.set_payload_source(PayloadSource::Builder);
        let slot = node.slot();
        let epoch = node.spec.compute_epoch_at_slot(slot);
        let proposer = node.mock.proposer(slot).unwrap();
        let mut request = ProduceBlockRequest {
            slot,
            randao_reveal: node.sign(proposer, DomainKind::Randao, epoch, &epoch),
            graffiti: None,
            builder_boost_factor: Some(100),
            encoding: Encoding::Json,
        };
        let blinded = node
            .client
            .produce_block::<E>(&request)
            .await
            .unwrap()
            .block;
        assert_eq!(blinded.payload_kind(), PayloadKind::Blinded, "{fork}");
        request.builder_boost_factor = Some(0);
        let local = node
            .client
            .produce_block::<E>(&request)
            .await
            .unwrap()
            .block;
        assert_eq!(
            local.payload_kind(),
            PayloadKind::Full,
            "{fork}: boost factor 0 means local"
        );

        let signature = node.sign_root(
            proposer,
            DomainKind::BeaconProposer,
            epoch,
            blinded.block_root(),
        );
        let signed = blinded.into_signed(signature);
        node.client
            .publish_block(&signed, Encoding::Ssz, BroadcastValidation::Consensus)
            .await
            .unwrap();
        let published = node.mock.published().blocks;
        assert_eq!(published[0].payload, PayloadKind::Blinded);
        let publish = node
            .mock
            .requests()
            .into_iter()
            .find(|r| r.route == "/eth/v2/beacon/blinded_blocks")
            .unwrap();
        assert_eq!(publish.consensus_version.as_deref(), Some(fork.as_str()));
        assert!(
            publish.uri.contains("broadcast_validation=consensus"),
            "{}",
            publish.uri
        );

        // A RANDAO reveal by someone else is refused and recorded.
        request.randao_reveal = node.sign((proposer + 1) % 64, DomainKind::Randao, epoch, &epoch);
        let err = node.client.produce_block::<E>(&request).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(
            node.mock
                .rejected()
                .iter()
                .any(|r| r.reason.contains("RANDAO"))
        );
        // A block signed over the wrong fork's domain is refused.
        request.randao_reveal = node.sign(proposer, DomainKind::Randao, epoch, &epoch);
        let block = node
            .client
            .produce_block::<E>(&request)
            .await
            .unwrap()
            .block;
        let wrong = node.keys[proposer as usize].sign(types::compute_signing_root(
            block.block_root(),
            node.spec
                .get_domain(DomainKind::BeaconProposer, epoch, types::Hash256::ZERO),
        ));
        let err = node
            .client
            .publish_block(
                &block.into_signed(wrong),
                Encoding::Json,
                BroadcastValidation::Gossip,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("invalid block signature"), "{err}");
    }
}

async fn sync_flow<E: EthSpec>(base: &ChainSpec, fork: ForkName) {
    let node = node::<E>(base, fork).await;
    let client = &node.client;
    let slot = node.slot();
    let epoch = node.spec.compute_epoch_at_slot(slot);
    let indices: Vec<u64> = (0..64).collect();
    let duties = client.post_sync_duties(epoch, &indices).await.unwrap().data;
    let positions: usize = duties
        .iter()
        .map(|d| d.validator_sync_committee_indices.len())
        .sum();
    assert_eq!(positions as u64, E::sync_committee_size());
    let duty = duties[0].clone();
    let root = client
        .get_block_root(BlockId::Head)
        .await
        .unwrap()
        .unwrap()
        .data;
    let message = SyncCommitteeMessage {
        slot,
        beacon_block_root: root,
        validator_index: duty.validator_index,
        signature: node.sign(
            duty.validator_index,
            DomainKind::SyncCommittee,
            epoch,
            &root,
        ),
    };
    client
        .post_sync_committee_messages(&[message])
        .await
        .unwrap();
    let mut forged = message;
    forged.validator_index = (0..64)
        .find(|i| duties.iter().all(|d| d.validator_index != *i))
        .unwrap_or(63);
    assert_eq!(
        client
            .post_sync_committee_messages(&[forged])
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );

    let subcommittee = duty.validator_sync_committee_indices[0] / E::sync_subcommittee_size();
    let contribution = client
        .get_sync_committee_contribution::<E>(slot, subcommittee, root)
        .await
        .unwrap()
        .expect("contribution");
    assert!(contribution.aggregation_bits.num_set_bits() >= 1);
    let selection = SyncAggregatorSelectionData {
        slot,
        subcommittee_index: subcommittee,
    };
    let proof = node.sign(
        duty.validator_index,
        DomainKind::SyncCommitteeSelectionProof,
        epoch,
        &selection,
    );
    let message = ContributionAndProof {
        aggregator_index: duty.validator_index,
        contribution,
        selection_proof: proof,
    };
    let signature = node.sign(
        duty.validator_index,
        DomainKind::ContributionAndProof,
        epoch,
        &message,
    );
    let signed = SignedContributionAndProof { message, signature };
    match client
        .post_contribution_and_proofs(std::slice::from_ref(&signed))
        .await
    {
        Ok(()) => assert_eq!(node.mock.published().contributions, vec![signed]),
        // On mainnet only some members aggregate; the mock must then refuse for that reason.
        Err(err) => assert!(
            err.to_string().contains("not a sync aggregator"),
            "{fork}: {err}"
        ),
    }
}

#[tokio::test]
async fn sync_committee_every_fork_from_altair() {
    for fork in &FORKS[1..] {
        sync_flow::<MinimalEthSpec>(&ChainSpec::minimal(), *fork).await;
    }
    sync_flow::<MainnetEthSpec>(&ChainSpec::mainnet(), ForkName::Fulu).await;
}
