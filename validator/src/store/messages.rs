//! The non-slashable messages: RANDAO reveals, selection proofs, aggregates, sync committee
//! messages and contributions, builder registrations and voluntary exits. None needs slashing
//! protection, but all obey doppelganger holding: items of held keys are dropped (selection
//! proofs come back as `None`), never signed.
//!
//! Every batch signs each distinct root once per key set (one hash-to-curve per root): e.g. all
//! sync committee members of a slot sign the same block root as one group. Each root travels
//! with its typed message and fork (what a remote signer needs). An item whose signature could
//! not be obtained (a remote signer failed or answered garbage) is dropped and logged; the
//! other items of the batch are unaffected.

use std::time::Instant;

use signer::{Signable, SignableMessage, SignatureResult};
use types::{
    AggregateAndProof, ContributionAndProof, DomainKind, Epoch, EthSpec, Hash256, PublicKeyBytes,
    SignatureBytes, SignedAggregateAndProof, SignedContributionAndProof, SignedRoot,
    SignedValidatorRegistrationV1, SignedVoluntaryExit, Slot, SyncAggregatorSelectionData,
    SyncCommitteeMessage, ValidatorRegistrationV1, VoluntaryExit, compute_signing_root,
};
use types::{Fork, ForkName};

/// At most this many signer failures of one batch are logged one by one.
const LOGGED_FAILURES: usize = 8;

use super::ValidatorStore;
use crate::error::{Error, Result};
use crate::metrics::Duty;

/// An aggregate-and-proof to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateToSign<E: EthSpec> {
    /// The aggregator.
    pub pubkey: PublicKeyBytes,
    /// The message.
    pub message: AggregateAndProof<E>,
}

/// A contribution-and-proof to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionToSign<E: EthSpec> {
    /// The aggregator.
    pub pubkey: PublicKeyBytes,
    /// The message.
    pub message: ContributionAndProof<E>,
}

/// A sync aggregator selection proof to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyncSelection {
    /// The member.
    pub pubkey: PublicKeyBytes,
    /// Its registry index.
    pub validator_index: u64,
    /// The slot.
    pub slot: Slot,
    /// The subcommittee.
    pub subcommittee_index: u64,
}

