//! State and block queries: validators, balances, committees, sync committees, finality,
//! block roots and headers, and the state/block identifiers of their paths.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::containers::{Checkpoint, SignedBeaconBlockHeader};
use crate::primitives::{Epoch, FAR_FUTURE_EPOCH, Hash256, PublicKeyBytes, Slot};

/// A state identifier in a request path (`/eth/v1/beacon/states/{state_id}/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateId {
    /// The canonical head state.
    Head,
    /// The genesis state.
    Genesis,
    /// The latest finalized state.
    Finalized,
    /// The latest justified state.
    Justified,
    /// The state at a slot.
    Slot(Slot),
    /// The state with this state root.
    Root(Hash256),
}

impl fmt::Display for StateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateId::Head => f.write_str("head"),
            StateId::Genesis => f.write_str("genesis"),
            StateId::Finalized => f.write_str("finalized"),
            StateId::Justified => f.write_str("justified"),
            StateId::Slot(slot) => write!(f, "{slot}"),
            StateId::Root(root) => write!(f, "{root}"),
        }
    }
}

/// A block identifier in a request path (`/eth/v2/beacon/blocks/{block_id}`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockId {
    /// The canonical head block.
    Head,
    /// The genesis block.
    Genesis,
    /// The latest finalized block.
    Finalized,
    /// The canonical block at a slot.
    Slot(Slot),
    /// The block with this root.
    Root(Hash256),
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockId::Head => f.write_str("head"),
            BlockId::Genesis => f.write_str("genesis"),
            BlockId::Finalized => f.write_str("finalized"),
            BlockId::Slot(slot) => write!(f, "{slot}"),
            BlockId::Root(root) => write!(f, "{root}"),
        }
    }
}

/// A validator named by registry index or public key (the `id` of validator queries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidatorId {
    /// By index in the registry.
    Index(u64),
    /// By BLS public key.
    PublicKey(PublicKeyBytes),
}

impl fmt::Display for ValidatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidatorId::Index(index) => write!(f, "{index}"),
            ValidatorId::PublicKey(pubkey) => write!(f, "{pubkey}"),
        }
    }
}

impl FromStr for ValidatorId {
    type Err = serde::de::value::Error;

    /// A decimal index, or a 0x-prefixed 48-byte public key; the error names the bad text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use serde::de::Error as _;
        if s.starts_with("0x") {
            s.parse::<PublicKeyBytes>()
                .map(ValidatorId::PublicKey)
                .map_err(|e| Self::Err::custom(format!("invalid validator public key {s:?}: {e}")))
        } else {
            s.parse::<u64>()
                .map(ValidatorId::Index)
                .map_err(|e| Self::Err::custom(format!("invalid validator index {s:?}: {e}")))
        }
    }
}

impl Serialize for ValidatorId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ValidatorId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A validator's lifecycle status, as defined for the Beacon API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatus {
    /// Deposited, not yet eligible for activation.
    PendingInitialized,
    /// Eligible, waiting in the activation queue.
    PendingQueued,
    /// Active, no exit initiated.
    ActiveOngoing,
    /// Active, voluntary exit initiated.
    ActiveExiting,
    /// Active, slashed, scheduled to exit.
    ActiveSlashed,
    /// Exited without being slashed, not yet withdrawable.
    ExitedUnslashed,
    /// Exited after a slashing, not yet withdrawable.
    ExitedSlashed,
    /// Withdrawable, balance not yet swept.
    WithdrawalPossible,
    /// Withdrawable, balance swept to zero.
    WithdrawalDone,
}

