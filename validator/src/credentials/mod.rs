//! Pointing validators' BLS (`0x00`) withdrawal credentials at an execution address: what
//! `poolvc credentials set-withdrawal-address` does.
//!
//! Invariants:
//! - a change is signed only for a validator whose credentials in the head state are `0x00` and
//!   equal `0x00 ‖ sha256(from_bls_pubkey)[1..]` of a withdrawal key given; any other validator is
//!   reported with the reason and left alone (credentials already pointing at the address are
//!   "already set", not an error);
//! - the signing domain is built from the genesis fork version and the chain's genesis validators
//!   root ([`types::BlsToExecutionChange::signing_root_for`]), whatever the current fork;
//! - every POST carries at most [`MAX_BATCH`] changes (a block includes only 16: the node's pool
//!   holds the rest), and a change the node rejects is reported with its validator;
//! - withdrawal secret keys never leave [`keys`]' types: only public keys and signatures are
//!   printed or sent.

pub mod keys;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use types::api::{StateId, ValidatorData, ValidatorId};
use types::{
    BlsToExecutionChange, ChainSpec, ExecutionAddress, Hash256, PublicKeyBytes,
    SignedBlsToExecutionChange, withdrawal_address,
};

use crate::beacon_node::{BeaconNodeFallback, Error as NodeError};
use crate::error::{Error, Result};

pub use keys::{WithdrawalKey, WithdrawalKeys};

/// The most changes sent in one POST.
pub const MAX_BATCH: usize = 512;
/// Validators asked for in one state query.
const STATE_QUERY_BATCH: usize = 512;

/// Which validators to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every validator the caller names by public key (the pool's keys, or the signing keys
    /// the withdrawal key source knows).
    Keys(Vec<PublicKeyBytes>),
    /// These registry indices.
    Indices(Vec<u64>),
}

/// Whether the signed changes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// Publish them (in batches of at most [`MAX_BATCH`]).
    Publish,
    /// Only sign them and hand them back (nothing is sent).
    DryRun,
}

/// Why a validator was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The head state has no such validator.
    NotFound,
    /// `0x00` credentials that none of the withdrawal keys given commits to.
    KeyMismatch {
        /// The credentials found.
        credentials: Hash256,
    },
    /// Execution credentials already pointing elsewhere (a change is only possible once).
    OtherAddress {
        /// The address they point at.
        address: ExecutionAddress,
    },
    /// Credentials with a prefix that is neither BLS nor execution.
    UnknownPrefix {
        /// The credentials found.
        credentials: Hash256,
    },
    /// The node already holds a change of this validator to another address.
    PendingOtherAddress {
        /// The pending change's address.
        address: ExecutionAddress,
    },
    /// The beacon node refused the change.
    Rejected {
        /// The node's reason.
        message: String,
    },
    /// No beacon node took the batch.
    NotDelivered {
        /// The error.
        error: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => write!(f, "not found in the head state"),
            Self::KeyMismatch { credentials } => write!(
                f,
                "withdrawal credentials {credentials} match none of the withdrawal keys given"
            ),
            Self::OtherAddress { address } => write!(
                f,
                "withdrawal credentials already point at {address}; they cannot be changed again"
            ),
            Self::UnknownPrefix { credentials } => {
                write!(
                    f,
                    "withdrawal credentials {credentials} have an unknown prefix"
                )
            }
            Self::PendingOtherAddress { address } => write!(
                f,
                "the beacon node already holds a change of this validator to {address}"
            ),
            Self::Rejected { message } => write!(f, "rejected by the beacon node: {message}"),
            Self::NotDelivered { error } => write!(f, "not submitted: {error}"),
        }
    }
}

/// A validator left alone, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The validator as it was asked for.
    pub validator: ValidatorId,
    /// Why.
    pub reason: SkipReason,
}

