//! The protection model: per-validator O(1) state and the pure check functions both backends run.
//!
//! Invariants (they are what makes every check O(1) and complete):
//! - A validator's state is one row: the low watermarks raised by imports and the latest message
//!   signed locally. A check reads only that row, never the signing history.
//! - A block is signed only when `slot > block_low` and `slot > last.slot` (or it repeats the
//!   latest local block's non-zero signing root exactly). An attestation is signed only when
//!   `source <= target`, `source >= source_low`, `target > target_low`, `source >= last.source`
//!   and `target > last.target` (or it repeats the latest local attestation exactly).
//! - Every message ever signed or imported has coordinates at or below the watermarks, so a new
//!   message above them can neither double vote/propose, surround nor be surrounded.
//! - Watermarks only ever rise: imports merge by `max`, local signing moves the latest record up,
//!   pruning never touches them.

use std::collections::HashMap;
use std::fmt;

use types::{Epoch, Hash256, PublicKeyBytes, Slot};

/// The largest slot or epoch the stores accept: both SQLite and PostgreSQL hold signed 64-bit
/// integers. No real chain gets anywhere near it.
pub const MAX_STORABLE: u64 = i64::MAX as u64;

/// A request to sign a block proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRequest {
    /// The proposer's public key.
    pub pubkey: PublicKeyBytes,
    /// The block's slot.
    pub slot: Slot,
    /// `compute_signing_root(block, domain)`.
    pub signing_root: Hash256,
}

/// A request to sign an attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationRequest {
    /// The attester's public key.
    pub pubkey: PublicKeyBytes,
    /// `attestation.data.source.epoch`.
    pub source: Epoch,
    /// `attestation.data.target.epoch`.
    pub target: Epoch,
    /// `compute_signing_root(attestation_data, domain)`.
    pub signing_root: Hash256,
}

/// A message that may be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Safe {
    /// New message: it has been recorded (durably, before the call returned).
    Valid,
    /// Exactly the latest message signed locally (same non-zero signing root): signing it again
    /// cannot be slashable. Nothing new is recorded.
    SameData,
}

/// The outcome of one check: sign, or refuse with the reason.
pub type CheckResult = std::result::Result<Safe, NotSafe>;

/// A block as stored: slot and signing root (`None` when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord {
    /// The block's slot.
    pub slot: Slot,
    /// Its signing root, when known.
    pub signing_root: Option<Hash256>,
}

/// An attestation as stored: source, target and signing root (`None` when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationRecord {
    /// Source epoch.
    pub source: Epoch,
    /// Target epoch.
    pub target: Epoch,
    /// Its signing root, when known.
    pub signing_root: Option<Hash256>,
}

impl fmt::Display for AttestationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source {} target {}", self.source, self.target)
    }
}

/// Why a block may not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// At or below the highest slot imported from an interchange file.
    #[error("slot {slot} is not above the imported low watermark {watermark}")]
    NotAboveImportedWatermark {
        /// The requested slot.
        slot: Slot,
        /// The highest imported slot.
        watermark: Slot,
    },
    /// Same slot as the latest locally signed block, with a different (or unknown) root.
    #[error("double proposal: a different block was already signed at slot {slot}")]
    DoubleProposal {
        /// The requested slot.
        slot: Slot,
        /// The signing root of the block already signed, when known.
        existing_root: Option<Hash256>,
    },
    /// Below the latest locally signed block.
    #[error("slot {slot} is below the latest signed block at slot {latest}")]
    BelowLatestSigned {
        /// The requested slot.
        slot: Slot,
        /// The latest signed block's slot.
        latest: Slot,
    },
}

