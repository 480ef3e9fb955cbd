//! The client against the mock node: node, config and state endpoints, subscriptions and
//! registrations, and the version fallback of a Lodestar-1.5.1-like (legacy) node.

use std::time::Duration;

use ssz::BitList;
use tree_hash::TreeHash;
use types::api::{
    BeaconCommitteeSubscription, BlockId, StateId, SyncCommitteeSubscription, ValidatorId,
    ValidatorStatus, ValidatorStatusFilter,
};
use types::{
    AttestationPhase0, ChainSpec, DomainKind, Epoch, ExecutionAddress, ForkName, MinimalEthSpec,
    SignedValidatorRegistrationV1, ValidatorRegistrationV1,
};
use validator::beacon_node::{
    BlockProductionRoute, Encoding, Error, ProduceBlockRequest, VersionedRoute,
};
use validator::testing::{ApiMode, MockValidator, TestNode, spec_at};

type E = MinimalEthSpec;

async fn node(fork: ForkName) -> TestNode<E> {
    TestNode::start(spec_at(&ChainSpec::minimal(), fork).unwrap(), 64, 20)
        .await
        .unwrap()
}

#[tokio::test]
async fn node_and_config() {
    let node = node(ForkName::Electra).await;
    let client = &node.client;
    let genesis = client.get_genesis().await.unwrap();
    assert_eq!(
        genesis.genesis_validators_root,
        node.genesis_validators_root
    );
    assert_eq!(
        genesis.genesis_fork_version,
        node.spec.genesis_fork_version()
    );
    let spec = client.get_config_spec().await.unwrap();
    assert_eq!(spec, node.spec);
    assert_eq!(spec.fork_name_at_epoch(Epoch(0)), ForkName::Electra);
    assert_eq!(
        client.get_fork_schedule().await.unwrap(),
        node.spec.fork_schedule()
    );
    let syncing = client.get_node_syncing().await.unwrap();
    assert!(!syncing.is_syncing);
    assert!(syncing.head_slot >= types::Slot(20));
    assert!(
        client
            .get_node_version()
            .await
            .unwrap()
            .starts_with("poolvc-mock/")
    );
    assert_eq!(client.get_peer_count().await.unwrap().connected, 50);
}

