//! Validator duties and publications (everything except blocks).

use serde::Serialize;
use serde_json::Value;
use types::api::{
    AttesterDuty, BeaconCommitteeSubscription, DutiesResponse, ExecutionOptimisticResponse,
    GenericResponse, LivenessResponseData, ProposerDuty, ProposerPreparationData,
    SyncCommitteeSubscription, SyncDuty,
};
use types::{
    Attestation, AttestationData, AttestationPhase0, Epoch, EthSpec, ForkName, ForkVersioned,
    Hash256, SignedAggregateAndProof, SignedContributionAndProof, SignedValidatorRegistrationV1,
    SingleAttestation, Slot, SyncCommitteeContribution, SyncCommitteeMessage,
};

use super::routes::{NoOlderRoute, VersionedRoute};
use super::{BeaconNodeClient, CONSENSUS_VERSION_HEADER, Call};
use crate::beacon_node::error::{Error, Result};

/// Validator indices as the quoted strings the duties and liveness bodies take.
fn quoted_indices(indices: &[u64]) -> Vec<String> {
    indices.iter().map(u64::to_string).collect()
}

impl BeaconNodeClient {
    async fn post_json<B: Serialize + ?Sized>(&self, call: Call, body: &B) -> Result<()> {
        self.execute(call.json_body(body)?).await.map(drop)
    }

    /// `POST /eth/v1/validator/duties/attester/{epoch}` for `indices` (one request for all).
    pub async fn post_attester_duties(
        &self,
        epoch: Epoch,
        indices: &[u64],
    ) -> Result<DutiesResponse<Vec<AttesterDuty>>> {
        let call = Call::post(
            format!("eth/v1/validator/duties/attester/{epoch}"),
            self.timeouts().attester_duties,
        )
        .json_body(&quoted_indices(indices))?;
        self.execute_json(call).await
    }

    /// `GET /eth/v1/validator/duties/proposer/{epoch}` (every proposer of the epoch).
    pub async fn get_proposer_duties(
        &self,
        epoch: Epoch,
    ) -> Result<DutiesResponse<Vec<ProposerDuty>>> {
        let call = Call::get(
            format!("eth/v1/validator/duties/proposer/{epoch}"),
            self.timeouts().proposer_duties,
        );
        self.execute_json(call).await
    }

    /// `POST /eth/v1/validator/duties/sync/{epoch}` for `indices`.
    pub async fn post_sync_duties(
        &self,
        epoch: Epoch,
        indices: &[u64],
    ) -> Result<ExecutionOptimisticResponse<Vec<SyncDuty>>> {
        let call = Call::post(
            format!("eth/v1/validator/duties/sync/{epoch}"),
            self.timeouts().sync_duties,
        )
        .json_body(&quoted_indices(indices))?;
        self.execute_json(call).await
    }

    /// `GET /eth/v1/validator/attestation_data` (pass committee index 0 from Electra on).
    pub async fn get_attestation_data(
        &self,
        slot: Slot,
        committee_index: u64,
    ) -> Result<AttestationData> {
        let call = Call::get(
            "eth/v1/validator/attestation_data",
            self.timeouts().attestation,
        )
        .query("slot", slot)
        .query("committee_index", committee_index);
        let data: AttestationData = self.execute_json::<GenericResponse<_>>(call).await?.data;
        if data.slot != slot {
            return Err(Error::Decode {
                url: format!("{}eth/v1/validator/attestation_data", self.url()),
                detail: format!(
                    "attestation data for slot {} when slot {slot} was requested",
                    data.slot
                ),
            });
        }
        Ok(data)
    }

    /// Publishes pre-Electra attestations: `POST /eth/v2/beacon/pool/attestations` with
    /// `Eth-Consensus-Version`, or v1 on nodes without v2. A 400 names the rejected items.
    pub async fn post_attestations<E: EthSpec>(
        &self,
        fork: ForkName,
        attestations: &[AttestationPhase0<E>],
    ) -> Result<()> {
        let timeout = self.timeouts().attestation;
        let v2 = || async {
            let call = Call::post("eth/v2/beacon/pool/attestations", timeout)
                .header(CONSENSUS_VERSION_HEADER, fork);
            self.post_json(call, attestations).await
        };
        let v1 = || async {
            self.post_json(
                Call::post("eth/v1/beacon/pool/attestations", timeout),
                attestations,
            )
            .await
        };
        let older = (!fork.is_electra_or_later()).then_some(v1);
        self.with_fallback(VersionedRoute::PoolAttestationsV2, v2, older)
            .await
    }

    /// Publishes Electra+ `SingleAttestation`s: `POST /eth/v2/beacon/pool/attestations` with
    /// `Eth-Consensus-Version` (there is no older route for this shape).
    pub async fn post_single_attestations(
        &self,
        fork: ForkName,
        attestations: &[SingleAttestation],
    ) -> Result<()> {
        let timeout = self.timeouts().attestation;
        let v2 = || async {
            let call = Call::post("eth/v2/beacon/pool/attestations", timeout)
                .header(CONSENSUS_VERSION_HEADER, fork);
            self.post_json(call, attestations).await
        };
        let none: NoOlderRoute<()> = None;
        self.with_fallback(VersionedRoute::PoolAttestationsV2, v2, none)
            .await
    }