/// Why an attestation may not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAttestation {
    /// `source > target`: never valid.
    #[error("source epoch {source_epoch} is greater than target epoch {target_epoch}")]
    SourceExceedsTarget {
        /// The requested source.
        source_epoch: Epoch,
        /// The requested target.
        target_epoch: Epoch,
    },
    /// Source below the highest source imported from an interchange file.
    #[error("source epoch {source_epoch} is below the imported low watermark {watermark}")]
    SourceBelowImportedWatermark {
        /// The requested source.
        source_epoch: Epoch,
        /// The highest imported source.
        watermark: Epoch,
    },
    /// Target at or below the highest target imported from an interchange file.
    #[error("target epoch {target} is not above the imported low watermark {watermark}")]
    TargetNotAboveImportedWatermark {
        /// The requested target.
        target: Epoch,
        /// The highest imported target.
        watermark: Epoch,
    },
    /// Same target as the latest signed attestation but different data: a double vote.
    #[error("double vote: an attestation with {existing} was already signed")]
    DoubleVote {
        /// The attestation already signed.
        existing: AttestationRecord,
    },
    /// The requested attestation surrounds the latest signed one.
    #[error("surround vote: it surrounds the signed attestation with {existing}")]
    SurroundsExisting {
        /// The attestation already signed.
        existing: AttestationRecord,
    },
    /// The requested attestation is surrounded by the latest signed one.
    #[error("surround vote: it is surrounded by the signed attestation with {existing}")]
    SurroundedByExisting {
        /// The attestation already signed.
        existing: AttestationRecord,
    },
    /// Target below the latest signed attestation's (minimal strategy: never sign backwards).
    #[error("target epoch {target} is below the latest signed target epoch {latest}")]
    TargetBelowLatestSigned {
        /// The requested target.
        target: Epoch,
        /// The latest signed target.
        latest: Epoch,
    },
}

/// A refusal: signing this message could get the validator slashed, or the store cannot vouch
/// for it. A normal outcome, distinct from an I/O [`crate::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSafe {
    /// The public key was never registered with this store (keys must be registered, or
    /// imported, before they sign: an unknown key may have a history elsewhere).
    #[error("validator {0} is not registered for slashing protection")]
    UnregisteredValidator(PublicKeyBytes),
    /// A slot or epoch beyond what the store can hold ([`MAX_STORABLE`]).
    #[error("{field} {value} exceeds the largest storable value")]
    ValueOutOfRange {
        /// `"slot"`, `"source epoch"` or `"target epoch"`.
        field: &'static str,
        /// The offending value.
        value: u64,
    },
    /// The block is refused.
    #[error("block refused: {0}")]
    InvalidBlock(#[from] InvalidBlock),
    /// The attestation is refused.
    #[error("attestation refused: {0}")]
    InvalidAttestation(#[from] InvalidAttestation),
}

/// Highest source and target imported for a validator: attestations must stay above them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationWatermark {
    /// The highest imported source epoch (a new source must be `>=`).
    pub source: Epoch,
    /// The highest imported target epoch (a new target must be `>`).
    pub target: Epoch,
}

/// One validator's complete protection state (one database row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidatorState {
    /// Highest slot imported from interchange data (new blocks must be above it).
    pub block_low: Option<Slot>,
    /// Highest source/target imported from interchange data.
    pub attestation_low: Option<AttestationWatermark>,
    /// The latest block signed locally.
    pub last_block: Option<BlockRecord>,
    /// The latest attestation signed locally.
    pub last_attestation: Option<AttestationRecord>,
}

/// A zero signing root means "unknown" (EIP-3076 advice); it never matches for a re-sign.
pub(crate) fn known_root(root: Hash256) -> Option<Hash256> {
    (!root.is_zero()).then_some(root)
}

impl ValidatorState {
    /// Checks a block against this state and, when it is new, records it as the latest block.
    pub fn check_block(&mut self, slot: Slot, signing_root: Hash256) -> CheckResult {
        if slot.as_u64() > MAX_STORABLE {
            return Err(NotSafe::ValueOutOfRange {
                field: "slot",
                value: slot.as_u64(),
            });
        }
        if let Some(watermark) = self.block_low
            && slot <= watermark
        {
            return Err(InvalidBlock::NotAboveImportedWatermark { slot, watermark }.into());
        }
        match self.last_block {
            Some(last) if slot < last.slot => Err(InvalidBlock::BelowLatestSigned {
                slot,
                latest: last.slot,
            }
            .into()),
            Some(last) if slot == last.slot => {
                if known_root(signing_root).is_some() && last.signing_root == Some(signing_root) {
                    Ok(Safe::SameData)
                } else {
                    Err(InvalidBlock::DoubleProposal {
                        slot,
                        existing_root: last.signing_root,
                    }
                    .into())
                }
            }
            _ => {
                self.last_block = Some(BlockRecord {
                    slot,
                    signing_root: known_root(signing_root),
                });
                Ok(Safe::Valid)
            }
        }
    }