#[tokio::test]
async fn state_queries() {
    let node = node(ForkName::Deneb).await;
    let client = &node.client;
    let pubkey = node.keys[5].pubkey;
    let response = client
        .post_state_validators(
            StateId::Head,
            &[
                ValidatorId::Index(3),
                ValidatorId::PublicKey(pubkey),
                ValidatorId::Index(999),
            ],
            &[],
        )
        .await
        .unwrap();
    let found: Vec<u64> = response.data.iter().map(|v| v.index).collect();
    assert_eq!(found, vec![3, 5], "unknown validators are simply absent");
    assert_eq!(response.data[1].validator.pubkey, pubkey);
    assert_eq!(response.data[0].status, ValidatorStatus::ActiveOngoing);
    let exited = client
        .post_state_validators(StateId::Head, &[], &[ValidatorStatusFilter::Exited])
        .await
        .unwrap();
    assert!(exited.data.is_empty());
    let all = client
        .post_state_validators(StateId::Finalized, &[], &[ValidatorStatusFilter::Active])
        .await
        .unwrap();
    assert_eq!(all.data.len(), 64);
    let balances = client
        .post_state_validator_balances(StateId::Head, &[ValidatorId::Index(0)])
        .await
        .unwrap();
    assert_eq!(balances.data[0].balance, 32_000_000_000);

    let fork = client.get_state_fork(StateId::Head).await.unwrap().data;
    assert_eq!(
        fork.current_version,
        node.spec.fork_version(ForkName::Deneb).unwrap()
    );
    let finality = client
        .get_finality_checkpoints(StateId::Head)
        .await
        .unwrap()
        .data;
    assert!(finality.finalized.epoch < finality.current_justified.epoch);
    assert_eq!(
        finality.finalized.root,
        node.mock.block_root(
            node.spec
                .compute_start_slot_at_epoch(finality.finalized.epoch)
        )
    );

    let epoch = Epoch(2);
    let committees = client
        .get_committees(StateId::Head, Some(epoch), None, None)
        .await
        .unwrap()
        .data;
    assert_eq!(committees.len(), 16, "8 slots x 2 committees");
    let one = client
        .get_committees(StateId::Head, Some(epoch), Some(1), Some(types::Slot(17)))
        .await
        .unwrap()
        .data;
    assert_eq!(one.len(), 1);
    assert_eq!(
        Some(one[0].validators.clone()),
        node.mock.committee(types::Slot(17), 1)
    );
    let sync = client
        .get_sync_committees(StateId::Head, None)
        .await
        .unwrap()
        .data;
    assert_eq!(sync.validators.len(), 32);
    assert_eq!(sync.validator_aggregates.len(), 4);
    assert_eq!(sync.validator_aggregates.concat(), sync.validators);

    let genesis_root = client
        .get_block_root(BlockId::Genesis)
        .await
        .unwrap()
        .unwrap()
        .data;
    assert_eq!(genesis_root, node.mock.block_root(types::Slot(0)));
    let headers = client
        .get_block_headers(None, Some(genesis_root))
        .await
        .unwrap()
        .data;
    assert_eq!(headers[0].header.message.parent_root, genesis_root);
    assert_eq!(headers[0].header.message.slot, types::Slot(1));
    let block = client
        .get_block::<E>(BlockId::Slot(types::Slot(3)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        block.data.parent_root(),
        node.mock.block_root(types::Slot(2))
    );
    assert!(
        client
            .get_block::<E>(BlockId::Slot(types::Slot(1_000_000)))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .get_block_root(BlockId::Root(types::Hash256::repeat_byte(3)))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn subscriptions_preparation_registration() {
    let node = node(ForkName::Capella).await;
    let client = &node.client;
    let subscription = BeaconCommitteeSubscription {
        validator_index: 1,
        committee_index: 0,
        committees_at_slot: 2,
        slot: types::Slot(30),
        is_aggregator: true,
    };
    client
        .post_beacon_committee_subscriptions(&[subscription])
        .await
        .unwrap();
    let sync = SyncCommitteeSubscription {
        validator_index: 2,
        sync_committee_indices: vec![3, 9],
        until_epoch: Epoch(8),
    };
    client
        .post_sync_committee_subscriptions(std::slice::from_ref(&sync))
        .await
        .unwrap();
    let published = node.mock.published();
    assert_eq!(published.beacon_committee_subscriptions, vec![subscription]);
    assert_eq!(published.sync_committee_subscriptions, vec![sync]);

    let message = ValidatorRegistrationV1 {
        fee_recipient: ExecutionAddress::repeat_byte(1),
        gas_limit: 36_000_000,
        timestamp: 1_700_000_000,
        pubkey: node.keys[4].pubkey,
    };
    // Builder registrations use the genesis fork version and a zero genesis root, on any fork.
    let signature = node.sign(4, DomainKind::ApplicationBuilder, Epoch(123), &message);
    let good = SignedValidatorRegistrationV1 { message, signature };
    client.post_register_validator(&[good]).await.unwrap();
    let bad_domain = node.keys[4].sign(types::compute_signing_root(
        message.tree_hash_root(),
        node.spec.get_domain(
            DomainKind::BeaconProposer,
            Epoch(0),
            node.genesis_validators_root,
        ),
    ));
    let bad = SignedValidatorRegistrationV1 {
        message,
        signature: bad_domain,
    };
    let err = client
        .post_register_validator(&[good, bad])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Status { status: 400, failures, .. } if failures.len() == 1 && failures[0].index == 1),
        "{err}"
    );
    assert_eq!(node.mock.published().registrations, vec![good, good]);
}

#[tokio::test]
async fn legacy_node_gets_older_routes_and_they_are_remembered() {
    let node = node(ForkName::Capella).await;
    node.mock.set_api_mode(ApiMode::Legacy);
    let client = &node.client;
    let slot = node.slot();
    let epoch = node.spec.compute_epoch_at_slot(slot);

    // Block production: v3 is missing, v2 is used, and v3 is not asked again.
    let proposer = node.mock.proposer(slot).unwrap();
    let request = ProduceBlockRequest {
        slot,
        randao_reveal: node.sign(proposer, DomainKind::Randao, epoch, &epoch),
        graffiti: None,
        builder_boost_factor: None,
        encoding: Encoding::Ssz,
    };
    for _ in 0..2 {
        let produced = client.produce_block::<E>(&request).await.unwrap();
        assert_eq!(produced.route, BlockProductionRoute::V2);
        assert_eq!(produced.execution_payload_value, None);
    }
    assert_eq!(
        node.mock
            .request_count("GET", "/eth/v3/validator/blocks/{slot}"),
        1
    );
    assert_eq!(
        node.mock
            .request_count("GET", "/eth/v2/validator/blocks/{slot}"),
        2
    );
    // Builder preference on a node without v3: blinded v1.
    let blinded = client
        .produce_block::<E>(&ProduceBlockRequest {
            builder_boost_factor: Some(100),
            ..request
        })
        .await
        .unwrap();
    assert_eq!(blinded.route, BlockProductionRoute::BlindedV1);

    // Publication: v2 missing → v1.
    let block = client.produce_block::<E>(&request).await.unwrap().block;
    let signature = node.sign_root(
        proposer,
        DomainKind::BeaconProposer,
        epoch,
        block.block_root(),
    );
    client
        .publish_block(
            &block.into_signed(signature),
            Encoding::Ssz,
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(node.mock.request_count("POST", "/eth/v1/beacon/blocks"), 1);
    assert_eq!(node.mock.published().blocks.len(), 1);

    // Attestations: v2 missing → v1.
    let duties = client
        .post_attester_duties(epoch, &(0..64).collect::<Vec<_>>())
        .await
        .unwrap();
    let duty = *duties.data.iter().find(|d| d.slot == slot).unwrap();
    let data = client
        .get_attestation_data(slot, duty.committee_index)
        .await
        .unwrap();
    let mut bits = BitList::with_capacity(duty.committee_length as usize).unwrap();
    bits.set(duty.validator_committee_index as usize, true)
        .unwrap();
    let attestation = AttestationPhase0::<E> {
        aggregation_bits: bits,
        data,
        signature: node.sign(
            duty.validator_index,
            DomainKind::BeaconAttester,
            epoch,
            &data,
        ),
    };
    client
        .post_attestations(ForkName::Capella, std::slice::from_ref(&attestation))
        .await
        .unwrap();
    client
        .post_attestations(ForkName::Capella, &[attestation])
        .await
        .unwrap();
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v2/beacon/pool/attestations"),
        1
    );
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v1/beacon/pool/attestations"),
        2
    );

    // Aggregates: v2 missing (router 404, not "no aggregate") → v1, both ways.
    let aggregate = client
        .get_aggregate_attestation::<E>(
            ForkName::Capella,
            slot,
            data.tree_hash_root(),
            duty.committee_index,
        )
        .await
        .unwrap()
        .expect("aggregate from v1");
    let proof = node.sign(
        duty.validator_index,
        DomainKind::SelectionProof,
        epoch,
        &slot,
    );
    let message = aggregate.into_aggregate_and_proof(duty.validator_index, proof);
    let outer = node.sign_root(
        duty.validator_index,
        DomainKind::AggregateAndProof,
        epoch,
        message.tree_hash_root(),
    );
    client
        .post_aggregate_and_proofs(ForkName::Capella, &[message.into_signed(outer)])
        .await
        .unwrap();
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v1/validator/aggregate_and_proofs"),
        1
    );

    // Liveness: no fallback; the missing route is reported and not asked again.
    for _ in 0..2 {
        let err = client.post_liveness(epoch, &[1]).await.unwrap_err();
        assert!(matches!(err, Error::UnsupportedRoute { .. }), "{err}");
    }
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v1/validator/liveness/{epoch}"),
        1
    );

    // POST validators → GET in chunks of 64 ids.
    let ids: Vec<ValidatorId> = (0..100).map(ValidatorId::Index).collect();
    let validators = client
        .post_state_validators(StateId::Head, &ids, &[])
        .await
        .unwrap();
    assert_eq!(validators.data.len(), 64, "only 64 validators exist");
    assert_eq!(
        node.mock
            .request_count("GET", "/eth/v1/beacon/states/{state_id}/validators"),
        2
    );

    let unsupported = client.unsupported_routes();
    for route in [
        VersionedRoute::ProduceBlockV3,
        VersionedRoute::PublishBlockV2,
        VersionedRoute::PoolAttestationsV2,
        VersionedRoute::AggregateAttestationV2,
        VersionedRoute::AggregateAndProofsV2,
        VersionedRoute::Liveness,
        VersionedRoute::PostStateValidators,
    ] {
        assert!(
            unsupported.contains(&route),
            "{route:?} not remembered: {unsupported:?}"
        );
    }
    // Nothing was lost on the way.
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );
}