    /// The aggregate of the attestations matching `attestation_data_root` (`GET
    /// /eth/v2/validator/aggregate_attestation`, or v1 before Electra on nodes without v2);
    /// `None` when the node has none.
    pub async fn get_aggregate_attestation<E: EthSpec>(
        &self,
        fork: ForkName,
        slot: Slot,
        attestation_data_root: Hash256,
        committee_index: u64,
    ) -> Result<Option<Attestation<E>>> {
        let timeout = self.timeouts().aggregate;
        let v2 = || async {
            let call = Call::get("eth/v2/validator/aggregate_attestation", timeout)
                .query("attestation_data_root", attestation_data_root)
                .query("slot", slot)
                .query("committee_index", committee_index);
            let response = self.execute(call).await?;
            let value: Value = response.json()?;
            let versioned = ForkVersioned::<Attestation<E>>::decode_json(value)
                .map_err(|e| response.decode_error(e.to_string()))?;
            Ok(versioned.data)
        };
        let v1 = || async {
            let call = Call::get("eth/v1/validator/aggregate_attestation", timeout)
                .query("attestation_data_root", attestation_data_root)
                .query("slot", slot);
            let response: GenericResponse<AttestationPhase0<E>> = self.execute_json(call).await?;
            Ok(Attestation::Phase0(response.data))
        };
        let older = (!fork.is_electra_or_later()).then_some(v1);
        match self
            .with_fallback(VersionedRoute::AggregateAttestationV2, v2, older)
            .await
        {
            Ok(aggregate) => Ok(Some(aggregate)),
            Err(Error::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Publishes signed aggregates: `POST /eth/v2/validator/aggregate_and_proofs` with
    /// `Eth-Consensus-Version`, or v1 (phase0 shape only) on nodes without v2.
    pub async fn post_aggregate_and_proofs<E: EthSpec>(
        &self,
        fork: ForkName,
        aggregates: &[SignedAggregateAndProof<E>],
    ) -> Result<()> {
        let timeout = self.timeouts().aggregate;
        let v2 = || async {
            let call = Call::post("eth/v2/validator/aggregate_and_proofs", timeout)
                .header(CONSENSUS_VERSION_HEADER, fork);
            self.post_json(call, aggregates).await
        };
        let v1 = || async {
            self.post_json(
                Call::post("eth/v1/validator/aggregate_and_proofs", timeout),
                aggregates,
            )
            .await
        };
        let phase0_shape =
            !fork.is_electra_or_later() && aggregates.iter().all(|a| !a.is_electra());
        let older = phase0_shape.then_some(v1);
        self.with_fallback(VersionedRoute::AggregateAndProofsV2, v2, older)
            .await
    }

    /// `POST /eth/v1/beacon/pool/sync_committees`.
    pub async fn post_sync_committee_messages(
        &self,
        messages: &[SyncCommitteeMessage],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/beacon/pool/sync_committees",
            self.timeouts().sync_committee,
        );
        self.post_json(call, messages).await
    }

    /// `GET /eth/v1/validator/sync_committee_contribution`; `None` when the node has none.
    pub async fn get_sync_committee_contribution<E: EthSpec>(
        &self,
        slot: Slot,
        subcommittee_index: u64,
        beacon_block_root: Hash256,
    ) -> Result<Option<SyncCommitteeContribution<E>>> {
        let call = Call::get(
            "eth/v1/validator/sync_committee_contribution",
            self.timeouts().sync_committee,
        )
        .query("slot", slot)
        .query("subcommittee_index", subcommittee_index)
        .query("beacon_block_root", beacon_block_root);
        match self.execute_json::<GenericResponse<_>>(call).await {
            Ok(response) => Ok(Some(response.data)),
            Err(Error::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST /eth/v1/validator/contribution_and_proofs`.
    pub async fn post_contribution_and_proofs<E: EthSpec>(
        &self,
        contributions: &[SignedContributionAndProof<E>],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/validator/contribution_and_proofs",
            self.timeouts().sync_committee,
        );
        self.post_json(call, contributions).await
    }

    /// `POST /eth/v1/validator/beacon_committee_subscriptions`.
    pub async fn post_beacon_committee_subscriptions(
        &self,
        subscriptions: &[BeaconCommitteeSubscription],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/validator/beacon_committee_subscriptions",
            self.timeouts().subscriptions,
        );
        self.post_json(call, subscriptions).await
    }

    /// `POST /eth/v1/validator/sync_committee_subscriptions`.
    pub async fn post_sync_committee_subscriptions(
        &self,
        subscriptions: &[SyncCommitteeSubscription],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/validator/sync_committee_subscriptions",
            self.timeouts().subscriptions,
        );
        self.post_json(call, subscriptions).await
    }

    /// `POST /eth/v1/validator/prepare_beacon_proposer`.
    pub async fn post_prepare_beacon_proposer(
        &self,
        preparations: &[ProposerPreparationData],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/validator/prepare_beacon_proposer",
            self.timeouts().subscriptions,
        );
        self.post_json(call, preparations).await
    }

    /// `POST /eth/v1/validator/register_validator` (builder registrations).
    pub async fn post_register_validator(
        &self,
        registrations: &[SignedValidatorRegistrationV1],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/validator/register_validator",
            self.timeouts().subscriptions,
        );
        self.post_json(call, registrations).await
    }

    /// `POST /eth/v1/validator/liveness/{epoch}`. Nodes without the route give
    /// [`Error::UnsupportedRoute`] (remembered); callers then detect liveness from the chain.
    pub async fn post_liveness(
        &self,
        epoch: Epoch,
        indices: &[u64],
    ) -> Result<Vec<LivenessResponseData>> {
        let timeout = self.timeouts().liveness;
        let call = || async {
            let call = Call::post(format!("eth/v1/validator/liveness/{epoch}"), timeout)
                .json_body(&quoted_indices(indices))?;
            Ok(self.execute_json::<GenericResponse<_>>(call).await?.data)
        };
        let none: NoOlderRoute<Vec<LivenessResponseData>> = None;
        self.with_fallback(VersionedRoute::Liveness, call, none)
            .await
    }
}