    /// Checks an attestation against this state and, when it is new, records it as the latest.
    pub fn check_attestation(
        &mut self,
        source: Epoch,
        target: Epoch,
        signing_root: Hash256,
    ) -> CheckResult {
        for (field, value) in [("source epoch", source), ("target epoch", target)] {
            if value.as_u64() > MAX_STORABLE {
                return Err(NotSafe::ValueOutOfRange {
                    field,
                    value: value.as_u64(),
                });
            }
        }
        if source > target {
            return Err(InvalidAttestation::SourceExceedsTarget {
                source_epoch: source,
                target_epoch: target,
            }
            .into());
        }
        if let Some(low) = self.attestation_low {
            if source < low.source {
                return Err(InvalidAttestation::SourceBelowImportedWatermark {
                    source_epoch: source,
                    watermark: low.source,
                }
                .into());
            }
            if target <= low.target {
                return Err(InvalidAttestation::TargetNotAboveImportedWatermark {
                    target,
                    watermark: low.target,
                }
                .into());
            }
        }
        if let Some(last) = self.last_attestation {
            let refusal = if target == last.target {
                if source == last.source
                    && known_root(signing_root).is_some()
                    && last.signing_root == Some(signing_root)
                {
                    return Ok(Safe::SameData);
                }
                InvalidAttestation::DoubleVote { existing: last }
            } else if target > last.target {
                if source >= last.source {
                    return Ok(self.record_attestation(source, target, signing_root));
                }
                InvalidAttestation::SurroundsExisting { existing: last }
            } else if source > last.source {
                InvalidAttestation::SurroundedByExisting { existing: last }
            } else {
                InvalidAttestation::TargetBelowLatestSigned {
                    target,
                    latest: last.target,
                }
            };
            return Err(refusal.into());
        }
        Ok(self.record_attestation(source, target, signing_root))
    }

    fn record_attestation(&mut self, source: Epoch, target: Epoch, signing_root: Hash256) -> Safe {
        self.last_attestation = Some(AttestationRecord {
            source,
            target,
            signing_root: known_root(signing_root),
        });
        Safe::Valid
    }

    /// Merges imported (already minified) watermarks: every coordinate rises to the maximum.
    pub fn merge_import(&mut self, import: &ImportedWatermarks) {
        if let Some(slot) = import.max_slot {
            self.block_low = Some(self.block_low.map_or(slot, |low| low.max(slot)));
        }
        if let Some(low) = import.attestation {
            self.attestation_low = Some(match self.attestation_low {
                None => low,
                Some(old) => AttestationWatermark {
                    source: old.source.max(low.source),
                    target: old.target.max(low.target),
                },
            });
        }
    }

