//! The block service. At the start of a slot with a local proposer: RANDAO reveal,
//! `produceBlockV3` (with the configured `builder_boost_factor`; v2, or blinded v1, on older
//! nodes), the pool-safety and duty checks and slashing protection (all in
//! [`crate::store::ValidatorStore::sign_block`]), signature, publication (v2 in SSZ, v1 JSON on
//! older nodes; blinded blocks to the blinded route), and a log line with slot, root, fee
//! recipient and value. With pool accounting, the value the node reported is recorded for the
//! block's root ([`ElValueRecorder`]).

use tokio_util::sync::CancellationToken;
use types::api::{BroadcastValidation, ProposerDuty};
use types::{EthSpec, Slot};

use super::{Context, next_slot, sleep_until};
use crate::accounting::ElValueRecorder;
use crate::beacon_node::{BroadcastTopic, Encoding, ProduceBlockRequest, PublishOutcome};
use crate::error::Error;
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::{Duty, Outcome};
use crate::store::ProposalDuty;

/// The block service's task name.
pub const BLOCK_TASK: &str = "block";

/// Proposes blocks.
pub struct BlockService<E: EthSpec> {
    ctx: Context<E>,
    el_values: Option<ElValueRecorder>,
}

impl<E: EthSpec> BlockService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        Self {
            ctx,
            el_values: None,
        }
    }

    /// Records the reported EL value of every published block for pool accounting.
    pub fn with_el_values(mut self, recorder: ElValueRecorder) -> Self {
        self.el_values = Some(recorder);
        self
    }

    /// Spawns the critical task [`BLOCK_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(BLOCK_TASK, TaskKind::Critical, self.run(token));
    }

    /// Proposes at every slot with a local proposer until shutdown.
    pub async fn run(self, token: CancellationToken) {
        let ctx = &self.ctx;
        // Slot 0 is genesis: nobody proposes it.
        let mut slot = next_slot(&ctx.clock).max(Slot(1));
        loop {
            if !sleep_until(&ctx.clock, ctx.clock.start_of(slot), &token).await {
                return;
            }
            // At an epoch boundary the duties service fetches this epoch's proposers now.
            let wait = ctx.clock.slot_duration() / 4;
            let proposers = ctx.duties.proposers_at(slot, wait).await;
            for duty in proposers {
                if ctx.store.is_signing_enabled(&duty.pubkey) {
                    self.propose(duty).await;
                } else {
                    tracing::info!(slot = %duty.slot, pubkey = %duty.pubkey, "proposal skipped: the key may not sign (doppelganger protection or withdrawal credentials)");
                    ctx.record(duty.slot, Duty::Block, Outcome::Refused, 1);
                }
            }
            slot = next_slot(&ctx.clock).max(slot + 1);
        }
    }

    /// Proposes one block.
    pub async fn propose(&self, duty: ProposerDuty) {
        let ctx = &self.ctx;
        let slot = duty.slot;
        match self.try_propose(duty).await {
            Ok(()) => ctx.record(slot, Duty::Block, Outcome::Performed, 1),
            Err(error) => {
                let outcome = match error {
                    Error::SlashingRefused { .. }
                    | Error::FeeRecipientMismatch { .. }
                    | Error::BlockMismatch { .. }
                    | Error::DoppelgangerHeld { .. } => Outcome::Refused,
                    _ => Outcome::Missed,
                };
                tracing::error!(%slot, pubkey = %duty.pubkey, %error, "block proposal failed");
                ctx.record(slot, Duty::Block, outcome, 1);
            }
        }
    }

    async fn try_propose(&self, duty: ProposerDuty) -> Result<(), Error> {
        let ctx = &self.ctx;
        let slot = duty.slot;
        let epoch = ctx.spec.compute_epoch_at_slot(slot);
        let randao_reveal = ctx.store.sign_randao(duty.pubkey, epoch).await?;
        let request = ProduceBlockRequest {
            slot,
            randao_reveal,
            graffiti: ctx.store.graffiti(&duty.pubkey),
            builder_boost_factor: ctx.config.boost_factor(),
            encoding: Encoding::Json,
        };
        let produced = ctx
            .fallback
            .first_success("produce block", |client| {
                let request = &request;
                async move { client.produce_block::<E>(request).await }
            })
            .await?;
        let fee_recipient = produced.block.fee_recipient();
        let route = produced.route;
        let value = produced.execution_payload_value;
        let signed = ctx
            .store
            .sign_block(
                &ProposalDuty {
                    pubkey: duty.pubkey,
                    validator_index: duty.validator_index,
                    slot,
                },
                produced.block,
            )
            .await?;
        let root = match &signed {
            types::block::SignedProducedBlock::Full(b) => b.block_root(),
            types::block::SignedProducedBlock::Contents(c) => c.signed_block.block_root(),
            types::block::SignedProducedBlock::Blinded(b) => b.block_root(),
        };
        let payload = signed.payload_kind();
        let outcome = ctx
            .fallback
            .publish(BroadcastTopic::Blocks, "publish block", |client| {
                let signed = &signed;
                async move {
                    client
                        .publish_block(signed, Encoding::Ssz, BroadcastValidation::Gossip)
                        .await
                }
            })
            .await?;
        if outcome == PublishOutcome::BroadcastNotImported {
            tracing::warn!(%slot, %root, "block broadcast but not imported by the beacon node");
        }
        if let Some(recorder) = &self.el_values {
            recorder
                .record(slot, root, duty.validator_index, value)
                .await;
        }
        tracing::info!(
            %slot,
            %root,
            proposer = duty.validator_index,
            fee_recipient = %fee_recipient.map_or_else(|| "none".to_owned(), |a| a.to_string()),
            value_wei = %value.map_or_else(|| "unknown".to_owned(), |v| v.to_string()),
            payload = ?payload,
            route = ?route,
            "block published"
        );
        Ok(())
    }
}