impl ValidatorStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ValidatorStatus; 9] = [
        ValidatorStatus::PendingInitialized,
        ValidatorStatus::PendingQueued,
        ValidatorStatus::ActiveOngoing,
        ValidatorStatus::ActiveExiting,
        ValidatorStatus::ActiveSlashed,
        ValidatorStatus::ExitedUnslashed,
        ValidatorStatus::ExitedSlashed,
        ValidatorStatus::WithdrawalPossible,
        ValidatorStatus::WithdrawalDone,
    ];

    /// The API name (`active_ongoing`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ValidatorStatus::PendingInitialized => "pending_initialized",
            ValidatorStatus::PendingQueued => "pending_queued",
            ValidatorStatus::ActiveOngoing => "active_ongoing",
            ValidatorStatus::ActiveExiting => "active_exiting",
            ValidatorStatus::ActiveSlashed => "active_slashed",
            ValidatorStatus::ExitedUnslashed => "exited_unslashed",
            ValidatorStatus::ExitedSlashed => "exited_slashed",
            ValidatorStatus::WithdrawalPossible => "withdrawal_possible",
            ValidatorStatus::WithdrawalDone => "withdrawal_done",
        }
    }

    /// The status of `validator` with `balance` at `epoch`, by the API's definition.
    pub fn compute(validator: &Validator, balance: u64, epoch: Epoch) -> Self {
        if validator.activation_epoch > epoch {
            if validator.activation_eligibility_epoch == FAR_FUTURE_EPOCH {
                ValidatorStatus::PendingInitialized
            } else {
                ValidatorStatus::PendingQueued
            }
        } else if epoch < validator.exit_epoch {
            if validator.exit_epoch == FAR_FUTURE_EPOCH {
                ValidatorStatus::ActiveOngoing
            } else if validator.slashed {
                ValidatorStatus::ActiveSlashed
            } else {
                ValidatorStatus::ActiveExiting
            }
        } else if epoch < validator.withdrawable_epoch {
            if validator.slashed {
                ValidatorStatus::ExitedSlashed
            } else {
                ValidatorStatus::ExitedUnslashed
            }
        } else if balance != 0 {
            ValidatorStatus::WithdrawalPossible
        } else {
            ValidatorStatus::WithdrawalDone
        }
    }

    /// `pending_*`.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ValidatorStatus::PendingInitialized | ValidatorStatus::PendingQueued
        )
    }

    /// `active_*`: the validator has duties.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ValidatorStatus::ActiveOngoing
                | ValidatorStatus::ActiveExiting
                | ValidatorStatus::ActiveSlashed
        )
    }

    /// `exited_*`.
    pub fn is_exited(self) -> bool {
        matches!(
            self,
            ValidatorStatus::ExitedUnslashed | ValidatorStatus::ExitedSlashed
        )
    }

    /// `withdrawal_*`.
    pub fn is_withdrawal(self) -> bool {
        matches!(
            self,
            ValidatorStatus::WithdrawalPossible | ValidatorStatus::WithdrawalDone
        )
    }
}

impl fmt::Display for ValidatorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status filter of validator queries: an exact status or one of the four groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatusFilter {
    /// `pending_initialized`.
    PendingInitialized,
    /// `pending_queued`.
    PendingQueued,
    /// `active_ongoing`.
    ActiveOngoing,
    /// `active_exiting`.
    ActiveExiting,
    /// `active_slashed`.
    ActiveSlashed,
    /// `exited_unslashed`.
    ExitedUnslashed,
    /// `exited_slashed`.
    ExitedSlashed,
    /// `withdrawal_possible`.
    WithdrawalPossible,
    /// `withdrawal_done`.
    WithdrawalDone,
    /// Any `active_*` status.
    Active,
    /// Any `pending_*` status.
    Pending,
    /// Any `exited_*` status.
    Exited,
    /// Any `withdrawal_*` status.
    Withdrawal,
}

impl ValidatorStatusFilter {
    /// The API name (`active`, `exited_slashed`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ValidatorStatusFilter::PendingInitialized => "pending_initialized",
            ValidatorStatusFilter::PendingQueued => "pending_queued",
            ValidatorStatusFilter::ActiveOngoing => "active_ongoing",
            ValidatorStatusFilter::ActiveExiting => "active_exiting",
            ValidatorStatusFilter::ActiveSlashed => "active_slashed",
            ValidatorStatusFilter::ExitedUnslashed => "exited_unslashed",
            ValidatorStatusFilter::ExitedSlashed => "exited_slashed",
            ValidatorStatusFilter::WithdrawalPossible => "withdrawal_possible",
            ValidatorStatusFilter::WithdrawalDone => "withdrawal_done",
            ValidatorStatusFilter::Active => "active",
            ValidatorStatusFilter::Pending => "pending",
            ValidatorStatusFilter::Exited => "exited",
            ValidatorStatusFilter::Withdrawal => "withdrawal",
        }
    }

    /// Whether `status` passes this filter.
    pub fn matches(self, status: ValidatorStatus) -> bool {
        match self {
            ValidatorStatusFilter::Active => status.is_active(),
            ValidatorStatusFilter::Pending => status.is_pending(),
            ValidatorStatusFilter::Exited => status.is_exited(),
            ValidatorStatusFilter::Withdrawal => status.is_withdrawal(),
            exact => exact.as_str() == status.as_str(),
        }
    }
}

