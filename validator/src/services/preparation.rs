//! The preparation service: `prepare_beacon_proposer` for every key the chain knows (one POST
//! per epoch, at start, and whenever a key's index is learnt), and with `--builder` the builder
//! registrations of every enabled active key (one signing batch for what changed, one POST per
//! epoch). Registrations are cached: the same fee recipient and gas limit keep the same
//! timestamp and signature, so builders see a stable registration.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;
use types::api::ProposerPreparationData;
use types::{Epoch, EthSpec, ExecutionAddress, PublicKeyBytes, SignedValidatorRegistrationV1};

use super::{Context, sleep_until};
use crate::config::BuilderMode;
use crate::executor::{TaskExecutor, TaskKind};
use crate::metrics::{Duty, Outcome};

/// The preparation service's task name.
pub const PREPARATION_TASK: &str = "preparation";

/// Proposer preparation and builder registrations.
pub struct PreparationService<E: EthSpec> {
    ctx: Context<E>,
    registrations: HashMap<PublicKeyBytes, SignedValidatorRegistrationV1>,
}

impl<E: EthSpec> PreparationService<E> {
    /// A service over `ctx`.
    pub fn new(ctx: Context<E>) -> Self {
        Self {
            ctx,
            registrations: HashMap::new(),
        }
    }

    /// Spawns the critical task [`PREPARATION_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(PREPARATION_TASK, TaskKind::Critical, self.run(token));
    }

    /// Prepares at start, then every epoch and when keys get indices, until shutdown.
    pub async fn run(mut self, token: CancellationToken) {
        let mut prepared: Option<(Epoch, usize)> = None;
        loop {
            let epoch = self.ctx.current_epoch();
            let known = self.ctx.store.known_indices().len();
            if prepared != Some((epoch, known)) && known > 0 {
                let ok = self.prepare().await;
                if self.ctx.config.builder == BuilderMode::Enabled {
                    self.register(epoch).await;
                }
                if ok {
                    prepared = Some((epoch, known));
                }
            }
            let clock = &self.ctx.clock;
            let wake = clock.now() + clock.duration_to_next_slot().min(clock.slot_duration());
            if !sleep_until(clock, wake, &token).await {
                return;
            }
        }
    }

    /// Sends every known key's fee recipient (one POST); `false` on failure.
    pub async fn prepare(&self) -> bool {
        let ctx = &self.ctx;
        let preparations: Vec<ProposerPreparationData> = ctx
            .store
            .keys()
            .iter()
            .filter(|k| k.status.is_some_and(|s| s.is_active() || s.is_pending()))
            .filter_map(|k| {
                let index = k.index?;
                let fee_recipient = ctx.store.fee_recipient(&k.pubkey)?;
                Some(ProposerPreparationData {
                    validator_index: index,
                    fee_recipient,
                })
            })
            .collect();
        if preparations.is_empty() {
            return true;
        }
        let result = ctx
            .fallback
            .broadcast("prepare beacon proposer", |client| {
                let preparations = &preparations;
                async move { client.post_prepare_beacon_proposer(preparations).await }
            })
            .await;
        match result {
            Ok(()) => {
                tracing::debug!(count = preparations.len(), "proposer preparation sent");
                true
            }
            Err(error) => {
                tracing::warn!(%error, "cannot send proposer preparation");
                false
            }
        }
    }

    /// Signs what changed and sends every enabled active key's builder registration (one POST).
    pub async fn register(&mut self, epoch: Epoch) {
        let ctx = &self.ctx;
        let keys: Vec<(PublicKeyBytes, ExecutionAddress, u64)> = ctx
            .store
            .keys()
            .iter()
            .filter(|k| k.is_active() && ctx.store.is_signing_enabled(&k.pubkey))
            .filter_map(|k| {
                let fee_recipient = ctx.store.fee_recipient(&k.pubkey)?;
                Some((k.pubkey, fee_recipient, ctx.store.gas_limit(&k.pubkey)))
            })
            .collect();
        let timestamp = ctx.clock.now().as_secs();
        let to_sign: Vec<types::ValidatorRegistrationV1> = keys
            .iter()
            .filter(|(pubkey, fee_recipient, gas_limit)| {
                self.registrations.get(pubkey).is_none_or(|r| {
                    r.message.fee_recipient != *fee_recipient || r.message.gas_limit != *gas_limit
                })
            })
            .map(
                |(pubkey, fee_recipient, gas_limit)| types::ValidatorRegistrationV1 {
                    fee_recipient: *fee_recipient,
                    gas_limit: *gas_limit,
                    timestamp,
                    pubkey: *pubkey,
                },
            )
            .collect();
        if !to_sign.is_empty() {
            match ctx.store.sign_validator_registrations(to_sign).await {
                Ok(signed) => {
                    for registration in signed {
                        self.registrations
                            .insert(registration.message.pubkey, registration);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot sign builder registrations");
                }
            }
        }
        let registrations: Vec<SignedValidatorRegistrationV1> = keys
            .iter()
            .filter_map(|(pubkey, _, _)| self.registrations.get(pubkey).copied())
            .collect();
        if registrations.is_empty() {
            return;
        }
        let count = registrations.len();
        let slot = ctx.spec.compute_start_slot_at_epoch(epoch);
        let result = ctx
            .fallback
            .broadcast("builder registrations", |client| {
                let registrations = &registrations;
                async move { client.post_register_validator(registrations).await }
            })
            .await;
        match result {
            Ok(()) => {
                ctx.record(slot, Duty::BuilderRegistration, Outcome::Performed, count);
                tracing::debug!(count, "builder registrations sent");
            }
            Err(error) => {
                ctx.record(slot, Duty::BuilderRegistration, Outcome::Missed, count);
                tracing::warn!(%error, "cannot send builder registrations");
            }
        }
    }
}
