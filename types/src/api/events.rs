//! Server-sent event payloads of `/eth/v1/events` that the validator client consumes.

use serde::{Deserialize, Serialize};

use crate::primitives::{Epoch, Hash256, Slot};

/// An event topic (the `topics` query parameter and the SSE `event:` name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventTopic {
    /// A new head (after fork choice).
    Head,
    /// A block was imported.
    Block,
    /// The head changed to a block not descending from the previous head.
    ChainReorg,
    /// A new finalized checkpoint.
    FinalizedCheckpoint,
}

impl EventTopic {
    /// Every topic this crate models.
    pub const ALL: [EventTopic; 4] = [
        EventTopic::Head,
        EventTopic::Block,
        EventTopic::ChainReorg,
        EventTopic::FinalizedCheckpoint,
    ];

    /// The API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventTopic::Head => "head",
            EventTopic::Block => "block",
            EventTopic::ChainReorg => "chain_reorg",
            EventTopic::FinalizedCheckpoint => "finalized_checkpoint",
        }
    }

    /// The topic with API name `name`, if modelled.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|topic| topic.as_str() == name)
    }
}

impl std::fmt::Display for EventTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `head` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeadEvent {
    /// The head block's slot.
    pub slot: Slot,
    /// The head block root.
    pub block: Hash256,
    /// The head state root.
    pub state: Hash256,
    /// Whether the head is the first slot of an epoch.
    pub epoch_transition: bool,
    /// Dependent root of the previous epoch's attester duties.
    pub previous_duty_dependent_root: Hash256,
    /// Dependent root of the current epoch's attester duties (next epoch's proposer duties
    /// depend on the block root it names as well).
    pub current_duty_dependent_root: Hash256,
    /// Whether the head was imported optimistically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
}

/// The `block` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockEvent {
    /// The block's slot.
    pub slot: Slot,
    /// The block root.
    pub block: Hash256,
    /// Whether the block was imported optimistically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
}

/// The `chain_reorg` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainReorgEvent {
    /// The slot of the new head.
    pub slot: Slot,
    /// How many blocks were reorganised out.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub depth: u64,
    /// The previous head block root.
    pub old_head_block: Hash256,
    /// The new head block root.
    pub new_head_block: Hash256,
    /// The previous head state root.
    pub old_head_state: Hash256,
    /// The new head state root.
    pub new_head_state: Hash256,
    /// The epoch of the new head.
    pub epoch: Epoch,
    /// Whether the new head was imported optimistically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
}

/// The `finalized_checkpoint` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FinalizedCheckpointEvent {
    /// The finalized block root.
    pub block: Hash256,
    /// The finalized state root.
    pub state: Hash256,
    /// The finalized epoch.
    pub epoch: Epoch,
    /// Whether the block was imported optimistically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        for topic in EventTopic::ALL {
            assert_eq!(EventTopic::from_name(topic.as_str()), Some(topic));
            assert_eq!(serde_json::to_value(topic).unwrap(), topic.as_str());
        }
        assert_eq!(EventTopic::from_name("attestation"), None);
    }
}