impl fmt::Display for ValidatorStatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ValidatorStatus> for ValidatorStatusFilter {
    fn from(status: ValidatorStatus) -> Self {
        match status {
            ValidatorStatus::PendingInitialized => ValidatorStatusFilter::PendingInitialized,
            ValidatorStatus::PendingQueued => ValidatorStatusFilter::PendingQueued,
            ValidatorStatus::ActiveOngoing => ValidatorStatusFilter::ActiveOngoing,
            ValidatorStatus::ActiveExiting => ValidatorStatusFilter::ActiveExiting,
            ValidatorStatus::ActiveSlashed => ValidatorStatusFilter::ActiveSlashed,
            ValidatorStatus::ExitedUnslashed => ValidatorStatusFilter::ExitedUnslashed,
            ValidatorStatus::ExitedSlashed => ValidatorStatusFilter::ExitedSlashed,
            ValidatorStatus::WithdrawalPossible => ValidatorStatusFilter::WithdrawalPossible,
            ValidatorStatus::WithdrawalDone => ValidatorStatusFilter::WithdrawalDone,
        }
    }
}

/// The body of `POST /eth/v1/beacon/states/{state_id}/validators` (and `validator_balances`,
/// which takes a bare id list). An absent or empty list means "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateValidatorsRequest {
    /// Indices or public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<ValidatorId>>,
    /// Statuses or status groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<ValidatorStatusFilter>>,
}

/// The phase0 `Validator` registry record, as the API serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validator {
    /// BLS public key.
    pub pubkey: PublicKeyBytes,
    /// Withdrawal credentials (0x00 BLS, 0x01 execution address, 0x02 compounding).
    pub withdrawal_credentials: Hash256,
    /// Effective balance in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub effective_balance: u64,
    /// Whether the validator was slashed.
    pub slashed: bool,
    /// When the validator became eligible for activation.
    pub activation_eligibility_epoch: Epoch,
    /// Activation epoch (`FAR_FUTURE_EPOCH` if not activated).
    pub activation_epoch: Epoch,
    /// Exit epoch (`FAR_FUTURE_EPOCH` if not exiting).
    pub exit_epoch: Epoch,
    /// When the balance becomes withdrawable.
    pub withdrawable_epoch: Epoch,
}

/// One entry of the state validators response (`ValidatorResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValidatorData {
    /// Registry index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
    /// Current balance in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub balance: u64,
    /// Lifecycle status.
    pub status: ValidatorStatus,
    /// The registry record.
    pub validator: Validator,
}

/// One entry of the state validator balances response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValidatorBalance {
    /// Registry index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
    /// Balance in gwei.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub balance: u64,
}

/// A beacon committee (`/eth/v1/beacon/states/{state_id}/committees`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Committee {
    /// The committee index within the slot.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
    /// The slot.
    pub slot: Slot,
    /// Member validator indices, in committee order.
    #[serde(with = "super::quoted::quoted_u64_vec")]
    pub validators: Vec<u64>,
}

/// The sync committee of a state (`/eth/v1/beacon/states/{state_id}/sync_committees`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncCommitteeByValidatorIndices {
    /// All members, in committee order (a validator may appear more than once).
    #[serde(with = "super::quoted::quoted_u64_vec")]
    pub validators: Vec<u64>,
    /// The members of each subcommittee.
    #[serde(with = "super::quoted::quoted_u64_vec_vec")]
    pub validator_aggregates: Vec<Vec<u64>>,
}

/// `/eth/v1/beacon/states/{state_id}/finality_checkpoints` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FinalityCheckpoints {
    /// The previous justified checkpoint.
    pub previous_justified: Checkpoint,
    /// The current justified checkpoint.
    pub current_justified: Checkpoint,
    /// The finalized checkpoint.
    pub finalized: Checkpoint,
}

/// `/eth/v1/beacon/blocks/{block_id}/root` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRootData {
    /// The block root.
    pub root: Hash256,
}

