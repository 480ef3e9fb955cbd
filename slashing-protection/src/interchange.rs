//! EIP-3076 interchange format v5: types, strict parsing with located errors, minification on
//! import, and the safe export view of a validator's state.
//!
//! Invariants:
//! - Parsing never panics on input and names the offending field (`data[2].pubkey`).
//! - Import is minimal: only the maxima of each validator's slots, sources and targets matter
//!   ([`minify`]). Duplicate pubkeys merge; slashable records inside a file are harmless.
//! - An export never lets a client that imports it sign anything this store would refuse:
//!   every exported record sits at or above everything that was left out (see [`export_entry`]).

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use types::{Epoch, Hash256, PublicKeyBytes, Slot};

use crate::error::{Error, Result};
use crate::model::{
    AttestationRecord, AttestationWatermark, BlockRecord, ImportedWatermarks, MAX_STORABLE,
    ValidatorState,
};

/// The only interchange format version this crate reads and writes.
pub const INTERCHANGE_FORMAT_VERSION: u64 = 5;

/// An EIP-3076 interchange document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interchange {
    /// Format version and chain.
    pub metadata: InterchangeMetadata,
    /// Per-validator records.
    pub data: Vec<InterchangeData>,
}

/// Interchange metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InterchangeMetadata {
    /// Always 5 when valid; written as the string `"5"`.
    #[serde(serialize_with = "quoted")]
    pub interchange_format_version: u64,
    /// The chain the records belong to.
    pub genesis_validators_root: Hash256,
}

/// One validator's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterchangeData {
    /// The validator's public key.
    pub pubkey: PublicKeyBytes,
    /// Signed blocks.
    pub signed_blocks: Vec<InterchangeBlock>,
    /// Signed attestations.
    pub signed_attestations: Vec<InterchangeAttestation>,
}

/// A signed block record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InterchangeBlock {
    /// The block's slot.
    pub slot: Slot,
    /// Its signing root, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_root: Option<Hash256>,
}

/// A signed attestation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InterchangeAttestation {
    /// Source epoch.
    pub source_epoch: Epoch,
    /// Target epoch.
    pub target_epoch: Epoch,
    /// Its signing root, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_root: Option<Hash256>,
}

fn quoted<S: Serializer>(value: &u64, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// A scalar as written in the file: EIP-3076 says quoted decimal strings; bare numbers are
/// tolerated. Kept as text until validated so errors can name the field.
#[derive(Debug)]
struct RawScalar(String);

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(serde_json::Number),
        }
        match Either::deserialize(deserializer)? {
            Either::Text(text) => Ok(Self(text)),
            Either::Number(number) => Ok(Self(number.to_string())),
        }
    }
}

#[derive(Deserialize)]
struct RawInterchange {
    metadata: RawMetadata,
    data: Vec<RawData>,
}

#[derive(Deserialize)]
struct RawMetadata {
    interchange_format_version: RawScalar,
    genesis_validators_root: String,
}

#[derive(Deserialize)]
struct RawData {
    pubkey: String,
    signed_blocks: Vec<RawBlock>,
    signed_attestations: Vec<RawAttestation>,
}

#[derive(Deserialize)]
struct RawBlock {
    slot: RawScalar,
    #[serde(default)]
    signing_root: Option<String>,
}

#[derive(Deserialize)]
struct RawAttestation {
    source_epoch: RawScalar,
    target_epoch: RawScalar,
    #[serde(default)]
    signing_root: Option<String>,
}

fn invalid(location: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidInterchange {
        location: location.into(),
        reason: reason.into(),
    }
}

fn parse_u64(raw: &RawScalar, location: impl FnOnce() -> String) -> Result<u64> {
    let value: u64 = raw
        .0
        .parse()
        .map_err(|_| invalid(location(), format!("{:?} is not a decimal u64", raw.0)))?;
    Ok(value)
}

