//! The attestation service. Per slot, at the head event of the slot or at the attestation
//! deadline (a third of the slot), whichever comes first:
//! 1. ONE attestation data request (committee index 0; before Electra `data.index` is then set
//!    locally to each duty's committee, the rest of the data being the same for all
//!    committees);
//! 2. every local attester of the slot signed as one batch, checked and recorded by slashing
//!    protection as one batch ([`crate::store::ValidatorStore::sign_attestations`]);
//! 3. ONE publication: before Electra phase0 `Attestation`s with the attester's single
//!    aggregation bit set (v2 with `Eth-Consensus-Version`, v1 on older nodes), from Electra
//!    `SingleAttestation`s (v2).

use ssz::BitList;
use tokio_util::sync::CancellationToken;
use types::{AttestationPhase0, EthSpec, ForkName, SignatureBytes, SingleAttestation, Slot};

use super::{Context, next_slot, sleep_until};
use crate::beacon_node::{BroadcastTopic, Error as NodeError};
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::{Duty, Outcome};
use crate::services::duties::AttesterEntry;
use crate::store::AttestationToSign;

/// The attestation service's task name.
pub const ATTESTATION_TASK: &str = "attestation";

/// Produces and publishes attestations.
pub struct AttestationService<E: EthSpec> {
    ctx: Context<E>,
}

/// The per-item failures of a batch publication (when the node answered 400 naming them).
pub(crate) fn failed_items(error: &NodeError) -> Option<Vec<usize>> {
    let failures = match error {
        NodeError::Status { failures, .. } => failures,
        NodeError::AllNodesFailed(nodes) => {
            // Items some node named as invalid; nodes that failed otherwise say nothing.
            return nodes.iter().find_map(|node| failed_items(&node.error));
        }
        _ => return None,
    };
    (!failures.is_empty()).then(|| {
        failures
            .iter()
            .filter_map(|f| usize::try_from(f.index).ok())
            .collect()
    })
}