/// One block header (`/eth/v1/beacon/headers[/{block_id}]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockHeaderData {
    /// The block root.
    pub root: Hash256,
    /// Whether the block is on the canonical chain.
    pub canonical: bool,
    /// The signed header.
    pub header: SignedBeaconBlockHeader,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn validator(activation: u64, exit: u64, withdrawable: u64, slashed: bool) -> Validator {
        Validator {
            pubkey: PublicKeyBytes::ZERO,
            withdrawal_credentials: Hash256::ZERO,
            effective_balance: 32_000_000_000,
            slashed,
            activation_eligibility_epoch: Epoch(0),
            activation_epoch: Epoch(activation),
            exit_epoch: Epoch(exit),
            withdrawable_epoch: Epoch(withdrawable),
        }
    }

    #[test]
    fn status_follows_lifecycle() {
        let far = u64::MAX;
        let cases = [
            (
                validator(far, far, far, false),
                1,
                ValidatorStatus::PendingQueued,
            ),
            (
                validator(2, far, far, false),
                5,
                ValidatorStatus::ActiveOngoing,
            ),
            (
                validator(2, 9, 20, false),
                5,
                ValidatorStatus::ActiveExiting,
            ),
            (validator(2, 9, 20, true), 5, ValidatorStatus::ActiveSlashed),
            (
                validator(2, 9, 20, false),
                9,
                ValidatorStatus::ExitedUnslashed,
            ),
            (
                validator(2, 9, 20, true),
                19,
                ValidatorStatus::ExitedSlashed,
            ),
            (
                validator(2, 9, 20, false),
                20,
                ValidatorStatus::WithdrawalPossible,
            ),
        ];
        for (v, epoch, expected) in cases {
            assert_eq!(
                ValidatorStatus::compute(&v, 1, Epoch(epoch)),
                expected,
                "{v:?} at {epoch}"
            );
        }
        assert_eq!(
            ValidatorStatus::compute(&validator(2, 9, 20, false), 0, Epoch(30)),
            ValidatorStatus::WithdrawalDone
        );
        let mut initialized = validator(far, far, far, false);
        initialized.activation_eligibility_epoch = FAR_FUTURE_EPOCH;
        assert_eq!(
            ValidatorStatus::compute(&initialized, 1, Epoch(0)),
            ValidatorStatus::PendingInitialized
        );
    }

    #[test]
    fn statuses_and_filters_use_api_names() {
        for status in ValidatorStatus::ALL {
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, json!(status.as_str()));
            assert_eq!(
                serde_json::from_value::<ValidatorStatus>(json).unwrap(),
                status
            );
            let filter = ValidatorStatusFilter::from(status);
            assert_eq!(filter.as_str(), status.as_str());
            assert!(filter.matches(status));
        }
        assert!(ValidatorStatusFilter::Active.matches(ValidatorStatus::ActiveSlashed));
        assert!(!ValidatorStatusFilter::Active.matches(ValidatorStatus::ExitedSlashed));
        assert!(!ValidatorStatusFilter::ActiveOngoing.matches(ValidatorStatus::ActiveExiting));
        let err = serde_json::from_value::<ValidatorStatus>(json!("active"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("active"), "{err}");
    }

    #[test]
    fn ids_and_path_segments() {
        let pubkey = PublicKeyBytes::repeat_byte(0xab);
        let request = StateValidatorsRequest {
            ids: Some(vec![ValidatorId::Index(7), ValidatorId::PublicKey(pubkey)]),
            statuses: Some(vec![ValidatorStatusFilter::Active]),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            json!({"ids": ["7", pubkey.to_string()], "statuses": ["active"]})
        );
        assert_eq!(
            serde_json::from_value::<StateValidatorsRequest>(json).unwrap(),
            request
        );
        assert_eq!(
            serde_json::to_value(StateValidatorsRequest::default()).unwrap(),
            json!({})
        );
        assert!("0x12".parse::<ValidatorId>().is_err());
        assert!("-1".parse::<ValidatorId>().is_err());
        assert_eq!(StateId::Slot(Slot(9)).to_string(), "9");
        assert_eq!(
            BlockId::Root(Hash256::ZERO).to_string(),
            format!("0x{}", "00".repeat(32))
        );
        assert_eq!(StateId::Justified.to_string(), "justified");
    }
}
