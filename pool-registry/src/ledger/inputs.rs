//! Inputs of one ledger epoch, shaped as the Beacon API responses they come from, so a caller
//! deserialises each response's `data` straight into them. Nothing here is fetched: the caller
//! (the validator binary, or an auditor replaying recorded responses) supplies everything, and
//! the same inputs always give the same ledger.
//!
//! | field | Beacon API source |
//! |---|---|
//! | `validators_start` / `validators_end` | `GET /eth/v1/beacon/states/{end_slot(e-1)}` / `{end_slot(e)}` `/validators?id=…` |
//! | `blocks` | `GET /eth/v2/beacon/blocks/{slot}` for every slot of epochs e and e+1 ([`BlockFacts::from_block`]) |
//! | `committees` | `GET /eth/v1/beacon/states/{end_slot(e)}/committees?epoch=e` |
//! | `proposer_duties` | `GET /eth/v1/validator/duties/proposer/{e}` |
//! | `sync_committee` | `GET /eth/v1/beacon/states/{end_slot(e)}/sync_committees?epoch=e` |
//! | `pending_deposits_start` / `_end` | `GET /eth/v1/beacon/states/{end_slot(e-1)}` / `{end_slot(e)}` `/pending_deposits` (Electra+) |
//! | `el_values` | the `Eth-Execution-Payload-Value` header recorded when the block was produced |
//! | `rewards` | `POST /eth/v1/beacon/rewards/attestations/{e-2}`, `GET …/rewards/blocks/{slot}`, `POST …/rewards/sync_committee/{slot}` |

use serde::{Deserialize, Serialize};
use types::{Address, Epoch, EthSpec, Hash256, PublicKeyBytes, SignedBeaconBlock, Slot, U256};

/// `ValidatorStatus` of the Beacon API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatus {
    /// Deposited, not yet eligible.
    PendingInitialized,
    /// Eligible, waiting for activation.
    PendingQueued,
    /// Active, no exit scheduled.
    ActiveOngoing,
    /// Active, exit scheduled.
    ActiveExiting,
    /// Active and slashed.
    ActiveSlashed,
    /// Exited, not slashed.
    ExitedUnslashed,
    /// Exited after a slashing.
    ExitedSlashed,
    /// Withdrawable.
    WithdrawalPossible,
    /// Fully withdrawn.
    WithdrawalDone,
}

impl ValidatorStatus {
    /// Every status, in the order of their stored codes.
    pub const ALL: [ValidatorStatus; 9] = [
        Self::PendingInitialized,
        Self::PendingQueued,
        Self::ActiveOngoing,
        Self::ActiveExiting,
        Self::ActiveSlashed,
        Self::ExitedUnslashed,
        Self::ExitedSlashed,
        Self::WithdrawalPossible,
        Self::WithdrawalDone,
    ];

    /// Whether the validator is active (`active_*`).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::ActiveOngoing | Self::ActiveExiting | Self::ActiveSlashed
        )
    }

    /// Whether the validator has exited (`exited_*` or `withdrawal_*`).
    pub fn is_exited(self) -> bool {
        matches!(
            self,
            Self::ExitedUnslashed
                | Self::ExitedSlashed
                | Self::WithdrawalPossible
                | Self::WithdrawalDone
        )
    }

    /// The stored code (index in [`ValidatorStatus::ALL`]).
    pub fn code(self) -> u8 {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    /// The status of a stored code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

/// The `validator` object of a validator response (phase0 `Validator`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorRecord {
    /// The public key.
    pub pubkey: PublicKeyBytes,
    /// Withdrawal credentials.
    pub withdrawal_credentials: Hash256,
    /// Effective balance (gwei).
    #[serde(with = "serde_utils::quoted_u64")]
    pub effective_balance: u64,
    /// Whether the validator was slashed.
    pub slashed: bool,
    /// Activation eligibility epoch.
    pub activation_eligibility_epoch: Epoch,
    /// Activation epoch.
    pub activation_epoch: Epoch,
    /// Exit epoch.
    pub exit_epoch: Epoch,
    /// Withdrawable epoch.
    pub withdrawable_epoch: Epoch,
}

