//! Block production and publication parameters.

use serde::{Deserialize, Serialize};

use crate::fork_name::ForkName;
use crate::primitives::U256;

/// The top-level fields of a `produceBlockV3` response besides `data` (also sent as the
/// `Eth-Consensus-Version`, `Eth-Execution-Payload-Blinded`, `Eth-Execution-Payload-Value` and
/// `Eth-Consensus-Block-Value` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceBlockV3Metadata {
    /// The block's fork.
    pub version: ForkName,
    /// Whether `data` is a blinded block.
    pub execution_payload_blinded: bool,
    /// The execution payload's value to the proposer, in wei.
    #[serde(with = "super::quoted::quoted_u256")]
    pub execution_payload_value: U256,
    /// The consensus rewards of the block, in wei.
    #[serde(with = "super::quoted::quoted_u256")]
    pub consensus_block_value: U256,
}

/// The `broadcast_validation` level of block publication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastValidation {
    /// Gossip checks only (the spec's default).
    #[default]
    Gossip,
    /// Full consensus checks except execution payload transactions.
    Consensus,
    /// Consensus checks plus an equivocation check right before broadcast.
    ConsensusAndEquivocation,
}

impl BroadcastValidation {
    /// The query parameter value.
    pub const fn as_str(self) -> &'static str {
        match self {
            BroadcastValidation::Gossip => "gossip",
            BroadcastValidation::Consensus => "consensus",
            BroadcastValidation::ConsensusAndEquivocation => "consensus_and_equivocation",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_ignores_data() {
        let response = json!({
            "version": "electra", "execution_payload_blinded": true,
            "execution_payload_value": "12345", "consensus_block_value": "7", "data": {}
        });
        let meta: ProduceBlockV3Metadata = serde_json::from_value(response).unwrap();
        assert_eq!(meta.version, ForkName::Electra);
        assert!(meta.execution_payload_blinded);
        assert_eq!(meta.execution_payload_value, U256::from(12345u64));
        assert_eq!(
            serde_json::to_value(BroadcastValidation::ConsensusAndEquivocation).unwrap(),
            json!("consensus_and_equivocation")
        );
    }
}