/// What the command did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Signed changes: accepted by the node, or only printed in a dry run.
    pub changes: Vec<SignedBlsToExecutionChange>,
    /// Validators whose credentials already point at the address (or whose identical change
    /// the node already holds).
    pub already_set: Vec<u64>,
    /// Validators left alone, in the order asked.
    pub skipped: Vec<Skipped>,
    /// POST requests sent.
    pub batches: usize,
    /// Whether the changes were only signed.
    pub dry_run: bool,
}

/// Reasons listed at most in the summary line (the rest are counted).
const LISTED_REASONS: usize = 20;

impl Report {
    /// The one-line summary: submitted / already set / skipped with reasons.
    pub fn summary(&self) -> String {
        let done = if self.dry_run {
            format!("dry run: signed {} (not submitted)", self.changes.len())
        } else {
            format!(
                "submitted {} in {} request(s)",
                self.changes.len(),
                self.batches
            )
        };
        let mut line = format!(
            "{done}, already set {}, skipped {}",
            self.already_set.len(),
            self.skipped.len()
        );
        if !self.skipped.is_empty() {
            let listed: Vec<String> = self
                .skipped
                .iter()
                .take(LISTED_REASONS)
                .map(|s| format!("validator {}: {}", s.validator, s.reason))
                .collect();
            line.push_str(&format!(" ({}", listed.join("; ")));
            if self.skipped.len() > LISTED_REASONS {
                line.push_str(&format!(
                    "; and {} more",
                    self.skipped.len() - LISTED_REASONS
                ));
            }
            line.push(')');
        }
        line
    }
}

/// The chain the changes are for.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Its config (the genesis fork version).
    pub spec: Arc<ChainSpec>,
    /// Its genesis validators root.
    pub genesis_validators_root: Hash256,
}

/// What to change.
#[derive(Debug)]
pub struct Request<'a> {
    /// The new withdrawal address.
    pub to: ExecutionAddress,
    /// The validators.
    pub selection: Selection,
    /// The withdrawal keys.
    pub keys: &'a WithdrawalKeys,
    /// Publish or dry run.
    pub submission: Submission,
    /// Changes per POST (at most [`MAX_BATCH`]).
    pub batch_size: usize,
}

/// What to do with one validator.
enum Plan {
    Change(BlsToExecutionChange),
    AlreadySet(u64),
    Skip(Skipped),
}

/// Decides one validator's fate from its registry record.
fn plan_one(
    id: ValidatorId,
    data: Option<&ValidatorData>,
    to: ExecutionAddress,
    keys: &WithdrawalKeys,
    pending: &HashMap<u64, ExecutionAddress>,
) -> Plan {
    let skip = |reason| {
        Plan::Skip(Skipped {
            validator: id,
            reason,
        })
    };
    let Some(data) = data else {
        return skip(SkipReason::NotFound);
    };
    let credentials = data.validator.withdrawal_credentials;
    if let Some(address) = withdrawal_address(&credentials) {
        return if address == to {
            Plan::AlreadySet(data.index)
        } else {
            skip(SkipReason::OtherAddress { address })
        };
    }
    if credentials[0] != types::BLS_WITHDRAWAL_PREFIX {
        return skip(SkipReason::UnknownPrefix { credentials });
    }
    let Some(key) = keys.get(&credentials) else {
        return skip(SkipReason::KeyMismatch { credentials });
    };
    match pending.get(&data.index) {
        Some(address) if *address == to => return Plan::AlreadySet(data.index),
        Some(address) => return skip(SkipReason::PendingOtherAddress { address: *address }),
        None => {}
    }
    Plan::Change(BlsToExecutionChange {
        validator_index: data.index,
        from_bls_pubkey: key.pubkey,
        to_execution_address: to,
    })
}

