//! The non-slashable messages: RANDAO reveals, selection proofs, aggregates, sync committee
//! messages and contributions, builder registrations and voluntary exits. None needs slashing
//! protection, but all obey doppelganger holding: items of held keys are dropped (selection
//! proofs come back as `None`), never signed.
//!
//! Every batch signs each distinct root once per key set (one hash-to-curve per root): e.g. all
//! sync committee members of a slot sign the same block root as one group.

use std::time::Instant;

use types::{
    AggregateAndProof, ContributionAndProof, DomainKind, Epoch, EthSpec, Hash256, PublicKeyBytes,
    SignatureBytes, SignedAggregateAndProof, SignedContributionAndProof, SignedRoot,
    SignedValidatorRegistrationV1, SignedVoluntaryExit, Slot, SyncAggregatorSelectionData,
    SyncCommitteeMessage, ValidatorRegistrationV1, VoluntaryExit, compute_signing_root,
};

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
    /// Signs `(root, key)` pairs (grouped by root), every key already checked enabled; the
    /// signatures come back in item order.
    async fn sign_roots(
        &self,
        duty: Duty,
        items: Vec<(Hash256, PublicKeyBytes)>,
    ) -> Result<Vec<SignatureBytes>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let count = items.len();
        let (groups, positions) = Self::group_by_root(items);
        let signatures = self.sign_grouped(groups).await?;
        let out = positions
            .into_iter()
            .map(|(group, position)| {
                signatures
                    .get(group)
                    .and_then(|g| g.get(position))
                    .copied()
                    .ok_or(Error::SignerOutput("fewer signatures than requested"))
            })
            .collect::<Result<Vec<_>>>()?;
        self.metrics.signing_batch(duty, count, started.elapsed());
        Ok(out)
    }

    /// Signs `items` whose keys may sign; `None` for the others.
    async fn sign_roots_enabled(
        &self,
        duty: Duty,
        items: Vec<(Hash256, PublicKeyBytes)>,
    ) -> Result<Vec<Option<SignatureBytes>>> {
        let enabled: Vec<bool> = items
            .iter()
            .map(|(_, pubkey)| self.is_signing_enabled(pubkey))
            .collect();
        let to_sign: Vec<(Hash256, PublicKeyBytes)> = items
            .iter()
            .zip(&enabled)
            .filter(|(_, ok)| **ok)
            .map(|(item, _)| *item)
            .collect();
        let mut signatures = self.sign_roots(duty, to_sign).await?.into_iter();
        Ok(enabled
            .into_iter()
            .map(|ok| if ok { signatures.next() } else { None })
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
        self.sign_roots(Duty::Randao, vec![(root, pubkey)])
            .await?
            .pop()
            .ok_or(Error::SignerOutput("no RANDAO reveal"))
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
                (root, *pubkey)
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
                let epoch = self
                    .spec
                    .compute_epoch_at_slot(item.message.attestation_data().slot);
                let domain = self.domain(DomainKind::AggregateAndProof, epoch);
                (
                    compute_signing_root(item.message.tree_hash_root(), domain),
                    item.pubkey,
                )
            })
            .collect();
        let signatures = self.sign_roots(Duty::Aggregate, roots).await?;
        Ok(items
            .into_iter()
            .zip(signatures)
            .map(|(item, signature)| (item.pubkey, item.message.into_signed(signature)))
            .collect())
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
        let signatures = self
            .sign_roots(
                Duty::SyncMessage,
                members.iter().map(|(pubkey, _)| (root, *pubkey)).collect(),
            )
            .await?;
        Ok(members
            .iter()
            .zip(signatures)
            .map(|((_, index), signature)| SyncCommitteeMessage {
                slot,
                beacon_block_root: block_root,
                validator_index: *index,
                signature,
            })
            .collect())
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
                (data.signing_root(domain), item.pubkey)
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
                (item.message.signing_root(domain), item.pubkey)
            })
            .collect();
        let signatures = self.sign_roots(Duty::SyncContribution, roots).await?;
        Ok(items
            .into_iter()
            .zip(signatures)
            .map(|(item, signature)| SignedContributionAndProof {
                message: item.message,
                signature,
            })
            .collect())
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
            .map(|item| (item.signing_root(domain), item.pubkey))
            .collect();
        let signatures = self.sign_roots(Duty::BuilderRegistration, roots).await?;
        Ok(items
            .into_iter()
            .zip(signatures)
            .map(|(message, signature)| SignedValidatorRegistrationV1 { message, signature })
            .collect())
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
        let signature = self
            .sign_roots(
                Duty::VoluntaryExit,
                vec![(exit.signing_root(domain), pubkey)],
            )
            .await?
            .pop()
            .ok_or(Error::SignerOutput("no exit signature"))?;
        Ok(SignedVoluntaryExit {
            message: exit,
            signature,
        })
    }
}