/// One entry of `/eth/v1/beacon/states/{state_id}/validators` (`ValidatorResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorEntry {
    /// Registry index.
    #[serde(with = "serde_utils::quoted_u64")]
    pub index: u64,
    /// Balance (gwei).
    #[serde(with = "serde_utils::quoted_u64")]
    pub balance: u64,
    /// Status.
    pub status: ValidatorStatus,
    /// The validator record.
    pub validator: ValidatorRecord,
}

/// One entry of `/eth/v1/beacon/states/{state_id}/committees` (`Committee`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committee {
    /// Committee index within the slot.
    #[serde(with = "serde_utils::quoted_u64")]
    pub index: u64,
    /// The slot.
    pub slot: Slot,
    /// Member validator indices, in committee order.
    #[serde(with = "serde_utils::quoted_u64_vec")]
    pub validators: Vec<u64>,
}

/// One entry of `/eth/v1/validator/duties/proposer/{epoch}` (`ProposerDuty`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposerDuty {
    /// The proposer's key.
    pub pubkey: PublicKeyBytes,
    /// The proposer's index.
    #[serde(with = "serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// The slot.
    pub slot: Slot,
}

/// `/eth/v1/beacon/states/{state_id}/sync_committees` data (`SyncCommitteeByValidatorIndices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCommittee {
    /// Member per committee position.
    #[serde(with = "serde_utils::quoted_u64_vec")]
    pub validators: Vec<u64>,
    /// The subcommittees (not needed for accounting; kept so the response maps one to one).
    #[serde(default)]
    pub validator_aggregates: Vec<Vec<String>>,
}

/// One entry of `/eth/v1/beacon/states/{state_id}/pending_deposits` (Electra `PendingDeposit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeposit {
    /// Target key.
    pub pubkey: PublicKeyBytes,
    /// Withdrawal credentials of the deposit.
    pub withdrawal_credentials: Hash256,
    /// Amount (gwei).
    #[serde(with = "serde_utils::quoted_u64")]
    pub amount: u64,
    /// Deposit signature.
    pub signature: types::SignatureBytes,
    /// Slot of the request (0 for deposits from the Eth1 bridge).
    pub slot: Slot,
}

/// The value the beacon node reported for a block proposed by a pool key
/// (`Eth-Execution-Payload-Value` of `produceBlockV3`), recorded at production time. It is
/// reported, not recomputed: nothing on the beacon chain proves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElBlockValue {
    /// The block's slot.
    pub slot: Slot,
    /// The block's root (the value counts only if this block is canonical).
    pub block_root: Hash256,
    /// The proposer.
    #[serde(with = "serde_utils::quoted_u64")]
    pub proposer_index: u64,
    /// The value in wei.
    #[serde(with = "serde_utils::quoted_u256")]
    pub value_wei: U256,
}

/// One `total_rewards` entry of `/eth/v1/beacon/rewards/attestations/{epoch}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRewards {
    /// The validator.
    #[serde(with = "serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// Head reward (gwei).
    #[serde(with = "serde_utils::quoted_i64")]
    pub head: i64,
    /// Target reward or penalty (gwei).
    #[serde(with = "serde_utils::quoted_i64")]
    pub target: i64,
    /// Source reward or penalty (gwei).
    #[serde(with = "serde_utils::quoted_i64")]
    pub source: i64,
    /// Inclusion delay reward (phase0 only).
    #[serde(default, with = "serde_utils::quoted_u64")]
    pub inclusion_delay: u64,
    /// Inactivity penalty (gwei, ≤ 0).
    #[serde(with = "serde_utils::quoted_i64")]
    pub inactivity: i64,
}

/// `/eth/v1/beacon/rewards/attestations/{epoch}` data (`AttestationsRewards`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationsRewards {
    /// Ideal rewards per effective balance (not needed for conservation; kept verbatim).
    #[serde(default)]
    pub ideal_rewards: Vec<serde_json::Value>,
    /// Actual rewards per validator.
    pub total_rewards: Vec<AttestationRewards>,
}

/// `/eth/v1/beacon/rewards/blocks/{block_id}` data (`BlockRewards`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRewards {
    /// The proposer.
    #[serde(with = "serde_utils::quoted_u64")]
    pub proposer_index: u64,
    /// Total proposer reward (gwei).
    #[serde(with = "serde_utils::quoted_u64")]
    pub total: u64,
    /// From attestations.
    #[serde(with = "serde_utils::quoted_u64")]
    pub attestations: u64,
    /// From the sync aggregate.
    #[serde(with = "serde_utils::quoted_u64")]
    pub sync_aggregate: u64,
    /// From proposer slashings.
    #[serde(with = "serde_utils::quoted_u64")]
    pub proposer_slashings: u64,
    /// From attester slashings.
    #[serde(with = "serde_utils::quoted_u64")]
    pub attester_slashings: u64,
}

