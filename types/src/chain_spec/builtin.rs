//! Built-in chain specs: mainnet and minimal as published in consensus-specs v1.6.1
//! (`configs/{mainnet,minimal}.yaml` plus the preset values and spec constants a beacon node
//! reports alongside them).
//!
//! They are assembled as the same key/value map a beacon node would serve and go through the
//! same parser, so they obey every invariant a parsed spec does.

use serde_json::{Map, Value};

use super::ChainSpec;
use crate::eth_spec::{EthSpec, MainnetEthSpec, MinimalEthSpec};

/// Constants of the phase0..fulu specs that nodes include in `/eth/v1/config/spec`.
const CONSTANTS: &[(&str, &str)] = &[
    ("DOMAIN_BEACON_PROPOSER", "0x00000000"),
    ("DOMAIN_BEACON_ATTESTER", "0x01000000"),
    ("DOMAIN_RANDAO", "0x02000000"),
    ("DOMAIN_DEPOSIT", "0x03000000"),
    ("DOMAIN_VOLUNTARY_EXIT", "0x04000000"),
    ("DOMAIN_SELECTION_PROOF", "0x05000000"),
    ("DOMAIN_AGGREGATE_AND_PROOF", "0x06000000"),
    ("DOMAIN_SYNC_COMMITTEE", "0x07000000"),
    ("DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF", "0x08000000"),
    ("DOMAIN_CONTRIBUTION_AND_PROOF", "0x09000000"),
    ("DOMAIN_BLS_TO_EXECUTION_CHANGE", "0x0a000000"),
    ("DOMAIN_APPLICATION_MASK", "0x00000001"),
    ("DOMAIN_APPLICATION_BUILDER", "0x00000001"),
    ("TARGET_AGGREGATORS_PER_COMMITTEE", "16"),
    ("TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE", "16"),
    ("SYNC_COMMITTEE_SUBNET_COUNT", "4"),
    ("GENESIS_SLOT", "0"),
    ("GENESIS_EPOCH", "0"),
    ("FAR_FUTURE_EPOCH", "18446744073709551615"),
    ("BASE_REWARDS_PER_EPOCH", "4"),
    ("DEPOSIT_CONTRACT_TREE_DEPTH", "32"),
    ("JUSTIFICATION_BITS_LENGTH", "4"),
];

/// Config values shared by mainnet and minimal (v1.6.1 `configs/*.yaml`).
const COMMON_CONFIG: &[(&str, &str)] = &[
    (
        "TERMINAL_BLOCK_HASH",
        "0x0000000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "TERMINAL_BLOCK_HASH_ACTIVATION_EPOCH",
        "18446744073709551615",
    ),
    ("SECONDS_PER_ETH1_BLOCK", "14"),
    ("MIN_VALIDATOR_WITHDRAWABILITY_DELAY", "256"),
    ("ATTESTATION_DUE_BPS", "3333"),
    ("AGGREGATE_DUE_BPS", "6667"),
    ("SYNC_MESSAGE_DUE_BPS", "3333"),
    ("CONTRIBUTION_DUE_BPS", "6667"),
    ("PROPOSER_REORG_CUTOFF_BPS", "1667"),
    ("INACTIVITY_SCORE_BIAS", "4"),
    ("INACTIVITY_SCORE_RECOVERY_RATE", "16"),
    ("EJECTION_BALANCE", "16000000000"),
    ("PROPOSER_SCORE_BOOST", "40"),
    ("MAX_PAYLOAD_SIZE", "10485760"),
    ("ATTESTATION_SUBNET_COUNT", "64"),
    ("MAX_BLOBS_PER_BLOCK", "6"),
    ("MAX_BLOBS_PER_BLOCK_ELECTRA", "9"),
];

const MAINNET_CONFIG: &[(&str, &str)] = &[
    ("PRESET_BASE", "mainnet"),
    ("CONFIG_NAME", "mainnet"),
    ("TERMINAL_TOTAL_DIFFICULTY", "58750000000000000000000"),
    ("MIN_GENESIS_ACTIVE_VALIDATOR_COUNT", "16384"),
    ("MIN_GENESIS_TIME", "1606824000"),
    ("GENESIS_FORK_VERSION", "0x00000000"),
    ("GENESIS_DELAY", "604800"),
    ("ALTAIR_FORK_VERSION", "0x01000000"),
    ("ALTAIR_FORK_EPOCH", "74240"),
    ("BELLATRIX_FORK_VERSION", "0x02000000"),
    ("BELLATRIX_FORK_EPOCH", "144896"),
    ("CAPELLA_FORK_VERSION", "0x03000000"),
    ("CAPELLA_FORK_EPOCH", "194048"),
    ("DENEB_FORK_VERSION", "0x04000000"),
    ("DENEB_FORK_EPOCH", "269568"),
    ("ELECTRA_FORK_VERSION", "0x05000000"),
    ("ELECTRA_FORK_EPOCH", "364032"),
    ("FULU_FORK_VERSION", "0x06000000"),
    ("FULU_FORK_EPOCH", "411392"),
    ("SECONDS_PER_SLOT", "12"),
    ("SLOT_DURATION_MS", "12000"),
    ("SHARD_COMMITTEE_PERIOD", "256"),
    ("ETH1_FOLLOW_DISTANCE", "2048"),
    ("MIN_PER_EPOCH_CHURN_LIMIT", "4"),
    ("CHURN_LIMIT_QUOTIENT", "65536"),
    ("MAX_PER_EPOCH_ACTIVATION_CHURN_LIMIT", "8"),
    ("MIN_PER_EPOCH_CHURN_LIMIT_ELECTRA", "128000000000"),
    ("MAX_PER_EPOCH_ACTIVATION_EXIT_CHURN_LIMIT", "256000000000"),
    ("DEPOSIT_CHAIN_ID", "1"),
    ("DEPOSIT_NETWORK_ID", "1"),
    (
        "DEPOSIT_CONTRACT_ADDRESS",
        "0x00000000219ab540356cbb839cbe05303d7705fa",
    ),
];

