//! Duties, subnet subscriptions, proposer preparation and liveness.

use serde::{Deserialize, Serialize};

use crate::primitives::{Epoch, ExecutionAddress, PublicKeyBytes, Slot};

/// One attester duty (`POST /eth/v1/validator/duties/attester/{epoch}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttesterDuty {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// The validator's registry index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The committee's index within the slot.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub committee_index: u64,
    /// The committee's size.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub committee_length: u64,
    /// The number of committees at the slot (for subnet computation).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub committees_at_slot: u64,
    /// The validator's position in the committee (its aggregation bit).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_committee_index: u64,
    /// The slot to attest at.
    pub slot: Slot,
}

/// One proposer duty (`GET /eth/v1/validator/duties/proposer/{epoch}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProposerDuty {
    /// The proposer's public key.
    pub pubkey: PublicKeyBytes,
    /// The proposer's registry index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The slot to propose at.
    pub slot: Slot,
}

/// One sync committee duty (`POST /eth/v1/validator/duties/sync/{epoch}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncDuty {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// The validator's registry index.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The validator's positions in the sync committee (at least one).
    #[serde(with = "super::quoted::quoted_u64_vec")]
    pub validator_sync_committee_indices: Vec<u64>,
}

/// One entry of `POST /eth/v1/validator/beacon_committee_subscriptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BeaconCommitteeSubscription {
    /// The validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The committee's index within the slot.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub committee_index: u64,
    /// The number of committees at the slot.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub committees_at_slot: u64,
    /// The duty's slot.
    pub slot: Slot,
    /// Whether the validator aggregates (the node then subscribes to the subnet).
    pub is_aggregator: bool,
}

/// One entry of `POST /eth/v1/validator/sync_committee_subscriptions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncCommitteeSubscription {
    /// The validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The validator's positions in the sync committee.
    #[serde(with = "super::quoted::quoted_u64_vec")]
    pub sync_committee_indices: Vec<u64>,
    /// The epoch (exclusive) until which the subscription is needed.
    pub until_epoch: Epoch,
}

/// One entry of `POST /eth/v1/validator/prepare_beacon_proposer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProposerPreparationData {
    /// The validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// Where the validator's block rewards must be paid.
    pub fee_recipient: ExecutionAddress,
}

/// One entry of the `POST /eth/v1/validator/liveness/{epoch}` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LivenessResponseData {
    /// The validator.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub index: u64,
    /// Whether the node saw the validator active in the epoch.
    pub is_live: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sync_duty_indices_are_quoted() {
        let value = json!({
            "pubkey": format!("0x{}", "aa".repeat(48)),
            "validator_index": "3",
            "validator_sync_committee_indices": ["22", "7"],
        });
        let duty: SyncDuty = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(duty.validator_sync_committee_indices, vec![22, 7]);
        assert_eq!(serde_json::to_value(&duty).unwrap(), value);
    }

    #[test]
    fn subscription_requires_is_aggregator() {
        let value = json!({"validator_index": "1", "committee_index": "2", "committees_at_slot": "3", "slot": "4"});
        let err = serde_json::from_value::<BeaconCommitteeSubscription>(value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is_aggregator"), "{err}");
    }
}
