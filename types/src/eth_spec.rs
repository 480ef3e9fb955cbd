//! Compile-time presets: list and vector limits as `typenum` types, other preset values as
//! constants.
//!
//! A preset fixes the SSZ shape of every container (list limits change Merkle roots), so it is a
//! type parameter rather than a runtime value. The process picks one at startup from the beacon
//! node's `PRESET_BASE` (see [`crate::Preset`]) and dispatches once:
//!
//! ```
//! use types::{ChainSpec, EthSpec, MainnetEthSpec, MinimalEthSpec, Preset, verify_preset};
//!
//! fn run<E: EthSpec>(spec: &ChainSpec) -> types::Result<()> {
//!     verify_preset::<E>(spec)?;
//!     // ... the whole client, generic over E ...
//!     Ok(())
//! }
//!
//! let spec = ChainSpec::mainnet(); // in production: parsed from /eth/v1/config/spec
//! match spec.preset_base {
//!     Preset::Mainnet => run::<MainnetEthSpec>(&spec),
//!     Preset::Minimal => run::<MinimalEthSpec>(&spec),
//! }
//! .unwrap();
//! ```
//!
//! Values are those of consensus-specs v1.6.1 (`presets/{mainnet,minimal}/*.yaml`).
//! [`EthSpec::preset_entries`] lists every preset key with its compiled value so that
//! [`crate::verify_preset`] can compare them with what the beacon node reports.

use std::fmt::Debug;

use typenum::{
    Prod, U1, U2, U4, U8, U16, U32, U33, U64, U128, U256, U512, U2048, U4096, U8192, U131072,
    U1048576, U1073741824, Unsigned,
};

use crate::fork_name::ForkName;
use crate::preset::Preset;

/// Bounds shared by every type-level limit.
pub trait Limit:
    Unsigned + Clone + Copy + Debug + Default + PartialEq + Eq + Send + Sync + Unpin + 'static
{
}

impl<T> Limit for T where
    T: Unsigned + Clone + Copy + Debug + Default + PartialEq + Eq + Send + Sync + Unpin + 'static
{
}

/// `DEPOSIT_CONTRACT_TREE_DEPTH + 1`: the length of a deposit's Merkle proof (a constant, not a
/// preset value).
pub type DepositProofLength = U33;

/// One preset key with its compiled value and the fork that introduced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetEntry {
    /// The spec key, e.g. `SLOTS_PER_EPOCH`.
    pub key: &'static str,
    /// The fork whose preset file defines it.
    pub fork: ForkName,
    /// The compiled value.
    pub value: u64,
}