    /// The effective attestation floor `(max source, max target)` over imports and local
    /// signing: anything the store permits has a source at or above the first and a target
    /// above the second (or repeats the latest local attestation at exactly that point).
    pub fn attestation_floor(&self) -> Option<(Epoch, Epoch)> {
        let local = self.last_attestation.map(|a| (a.source, a.target));
        let imported = self.attestation_low.map(|w| (w.source, w.target));
        match (local, imported) {
            (Some(a), Some(b)) => Some((a.0.max(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        }
    }

    /// The effective block floor: the maximum of the imported watermark and the latest block.
    pub fn block_floor(&self) -> Option<Slot> {
        match (self.block_low, self.last_block.map(|b| b.slot)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The result of minifying one validator's interchange records: the maxima to merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportedWatermarks {
    /// Highest imported block slot.
    pub max_slot: Option<Slot>,
    /// Highest imported source and (independently) highest imported target.
    pub attestation: Option<AttestationWatermark>,
}

/// A request a batch can check: a block or an attestation.
pub(crate) trait Checkable {
    /// The signer.
    fn pubkey(&self) -> PublicKeyBytes;
    /// Runs the check against (and, when new, records it in) `state`.
    fn check(&self, state: &mut ValidatorState) -> CheckResult;
}

impl Checkable for BlockRequest {
    fn pubkey(&self) -> PublicKeyBytes {
        self.pubkey
    }
    fn check(&self, state: &mut ValidatorState) -> CheckResult {
        state.check_block(self.slot, self.signing_root)
    }
}

impl Checkable for AttestationRequest {
    fn pubkey(&self) -> PublicKeyBytes {
        self.pubkey
    }
    fn check(&self, state: &mut ValidatorState) -> CheckResult {
        state.check_attestation(self.source, self.target, self.signing_root)
    }
}

/// What a batch decided, before anything is written.
pub(crate) struct BatchPlan<Id> {
    /// Per-request outcome, in request order.
    pub results: Vec<CheckResult>,
    /// Final state of every validator whose latest record changed (one entry per validator).
    pub changed: Vec<(Id, ValidatorState)>,
    /// `(row id, request index)` of every newly signed message, in request order.
    pub recorded: Vec<(Id, usize)>,
}

/// Runs a batch of checks in request order against the loaded states (`states` holds every
/// registered validator of the batch; a missing key is unregistered). Later requests for the
/// same validator see the effect of earlier ones, so a batch can never approve two conflicting
/// messages.
pub(crate) fn plan_batch<Id: Copy, R: Checkable>(
    requests: &[R],
    mut states: HashMap<PublicKeyBytes, (Id, ValidatorState, bool)>,
) -> BatchPlan<Id> {
    let mut results = Vec::with_capacity(requests.len());
    let mut recorded = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let pubkey = request.pubkey();
        let result = match states.get_mut(&pubkey) {
            None => Err(NotSafe::UnregisteredValidator(pubkey)),
            Some((id, state, changed)) => {
                let result = request.check(state);
                if result == Ok(Safe::Valid) {
                    *changed = true;
                    recorded.push((*id, index));
                }
                result
            }
        };
        results.push(result);
    }
    let changed = states
        .into_values()
        .filter(|(_, _, changed)| *changed)
        .map(|(id, state, _)| (id, state))
        .collect();
    BatchPlan {
        results,
        changed,
        recorded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(byte: u8) -> Hash256 {
        Hash256::repeat_byte(byte)
    }

    #[test]
    fn attestation_rules() {
        let mut s = ValidatorState::default();
        assert_eq!(
            s.check_attestation(Epoch(2), Epoch(3), root(1)),
            Ok(Safe::Valid)
        );
        assert_eq!(
            s.check_attestation(Epoch(2), Epoch(3), root(1)),
            Ok(Safe::SameData)
        );
        assert!(matches!(
            s.check_attestation(Epoch(2), Epoch(3), root(2)),
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::DoubleVote { .. }
            ))
        ));
        assert!(matches!(
            s.check_attestation(Epoch(1), Epoch(4), root(2)),
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::SurroundsExisting { .. }
            ))
        ));
        assert_eq!(
            s.check_attestation(Epoch(2), Epoch(5), root(3)),
            Ok(Safe::Valid)
        );
        assert!(matches!(
            s.check_attestation(Epoch(3), Epoch(4), root(2)),
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::SurroundedByExisting { .. }
            ))
        ));
        assert!(matches!(
            s.check_attestation(Epoch(1), Epoch(4), root(2)),
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::TargetBelowLatestSigned { .. }
            ))
        ));
        assert!(matches!(
            s.check_attestation(Epoch(7), Epoch(6), root(2)),
            Err(NotSafe::InvalidAttestation(
                InvalidAttestation::SourceExceedsTarget { .. }
            ))
        ));
        // A zero root is "unknown": it never counts as a repeat.
        let mut z = ValidatorState::default();
        assert_eq!(
            z.check_attestation(Epoch(0), Epoch(0), Hash256::ZERO),
            Ok(Safe::Valid)
        );
        assert!(
            z.check_attestation(Epoch(0), Epoch(0), Hash256::ZERO)
                .is_err()
        );
    }

    #[test]
    fn block_rules_and_import_watermarks() {
        let mut s = ValidatorState::default();
        assert_eq!(s.check_block(Slot(10), root(1)), Ok(Safe::Valid));
        assert_eq!(s.check_block(Slot(10), root(1)), Ok(Safe::SameData));
        assert!(s.check_block(Slot(10), root(2)).is_err());
        assert!(s.check_block(Slot(9), root(2)).is_err());
        s.merge_import(&ImportedWatermarks {
            max_slot: Some(Slot(20)),
            attestation: None,
        });
        s.merge_import(&ImportedWatermarks {
            max_slot: Some(Slot(15)),
            attestation: None,
        });
        assert_eq!(s.block_low, Some(Slot(20)));
        assert_eq!(s.block_floor(), Some(Slot(20)));
        assert!(s.check_block(Slot(20), root(3)).is_err());
        assert_eq!(s.check_block(Slot(21), root(3)), Ok(Safe::Valid));
        assert!(matches!(
            s.check_block(Slot(u64::MAX), root(3)),
            Err(NotSafe::ValueOutOfRange { .. })
        ));
    }
}
