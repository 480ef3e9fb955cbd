//! The slashable messages: attestations (batched) and blocks. See the module invariant in
//! [`super`]: a signature is returned only for items slashing protection recorded as safe.

use std::collections::HashMap;
use std::time::Instant;

use signer::{BlockMessage, Signable};
use slashing_protection::{AttestationRequest, BlockRequest};
use tree_hash::TreeHash;
use types::block::{ProducedBlock, SignedProducedBlock};
use types::{
    AttestationData, DomainKind, Epoch, EthSpec, ForkName, Hash256, PublicKeyBytes, SignatureBytes,
    SignedRoot, Slot, compute_signing_root,
};

use super::ValidatorStore;
use crate::error::{Error, Result};
use crate::metrics::Duty;

/// At most this many refusals of one batch are logged one by one; the rest are summarised.
const LOGGED_REFUSALS: usize = 8;

/// One attestation to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationToSign {
    /// The attester.
    pub pubkey: PublicKeyBytes,
    /// Its registry index.
    pub validator_index: u64,
    /// Its committee.
    pub committee_index: u64,
    /// The committee's size.
    pub committee_length: u64,
    /// Its position in the committee (its aggregation bit).
    pub committee_position: u64,
    /// The vote, `index` already set for the fork (the committee before Electra, 0 after).
    pub data: AttestationData,
}

/// The outcome of a signing batch.
#[derive(Debug, Clone, Default)]
pub struct AttestationBatch {
    /// Recorded by slashing protection and signed.
    pub signed: Vec<(AttestationToSign, SignatureBytes)>,
    /// Not signed, with the reason.
    pub refused: Vec<(AttestationToSign, String)>,
}

/// A proposal duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalDuty {
    /// The proposer.
    pub pubkey: PublicKeyBytes,
    /// Its registry index.
    pub validator_index: u64,
    /// The slot.
    pub slot: Slot,
}

fn log_refusals(what: &str, refused: &[(AttestationToSign, String)]) {
    for (item, reason) in refused.iter().take(LOGGED_REFUSALS) {
        tracing::warn!(
            pubkey = %item.pubkey,
            validator_index = item.validator_index,
            slot = %item.data.slot,
            source = %item.data.source.epoch,
            target = %item.data.target.epoch,
            %reason,
            "{what} not signed"
        );
    }
    if refused.len() > LOGGED_REFUSALS {
        tracing::warn!(
            more = refused.len() - LOGGED_REFUSALS,
            "{what}s not signed (further refusals of this batch not logged one by one)"
        );
    }
}