/// A consensus preset (mainnet or minimal).
pub trait EthSpec:
    'static + Clone + Copy + Debug + Default + PartialEq + Eq + Send + Sync + Unpin
{
    /// Which preset this is.
    const PRESET: Preset;

    // ---- phase0 ----
    /// `MAX_COMMITTEES_PER_SLOT`.
    type MaxCommitteesPerSlot: Limit;
    /// `MAX_VALIDATORS_PER_COMMITTEE`.
    type MaxValidatorsPerCommittee: Limit;
    /// `MAX_VALIDATORS_PER_COMMITTEE * MAX_COMMITTEES_PER_SLOT` (Electra aggregation bits).
    type MaxValidatorsPerSlot: Limit;
    /// `MAX_PROPOSER_SLASHINGS`.
    type MaxProposerSlashings: Limit;
    /// `MAX_ATTESTER_SLASHINGS`.
    type MaxAttesterSlashings: Limit;
    /// `MAX_ATTESTATIONS`.
    type MaxAttestations: Limit;
    /// `MAX_DEPOSITS`.
    type MaxDeposits: Limit;
    /// `MAX_VOLUNTARY_EXITS`.
    type MaxVoluntaryExits: Limit;
    // ---- altair ----
    /// `SYNC_COMMITTEE_SIZE`.
    type SyncCommitteeSize: Limit;
    /// `SYNC_COMMITTEE_SIZE // SYNC_COMMITTEE_SUBNET_COUNT`.
    type SyncSubcommitteeSize: Limit;
    // ---- bellatrix ----
    /// `MAX_BYTES_PER_TRANSACTION`.
    type MaxBytesPerTransaction: Limit;
    /// `MAX_TRANSACTIONS_PER_PAYLOAD`.
    type MaxTransactionsPerPayload: Limit;
    /// `BYTES_PER_LOGS_BLOOM`.
    type BytesPerLogsBloom: Limit;
    /// `MAX_EXTRA_DATA_BYTES`.
    type MaxExtraDataBytes: Limit;
    // ---- capella ----
    /// `MAX_BLS_TO_EXECUTION_CHANGES`.
    type MaxBlsToExecutionChanges: Limit;
    /// `MAX_WITHDRAWALS_PER_PAYLOAD`.
    type MaxWithdrawalsPerPayload: Limit;
    // ---- deneb ----
    /// `MAX_BLOB_COMMITMENTS_PER_BLOCK`.
    type MaxBlobCommitmentsPerBlock: Limit;
    /// `BYTES_PER_FIELD_ELEMENT * FIELD_ELEMENTS_PER_BLOB`.
    type BytesPerBlob: Limit;
    // ---- electra ----
    /// `MAX_ATTESTER_SLASHINGS_ELECTRA`.
    type MaxAttesterSlashingsElectra: Limit;
    /// `MAX_ATTESTATIONS_ELECTRA`.
    type MaxAttestationsElectra: Limit;
    /// `MAX_DEPOSIT_REQUESTS_PER_PAYLOAD`.
    type MaxDepositRequestsPerPayload: Limit;
    /// `MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD`.
    type MaxWithdrawalRequestsPerPayload: Limit;
    /// `MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD`.
    type MaxConsolidationRequestsPerPayload: Limit;
    // ---- fulu ----
    /// `FIELD_ELEMENTS_PER_EXT_BLOB * MAX_BLOB_COMMITMENTS_PER_BLOCK`: the cell-proof list limit
    /// of Fulu block contents.
    type MaxCellProofsPerBlock: Limit;

    /// `SLOTS_PER_EPOCH`.
    const SLOTS_PER_EPOCH: u64;
    /// `TARGET_COMMITTEE_SIZE`.
    const TARGET_COMMITTEE_SIZE: u64;
    /// `SHUFFLE_ROUND_COUNT`.
    const SHUFFLE_ROUND_COUNT: u64;
    /// `EPOCHS_PER_ETH1_VOTING_PERIOD`.
    const EPOCHS_PER_ETH1_VOTING_PERIOD: u64;
    /// `SLOTS_PER_HISTORICAL_ROOT`.
    const SLOTS_PER_HISTORICAL_ROOT: u64;
    /// `EPOCHS_PER_HISTORICAL_VECTOR`.
    const EPOCHS_PER_HISTORICAL_VECTOR: u64;
    /// `EPOCHS_PER_SLASHINGS_VECTOR`.
    const EPOCHS_PER_SLASHINGS_VECTOR: u64;
    /// `INACTIVITY_PENALTY_QUOTIENT`.
    const INACTIVITY_PENALTY_QUOTIENT: u64;
    /// `MIN_SLASHING_PENALTY_QUOTIENT`.
    const MIN_SLASHING_PENALTY_QUOTIENT: u64;
    /// `PROPORTIONAL_SLASHING_MULTIPLIER`.
    const PROPORTIONAL_SLASHING_MULTIPLIER: u64;
    /// `EPOCHS_PER_SYNC_COMMITTEE_PERIOD`.
    const EPOCHS_PER_SYNC_COMMITTEE_PERIOD: u64;
    /// `UPDATE_TIMEOUT`.
    const UPDATE_TIMEOUT: u64;
    /// `MAX_VALIDATORS_PER_WITHDRAWALS_SWEEP`.
    const MAX_VALIDATORS_PER_WITHDRAWALS_SWEEP: u64;
    /// `PENDING_PARTIAL_WITHDRAWALS_LIMIT`.
    const PENDING_PARTIAL_WITHDRAWALS_LIMIT: u64;
    /// `PENDING_CONSOLIDATIONS_LIMIT`.
    const PENDING_CONSOLIDATIONS_LIMIT: u64;
    /// `MAX_PENDING_PARTIALS_PER_WITHDRAWALS_SWEEP`.
    const MAX_PENDING_PARTIALS_PER_WITHDRAWALS_SWEEP: u64;

    /// `MAX_EFFECTIVE_BALANCE` (gwei), the same in both presets.
    const MAX_EFFECTIVE_BALANCE: u64 = 32_000_000_000;
    /// `MAX_EFFECTIVE_BALANCE_ELECTRA` (gwei), the same in both presets.
    const MAX_EFFECTIVE_BALANCE_ELECTRA: u64 = 2_048_000_000_000;
    /// `MIN_ACTIVATION_BALANCE` (gwei), the same in both presets.
    const MIN_ACTIVATION_BALANCE: u64 = 32_000_000_000;
    /// `FIELD_ELEMENTS_PER_BLOB`, the same in both presets since v1.4.
    const FIELD_ELEMENTS_PER_BLOB: u64 = 4096;
    /// `FIELD_ELEMENTS_PER_EXT_BLOB`.
    const FIELD_ELEMENTS_PER_EXT_BLOB: u64 = 8192;

    /// `SLOTS_PER_EPOCH` as a number (convenience).
    fn slots_per_epoch() -> u64 {
        Self::SLOTS_PER_EPOCH
    }

    /// `MAX_COMMITTEES_PER_SLOT` as a number.
    fn max_committees_per_slot() -> u64 {
        Self::MaxCommitteesPerSlot::to_u64()
    }

    /// `SYNC_COMMITTEE_SIZE` as a number.
    fn sync_committee_size() -> u64 {
        Self::SyncCommitteeSize::to_u64()
    }

    /// `SYNC_COMMITTEE_SIZE // SYNC_COMMITTEE_SUBNET_COUNT` as a number.
    fn sync_subcommittee_size() -> u64 {
        Self::SyncSubcommitteeSize::to_u64()
    }

    /// Every preset key of consensus-specs v1.6.1 with this preset's value, tagged with the fork
    /// whose preset file defines it.
    fn preset_entries() -> Vec<PresetEntry> {
        use ForkName::*;
        let entry = |key, fork, value| PresetEntry { key, fork, value };
        vec![
            // phase0
            entry(
                "MAX_COMMITTEES_PER_SLOT",
                Phase0,
                Self::MaxCommitteesPerSlot::to_u64(),
            ),
            entry("TARGET_COMMITTEE_SIZE", Phase0, Self::TARGET_COMMITTEE_SIZE),
            entry(
                "MAX_VALIDATORS_PER_COMMITTEE",
                Phase0,
                Self::MaxValidatorsPerCommittee::to_u64(),
            ),
            entry("SHUFFLE_ROUND_COUNT", Phase0, Self::SHUFFLE_ROUND_COUNT),
            entry("HYSTERESIS_QUOTIENT", Phase0, 4),
            entry("HYSTERESIS_DOWNWARD_MULTIPLIER", Phase0, 1),
            entry("HYSTERESIS_UPWARD_MULTIPLIER", Phase0, 5),
            entry("MIN_DEPOSIT_AMOUNT", Phase0, 1_000_000_000),
            entry("MAX_EFFECTIVE_BALANCE", Phase0, Self::MAX_EFFECTIVE_BALANCE),
            entry("EFFECTIVE_BALANCE_INCREMENT", Phase0, 1_000_000_000),
            entry("MIN_ATTESTATION_INCLUSION_DELAY", Phase0, 1),
            entry("SLOTS_PER_EPOCH", Phase0, Self::SLOTS_PER_EPOCH),
            entry("MIN_SEED_LOOKAHEAD", Phase0, 1),
            entry("MAX_SEED_LOOKAHEAD", Phase0, 4),
            entry(
                "EPOCHS_PER_ETH1_VOTING_PERIOD",
                Phase0,
                Self::EPOCHS_PER_ETH1_VOTING_PERIOD,
            ),
            entry(
                "SLOTS_PER_HISTORICAL_ROOT",
                Phase0,
                Self::SLOTS_PER_HISTORICAL_ROOT,
            ),
            entry("MIN_EPOCHS_TO_INACTIVITY_PENALTY", Phase0, 4),
            entry(
                "EPOCHS_PER_HISTORICAL_VECTOR",
                Phase0,
                Self::EPOCHS_PER_HISTORICAL_VECTOR,
            ),
            entry(
                "EPOCHS_PER_SLASHINGS_VECTOR",
                Phase0,
                Self::EPOCHS_PER_SLASHINGS_VECTOR,
            ),
            entry("HISTORICAL_ROOTS_LIMIT", Phase0, 16_777_216),
            entry("VALIDATOR_REGISTRY_LIMIT", Phase0, 1_099_511_627_776),
            entry("BASE_REWARD_FACTOR", Phase0, 64),
            entry("WHISTLEBLOWER_REWARD_QUOTIENT", Phase0, 512),
            entry("PROPOSER_REWARD_QUOTIENT", Phase0, 8),
            entry(
                "INACTIVITY_PENALTY_QUOTIENT",
                Phase0,
                Self::INACTIVITY_PENALTY_QUOTIENT,
            ),
            entry(
                "MIN_SLASHING_PENALTY_QUOTIENT",
                Phase0,
                Self::MIN_SLASHING_PENALTY_QUOTIENT,
            ),
            entry(
                "PROPORTIONAL_SLASHING_MULTIPLIER",
                Phase0,
                Self::PROPORTIONAL_SLASHING_MULTIPLIER,
            ),
            entry(
                "MAX_PROPOSER_SLASHINGS",
                Phase0,
                Self::MaxProposerSlashings::to_u64(),
            ),
            entry(
                "MAX_ATTESTER_SLASHINGS",
                Phase0,
                Self::MaxAttesterSlashings::to_u64(),
            ),
            entry("MAX_ATTESTATIONS", Phase0, Self::MaxAttestations::to_u64()),
            entry("MAX_DEPOSITS", Phase0, Self::MaxDeposits::to_u64()),
            entry(
                "MAX_VOLUNTARY_EXITS",
                Phase0,
                Self::MaxVoluntaryExits::to_u64(),
            ),
            // altair
            entry("INACTIVITY_PENALTY_QUOTIENT_ALTAIR", Altair, 50_331_648),
            entry("MIN_SLASHING_PENALTY_QUOTIENT_ALTAIR", Altair, 64),
            entry("PROPORTIONAL_SLASHING_MULTIPLIER_ALTAIR", Altair, 2),
            entry(
                "SYNC_COMMITTEE_SIZE",
                Altair,
                Self::SyncCommitteeSize::to_u64(),
            ),
            entry(
                "EPOCHS_PER_SYNC_COMMITTEE_PERIOD",
                Altair,
                Self::EPOCHS_PER_SYNC_COMMITTEE_PERIOD,
            ),
            entry("MIN_SYNC_COMMITTEE_PARTICIPANTS", Altair, 1),
            entry("UPDATE_TIMEOUT", Altair, Self::UPDATE_TIMEOUT),
            // bellatrix
            entry(
                "INACTIVITY_PENALTY_QUOTIENT_BELLATRIX",
                Bellatrix,
                16_777_216,
            ),
            entry("MIN_SLASHING_PENALTY_QUOTIENT_BELLATRIX", Bellatrix, 32),
            entry("PROPORTIONAL_SLASHING_MULTIPLIER_BELLATRIX", Bellatrix, 3),
            entry(
                "MAX_BYTES_PER_TRANSACTION",
                Bellatrix,
                Self::MaxBytesPerTransaction::to_u64(),
            ),
            entry(
                "MAX_TRANSACTIONS_PER_PAYLOAD",
                Bellatrix,
                Self::MaxTransactionsPerPayload::to_u64(),
            ),
            entry(
                "BYTES_PER_LOGS_BLOOM",
                Bellatrix,
                Self::BytesPerLogsBloom::to_u64(),
            ),
            entry(
                "MAX_EXTRA_DATA_BYTES",
                Bellatrix,
                Self::MaxExtraDataBytes::to_u64(),
            ),
            // capella
            entry(
                "MAX_BLS_TO_EXECUTION_CHANGES",
                Capella,
                Self::MaxBlsToExecutionChanges::to_u64(),
            ),
            entry(
                "MAX_WITHDRAWALS_PER_PAYLOAD",
                Capella,
                Self::MaxWithdrawalsPerPayload::to_u64(),
            ),
            entry(
                "MAX_VALIDATORS_PER_WITHDRAWALS_SWEEP",
                Capella,
                Self::MAX_VALIDATORS_PER_WITHDRAWALS_SWEEP,
            ),
            // deneb
            entry(
                "MAX_BLOB_COMMITMENTS_PER_BLOCK",
                Deneb,
                Self::MaxBlobCommitmentsPerBlock::to_u64(),
            ),
            entry("KZG_COMMITMENT_INCLUSION_PROOF_DEPTH", Deneb, 17),
            entry(
                "FIELD_ELEMENTS_PER_BLOB",
                Deneb,
                Self::FIELD_ELEMENTS_PER_BLOB,
            ),
            // electra
            entry(
                "MIN_ACTIVATION_BALANCE",
                Electra,
                Self::MIN_ACTIVATION_BALANCE,
            ),
            entry(
                "MAX_EFFECTIVE_BALANCE_ELECTRA",
                Electra,
                Self::MAX_EFFECTIVE_BALANCE_ELECTRA,
            ),
            entry("MIN_SLASHING_PENALTY_QUOTIENT_ELECTRA", Electra, 4096),
            entry("WHISTLEBLOWER_REWARD_QUOTIENT_ELECTRA", Electra, 4096),
            entry("PENDING_DEPOSITS_LIMIT", Electra, 134_217_728),
            entry(
                "PENDING_PARTIAL_WITHDRAWALS_LIMIT",
                Electra,
                Self::PENDING_PARTIAL_WITHDRAWALS_LIMIT,
            ),
            entry(
                "PENDING_CONSOLIDATIONS_LIMIT",
                Electra,
                Self::PENDING_CONSOLIDATIONS_LIMIT,
            ),
            entry(
                "MAX_ATTESTER_SLASHINGS_ELECTRA",
                Electra,
                Self::MaxAttesterSlashingsElectra::to_u64(),
            ),
            entry(
                "MAX_ATTESTATIONS_ELECTRA",
                Electra,
                Self::MaxAttestationsElectra::to_u64(),
            ),
            entry(
                "MAX_DEPOSIT_REQUESTS_PER_PAYLOAD",
                Electra,
                Self::MaxDepositRequestsPerPayload::to_u64(),
            ),
            entry(
                "MAX_WITHDRAWAL_REQUESTS_PER_PAYLOAD",
                Electra,
                Self::MaxWithdrawalRequestsPerPayload::to_u64(),
            ),
            entry(
                "MAX_CONSOLIDATION_REQUESTS_PER_PAYLOAD",
                Electra,
                Self::MaxConsolidationRequestsPerPayload::to_u64(),
            ),
            entry(
                "MAX_PENDING_PARTIALS_PER_WITHDRAWALS_SWEEP",
                Electra,
                Self::MAX_PENDING_PARTIALS_PER_WITHDRAWALS_SWEEP,
            ),
            entry("MAX_PENDING_DEPOSITS_PER_EPOCH", Electra, 16),
            // fulu
            entry("KZG_COMMITMENTS_INCLUSION_PROOF_DEPTH", Fulu, 4),
            entry("FIELD_ELEMENTS_PER_CELL", Fulu, 64),
            entry(
                "FIELD_ELEMENTS_PER_EXT_BLOB",
                Fulu,
                Self::FIELD_ELEMENTS_PER_EXT_BLOB,
            ),
            entry("CELLS_PER_EXT_BLOB", Fulu, 128),
            entry("NUMBER_OF_COLUMNS", Fulu, 128),
        ]
    }
}