/// The head-state records of `ids`, in batches.
async fn fetch_validators(
    fallback: &BeaconNodeFallback,
    ids: &[ValidatorId],
) -> Result<Vec<ValidatorData>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(STATE_QUERY_BATCH) {
        let response = fallback
            .first_success("state validators", |client| async move {
                client
                    .post_state_validators(StateId::Head, chunk, &[])
                    .await
            })
            .await?;
        found.extend(response.data);
    }
    Ok(found)
}

/// Changes the node holds but has not included, by validator. Optional: a node without the
/// route (or failing) only means pending changes cannot be recognised.
async fn pending_changes(fallback: &BeaconNodeFallback) -> HashMap<u64, ExecutionAddress> {
    let Some(client) = fallback.best() else {
        return HashMap::new();
    };
    match client.get_bls_to_execution_changes().await {
        Ok(changes) => changes
            .into_iter()
            .map(|c| (c.message.validator_index, c.message.to_execution_address))
            .collect(),
        Err(error) => {
            tracing::debug!(node = %client, %error, "cannot read the node's pending credential changes");
            HashMap::new()
        }
    }
}

/// The validators of `selection`, each with its record when the head state has it.
fn match_records(
    ids: &[ValidatorId],
    found: &[ValidatorData],
) -> Vec<(ValidatorId, Option<ValidatorData>)> {
    let by_index: HashMap<u64, &ValidatorData> = found.iter().map(|v| (v.index, v)).collect();
    let by_key: HashMap<PublicKeyBytes, &ValidatorData> =
        found.iter().map(|v| (v.validator.pubkey, v)).collect();
    ids.iter()
        .map(|id| {
            let record = match id {
                ValidatorId::Index(index) => by_index.get(index),
                ValidatorId::PublicKey(pubkey) => by_key.get(pubkey),
            };
            (*id, record.map(|v| **v))
        })
        .collect()
}

/// Signs every change on the blocking pool (each has its own root, so no hash is shared).
async fn sign(
    changes: Vec<BlsToExecutionChange>,
    keys: &WithdrawalKeys,
    chain: &Chain,
) -> Result<Vec<SignedBlsToExecutionChange>> {
    let groups: Vec<(Hash256, Vec<signer::bls::SecretKey>)> = changes
        .iter()
        .map(|change| {
            let key = keys
                .get(&types::bls_withdrawal_credentials(&change.from_bls_pubkey))
                .ok_or(Error::SignerOutput(
                    "a planned change lost its withdrawal key",
                ))?;
            Ok((
                change.signing_root_for(&chain.spec, chain.genesis_validators_root),
                vec![key.secret().clone()],
            ))
        })
        .collect::<Result<_>>()?;
    let signatures = tokio::task::spawn_blocking(move || {
        let borrowed: Vec<(Hash256, Vec<&signer::bls::SecretKey>)> = groups
            .iter()
            .map(|(root, keys)| (*root, keys.iter().collect()))
            .collect();
        signer::batch::sign_groups(&borrowed)
    })
    .await
    .map_err(|e| {
        Error::Task(crate::executor::TaskFailed {
            task: "credential-change-signing".into(),
            reason: e.to_string(),
        })
    })?;
    if signatures.len() != changes.len() || signatures.iter().any(|s| s.len() != 1) {
        return Err(Error::SignerOutput("credential change signatures"));
    }
    Ok(changes
        .into_iter()
        .zip(signatures)
        .map(|(message, signature)| SignedBlsToExecutionChange {
            message,
            signature: signature[0],
        })
        .collect())
}

/// Publishes one batch on the best node that answers. A 400 is the node's verdict on the
/// items (not a node failure): it is returned as per-item reasons, indices into `batch`.
async fn publish_batch(
    fallback: &BeaconNodeFallback,
    batch: &[SignedBlsToExecutionChange],
) -> std::result::Result<Vec<(usize, String)>, NodeError> {
    fallback
        .first_success("bls_to_execution_changes", |client| async move {
            match client.post_bls_to_execution_changes(batch).await {
                Ok(()) => Ok(Vec::new()),
                Err(NodeError::Status {
                    status: 400,
                    message,
                    failures,
                    ..
                }) => {
                    if failures.is_empty() {
                        // No per-item detail: the message is about the whole batch.
                        Ok((0..batch.len()).map(|i| (i, message.clone())).collect())
                    } else {
                        Ok(failures
                            .into_iter()
                            .filter_map(|f| {
                                let index = usize::try_from(f.index).ok()?;
                                (index < batch.len()).then_some((index, f.message))
                            })
                            .collect())
                    }
                }
                Err(error) => Err(error),
            }
        })
        .await
}

