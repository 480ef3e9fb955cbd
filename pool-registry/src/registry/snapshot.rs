//! The per-frame assignment snapshot: which operator runs each key, and each operator's fee
//! terms, as captured when the frame starts. Reports use the snapshot, never the live registry,
//! so a registry change takes effect from the next frame only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use types::{Address, Hash256, PublicKeyBytes};

use super::{OperatorId, Registry};
use crate::canonical;
use crate::error::Result;

/// An operator's terms for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorTerms {
    /// The operator's fee rate for the frame.
    pub operator_bps: u16,
    /// Where its fees are paid.
    pub reward_address: Address,
}

/// Operator ids per key and fee terms, fixed for one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameSnapshot {
    /// The frame index.
    pub frame: u64,
    /// The protocol fee rate for the frame.
    pub protocol_bps: u16,
    /// Terms per operator id.
    pub operators: BTreeMap<OperatorId, OperatorTerms>,
    /// Operator id per validator public key.
    pub assignments: BTreeMap<PublicKeyBytes, OperatorId>,
}

impl FrameSnapshot {
    /// Captures the live registry for `frame`.
    pub fn capture(registry: &Registry, frame: u64) -> Self {
        let operators = registry
            .operators()
            .iter()
            .map(|o| {
                (
                    o.id,
                    OperatorTerms {
                        operator_bps: o.operator_bps.unwrap_or(registry.pool().fees.operator_bps),
                        reward_address: o.reward_address,
                    },
                )
            })
            .collect();
        let assignments = registry
            .operators()
            .iter()
            .flat_map(|o| o.keys.iter().map(move |k| (*k, o.id)))
            .collect();
        Self {
            frame,
            protocol_bps: registry.pool().fees.protocol_bps,
            operators,
            assignments,
        }
    }

    /// The operator of `pubkey` in this frame.
    pub fn operator_of(&self, pubkey: &PublicKeyBytes) -> Option<OperatorId> {
        self.assignments.get(pubkey).copied()
    }

    /// `keccak256` of the snapshot's canonical JSON: the report commits to it.
    pub fn root(&self) -> Result<Hash256> {
        Ok(alloy_primitives::keccak256(
            canonical::to_canonical_json(self)?.as_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of `docs/accounting.md` §1.2, pinned: operator ids sort as strings ("10"
    /// before "2"), every integer is a string, hex is lowercase.
    #[test]
    fn canonical_json_and_root_match_the_specification_example() {
        let snapshot = FrameSnapshot {
            frame: 3,
            protocol_bps: 500,
            operators: BTreeMap::from([
                (
                    2,
                    OperatorTerms {
                        operator_bps: 700,
                        reward_address: Address::repeat_byte(0x22),
                    },
                ),
                (
                    10,
                    OperatorTerms {
                        operator_bps: 500,
                        reward_address: Address::repeat_byte(0xab),
                    },
                ),
            ]),
            assignments: BTreeMap::from([
                (PublicKeyBytes::repeat_byte(0xaa), 10),
                (PublicKeyBytes::repeat_byte(0x0b), 2),
            ]),
        };
        let text = canonical::to_canonical_json(&snapshot).unwrap();
        let expected = format!(
            r#"{{"assignments":{{"0x{}":"2","0x{}":"10"}},"frame":"3","operators":{{"10":{{"operator_bps":"500","reward_address":"0x{}"}},"2":{{"operator_bps":"700","reward_address":"0x{}"}}}},"protocol_bps":"500"}}"#,
            "0b".repeat(48),
            "aa".repeat(48),
            "ab".repeat(20),
            "22".repeat(20)
        );
        assert_eq!(text, expected);
        assert_eq!(
            snapshot.root().unwrap().to_string(),
            "0x360db90b754c3f4bc280ecc6d3a8e27b99ef78bc26928dd3abd44d042f00bdf0"
        );
    }
}