/// The mainnet preset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MainnetEthSpec;

impl EthSpec for MainnetEthSpec {
    const PRESET: Preset = Preset::Mainnet;

    type MaxCommitteesPerSlot = U64;
    type MaxValidatorsPerCommittee = U2048;
    type MaxValidatorsPerSlot = U131072;
    type MaxProposerSlashings = U16;
    type MaxAttesterSlashings = U2;
    type MaxAttestations = U128;
    type MaxDeposits = U16;
    type MaxVoluntaryExits = U16;
    type SyncCommitteeSize = U512;
    type SyncSubcommitteeSize = U128;
    type MaxBytesPerTransaction = U1073741824;
    type MaxTransactionsPerPayload = U1048576;
    type BytesPerLogsBloom = U256;
    type MaxExtraDataBytes = U32;
    type MaxBlsToExecutionChanges = U16;
    type MaxWithdrawalsPerPayload = U16;
    type MaxBlobCommitmentsPerBlock = U4096;
    type BytesPerBlob = U131072;
    type MaxAttesterSlashingsElectra = U1;
    type MaxAttestationsElectra = U8;
    type MaxDepositRequestsPerPayload = U8192;
    type MaxWithdrawalRequestsPerPayload = U16;
    type MaxConsolidationRequestsPerPayload = U2;
    type MaxCellProofsPerBlock = Prod<U8192, U4096>;