/// One entry of `/eth/v1/beacon/rewards/sync_committee/{block_id}` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCommitteeReward {
    /// The member.
    #[serde(with = "serde_utils::quoted_u64")]
    pub validator_index: u64,
    /// Reward, or penalty when negative (gwei).
    #[serde(with = "serde_utils::quoted_i64")]
    pub reward: i64,
}

/// A per-block rewards response with the slot of the block it was requested for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtSlot<T> {
    /// The block's slot.
    pub slot: Slot,
    /// The response's `data`.
    pub data: T,
}

/// The optional rewards endpoints' answers for epoch e.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardsInputs {
    /// Attestation rewards of epoch e-2's attestations: the transition into e runs
    /// `process_epoch` on the state at `end_slot(e-1)`, whose previous epoch is e-2.
    pub attestations: AttestationsRewards,
    /// Block rewards of every canonical block of epoch e.
    pub blocks: Vec<AtSlot<BlockRewards>>,
    /// Sync committee rewards of every canonical block of epoch e.
    pub sync_committee: Vec<AtSlot<Vec<SyncCommitteeReward>>>,
}

/// An attestation as included in a block, reduced to what accounting needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludedAttestation {
    /// `data.slot`.
    pub slot: Slot,
    /// `data.beacon_block_root` (the head vote).
    pub head_root: Hash256,
    /// `data.target.epoch`.
    pub target_epoch: Epoch,
    /// `data.target.root`.
    pub target_root: Hash256,
    /// The committees covered: `[data.index]` before Electra, the set `committee_bits` after.
    pub committee_indices: Vec<u64>,
    /// Aggregation bits (concatenated over `committee_indices` from Electra on).
    pub aggregation_bits: Vec<bool>,
}

/// A canonical block reduced to what accounting needs (fork-independent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockFacts {
    /// Slot.
    pub slot: Slot,
    /// Proposer.
    pub proposer_index: u64,
    /// Block root.
    pub root: Hash256,
    /// Parent root.
    pub parent_root: Hash256,
    /// The payload's fee recipient (`None` before Bellatrix).
    pub fee_recipient: Option<Address>,
    /// Included attestations.
    pub attestations: Vec<IncludedAttestation>,
    /// `body.deposits`: (pubkey, amount gwei).
    pub deposits: Vec<(PublicKeyBytes, u64)>,
    /// `execution_requests.deposits` (Electra+): (pubkey, amount gwei).
    pub deposit_requests: Vec<(PublicKeyBytes, u64)>,
    /// Payload withdrawals (Capella+): (validator index, amount gwei).
    pub withdrawals: Vec<(u64, u64)>,
    /// `sync_aggregate.sync_committee_bits` (empty before Altair).
    pub sync_committee_bits: Vec<bool>,
}

macro_rules! phase0_attestations {
    ($body:expr) => {
        $body
            .attestations
            .iter()
            .map(|a| IncludedAttestation {
                slot: a.data.slot,
                head_root: a.data.beacon_block_root,
                target_epoch: a.data.target.epoch,
                target_root: a.data.target.root,
                committee_indices: vec![a.data.index],
                aggregation_bits: a.aggregation_bits.iter().collect(),
            })
            .collect()
    };
}

macro_rules! electra_attestations {
    ($body:expr) => {
        $body
            .attestations
            .iter()
            .map(|a| IncludedAttestation {
                slot: a.data.slot,
                head_root: a.data.beacon_block_root,
                target_epoch: a.data.target.epoch,
                target_root: a.data.target.root,
                committee_indices: a.committee_indices(),
                aggregation_bits: a.aggregation_bits.iter().collect(),
            })
            .collect()
    };
}

fn deposits_of(deposits: &[types::Deposit]) -> Vec<(PublicKeyBytes, u64)> {
    deposits
        .iter()
        .map(|d| (d.data.pubkey, d.data.amount))
        .collect()
}

fn withdrawals_of(withdrawals: &[types::Withdrawal]) -> Vec<(u64, u64)> {
    withdrawals
        .iter()
        .map(|w| (w.validator_index, w.amount))
        .collect()
}

