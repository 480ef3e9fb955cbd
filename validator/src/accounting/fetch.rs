//! Fetching one epoch's [`EpochInputs`] from beacon nodes, exactly as `docs/accounting.md`
//! names the sources, so that anyone with a beacon node gets the same inputs.
//!
//! Invariants:
//! - only final data is read: epoch e is fetched once the finalized checkpoint is at e+2 or
//!   later, and its blocks are the finalized checkpoint block's ancestors, found by walking
//!   parent roots and read by root ([`super::canonical`]), never by slot;
//! - an optional endpoint the node lacks (rewards, 404/405/501) makes the breakdown
//!   unavailable; it never makes the income inexact. A required one (Electra's pending
//!   deposits) failing is an error: the epoch is retried rather than accounted wrong;
//! - proposer duties come from the duties endpoint, or — on nodes that serve only the current
//!   epoch — are recomputed from the state by the consensus rules ([`super::state`]);
//! - states are read through the standard state endpoints; once a node answers those with an
//!   error for a finalized slot (Lodestar 1.5.1 drops finalized states from its caches), the
//!   fetcher reads whole states from the debug API instead and derives the same answers
//!   ([`super::state::StateView`]), for the rest of its life.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use pool_registry::ledger::{
    AtSlot, AttestationsRewards, BlockFacts, BlockRewards, Committee, ElBlockValue, EpochInputs,
    PendingDeposit, ProposerDuty, RewardsInputs, SyncCommittee, SyncCommitteeReward,
    ValidatorEntry,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use types::api::{BlockId, StateId, ValidatorId};
use types::{ChainSpec, Checkpoint, Epoch, EthSpec, ForkName, Hash256, PublicKeyBytes, Slot};

use super::canonical::CanonicalChain;
use super::state::StateView;
use super::{AccountingError, Result};
use crate::beacon_node::BeaconNodeFallback;
use crate::services::chain::normalize_committees;

/// Converts between two serde shapes of the same Beacon API JSON (the client's types and the
/// ledger's input types describe the same responses).
fn convert<T: Serialize, U: DeserializeOwned>(epoch: Epoch, what: &str, value: &T) -> Result<U> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| AccountingError::Input {
            epoch,
            detail: format!("{what} does not convert to the ledger's input shape: {e}"),
        })
}