    const SLOTS_PER_EPOCH: u64 = 32;
    const TARGET_COMMITTEE_SIZE: u64 = 128;
    const SHUFFLE_ROUND_COUNT: u64 = 90;
    const EPOCHS_PER_ETH1_VOTING_PERIOD: u64 = 64;
    const SLOTS_PER_HISTORICAL_ROOT: u64 = 8192;
    const EPOCHS_PER_HISTORICAL_VECTOR: u64 = 65_536;
    const EPOCHS_PER_SLASHINGS_VECTOR: u64 = 8192;
    const INACTIVITY_PENALTY_QUOTIENT: u64 = 67_108_864;
    const MIN_SLASHING_PENALTY_QUOTIENT: u64 = 128;
    const PROPORTIONAL_SLASHING_MULTIPLIER: u64 = 1;
    const EPOCHS_PER_SYNC_COMMITTEE_PERIOD: u64 = 256;
    const UPDATE_TIMEOUT: u64 = 8192;
    const MAX_VALIDATORS_PER_WITHDRAWALS_SWEEP: u64 = 16_384;
    const PENDING_PARTIAL_WITHDRAWALS_LIMIT: u64 = 134_217_728;
    const PENDING_CONSOLIDATIONS_LIMIT: u64 = 262_144;
    const MAX_PENDING_PARTIALS_PER_WITHDRAWALS_SWEEP: u64 = 8;
}