impl<E: EthSpec> ValidatorStore<E> {
    /// Signs a batch of attestations: one slashing-protection batch (one durable transaction)
    /// and one signing batch (one hash-to-curve per distinct signing root: per committee before
    /// Electra, per slot after), run concurrently for local keys; remote keys are asked
    /// afterwards, and only for the items recorded as safe. Only signatures whose record was
    /// `Safe` are returned; refusals (slashing protection, doppelganger, a failed signer) are
    /// logged and returned for the caller to count.
    ///
    /// An `Err` means the database or the signer failed: nothing of this batch may be
    /// published.
    pub async fn sign_attestations(
        &self,
        items: Vec<AttestationToSign>,
    ) -> Result<AttestationBatch> {
        let _permit = self.signing_permit().await;
        let started = Instant::now();
        let (enabled, held) = self.partition_enabled(items, |item| item.pubkey);
        let mut refused: Vec<(AttestationToSign, String)> = held
            .into_iter()
            .map(|item| {
                let reason = if self.key(&item.pubkey).is_some() {
                    "held by doppelganger protection"
                } else {
                    "key no longer loaded"
                };
                (item, reason.to_owned())
            })
            .collect();

        let mut domains: HashMap<Epoch, Hash256> = HashMap::new();
        let mut roots: HashMap<AttestationData, Hash256> = HashMap::new();
        let signing_roots: Vec<Hash256> = enabled
            .iter()
            .map(|item| {
                let data = item.data;
                *roots.entry(data).or_insert_with(|| {
                    let domain = *domains.entry(data.target.epoch).or_insert_with(|| {
                        self.domain(DomainKind::BeaconAttester, data.target.epoch)
                    });
                    data.signing_root(domain)
                })
            })
            .collect();
        let requests: Vec<AttestationRequest> = enabled
            .iter()
            .zip(&signing_roots)
            .map(|(item, root)| AttestationRequest {
                pubkey: item.pubkey,
                source: item.data.source.epoch,
                target: item.data.target.epoch,
                signing_root: *root,
            })
            .collect();
        // Local keys sign while the slashing-protection transaction commits (nothing leaves
        // before it is recorded); remote keys are asked only for what was recorded as safe.
        let remote: Vec<bool> = enabled
            .iter()
            .map(|item| self.signer.is_remote(&item.pubkey))
            .collect();
        let describe = |i: usize| {
            let data = enabled[i].data;
            self.message(data.target.epoch, Signable::Attestation(data))
        };
        let local: Vec<usize> = (0..enabled.len()).filter(|i| !remote[*i]).collect();
        let (groups, positions) = Self::group_by_root(
            local
                .iter()
                .map(|i| (signing_roots[*i], enabled[*i].pubkey)),
            |j| describe(local[j]),
        );

        let mut signed = Vec::with_capacity(enabled.len());
        if !enabled.is_empty() {
            let (checks, signatures) = tokio::join!(
                self.slashing.check_and_insert_attestations(&requests),
                async {
                    if groups.is_empty() {
                        Ok(Vec::new())
                    } else {
                        self.sign_grouped(groups).await
                    }
                }
            );
            let checks = checks?;
            if checks.len() != enabled.len() {
                return Err(Error::SlashingProtection(
                    slashing_protection::Error::Corrupt(format!(
                        "{} results for {} attestations",
                        checks.len(),
                        enabled.len()
                    )),
                ));
            }
            let mut signatures = signatures?;
            // Where each item's signature is: (remote batch?, group, position).
            let mut places: Vec<Option<(bool, usize, usize)>> = vec![None; enabled.len()];
            for (i, (group, position)) in local.iter().zip(positions) {
                places[*i] = Some((false, group, position));
            }
            let safe_remote: Vec<usize> = (0..enabled.len())
                .filter(|i| remote[*i] && checks[*i].is_ok())
                .collect();
            let mut remote_signatures = Vec::new();
            if !safe_remote.is_empty() {
                let (groups, positions) = Self::group_by_root(
                    safe_remote
                        .iter()
                        .map(|i| (signing_roots[*i], enabled[*i].pubkey)),
                    |j| describe(safe_remote[j]),
                );
                remote_signatures = self.sign_grouped(groups).await?;
                for (i, (group, position)) in safe_remote.iter().zip(positions) {
                    places[*i] = Some((true, group, position));
                }
            }
            for ((item, check), place) in enabled.iter().zip(checks).zip(places) {
                match check {
                    Ok(_) => {
                        let signature = place
                            .and_then(|(is_remote, group, position)| {
                                let batch = if is_remote {
                                    &mut remote_signatures
                                } else {
                                    &mut signatures
                                };
                                batch.get_mut(group).and_then(|g| g.get_mut(position))
                            })
                            .map(|slot| {
                                std::mem::replace(slot, Err(signer::Error::SignerIncomplete))
                            })
                            .ok_or(Error::SignerOutput(
                                "fewer attestation signatures than requested",
                            ))?;
                        match signature {
                            Ok(signature) => signed.push((*item, signature)),
                            // Recorded but not signed: safe, the duty is lost.
                            Err(error) => {
                                refused.push((*item, format!("the signer failed: {error}")))
                            }
                        }
                    }
                    Err(reason) => refused.push((*item, reason.to_string())),
                }
            }
        }
        self.metrics
            .signing_batch(Duty::Attestation, signed.len(), started.elapsed());
        log_refusals("attestation", &refused);
        Ok(AttestationBatch { signed, refused })
    }