impl<E: EthSpec> AttestationService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        Self { ctx }
    }

    /// Spawns the critical task [`ATTESTATION_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(ATTESTATION_TASK, TaskKind::Critical, self.run(token));
    }

    /// Attests at every slot until shutdown.
    pub async fn run(self, token: CancellationToken) {
        let ctx = &self.ctx;
        let mut slot = next_slot(&ctx.clock);
        loop {
            if !sleep_until(&ctx.clock, ctx.clock.start_of(slot), &token).await {
                return;
            }
            let deadline = ctx.slot_fraction(slot, ctx.spec.duty_timings.attestation_due_bps);
            if !ctx
                .head
                .wait_for_slot(slot, deadline, &ctx.clock, &token)
                .await
            {
                return;
            }
            self.attest(slot).await;
            // Never attest twice for a slot, and skip slots already over.
            slot = next_slot(&ctx.clock).max(slot + 1);
        }
    }

    /// Attests for every local duty of `slot`.
    pub async fn attest(&self, slot: Slot) {
        let ctx = &self.ctx;
        let duties: Vec<_> = ctx
            .duties
            .attesters_at(slot)
            .into_iter()
            .filter(|e| ctx.store.is_signing_enabled(&e.duty.pubkey))
            .collect();
        if duties.is_empty() {
            return;
        }
        let data = match ctx
            .fallback
            .first_success("attestation data", |client| async move {
                client.get_attestation_data(slot, 0).await
            })
            .await
        {
            Ok(data) => data,
            Err(error) => {
                tracing::error!(%slot, %error, attesters = duties.len(), "no attestation data: attestations missed");
                ctx.record(slot, Duty::Attestation, Outcome::Missed, duties.len());
                return;
            }
        };
        ctx.attestation_data.insert(data);
        self.sign_and_publish(slot, data, &duties).await;
    }

    /// Signs and publishes the attestations of `duties` at `slot` over `data` (fetched with
    /// committee index 0); returns how many were published. This is everything between "the
    /// attestation data arrived" and "the attestations were published".
    pub async fn sign_and_publish(
        &self,
        slot: Slot,
        data: types::AttestationData,
        duties: &[AttesterEntry],
    ) -> usize {
        let ctx = &self.ctx;
        let fork = ctx.spec.fork_name_at_slot(slot);
        let electra = fork.is_electra_or_later();
        let items: Vec<AttestationToSign> = duties
            .iter()
            .map(|e| {
                let mut data = data;
                data.index = if electra { 0 } else { e.duty.committee_index };
                AttestationToSign {
                    pubkey: e.duty.pubkey,
                    validator_index: e.duty.validator_index,
                    committee_index: e.duty.committee_index,
                    committee_length: e.duty.committee_length,
                    committee_position: e.duty.validator_committee_index,
                    data,
                }
            })
            .collect();
        let batch = match ctx.store.sign_attestations(items).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%slot, %error, "attestation signing failed: attestations missed");
                ctx.record(slot, Duty::Attestation, Outcome::Missed, duties.len());
                return 0;
            }
        };
        ctx.record(
            slot,
            Duty::Attestation,
            Outcome::Refused,
            batch.refused.len(),
        );
        if batch.signed.is_empty() {
            return 0;
        }
        let count = batch.signed.len();
        let result = if electra {
            let singles: Vec<SingleAttestation> = batch
                .signed
                .iter()
                .map(|(item, signature)| SingleAttestation {
                    committee_index: item.committee_index,
                    attester_index: item.validator_index,
                    data: item.data,
                    signature: *signature,
                })
                .collect();
            self.publish_single(fork, &singles).await
        } else {
            let attestations: Vec<AttestationPhase0<E>> = batch
                .signed
                .iter()
                .filter_map(|(item, signature)| phase0_attestation(item, *signature))
                .collect();
            if attestations.len() != count {
                tracing::error!(%slot, "attestation with an impossible committee position dropped");
            }
            self.publish_phase0(fork, &attestations).await
        };
        match result {
            Ok(()) => {
                ctx.record(slot, Duty::Attestation, Outcome::Performed, count);
                tracing::info!(
                    %slot,
                    count,
                    head = %data.beacon_block_root,
                    source = %data.source.epoch,
                    target = %data.target.epoch,
                    "attestations published"
                );
                count
            }
            Err(error) => {
                let failed = failed_items(&error).map_or(count, |items| items.len().min(count));
                ctx.record(slot, Duty::Attestation, Outcome::Missed, failed);
                ctx.record(slot, Duty::Attestation, Outcome::Performed, count - failed);
                tracing::error!(%slot, count, failed, %error, "attestation publication failed");
                count - failed
            }
        }
    }

    async fn publish_phase0(
        &self,
        fork: ForkName,
        attestations: &[AttestationPhase0<E>],
    ) -> Result<(), NodeError> {
        self.ctx
            .fallback
            .publish(
                BroadcastTopic::Attestations,
                "publish attestations",
                |client| async move { client.post_attestations::<E>(fork, attestations).await },
            )
            .await
    }

    async fn publish_single(
        &self,
        fork: ForkName,
        attestations: &[SingleAttestation],
    ) -> Result<(), NodeError> {
        self.ctx
            .fallback
            .publish(
                BroadcastTopic::Attestations,
                "publish attestations",
                |client| async move { client.post_single_attestations(fork, attestations).await },
            )
            .await
    }
}

/// A phase0 `Attestation` with the attester's single bit set; `None` when the position does not
/// fit the committee (a malformed duty).
fn phase0_attestation<E: EthSpec>(
    item: &AttestationToSign,
    signature: SignatureBytes,
) -> Option<AttestationPhase0<E>> {
    let length = usize::try_from(item.committee_length).ok()?;
    let position = usize::try_from(item.committee_position).ok()?;
    let mut aggregation_bits = BitList::with_capacity(length).ok()?;
    aggregation_bits.set(position, true).ok()?;
    Some(AttestationPhase0 {
        aggregation_bits,
        data: item.data,
        signature,
    })
}