impl<E: EthSpec> ValidatorStore<E> {
    /// Signs `(root, key, message)` items (grouped by root), every key already checked
    /// enabled; one result per item, in item order.
    async fn sign_roots(
        &self,
        duty: Duty,
        items: Vec<(Hash256, PublicKeyBytes, SignableMessage)>,
    ) -> Result<Vec<SignatureResult>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let (groups, positions) = Self::group_by_root(
            items.iter().map(|(root, pubkey, _)| (*root, *pubkey)),
            |i| items[i].2.clone(),
        );
        let mut signatures = self.sign_grouped(groups).await?;
        let out = positions
            .into_iter()
            .map(|(group, position)| {
                signatures
                    .get_mut(group)
                    .and_then(|g| g.get_mut(position))
                    .map(|slot| std::mem::replace(slot, Err(signer::Error::SignerIncomplete)))
                    .ok_or(Error::SignerOutput("fewer signatures than requested"))
            })
            .collect::<Result<Vec<_>>>()?;
        let signed = out.iter().filter(|r| r.is_ok()).count();
        self.metrics.signing_batch(duty, signed, started.elapsed());
        Ok(out)
    }

    /// Pairs `items` with their signatures, dropping (and logging) those that failed.
    fn keep_signed<T>(
        duty: Duty,
        items: Vec<T>,
        results: Vec<SignatureResult>,
        pubkey: impl Fn(&T) -> PublicKeyBytes,
    ) -> Vec<(T, SignatureBytes)> {
        let mut failed = 0usize;
        let kept = items
            .into_iter()
            .zip(results)
            .filter_map(|(item, result)| match result {
                Ok(signature) => Some((item, signature)),
                Err(error) => {
                    failed += 1;
                    if failed <= LOGGED_FAILURES {
                        tracing::error!(duty = duty.as_str(), pubkey = %pubkey(&item), %error, "not signed: the signer failed");
                    }
                    None
                }
            })
            .collect();
        if failed > LOGGED_FAILURES {
            tracing::error!(
                duty = duty.as_str(),
                failed,
                "signer failures of this batch (not all logged one by one)"
            );
        }
        kept
    }

    /// The one signature of a single-item batch.
    fn single(results: Vec<SignatureResult>, what: &'static str) -> Result<SignatureBytes> {
        results
            .into_iter()
            .next()
            .ok_or(Error::SignerOutput(what))?
            .map_err(Error::Signer)
    }

    /// Signs `items` whose keys may sign; `None` for the others (and for failed signatures).
    async fn sign_roots_enabled(
        &self,
        duty: Duty,
        items: Vec<(Hash256, PublicKeyBytes, SignableMessage)>,
    ) -> Result<Vec<Option<SignatureBytes>>> {
        let enabled: Vec<bool> = items
            .iter()
            .map(|(_, pubkey, _)| self.is_signing_enabled(pubkey))
            .collect();
        let to_sign: Vec<(Hash256, PublicKeyBytes, SignableMessage)> = items
            .into_iter()
            .zip(&enabled)
            .filter(|(_, ok)| **ok)
            .map(|(item, _)| item)
            .collect();
        let pubkeys: Vec<PublicKeyBytes> = to_sign.iter().map(|(_, pk, _)| *pk).collect();
        let results = self.sign_roots(duty, to_sign).await?;
        let mut failed = 0usize;
        let mut signatures = results.into_iter().zip(pubkeys).map(|(result, pubkey)| {
            result
                .map_err(|error| {
                    failed += 1;
                    if failed <= LOGGED_FAILURES {
                        tracing::error!(duty = duty.as_str(), %pubkey, %error, "not signed: the signer failed");
                    }
                })
                .ok()
        });
        Ok(enabled
            .into_iter()
            .map(|ok| {
                if ok {
                    signatures.next().flatten()
                } else {
                    None
                }
            })
            .collect())
    }

    /// The RANDAO reveal of `pubkey` for `epoch`.
    pub async fn sign_randao(
        &self,
        pubkey: PublicKeyBytes,
        epoch: Epoch,
    ) -> Result<SignatureBytes> {
        let _permit = self.signing_permit().await;
        self.ensure_enabled(&pubkey)?;
        let root = epoch.signing_root(self.domain(DomainKind::Randao, epoch));
        let message = self.message(epoch, Signable::RandaoReveal(epoch));
        let results = self
            .sign_roots(Duty::Randao, vec![(root, pubkey, message)])
            .await?;
        Self::single(results, "no RANDAO reveal")
    }

    /// Attestation aggregator selection proofs (slot signatures), one group per slot; `None` for
    /// held keys.
    pub async fn sign_selection_proofs(
        &self,
        items: &[(PublicKeyBytes, Slot)],
    ) -> Result<Vec<Option<SignatureBytes>>> {
        let _permit = self.signing_permit().await;
        let roots = items
            .iter()
            .map(|(pubkey, slot)| {
                let epoch = self.spec.compute_epoch_at_slot(*slot);
                let root = slot.signing_root(self.domain(DomainKind::SelectionProof, epoch));
                (
                    root,
                    *pubkey,
                    self.message(epoch, Signable::AggregationSlot(*slot)),
                )
            })
            .collect();
        self.sign_roots_enabled(Duty::SelectionProof, roots).await
    }

    /// Signs aggregate-and-proofs (items of held keys are dropped).
    pub async fn sign_aggregates(
        &self,
        items: Vec<AggregateToSign<E>>,
    ) -> Result<Vec<(PublicKeyBytes, SignedAggregateAndProof<E>)>> {
        let _permit = self.signing_permit().await;
        let (items, _held) = self.partition_enabled(items, |item| item.pubkey);
        let roots = items
            .iter()
            .map(|item| {
                let slot = item.message.attestation_data().slot;
                let epoch = self.spec.compute_epoch_at_slot(slot);
                let domain = self.domain(DomainKind::AggregateAndProof, epoch);
                let signable = Signable::AggregateAndProof {
                    fork: self.spec.fork_name_at_slot(slot),
                    // Plain containers always encode; Null would only make a remote refuse.
                    message: serde_json::to_value(&item.message).unwrap_or_default(),
                };
                (
                    compute_signing_root(item.message.tree_hash_root(), domain),
                    item.pubkey,
                    self.message(epoch, signable),
                )
            })
            .collect();
        let results = self.sign_roots(Duty::Aggregate, roots).await?;
        Ok(
            Self::keep_signed(Duty::Aggregate, items, results, |item| item.pubkey)
                .into_iter()
                .map(|(item, signature)| (item.pubkey, item.message.into_signed(signature)))
                .collect(),
        )
    }

    /// Sync committee messages of `members` (pubkey, index) over `block_root` at `slot`: one
    /// signing group (held keys dropped).
    pub async fn sign_sync_committee_messages(
        &self,
        slot: Slot,
        block_root: Hash256,
        members: &[(PublicKeyBytes, u64)],
    ) -> Result<Vec<SyncCommitteeMessage>> {
        let _permit = self.signing_permit().await;
        let (members, _held) = self.partition_enabled(members.to_vec(), |m| m.0);
        let epoch = self.spec.compute_epoch_at_slot(slot);
        let root = block_root.signing_root(self.domain(DomainKind::SyncCommittee, epoch));
        let message = self.message(
            epoch,
            Signable::SyncCommitteeMessage {
                beacon_block_root: block_root,
                slot,
            },
        );
        let results = self
            .sign_roots(
                Duty::SyncMessage,
                members
                    .iter()
                    .map(|(pubkey, _)| (root, *pubkey, message.clone()))
                    .collect(),
            )
            .await?;
        Ok(
            Self::keep_signed(Duty::SyncMessage, members, results, |m| m.0)
                .into_iter()
                .map(|((_, index), signature)| SyncCommitteeMessage {
                    slot,
                    beacon_block_root: block_root,
                    validator_index: index,
                    signature,
                })
                .collect(),
        )
    }

    /// Sync aggregator selection proofs, one group per (slot, subcommittee); `None` for held
    /// keys.
    pub async fn sign_sync_selection_proofs(
        &self,
        items: &[SyncSelection],
    ) -> Result<Vec<Option<SignatureBytes>>> {
        let _permit = self.signing_permit().await;
        let roots = items
            .iter()
            .map(|item| {
                let epoch = self.spec.compute_epoch_at_slot(item.slot);
                let data = SyncAggregatorSelectionData {
                    slot: item.slot,
                    subcommittee_index: item.subcommittee_index,
                };
                let domain = self.domain(DomainKind::SyncCommitteeSelectionProof, epoch);
                (
                    data.signing_root(domain),
                    item.pubkey,
                    self.message(epoch, Signable::SyncCommitteeSelectionProof(data)),
                )
            })
            .collect();
        self.sign_roots_enabled(Duty::SelectionProof, roots).await
    }

    /// Signs contribution-and-proofs (items of held keys are dropped).
    pub async fn sign_contributions(
        &self,
        items: Vec<ContributionToSign<E>>,
    ) -> Result<Vec<SignedContributionAndProof<E>>> {
        let _permit = self.signing_permit().await;
        let (items, _held) = self.partition_enabled(items, |item| item.pubkey);
        let roots = items
            .iter()
            .map(|item| {
                let epoch = self
                    .spec
                    .compute_epoch_at_slot(item.message.contribution.slot);
                let domain = self.domain(DomainKind::ContributionAndProof, epoch);
                // Plain containers always encode; Null would only make a remote refuse.
                let json = serde_json::to_value(&item.message).unwrap_or_default();
                (
                    item.message.signing_root(domain),
                    item.pubkey,
                    self.message(epoch, Signable::SyncCommitteeContributionAndProof(json)),
                )
            })
            .collect();
        let results = self.sign_roots(Duty::SyncContribution, roots).await?;
        Ok(
            Self::keep_signed(Duty::SyncContribution, items, results, |item| item.pubkey)
                .into_iter()
                .map(|(item, signature)| SignedContributionAndProof {
                    message: item.message,
                    signature,
                })
                .collect(),
        )
    }

    /// Signs builder registrations (items of held keys are dropped).
    pub async fn sign_validator_registrations(
        &self,
        items: Vec<ValidatorRegistrationV1>,
    ) -> Result<Vec<SignedValidatorRegistrationV1>> {
        let _permit = self.signing_permit().await;
        let (items, _held) = self.partition_enabled(items, |item| item.pubkey);
        // The builder domain ignores the epoch (genesis fork version, zero genesis root).
        let domain = self.domain(DomainKind::ApplicationBuilder, Epoch(0));
        let roots = items
            .iter()
            .map(|item| {
                (
                    item.signing_root(domain),
                    item.pubkey,
                    SignableMessage {
                        fork_info: None,
                        signable: Signable::ValidatorRegistration(*item),
                    },
                )
            })
            .collect();
        let results = self.sign_roots(Duty::BuilderRegistration, roots).await?;
        Ok(
            Self::keep_signed(Duty::BuilderRegistration, items, results, |item| {
                item.pubkey
            })
            .into_iter()
            .map(|(message, signature)| SignedValidatorRegistrationV1 { message, signature })
            .collect(),
        )
    }

    /// Signs a voluntary exit of `pubkey` (EIP-7044 domain from Deneb on).
    pub async fn sign_voluntary_exit(
        &self,
        pubkey: PublicKeyBytes,
        exit: VoluntaryExit,
        current_epoch: Epoch,
    ) -> Result<SignedVoluntaryExit> {
        let _permit = self.signing_permit().await;
        self.ensure_enabled(&pubkey)?;
        let info = self.key(&pubkey).ok_or(Error::UnknownValidator(pubkey))?;
        if info.index != Some(exit.validator_index) {
            return Err(Error::Config(format!(
                "exit for validator {} signed with key {pubkey} whose index is {:?}",
                exit.validator_index, info.index
            )));
        }
        let domain = self.spec.voluntary_exit_domain(
            exit.epoch,
            current_epoch,
            self.genesis_validators_root,
        );
        // The fork a remote signer derives that same domain from: from Deneb on the Capella
        // version whatever the epoch (EIP-7044), before it the fork at the exit's epoch.
        let fork = if self.spec.fork_name_at_epoch(current_epoch) >= ForkName::Deneb {
            let capella = self
                .spec
                .fork_version(ForkName::Capella)
                .unwrap_or_else(|| self.spec.genesis_fork_version());
            Fork {
                previous_version: capella,
                current_version: capella,
                epoch: self.spec.fork_epoch(ForkName::Capella).unwrap_or(Epoch(0)),
            }
        } else {
            self.spec.fork_at_epoch(exit.epoch)
        };
        let message = SignableMessage {
            fork_info: Some(signer::ForkInfo {
                fork,
                genesis_validators_root: self.genesis_validators_root,
            }),
            signable: Signable::VoluntaryExit(exit),
        };
        let results = self
            .sign_roots(
                Duty::VoluntaryExit,
                vec![(exit.signing_root(domain), pubkey, message)],
            )
            .await?;
        let signature = Self::single(results, "no exit signature")?;
        Ok(SignedVoluntaryExit {
            message: exit,
            signature,
        })
    }
}