fn parse_hex<const N: usize>(text: &str, location: impl FnOnce() -> String) -> Result<[u8; N]> {
    let Some(digits) = text.strip_prefix("0x") else {
        return Err(invalid(location(), format!("{text:?} lacks the 0x prefix")));
    };
    if digits.len() != 2 * N {
        return Err(invalid(
            location(),
            format!(
                "{text:?} has {} hex digits, expected {} ({N} bytes)",
                digits.len(),
                2 * N
            ),
        ));
    }
    let mut bytes = [0u8; N];
    hex::decode_to_slice(digits, &mut bytes)
        .map_err(|e| invalid(location(), format!("{text:?} is not valid hex: {e}")))?;
    Ok(bytes)
}

impl Interchange {
    /// Parses an interchange document, checking every field; errors name the field
    /// (`data[1].signed_attestations[0].target_epoch`). The genesis validators root is checked
    /// against the database at import time, not here.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self> {
        let raw: RawInterchange =
            serde_json::from_slice(bytes).map_err(Error::MalformedInterchange)?;
        let version = &raw.metadata.interchange_format_version.0;
        if version.parse::<u64>().ok() != Some(INTERCHANGE_FORMAT_VERSION) {
            return Err(Error::UnsupportedInterchangeVersion {
                found: version.clone(),
            });
        }
        let genesis_validators_root = Hash256::from(parse_hex::<32>(
            &raw.metadata.genesis_validators_root,
            || "metadata.genesis_validators_root".to_owned(),
        )?);
        let mut data = Vec::with_capacity(raw.data.len());
        for (i, entry) in raw.data.iter().enumerate() {
            let pubkey = PublicKeyBytes::from(parse_hex::<48>(&entry.pubkey, || {
                format!("data[{i}].pubkey")
            })?);
            let mut signed_blocks = Vec::with_capacity(entry.signed_blocks.len());
            for (j, block) in entry.signed_blocks.iter().enumerate() {
                let at = |field: &str| format!("data[{i}].signed_blocks[{j}].{field}");
                signed_blocks.push(InterchangeBlock {
                    slot: Slot(parse_u64(&block.slot, || at("slot"))?),
                    signing_root: block
                        .signing_root
                        .as_deref()
                        .map(|root| parse_hex::<32>(root, || at("signing_root")).map(Hash256::from))
                        .transpose()?,
                });
            }
            let mut signed_attestations = Vec::with_capacity(entry.signed_attestations.len());
            for (j, att) in entry.signed_attestations.iter().enumerate() {
                let at = |field: &str| format!("data[{i}].signed_attestations[{j}].{field}");
                signed_attestations.push(InterchangeAttestation {
                    source_epoch: Epoch(parse_u64(&att.source_epoch, || at("source_epoch"))?),
                    target_epoch: Epoch(parse_u64(&att.target_epoch, || at("target_epoch"))?),
                    signing_root: att
                        .signing_root
                        .as_deref()
                        .map(|root| parse_hex::<32>(root, || at("signing_root")).map(Hash256::from))
                        .transpose()?,
                });
            }
            data.push(InterchangeData {
                pubkey,
                signed_blocks,
                signed_attestations,
            });
        }
        let interchange = Self {
            metadata: InterchangeMetadata {
                interchange_format_version: INTERCHANGE_FORMAT_VERSION,
                genesis_validators_root,
            },
            data,
        };
        interchange.validate_ranges()?;
        Ok(interchange)
    }

    /// Pretty-printed JSON (quoted integers, 0x hex), as other clients expect.
    pub fn to_json_pretty(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(Error::MalformedInterchange)
    }

    /// Checks what a programmatically built interchange could get wrong: version and value
    /// ranges. Called by every import.
    pub(crate) fn validate_for(&self, expected_root: Hash256) -> Result<()> {
        if self.metadata.interchange_format_version != INTERCHANGE_FORMAT_VERSION {
            return Err(Error::UnsupportedInterchangeVersion {
                found: self.metadata.interchange_format_version.to_string(),
            });
        }
        if self.metadata.genesis_validators_root != expected_root {
            return Err(Error::InterchangeGenesisValidatorsRootMismatch {
                expected: expected_root,
                found: self.metadata.genesis_validators_root,
            });
        }
        self.validate_ranges()
    }

    fn validate_ranges(&self) -> Result<()> {
        let check = |value: u64, location: &dyn Fn() -> String| {
            if value > MAX_STORABLE {
                Err(invalid(
                    location(),
                    format!("{value} exceeds the largest storable value {MAX_STORABLE}"),
                ))
            } else {
                Ok(())
            }
        };
        for (i, entry) in self.data.iter().enumerate() {
            for (j, block) in entry.signed_blocks.iter().enumerate() {
                check(block.slot.as_u64(), &|| {
                    format!("data[{i}].signed_blocks[{j}].slot")
                })?;
            }
            for (j, att) in entry.signed_attestations.iter().enumerate() {
                let at = |field: &str| format!("data[{i}].signed_attestations[{j}].{field}");
                check(att.source_epoch.as_u64(), &|| at("source_epoch"))?;
                check(att.target_epoch.as_u64(), &|| at("target_epoch"))?;
            }
        }
        Ok(())
    }
}