#[tokio::test]
async fn validator_statuses_from_the_registry() {
    let spec = spec_at(&ChainSpec::minimal(), ForkName::Capella).unwrap();
    let keys = validator::testing::InteropKeypair::range(4);
    let pubkeys: Vec<_> = keys.iter().map(|k| k.pubkey).collect();
    let mut config =
        validator::testing::MockConfig::new(spec, validator::testing::now_secs() - 60, &pubkeys);
    let mut exited: MockValidator = config.validators[1];
    exited.validator.exit_epoch = Epoch(0);
    exited.validator.withdrawable_epoch = Epoch(100);
    config.validators[1] = exited;
    config.validators[2].validator.activation_epoch = types::FAR_FUTURE_EPOCH;
    let mock = validator::testing::MockBeaconNode::<E>::start(config)
        .await
        .unwrap();
    let client = validator::beacon_node::BeaconNodeClient::new(
        &mock.url(),
        validator::beacon_node::Timeouts::uniform(Duration::from_secs(5)),
    )
    .unwrap();
    let statuses: Vec<ValidatorStatus> = client
        .post_state_validators(StateId::Head, &[], &[])
        .await
        .unwrap()
        .data
        .iter()
        .map(|v| v.status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            ValidatorStatus::ActiveOngoing,
            ValidatorStatus::ExitedUnslashed,
            ValidatorStatus::PendingQueued,
            ValidatorStatus::ActiveOngoing
        ]
    );
}