/// `None` when the node answers 404: it no longer has (or never had) that state. Kept out of
/// the fallback's failure accounting: it is an answer, not a fault of the node.
fn state_absent<T>(result: crate::beacon_node::Result<T>) -> crate::beacon_node::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(crate::beacon_node::Error::Status { status: 404, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The block with `root`, reduced to what accounting needs (`None`: no node has it). The root
/// is recomputed from the content by [`BlockFacts::from_block`]; the caller checks it.
async fn block_by_root<E: EthSpec>(
    fallback: Arc<BeaconNodeFallback>,
    root: Hash256,
) -> Result<Option<BlockFacts>> {
    let block = fallback
        .first_success("accounting: block", |client| async move {
            client.get_block::<E>(BlockId::Root(root)).await
        })
        .await?;
    Ok(block.map(|b| BlockFacts::from_block(&b.data)))
}

/// How finalized states are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAccess {
    /// The standard state endpoints (validators, committees, sync committees).
    Standard,
    /// Whole states from the debug API, with the answers derived locally.
    DebugState,
}

/// Fetches epoch inputs, keeping the canonical chain read so far (the blocks of the last
/// epochs) and the last states between calls (epoch e needs the blocks of e and e+1 and the
/// states at the ends of e−1 and e; the next epoch reuses the newer half).
pub struct EpochFetcher<E: EthSpec> {
    fallback: Arc<BeaconNodeFallback>,
    spec: Arc<ChainSpec>,
    access: StateAccess,
    chain: CanonicalChain,
    states: BTreeMap<Slot, Arc<StateView>>,
    _preset: PhantomData<E>,
}

impl<E: EthSpec> std::fmt::Debug for EpochFetcher<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochFetcher")
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl<E: EthSpec> EpochFetcher<E> {
    /// A fetcher over `fallback`.
    pub fn new(fallback: Arc<BeaconNodeFallback>, spec: Arc<ChainSpec>) -> Self {
        Self {
            chain: CanonicalChain::new(spec.slots_per_epoch),
            fallback,
            spec,
            access: StateAccess::Standard,
            states: BTreeMap::new(),
            _preset: PhantomData,
        }
    }

    /// A fetcher that reads states from the debug API from the start (tests, and auditors
    /// whose node is known to need it).
    pub fn with_access(mut self, access: StateAccess) -> Self {
        self.access = access;
        self
    }

    /// How states are read now.
    pub fn access(&self) -> StateAccess {
        self.access
    }

    /// The debug state at `slot` (cached).
    async fn state_view(&mut self, slot: Slot) -> Result<Arc<StateView>> {
        if let Some(state) = self.states.get(&slot) {
            return Ok(state.clone());
        }
        let view: StateView = self
            .fallback
            .first_success("accounting: debug state", |client| async move {
                client.get_debug_state(StateId::Slot(slot)).await
            })
            .await?;
        let view = Arc::new(view);
        self.states.insert(slot, view.clone());
        while self.states.len() > 2 {
            self.states.pop_first();
        }
        Ok(view)
    }

    /// Switches to debug states after a standard state read found no state (`None`) or
    /// failed, if the debug API can serve `slot`; otherwise returns both reasons.
    async fn fall_back_to_debug(
        &mut self,
        slot: Slot,
        error: Option<AccountingError>,
    ) -> Result<Arc<StateView>> {
        match self.state_view(slot).await {
            Ok(view) => {
                tracing::info!(%slot, "the beacon node's state endpoints no longer serve this finalized state; reading debug states from now on");
                self.access = StateAccess::DebugState;
                Ok(view)
            }
            Err(debug_error) => Err(AccountingError::Input {
                epoch: Epoch(slot.as_u64() / self.spec.slots_per_epoch),
                detail: format!(
                    "the state at slot {slot} is unavailable: {}; debug API: {debug_error}",
                    error.map_or_else(|| "not found (404)".to_owned(), |e| e.to_string())
                ),
            }),
        }
    }

    /// The standard answer when there is one; otherwise (no state, or an error) switches to
    /// debug states for `slot` and answers `None`.
    async fn settle<T>(&mut self, slot: Slot, standard: Result<Option<T>>) -> Result<Option<T>> {
        match standard {
            Ok(Some(value)) => Ok(Some(value)),
            Ok(None) => self.fall_back_to_debug(slot, None).await.map(|_| None),
            Err(error) => self
                .fall_back_to_debug(slot, Some(error))
                .await
                .map(|_| None),
        }
    }

    fn state_error(epoch: Epoch, error: super::state::StateError) -> AccountingError {
        AccountingError::Input {
            epoch,
            detail: error.to_string(),
        }
    }

    /// Everything needed to account `epoch` for the validators with `keys`; `finalized` is the
    /// finalized checkpoint (at epoch + 2 or later) the canonical blocks are found from;
    /// `el_values` are the EL values recorded for blocks of the epoch.
    pub async fn fetch(
        &mut self,
        epoch: Epoch,
        finalized: Checkpoint,
        keys: &[PublicKeyBytes],
        el_values: Vec<ElBlockValue>,
    ) -> Result<EpochInputs> {
        if epoch.as_u64() == 0 {
            return Err(AccountingError::Input {
                epoch,
                detail: "epoch 0 has no previous state".into(),
            });
        }
        if finalized.epoch < epoch + 2 {
            return Err(AccountingError::Input {
                epoch,
                detail: format!(
                    "not final yet: the finalized checkpoint is at epoch {}, epoch {} is needed",
                    finalized.epoch,
                    epoch + 2
                ),
            });
        }
        let spe = self.spec.slots_per_epoch;
        let start = epoch.start_slot(spe);
        let end = epoch.end_slot(spe);
        let end_next = (epoch + 1).end_slot(spe);
        let fork = self.spec.fork_name_at_epoch(epoch);

        let fallback = self.fallback.clone();
        let blocks = self
            .chain
            .blocks(start, end_next, finalized, |root| {
                block_by_root::<E>(fallback.clone(), root)
            })
            .await?;
        let validators_start = self.validators(epoch, start - 1, keys).await?;
        let validators_end = self.validators(epoch, end, keys).await?;
        let committees = self.committees(epoch, end).await?;
        let proposer_duties = self.proposer_duties(epoch, end, fork).await?;
        let sync_committee = if fork >= ForkName::Altair {
            Some(self.sync_committee(epoch, end).await?)
        } else {
            None
        };
        // The state at the end of e−1 has a deposit queue only from Electra on: at Electra's
        // first epoch the queue starts empty (what the upgrade queues is in the end state).
        let pending_deposits_start = if fork >= ForkName::Electra
            && self.spec.fork_name_at_epoch(epoch - 1) >= ForkName::Electra
        {
            Some(self.pending_deposits(epoch, start - 1).await?)
        } else {
            None
        };
        let pending_deposits_end = if fork >= ForkName::Electra {
            Some(self.pending_deposits(epoch, end).await?)
        } else {
            None
        };
        let indices: Vec<u64> = validators_end.iter().map(|v| v.index).collect();
        let in_epoch: Vec<&BlockFacts> = blocks.iter().filter(|b| b.slot <= end).collect();
        let rewards = self.rewards(epoch, &indices, &in_epoch).await?;
        Ok(EpochInputs {
            epoch,
            validators_start,
            validators_end,
            blocks,
            committees,
            proposer_duties,
            sync_committee,
            pending_deposits_start,
            pending_deposits_end,
            el_values,
            rewards,
        })
    }

    async fn validators(
        &mut self,
        epoch: Epoch,
        slot: Slot,
        keys: &[PublicKeyBytes],
    ) -> Result<Vec<ValidatorEntry>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if self.access == StateAccess::Standard {
            let standard = self.standard_validators(epoch, slot, keys).await;
            if let Some(value) = self.settle(slot, standard).await? {
                return Ok(value);
            }
        }
        let view = self.state_view(slot).await?;
        view.validators::<E>(keys)
            .map_err(|e| Self::state_error(epoch, e))
    }

    async fn standard_validators(
        &self,
        epoch: Epoch,
        slot: Slot,
        keys: &[PublicKeyBytes],
    ) -> Result<Option<Vec<ValidatorEntry>>> {
        let ids: Vec<ValidatorId> = keys.iter().copied().map(ValidatorId::PublicKey).collect();
        let response = self
            .fallback
            .first_success("accounting: validators", |client| {
                let ids = &ids;
                async move {
                    state_absent(
                        client
                            .post_state_validators(StateId::Slot(slot), ids, &[])
                            .await,
                    )
                }
            })
            .await?;
        let Some(response) = response else {
            return Ok(None);
        };
        let mut entries: Vec<ValidatorEntry> = response
            .data
            .iter()
            .map(|v| convert(epoch, "a validator", v))
            .collect::<Result<_>>()?;
        entries.sort_by_key(|v| v.index);
        Ok(Some(entries))
    }

    async fn committees(&mut self, epoch: Epoch, end: Slot) -> Result<Vec<Committee>> {
        if self.access == StateAccess::Standard {
            let standard = self.standard_committees(epoch, end).await;
            if let Some(value) = self.settle(end, standard).await? {
                return Ok(value);
            }
        }
        let view = self.state_view(end).await?;
        view.committees::<E>(epoch)
            .map_err(|e| Self::state_error(epoch, e))
    }

    async fn standard_committees(&self, epoch: Epoch, end: Slot) -> Result<Option<Vec<Committee>>> {
        let spe = self.spec.slots_per_epoch;
        let committees = self
            .fallback
            .first_success("accounting: committees", |client| async move {
                state_absent(
                    client
                        .get_committees(StateId::Slot(end), Some(epoch), None, None)
                        .await,
                )
            })
            .await?;
        let Some(committees) = committees else {
            return Ok(None);
        };
        normalize_committees(epoch, spe, committees.data)
            .iter()
            .map(|c| convert(epoch, "a committee", c))
            .collect::<Result<_>>()
            .map(Some)
    }

    async fn proposer_duties(
        &mut self,
        epoch: Epoch,
        end: Slot,
        fork: ForkName,
    ) -> Result<Vec<ProposerDuty>> {
        let spe = self.spec.slots_per_epoch;
        let served = if self.access == StateAccess::Standard {
            self.fallback
                .first_success("accounting: proposer duties", |client| async move {
                    match client.get_proposer_duties(epoch).await {
                        Ok(duties) => Ok(Some(duties.data)),
                        // Served for the current epoch only (Lodestar 1.5.1): recomputed below.
                        Err(crate::beacon_node::Error::Status { .. }) => Ok(None),
                        Err(error) => Err(error),
                    }
                })
                .await?
        } else {
            None
        };
        let mut duties: Vec<ProposerDuty> = match served {
            Some(duties) => duties
                .iter()
                .map(|d| convert(epoch, "a proposer duty", d))
                .collect::<Result<_>>()?,
            None => {
                let view = self.state_view(end).await?;
                view.proposer_duties::<E>(epoch, fork)
                    .map_err(|e| Self::state_error(epoch, e))?
            }
        };
        duties.retain(|d| d.slot.epoch(spe) == epoch);
        duties.sort_by_key(|d| d.slot);
        Ok(duties)
    }

    async fn sync_committee(&mut self, epoch: Epoch, end: Slot) -> Result<SyncCommittee> {
        if self.access == StateAccess::Standard {
            let standard = self.standard_sync_committee(epoch, end).await;
            if let Some(value) = self.settle(end, standard).await? {
                return Ok(value);
            }
        }
        let view = self.state_view(end).await?;
        view.sync_committee::<E>()
            .map_err(|e| Self::state_error(epoch, e))
    }

    async fn standard_sync_committee(
        &self,
        epoch: Epoch,
        end: Slot,
    ) -> Result<Option<SyncCommittee>> {
        let committee = self
            .fallback
            .first_success("accounting: sync committee", |client| async move {
                state_absent(
                    client
                        .get_sync_committees(StateId::Slot(end), Some(epoch))
                        .await,
                )
            })
            .await?;
        let Some(committee) = committee.map(|c| c.data) else {
            return Ok(None);
        };
        Ok(Some(SyncCommittee {
            validators: committee.validators,
            validator_aggregates: committee
                .validator_aggregates
                .iter()
                .map(|sub| sub.iter().map(u64::to_string).collect())
                .collect(),
        }))
    }

    async fn pending_deposits(&mut self, epoch: Epoch, slot: Slot) -> Result<Vec<PendingDeposit>> {
        if self.access == StateAccess::DebugState {
            let view = self.state_view(slot).await?;
            return view.pending_deposits.clone().ok_or_else(|| {
                Self::state_error(epoch, super::state::StateError::Missing("pending_deposits"))
            });
        }
        self.fallback
            .first_success("accounting: pending deposits", |client| async move {
                client.get_pending_deposits(StateId::Slot(slot)).await
            })
            .await?
            .ok_or_else(|| AccountingError::Input {
                epoch,
                detail: format!(
                    "no beacon node serves /eth/v1/beacon/states/{slot}/pending_deposits, which Electra income needs"
                ),
            })
    }

    /// The rewards endpoints' answers, or `None` when the node lacks any of them.
    async fn rewards(
        &self,
        epoch: Epoch,
        indices: &[u64],
        blocks: &[&BlockFacts],
    ) -> Result<Option<RewardsInputs>> {
        // The transition into e rewards e−2's attestations; epoch 1 has no such epoch.
        let Some(rewarded) = epoch.as_u64().checked_sub(2).map(Epoch) else {
            return Ok(None);
        };
        let attestations: Option<AttestationsRewards> = self
            .fallback
            .first_success("accounting: attestation rewards", |client| async move {
                client.post_attestation_rewards(rewarded, indices).await
            })
            .await?;
        let Some(attestations) = attestations else {
            return Ok(None);
        };
        let mut block_rewards = Vec::with_capacity(blocks.len());
        let mut sync_rewards = Vec::with_capacity(blocks.len());
        for block in blocks {
            let id = BlockId::Root(block.root);
            let rewards: Option<BlockRewards> = self
                .fallback
                .first_success("accounting: block rewards", |client| async move {
                    client.get_block_rewards(id).await
                })
                .await?;
            let Some(rewards) = rewards else {
                return Ok(None);
            };
            block_rewards.push(AtSlot {
                slot: block.slot,
                data: rewards,
            });
            let sync: Option<Vec<SyncCommitteeReward>> = self
                .fallback
                .first_success("accounting: sync committee rewards", |client| async move {
                    client.post_sync_committee_rewards(id, indices).await
                })
                .await?;
            let Some(sync) = sync else {
                return Ok(None);
            };
            sync_rewards.push(AtSlot {
                slot: block.slot,
                data: sync,
            });
        }
        Ok(Some(RewardsInputs {
            attestations,
            blocks: block_rewards,
            sync_committee: sync_rewards,
        }))
    }
}