/// Minifies an interchange: for each distinct pubkey (in first-seen order, duplicates merged)
/// the highest slot, highest source and highest target. Taking the maxima is the EIP's advice
/// for minimal databases and makes slashable records inside the file harmless.
pub(crate) fn minify(interchange: &Interchange) -> Vec<(PublicKeyBytes, ImportedWatermarks)> {
    let mut order = Vec::new();
    let mut merged: HashMap<PublicKeyBytes, ImportedWatermarks> = HashMap::new();
    for entry in &interchange.data {
        let marks = merged.entry(entry.pubkey).or_insert_with(|| {
            order.push(entry.pubkey);
            ImportedWatermarks::default()
        });
        for block in &entry.signed_blocks {
            marks.max_slot = Some(marks.max_slot.map_or(block.slot, |s| s.max(block.slot)));
        }
        for att in &entry.signed_attestations {
            marks.attestation = Some(match marks.attestation {
                None => AttestationWatermark {
                    source: att.source_epoch,
                    target: att.target_epoch,
                },
                Some(w) => AttestationWatermark {
                    source: w.source.max(att.source_epoch),
                    target: w.target.max(att.target_epoch),
                },
            });
        }
    }
    order
        .into_iter()
        .map(|pubkey| (pubkey, merged[&pubkey]))
        .collect()
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Distinct validators in the file (all now registered).
    pub validators: usize,
    /// Block records read.
    pub blocks: usize,
    /// Attestation records read.
    pub attestations: usize,
}

impl ImportSummary {
    pub(crate) fn of(interchange: &Interchange, validators: usize) -> Self {
        Self {
            validators,
            blocks: interchange.data.iter().map(|d| d.signed_blocks.len()).sum(),
            attestations: interchange
                .data
                .iter()
                .map(|d| d.signed_attestations.len())
                .sum(),
        }
    }
}