/// The minimal preset (small committees and epochs, for tests and devnets).
///
/// Values follow consensus-specs v1.6 `presets/minimal`: since v1.6 the Deneb blob commitment
/// limit and the Electra execution-request limits equal mainnet's. The mainnet values are checked
/// against the spec files by the `spec_configs` test; the minimal ones against a recorded minimal
/// beacon node (phase0..capella keys) and, at startup, against every node via
/// [`crate::verify_preset`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MinimalEthSpec;

impl EthSpec for MinimalEthSpec {
    const PRESET: Preset = Preset::Minimal;

    type MaxCommitteesPerSlot = U4;
    type MaxValidatorsPerCommittee = U2048;
    type MaxValidatorsPerSlot = U8192;
    type MaxProposerSlashings = U16;
    type MaxAttesterSlashings = U2;
    type MaxAttestations = U128;
    type MaxDeposits = U16;
    type MaxVoluntaryExits = U16;
    type SyncCommitteeSize = U32;
    type SyncSubcommitteeSize = U8;
    type MaxBytesPerTransaction = U1073741824;
    type MaxTransactionsPerPayload = U1048576;
    type BytesPerLogsBloom = U256;
    type MaxExtraDataBytes = U32;
    type MaxBlsToExecutionChanges = U16;
    type MaxWithdrawalsPerPayload = U4;
    type MaxBlobCommitmentsPerBlock = U4096;
    type BytesPerBlob = U131072;
    type MaxAttesterSlashingsElectra = U1;
    type MaxAttestationsElectra = U8;
    type MaxDepositRequestsPerPayload = U8192;
    type MaxWithdrawalRequestsPerPayload = U16;
    type MaxConsolidationRequestsPerPayload = U2;
    type MaxCellProofsPerBlock = Prod<U8192, U4096>;