const MINIMAL_CONFIG: &[(&str, &str)] = &[
    ("PRESET_BASE", "minimal"),
    ("CONFIG_NAME", "minimal"),
    (
        "TERMINAL_TOTAL_DIFFICULTY",
        "115792089237316195423570985008687907853269984665640564039457584007913129638912",
    ),
    ("MIN_GENESIS_ACTIVE_VALIDATOR_COUNT", "64"),
    ("MIN_GENESIS_TIME", "1578009600"),
    ("GENESIS_FORK_VERSION", "0x00000001"),
    ("GENESIS_DELAY", "300"),
    ("ALTAIR_FORK_VERSION", "0x01000001"),
    ("ALTAIR_FORK_EPOCH", "18446744073709551615"),
    ("BELLATRIX_FORK_VERSION", "0x02000001"),
    ("BELLATRIX_FORK_EPOCH", "18446744073709551615"),
    ("CAPELLA_FORK_VERSION", "0x03000001"),
    ("CAPELLA_FORK_EPOCH", "18446744073709551615"),
    ("DENEB_FORK_VERSION", "0x04000001"),
    ("DENEB_FORK_EPOCH", "18446744073709551615"),
    ("ELECTRA_FORK_VERSION", "0x05000001"),
    ("ELECTRA_FORK_EPOCH", "18446744073709551615"),
    ("FULU_FORK_VERSION", "0x06000001"),
    ("FULU_FORK_EPOCH", "18446744073709551615"),
    ("SECONDS_PER_SLOT", "6"),
    ("SLOT_DURATION_MS", "6000"),
    ("SHARD_COMMITTEE_PERIOD", "64"),
    ("ETH1_FOLLOW_DISTANCE", "16"),
    ("MIN_PER_EPOCH_CHURN_LIMIT", "2"),
    ("CHURN_LIMIT_QUOTIENT", "32"),
    ("MAX_PER_EPOCH_ACTIVATION_CHURN_LIMIT", "4"),
    ("MIN_PER_EPOCH_CHURN_LIMIT_ELECTRA", "64000000000"),
    ("MAX_PER_EPOCH_ACTIVATION_EXIT_CHURN_LIMIT", "128000000000"),
    ("DEPOSIT_CHAIN_ID", "5"),
    ("DEPOSIT_NETWORK_ID", "5"),
    (
        "DEPOSIT_CONTRACT_ADDRESS",
        "0x1234567890123456789012345678901234567890",
    ),
];

fn assemble<E: EthSpec>(config: &[(&str, &str)], blob_schedule: Value) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in CONSTANTS.iter().chain(COMMON_CONFIG).chain(config) {
        map.insert((*key).to_owned(), Value::String((*value).to_owned()));
    }
    for entry in E::preset_entries() {
        map.insert(entry.key.to_owned(), Value::String(entry.value.to_string()));
    }
    map.insert("BLOB_SCHEDULE".to_owned(), blob_schedule);
    map
}

impl ChainSpec {
    /// Ethereum mainnet (consensus-specs v1.6.1).
    pub fn mainnet() -> Self {
        let blob_schedule = serde_json::json!([
            {"EPOCH": "412672", "MAX_BLOBS_PER_BLOCK": "15"},
            {"EPOCH": "419072", "MAX_BLOBS_PER_BLOCK": "21"},
        ]);
        let map = assemble::<MainnetEthSpec>(MAINNET_CONFIG, blob_schedule);
        // A constant table: its validity is covered by unit tests.
        ChainSpec::from_config_map(&map).expect("built-in mainnet config is valid")
    }

    /// The minimal config (consensus-specs v1.6.1): minimal preset, all forks after phase0
    /// unscheduled.
    pub fn minimal() -> Self {
        let map = assemble::<MinimalEthSpec>(MINIMAL_CONFIG, Value::Array(Vec::new()));
        // A constant table: its validity is covered by unit tests.
        ChainSpec::from_config_map(&map).expect("built-in minimal config is valid")
    }
}