/// Builds one validator's export from its state and its retained history (any order).
///
/// Only history strictly above the imported watermarks is exported, plus, when that leaves
/// the effective floor uncovered, a synthetic record at the floor without a signing root.
/// Local history grows monotonically (sources never fall, targets and slots always rise), so
/// the exported records form a suffix that dominates everything omitted (pruned records,
/// records below an import, minified imported data): an importer applying EIP-3076 conditions
/// — including the complete strategy's `min`-based rules — refuses everything this store
/// refuses. Exporting lower records as well would lower those minima and open gaps.
pub(crate) fn export_entry(
    pubkey: PublicKeyBytes,
    state: &ValidatorState,
    mut blocks: Vec<BlockRecord>,
    mut attestations: Vec<AttestationRecord>,
) -> InterchangeData {
    blocks.retain(|b| state.block_low.is_none_or(|low| b.slot > low));
    blocks.sort_by_key(|b| b.slot);
    if let Some(floor) = state.block_floor()
        && blocks.last().is_none_or(|b| b.slot < floor)
    {
        blocks.push(BlockRecord {
            slot: floor,
            signing_root: None,
        });
    }
    attestations.retain(|a| {
        state
            .attestation_low
            .is_none_or(|low| a.source >= low.source && a.target > low.target)
    });
    attestations.sort_by_key(|a| a.target);
    if let Some((source, target)) = state.attestation_floor()
        && attestations
            .last()
            .is_none_or(|a| a.source != source || a.target != target)
    {
        attestations.push(AttestationRecord {
            source,
            target,
            signing_root: None,
        });
    }
    InterchangeData {
        pubkey,
        signed_blocks: blocks
            .into_iter()
            .map(|b| InterchangeBlock {
                slot: b.slot,
                signing_root: b.signing_root,
            })
            .collect(),
        signed_attestations: attestations
            .into_iter()
            .map(|a| InterchangeAttestation {
                source_epoch: a.source,
                target_epoch: a.target,
                signing_root: a.signing_root,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GVR: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

    fn doc(data: &str) -> String {
        format!(
            r#"{{"metadata":{{"interchange_format_version":"5","genesis_validators_root":"{GVR}"}},"data":{data}}}"#
        )
    }

    #[test]
    fn errors_name_the_field() {
        let pk = format!("0x{}", "aa".repeat(48));
        let bad = doc(&format!(
            r#"[{{"pubkey":"{pk}","signed_blocks":[],"signed_attestations":[{{"source_epoch":"1","target_epoch":"x"}}]}}]"#
        ));
        let err = Interchange::from_json_slice(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data[0].signed_attestations[0].target_epoch"),
            "{err}"
        );
        let bad = doc(r#"[{"pubkey":"0x1234","signed_blocks":[],"signed_attestations":[]}]"#);
        let err = Interchange::from_json_slice(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("data[0].pubkey"), "{err}");
        let bad = doc("[]").replace("\"5\"", "\"4\"");
        assert!(matches!(
            Interchange::from_json_slice(bad.as_bytes()),
            Err(Error::UnsupportedInterchangeVersion { .. })
        ));
    }

    #[test]
    fn minify_merges_duplicates_by_max() {
        let pk = format!("0x{}", "aa".repeat(48));
        let text = doc(&format!(
            r#"[{{"pubkey":"{pk}","signed_blocks":[{{"slot":"9"}}],"signed_attestations":[{{"source_epoch":"5","target_epoch":"2"}}]}},
                {{"pubkey":"{pk}","signed_blocks":[{{"slot":"3"}}],"signed_attestations":[{{"source_epoch":"1","target_epoch":"7"}}]}}]"#
        ));
        let interchange = Interchange::from_json_slice(text.as_bytes()).unwrap();
        let marks = minify(&interchange);
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].1.max_slot, Some(Slot(9)));
        assert_eq!(
            marks[0].1.attestation,
            Some(AttestationWatermark {
                source: Epoch(5),
                target: Epoch(7)
            })
        );
    }

    #[test]
    fn round_trips_through_json() {
        let interchange = Interchange {
            metadata: InterchangeMetadata {
                interchange_format_version: 5,
                genesis_validators_root: Hash256::repeat_byte(7),
            },
            data: vec![InterchangeData {
                pubkey: PublicKeyBytes::repeat_byte(1),
                signed_blocks: vec![InterchangeBlock {
                    slot: Slot(3),
                    signing_root: None,
                }],
                signed_attestations: vec![InterchangeAttestation {
                    source_epoch: Epoch(1),
                    target_epoch: Epoch(2),
                    signing_root: Some(Hash256::repeat_byte(9)),
                }],
            }],
        };
        let json = interchange.to_json_pretty().unwrap();
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(
            text.contains("\"interchange_format_version\": \"5\""),
            "{text}"
        );
        assert!(text.contains("\"slot\": \"3\""), "{text}");
        assert_eq!(Interchange::from_json_slice(&json).unwrap(), interchange);
    }
}