    const SLOTS_PER_EPOCH: u64 = 8;
    const TARGET_COMMITTEE_SIZE: u64 = 4;
    const SHUFFLE_ROUND_COUNT: u64 = 10;
    const EPOCHS_PER_ETH1_VOTING_PERIOD: u64 = 4;
    const SLOTS_PER_HISTORICAL_ROOT: u64 = 64;
    const EPOCHS_PER_HISTORICAL_VECTOR: u64 = 64;
    const EPOCHS_PER_SLASHINGS_VECTOR: u64 = 64;
    const INACTIVITY_PENALTY_QUOTIENT: u64 = 33_554_432;
    const MIN_SLASHING_PENALTY_QUOTIENT: u64 = 64;
    const PROPORTIONAL_SLASHING_MULTIPLIER: u64 = 2;
    const EPOCHS_PER_SYNC_COMMITTEE_PERIOD: u64 = 8;
    const UPDATE_TIMEOUT: u64 = 64;
    const MAX_VALIDATORS_PER_WITHDRAWALS_SWEEP: u64 = 16;
    const PENDING_PARTIAL_WITHDRAWALS_LIMIT: u64 = 64;
    const PENDING_CONSOLIDATIONS_LIMIT: u64 = 64;
    const MAX_PENDING_PARTIALS_PER_WITHDRAWALS_SWEEP: u64 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Derived limits must agree with the values they are derived from.
    fn check_derived<E: EthSpec>() {
        assert_eq!(
            E::MaxValidatorsPerSlot::to_u64(),
            E::MaxValidatorsPerCommittee::to_u64() * E::MaxCommitteesPerSlot::to_u64()
        );
        assert_eq!(
            E::SyncSubcommitteeSize::to_u64(),
            E::SyncCommitteeSize::to_u64() / crate::chain_spec::SYNC_COMMITTEE_SUBNET_COUNT
        );
        assert_eq!(E::BytesPerBlob::to_u64(), 32 * E::FIELD_ELEMENTS_PER_BLOB);
        assert_eq!(
            E::MaxCellProofsPerBlock::to_u64(),
            E::FIELD_ELEMENTS_PER_EXT_BLOB * E::MaxBlobCommitmentsPerBlock::to_u64()
        );
        let entries = E::preset_entries();
        let mut keys: Vec<_> = entries.iter().map(|e| e.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), entries.len(), "duplicate preset key");
    }

    #[test]
    fn derived_limits_agree() {
        check_derived::<MainnetEthSpec>();
        check_derived::<MinimalEthSpec>();
    }
}