impl BlockFacts {
    /// Extracts the facts of a full signed block (`/eth/v2/beacon/blocks/{id}`); the root is
    /// computed, so it cannot disagree with the block.
    pub fn from_block<E: EthSpec>(block: &SignedBeaconBlock<E>) -> Self {
        let mut facts = BlockFacts {
            slot: block.slot(),
            proposer_index: block.proposer_index(),
            root: block.block_root(),
            parent_root: block.parent_root(),
            fee_recipient: block.fee_recipient(),
            attestations: Vec::new(),
            deposits: Vec::new(),
            deposit_requests: Vec::new(),
            withdrawals: Vec::new(),
            sync_committee_bits: Vec::new(),
        };
        match block {
            SignedBeaconBlock::Phase0(b) => {
                let body = &b.message.body;
                facts.attestations = phase0_attestations!(body);
                facts.deposits = deposits_of(&body.deposits);
            }
            SignedBeaconBlock::Altair(b) => {
                let body = &b.message.body;
                facts.attestations = phase0_attestations!(body);
                facts.deposits = deposits_of(&body.deposits);
                facts.sync_committee_bits =
                    body.sync_aggregate.sync_committee_bits.iter().collect();
            }
            SignedBeaconBlock::Bellatrix(b) => {
                let body = &b.message.body;
                facts.attestations = phase0_attestations!(body);
                facts.deposits = deposits_of(&body.deposits);
                facts.sync_committee_bits =
                    body.sync_aggregate.sync_committee_bits.iter().collect();
            }
            SignedBeaconBlock::Capella(b) => {
                let body = &b.message.body;
                facts.attestations = phase0_attestations!(body);
                facts.deposits = deposits_of(&body.deposits);
                facts.sync_committee_bits =
                    body.sync_aggregate.sync_committee_bits.iter().collect();
                facts.withdrawals = withdrawals_of(&body.execution_payload.withdrawals);
            }
            SignedBeaconBlock::Deneb(b) => {
                let body = &b.message.body;
                facts.attestations = phase0_attestations!(body);
                facts.deposits = deposits_of(&body.deposits);
                facts.sync_committee_bits =
                    body.sync_aggregate.sync_committee_bits.iter().collect();
                facts.withdrawals = withdrawals_of(&body.execution_payload.withdrawals);
            }
            SignedBeaconBlock::Electra(b) | SignedBeaconBlock::Fulu(b) => {
                let body = &b.message.body;
                facts.attestations = electra_attestations!(body);
                facts.deposits = deposits_of(&body.deposits);
                facts.sync_committee_bits =
                    body.sync_aggregate.sync_committee_bits.iter().collect();
                facts.withdrawals = withdrawals_of(&body.execution_payload.withdrawals);
                facts.deposit_requests = body
                    .execution_requests
                    .deposits
                    .iter()
                    .map(|d| (d.pubkey, d.amount))
                    .collect();
            }
        }
        facts
    }
}

/// Everything needed to account epoch `e`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochInputs {
    /// The epoch `e`.
    pub epoch: Epoch,
    /// Pool validators in the state at `end_slot(e-1)` (absent: not yet in the registry).
    pub validators_start: Vec<ValidatorEntry>,
    /// Pool validators in the state at `end_slot(e)`.
    pub validators_end: Vec<ValidatorEntry>,
    /// Canonical blocks with slots in `[start_slot(e), end_slot(e+1)]`, ascending.
    pub blocks: Vec<BlockFacts>,
    /// Every committee of epoch e.
    pub committees: Vec<Committee>,
    /// Proposer duties of epoch e.
    pub proposer_duties: Vec<ProposerDuty>,
    /// The sync committee of epoch e (`None` before Altair).
    pub sync_committee: Option<SyncCommittee>,
    /// Pending deposits at `end_slot(e-1)` (`None` before Electra: treated as empty).
    pub pending_deposits_start: Option<Vec<PendingDeposit>>,
    /// Pending deposits at `end_slot(e)` (`None` before Electra).
    pub pending_deposits_end: Option<Vec<PendingDeposit>>,
    /// Recorded EL values of pool blocks.
    pub el_values: Vec<ElBlockValue>,
    /// Optional rewards endpoints' answers.
    pub rewards: Option<RewardsInputs>,
}