    /// Signs a block for `duty` after checking, in order: the key may sign; the block is the
    /// duty's (slot, proposer, fork); it pays an allowed fee recipient (pool safety); slashing
    /// protection records it as safe. Any failure refuses the block (logged; pool-safety
    /// refusals counted in `poolvc_pool_safety_refusals_total`).
    pub async fn sign_block(
        &self,
        duty: &ProposalDuty,
        block: ProducedBlock<E>,
    ) -> Result<SignedProducedBlock<E>> {
        let _permit = self.signing_permit().await;
        let started = Instant::now();
        self.ensure_enabled(&duty.pubkey)?;
        let expected_fork = self.spec.fork_name_at_slot(duty.slot);
        let mismatch = if block.slot() != duty.slot {
            Some(format!("slot {} instead of {}", block.slot(), duty.slot))
        } else if block.proposer_index() != duty.validator_index {
            Some(format!(
                "proposer {} instead of {}",
                block.proposer_index(),
                duty.validator_index
            ))
        } else if block.fork_name() != expected_fork {
            Some(format!(
                "fork {} instead of {expected_fork}",
                block.fork_name()
            ))
        } else {
            None
        };
        if let Some(detail) = mismatch {
            tracing::error!(pubkey = %duty.pubkey, slot = %duty.slot, %detail, "block does not match the proposal duty; not signed");
            return Err(Error::BlockMismatch {
                pubkey: duty.pubkey,
                detail,
            });
        }
        if let Some(found) = block.fee_recipient()
            && let Err(expected) = self.fee_recipient_allowed(&duty.pubkey, found)
        {
            self.metrics.pool_safety_refusals.inc();
            tracing::error!(
                slot = %duty.slot,
                pubkey = %duty.pubkey,
                found = %found,
                expected = %expected,
                "pool safety: block pays a fee recipient the pool does not allow; not signed"
            );
            return Err(Error::FeeRecipientMismatch {
                slot: duty.slot,
                pubkey: duty.pubkey,
                found,
                expected: expected.0,
            });
        }
        let domain = self.domain(
            DomainKind::BeaconProposer,
            self.spec.compute_epoch_at_slot(duty.slot),
        );
        let signing_root = compute_signing_root(block.block_root(), domain);
        let check = self
            .slashing
            .check_and_insert_blocks(&[BlockRequest {
                pubkey: duty.pubkey,
                slot: duty.slot,
                signing_root,
            }])
            .await?
            .pop()
            .ok_or_else(|| {
                Error::SlashingProtection(slashing_protection::Error::Corrupt(
                    "a one-block batch returned no result".to_owned(),
                ))
            })?;
        if let Err(reason) = check {
            tracing::warn!(pubkey = %duty.pubkey, slot = %duty.slot, %reason, "block not signed");
            return Err(Error::SlashingRefused {
                pubkey: duty.pubkey,
                reason,
            });
        }
        let header = match &block {
            ProducedBlock::Full(b) => b.block_header(),
            ProducedBlock::Contents(c) => c.block.block_header(),
            ProducedBlock::Blinded(b) => b.block_header(),
        };
        let fork = block.fork_name();
        let block_message = if fork >= ForkName::Bellatrix {
            BlockMessage::Header(header)
        } else {
            // Plain containers always encode; Null would only make a remote refuse.
            BlockMessage::Full(serde_json::to_value(&block).unwrap_or_default())
        };
        let message = self.message(
            self.spec.compute_epoch_at_slot(duty.slot),
            Signable::Block {
                fork,
                block: block_message,
            },
        );
        let mut signatures = self
            .sign_grouped(vec![signer::SigningGroup {
                signing_root,
                message,
                pubkeys: vec![duty.pubkey],
            }])
            .await?;
        let signature = signatures
            .pop()
            .and_then(|mut g| g.pop())
            .ok_or(Error::SignerOutput("no block signature"))?
            .map_err(|error| {
                // Recorded but not signed: safe, the proposal is lost.
                tracing::error!(pubkey = %duty.pubkey, slot = %duty.slot, %error, "block not signed: the signer failed");
                Error::Signer(error)
            })?;
        self.metrics
            .signing_batch(Duty::Block, 1, started.elapsed());
        Ok(block.into_signed(signature))
    }

    /// The root a block of `slot` with root `block_root` is signed over (for tests and audits).
    pub fn block_signing_root(&self, slot: Slot, block_root: Hash256) -> Hash256 {
        let domain = self.domain(
            DomainKind::BeaconProposer,
            self.spec.compute_epoch_at_slot(slot),
        );
        compute_signing_root(block_root, domain)
    }

    /// The signing root of attestation data (for tests and audits).
    pub fn attestation_signing_root(&self, data: &AttestationData) -> Hash256 {
        compute_signing_root(
            data.tree_hash_root(),
            self.domain(DomainKind::BeaconAttester, data.target.epoch),
        )
    }
}
