//! Conversion between [`ValidatorState`] and the database columns both backends share.
//!
//! Column order everywhere: `block_low, att_source_low, att_target_low, last_block_slot,
//! last_block_root, last_att_source, last_att_target, last_att_root`. Integers are `i64`
//! (values above [`crate::MAX_STORABLE`] never reach the database); roots are 32-byte blobs or
//! NULL when unknown. A value that breaks these rules is reported as corruption, never guessed.

use types::{Epoch, Hash256, Slot};

use crate::error::{Error, Result};
use crate::model::{AttestationRecord, AttestationWatermark, BlockRecord, ValidatorState};

/// The state columns, in the order of [`STATE_COLUMNS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StateRow {
    pub block_low: Option<i64>,
    pub att_source_low: Option<i64>,
    pub att_target_low: Option<i64>,
    pub last_block_slot: Option<i64>,
    pub last_block_root: Option<Vec<u8>>,
    pub last_att_source: Option<i64>,
    pub last_att_target: Option<i64>,
    pub last_att_root: Option<Vec<u8>>,
}

/// The state column list, for SELECTs.
pub(crate) const STATE_COLUMNS: &str = "block_low, att_source_low, att_target_low, \
     last_block_slot, last_block_root, last_att_source, last_att_target, last_att_root";

/// `u64` to a database integer (values are range-checked before they get here).
pub(crate) fn to_db(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Corrupt(format!("value {value} does not fit in i64")))
}

/// A database integer back to `u64`.
pub(crate) fn from_db(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt(format!("negative {what} {value}")))
}

/// A stored root: NULL, or exactly 32 bytes.
pub(crate) fn root_from_db(bytes: Option<Vec<u8>>, what: &str) -> Result<Option<Hash256>> {
    bytes
        .map(|bytes| {
            <[u8; 32]>::try_from(bytes.as_slice())
                .map(Hash256::from)
                .map_err(|_| Error::Corrupt(format!("{what} has {} bytes, not 32", bytes.len())))
        })
        .transpose()
}

/// A root for storage: `None` stays NULL.
pub(crate) fn root_to_db(root: Option<Hash256>) -> Option<Vec<u8>> {
    root.map(|r| r.as_slice().to_vec())
}

impl StateRow {
    pub(crate) fn to_state(&self) -> Result<ValidatorState> {
        let attestation_low = match (self.att_source_low, self.att_target_low) {
            (Some(source), Some(target)) => Some(AttestationWatermark {
                source: Epoch(from_db(source, "att_source_low")?),
                target: Epoch(from_db(target, "att_target_low")?),
            }),
            (None, None) => None,
            _ => {
                return Err(Error::Corrupt(
                    "only one attestation watermark is set".into(),
                ));
            }
        };
        let last_block = match self.last_block_slot {
            Some(slot) => Some(BlockRecord {
                slot: Slot(from_db(slot, "last_block_slot")?),
                signing_root: root_from_db(self.last_block_root.clone(), "last_block_root")?,
            }),
            None => None,
        };
        let last_attestation = match (self.last_att_source, self.last_att_target) {
            (Some(source), Some(target)) => Some(AttestationRecord {
                source: Epoch(from_db(source, "last_att_source")?),
                target: Epoch(from_db(target, "last_att_target")?),
                signing_root: root_from_db(self.last_att_root.clone(), "last_att_root")?,
            }),
            (None, None) => None,
            _ => {
                return Err(Error::Corrupt(
                    "only one of last_att_source/target is set".into(),
                ));
            }
        };
        Ok(ValidatorState {
            block_low: self
                .block_low
                .map(|v| from_db(v, "block_low").map(Slot))
                .transpose()?,
            attestation_low,
            last_block,
            last_attestation,
        })
    }

    pub(crate) fn from_state(state: &ValidatorState) -> Result<Self> {
        let opt = |v: Option<u64>| v.map(to_db).transpose();
        Ok(Self {
            block_low: opt(state.block_low.map(Slot::as_u64))?,
            att_source_low: opt(state.attestation_low.map(|w| w.source.as_u64()))?,
            att_target_low: opt(state.attestation_low.map(|w| w.target.as_u64()))?,
            last_block_slot: opt(state.last_block.map(|b| b.slot.as_u64()))?,
            last_block_root: root_to_db(state.last_block.and_then(|b| b.signing_root)),
            last_att_source: opt(state.last_attestation.map(|a| a.source.as_u64()))?,
            last_att_target: opt(state.last_attestation.map(|a| a.target.as_u64()))?,
            last_att_root: root_to_db(state.last_attestation.and_then(|a| a.signing_root)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let state = ValidatorState {
            block_low: Some(Slot(4)),
            attestation_low: Some(AttestationWatermark {
                source: Epoch(1),
                target: Epoch(2),
            }),
            last_block: Some(BlockRecord {
                slot: Slot(9),
                signing_root: None,
            }),
            last_attestation: Some(AttestationRecord {
                source: Epoch(3),
                target: Epoch(5),
                signing_root: Some(Hash256::repeat_byte(1)),
            }),
        };
        let row = StateRow::from_state(&state).unwrap();
        assert_eq!(row.to_state().unwrap(), state);
        let bad = StateRow {
            last_att_root: Some(vec![1, 2]),
            last_att_source: Some(1),
            last_att_target: Some(1),
            ..StateRow::default()
        };
        assert!(matches!(bad.to_state(), Err(Error::Corrupt(_))));
    }
}