/// Plans, signs and (unless a dry run) publishes the changes of `request`.
pub async fn set_withdrawal_address(
    fallback: &BeaconNodeFallback,
    chain: &Chain,
    request: &Request<'_>,
) -> Result<Report> {
    let batch_size = request.batch_size.clamp(1, MAX_BATCH);
    let mut seen = std::collections::HashSet::new();
    let requested: Vec<ValidatorId> = match &request.selection {
        Selection::Keys(keys) => keys.iter().copied().map(ValidatorId::PublicKey).collect(),
        Selection::Indices(indices) => indices.iter().copied().map(ValidatorId::Index).collect(),
    };
    let ids: Vec<ValidatorId> = requested
        .into_iter()
        // A validator named twice gets one change.
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() {
        return Err(Error::Config("no validator selected".into()));
    }
    let found = fetch_validators(fallback, &ids).await?;
    let pending = pending_changes(fallback).await;
    let mut report = Report {
        dry_run: request.submission == Submission::DryRun,
        ..Report::default()
    };
    let mut planned = Vec::new();
    let mut planned_ids = Vec::new();
    for (id, record) in match_records(&ids, &found) {
        match plan_one(id, record.as_ref(), request.to, request.keys, &pending) {
            Plan::Change(change) => {
                planned_ids.push(id);
                planned.push(change);
            }
            Plan::AlreadySet(index) => report.already_set.push(index),
            Plan::Skip(skipped) => {
                tracing::warn!(validator = %skipped.validator, reason = %skipped.reason, "credential change skipped");
                report.skipped.push(skipped);
            }
        }
    }
    let signed = sign(planned, request.keys, chain).await?;
    if request.submission == Submission::DryRun {
        report.changes = signed;
        return Ok(report);
    }
    for (batch, batch_ids) in signed
        .chunks(batch_size)
        .zip(planned_ids.chunks(batch_size))
    {
        report.batches += 1;
        let refused: HashMap<usize, SkipReason> = match publish_batch(fallback, batch).await {
            Ok(failures) => failures
                .into_iter()
                .map(|(i, message)| (i, SkipReason::Rejected { message }))
                .collect(),
            Err(error) => {
                let error = error.to_string();
                (0..batch.len())
                    .map(|i| {
                        (
                            i,
                            SkipReason::NotDelivered {
                                error: error.clone(),
                            },
                        )
                    })
                    .collect()
            }
        };
        for (i, (change, id)) in batch.iter().zip(batch_ids).enumerate() {
            match refused.get(&i) {
                None => report.changes.push(*change),
                Some(reason) => {
                    tracing::warn!(validator = %id, %reason, "credential change not accepted");
                    report.skipped.push(Skipped {
                        validator: *id,
                        reason: reason.clone(),
                    });
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use types::api::{Validator, ValidatorStatus};
    use types::{Epoch, FAR_FUTURE_EPOCH, bls_withdrawal_credentials, eth1_withdrawal_credentials};

    use super::*;

    fn record(index: u64, credentials: Hash256) -> ValidatorData {
        ValidatorData {
            index,
            balance: 32_000_000_000,
            status: ValidatorStatus::ActiveOngoing,
            validator: Validator {
                pubkey: PublicKeyBytes::repeat_byte(index as u8),
                withdrawal_credentials: credentials,
                effective_balance: 32_000_000_000,
                slashed: false,
                activation_eligibility_epoch: Epoch(0),
                activation_epoch: Epoch(0),
                exit_epoch: FAR_FUTURE_EPOCH,
                withdrawable_epoch: FAR_FUTURE_EPOCH,
            },
        }
    }

    #[test]
    fn each_validator_gets_the_right_verdict() {
        let keys = WithdrawalKeys::interop(2).unwrap();
        let to = ExecutionAddress::repeat_byte(0x5a);
        let other = ExecutionAddress::repeat_byte(0x11);
        let ours = keys.signing_pubkeys()[0];
        let id = ValidatorId::Index(1);
        let no_pending = HashMap::new();
        let plan = |data: Option<&ValidatorData>, pending: &HashMap<u64, ExecutionAddress>| {
            plan_one(id, data, to, &keys, pending)
        };

        let good = record(1, bls_withdrawal_credentials(&ours));
        let Plan::Change(change) = plan(Some(&good), &no_pending) else {
            panic!("a matching 0x00 validator is changed");
        };
        assert_eq!(change.validator_index, 1);
        assert_eq!(change.from_bls_pubkey, ours);
        assert_eq!(change.to_execution_address, to);

        let set = record(1, eth1_withdrawal_credentials(to));
        assert!(matches!(plan(Some(&set), &no_pending), Plan::AlreadySet(1)));
        let pending_same = HashMap::from([(1, to)]);
        assert!(matches!(
            plan(Some(&good), &pending_same),
            Plan::AlreadySet(1)
        ));

        let reason = |plan: Plan| match plan {
            Plan::Skip(skipped) => skipped.reason,
            _ => panic!("expected a skip"),
        };
        assert_eq!(reason(plan(None, &no_pending)), SkipReason::NotFound);
        let foreign = bls_withdrawal_credentials(&PublicKeyBytes::repeat_byte(9));
        assert_eq!(
            reason(plan(Some(&record(1, foreign)), &no_pending)),
            SkipReason::KeyMismatch {
                credentials: foreign
            }
        );
        assert_eq!(
            reason(plan(
                Some(&record(1, eth1_withdrawal_credentials(other))),
                &no_pending
            )),
            SkipReason::OtherAddress { address: other }
        );
        let mut odd = foreign;
        odd[0] = 0x07;
        assert_eq!(
            reason(plan(Some(&record(1, odd)), &no_pending)),
            SkipReason::UnknownPrefix { credentials: odd }
        );
        let pending_other = HashMap::from([(1, other)]);
        assert_eq!(
            reason(plan(Some(&good), &pending_other)),
            SkipReason::PendingOtherAddress { address: other }
        );
    }

    #[test]
    fn records_are_matched_by_index_or_key() {
        let a = record(4, Hash256::ZERO);
        let b = record(9, Hash256::ZERO);
        let ids = [
            ValidatorId::Index(9),
            ValidatorId::PublicKey(a.validator.pubkey),
            ValidatorId::Index(5),
        ];
        let matched = match_records(&ids, &[a, b]);
        assert_eq!(matched[0].1.map(|v| v.index), Some(9));
        assert_eq!(matched[1].1.map(|v| v.index), Some(4));
        assert_eq!(matched[2].1, None);
    }

    #[test]
    fn summary_names_counts_and_reasons() {
        let mut report = Report {
            batches: 1,
            already_set: vec![3],
            ..Report::default()
        };
        for i in 0..25 {
            report.skipped.push(Skipped {
                validator: ValidatorId::Index(i),
                reason: SkipReason::NotFound,
            });
        }
        let line = report.summary();
        assert!(
            line.starts_with("submitted 0 in 1 request(s), already set 1, skipped 25"),
            "{line}"
        );
        assert!(
            line.contains("validator 0: not found in the head state"),
            "{line}"
        );
        assert!(line.contains("and 5 more"), "{line}");
        assert!(!line.contains('\n'));
    }
}
