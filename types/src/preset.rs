//! Selecting and checking the preset at startup.
//!
//! The beacon node's `/eth/v1/config/spec` names its preset in `PRESET_BASE` and lists the preset
//! values. [`verify_preset`] compares every preset value the node reports, for every fork the
//! node has scheduled, with the compiled [`EthSpec`] constants: a node built with different list
//! limits would produce blocks whose roots we compute differently, so a mismatch must stop the
//! client before it signs anything. Values for forks the node has not scheduled are not compared:
//! nodes that predate a fork sometimes report draft values for it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::chain_spec::ChainSpec;
use crate::error::{Error, Result};
use crate::eth_spec::EthSpec;

/// A consensus preset supported by this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// `mainnet` (also used by every public testnet).
    Mainnet,
    /// `minimal` (local devnets, spec tests).
    Minimal,
}

impl Preset {
    /// The `PRESET_BASE` spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Preset::Mainnet => "mainnet",
            Preset::Minimal => "minimal",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        // Config files quote the value ('mainnet'); tolerate the quotes.
        let name = s.trim().trim_matches(|c| c == '\'' || c == '"');
        match name {
            "mainnet" => Ok(Preset::Mainnet),
            "minimal" => Ok(Preset::Minimal),
            _ => Err(Error::UnsupportedPreset(s.to_owned())),
        }
    }
}

/// Checks that the beacon node described by `spec` runs preset `E`.
///
/// Fails on the first disagreement: a different `PRESET_BASE`, or a preset key whose value
/// differs from the compiled one (for forks the node has scheduled). Keys the node does not report
/// are not an error — nodes differ in which preset keys they expose.
pub fn verify_preset<E: EthSpec>(spec: &ChainSpec) -> Result<()> {
    if spec.preset_base != E::PRESET {
        return Err(Error::PresetBaseMismatch {
            node: spec.preset_base.to_string(),
            compiled: E::PRESET.to_string(),
        });
    }
    for entry in E::preset_entries() {
        if !spec.is_fork_scheduled(entry.fork) {
            continue;
        }
        let Some(raw) = spec.raw_value(entry.key) else {
            continue;
        };
        let node_value = crate::chain_spec::parse_u64_value(entry.key, raw)?;
        if node_value != entry.value {
            return Err(Error::PresetValueMismatch {
                key: entry.key,
                preset: E::PRESET.as_str(),
                node: node_value.to_string(),
                compiled: entry.value,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth_spec::{MainnetEthSpec, MinimalEthSpec};

    #[test]
    fn parses_preset_names() {
        assert_eq!("mainnet".parse::<Preset>().unwrap(), Preset::Mainnet);
        assert_eq!("'minimal'".parse::<Preset>().unwrap(), Preset::Minimal);
        let err = "gnosis".parse::<Preset>().unwrap_err().to_string();
        assert!(err.contains("gnosis"), "{err}");
    }

    #[test]
    fn builtin_specs_match_their_presets() {
        verify_preset::<MainnetEthSpec>(&ChainSpec::mainnet()).unwrap();
        verify_preset::<MinimalEthSpec>(&ChainSpec::minimal()).unwrap();
        let err = verify_preset::<MinimalEthSpec>(&ChainSpec::mainnet())
            .unwrap_err()
            .to_string();
        assert!(err.contains("mainnet") && err.contains("minimal"), "{err}");
    }

    #[test]
    fn mismatching_value_names_the_key() {
        let mut map = ChainSpec::mainnet().raw_config().clone();
        map.insert(
            "MAX_BLOB_COMMITMENTS_PER_BLOCK".into(),
            serde_json::Value::String("32".into()),
        );
        let spec = ChainSpec::from_config_map(&map).unwrap();
        let err = verify_preset::<MainnetEthSpec>(&spec)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MAX_BLOB_COMMITMENTS_PER_BLOCK") && err.contains("32"),
            "{err}"
        );
    }

    #[test]
    fn values_of_unscheduled_forks_are_not_compared() {
        let mut map = ChainSpec::mainnet().raw_config().clone();
        map.insert("FIELD_ELEMENTS_PER_CELL".into(), "1".into());
        map.insert("FULU_FORK_EPOCH".into(), u64::MAX.to_string().into());
        let spec = ChainSpec::from_config_map(&map).unwrap();
        verify_preset::<MainnetEthSpec>(&spec).unwrap();
    }
}
