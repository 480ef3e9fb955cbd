//! Test support (feature `testing`): the hand-designed ledger scenarios and a loader that
//! decodes their Beacon API responses exactly as a beacon-node client would, from a directory
//! (the committed fixtures) or from the generated files in memory. Other crates' tests (the
//! reports API) build real reports from the same scenarios.
//!
//! Invariant: loading a scenario from memory and from its committed fixture directory gives
//! identical inputs (`tests/ledger.rs` checks the fixtures are current). The conformance cases
//! ([`conformance`]) are generated the same way and run from their files alone.

pub mod conformance;
pub mod scenario;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use types::{
    ChainSpec, Epoch, ForkVersioned, MinimalEthSpec, PublicKeyBytes, SignedBeaconBlock, Slot,
};

use crate::error::{Error, Result};
use crate::ledger::{AtSlot, BlockFacts, ElBlockValue, EpochInputs, PendingDeposit, RewardsInputs};
use crate::registry::Registry;

/// Slots per epoch of the scenarios' minimal preset.
const SLOTS_PER_EPOCH: u64 = 8;

/// Everything a scenario holds, decoded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The chain config.
    pub spec: ChainSpec,
    /// The scenario's registry.
    pub registry: Registry,
    /// The accounted epoch's inputs (without the rewards endpoints).
    pub inputs: EpochInputs,
    /// The rewards endpoints, when recorded.
    pub rewards: Option<RewardsInputs>,
}

impl Loaded {
    /// Every pool key.
    pub fn keys(&self) -> BTreeSet<PublicKeyBytes> {
        self.registry.keys().copied().collect()
    }
}

/// Where scenario files are read from.
trait Source {
    /// The text of `name`, `None` when absent.
    fn read(&self, name: &str) -> Result<Option<String>>;
    /// The registry.
    fn registry(&self) -> Result<Registry>;
}

struct Dir<'a>(&'a Path);

impl Source for Dir<'_> {
    fn read(&self, name: &str) -> Result<Option<String>> {
        let path = self.0.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    fn registry(&self) -> Result<Registry> {
        Registry::load(self.0.join("registry.toml"))
    }
}

struct Memory<'a>(&'a scenario::Files);

impl Source for Memory<'_> {
    fn read(&self, name: &str) -> Result<Option<String>> {
        Ok(self.0.get(name).cloned())
    }

    fn registry(&self) -> Result<Registry> {
        let text = self.0.get("registry.toml").ok_or_else(|| Error::Io {
            path: PathBuf::from("registry.toml"),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        Registry::parse("registry.toml", text)
    }
}

/// Loads the scenario directory `dir` for `epoch`.
pub fn load_dir(dir: &Path, epoch: u64) -> Result<Loaded> {
    load(&Dir(dir), epoch)
}

/// Loads generated scenario files (e.g. [`scenario::deneb`]) for `epoch`; the registry is
/// parsed as if read from `registry.toml`.
pub fn load_files(files: &scenario::Files, epoch: u64) -> Result<Loaded> {
    load(&Memory(files), epoch)
}

fn json(source: &dyn Source, name: &str) -> Result<Option<serde_json::Value>> {
    source
        .read(name)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|source| Error::Json {
                what: name.to_owned(),
                source,
            })
        })
        .transpose()
}

fn required(source: &dyn Source, name: &str) -> Result<serde_json::Value> {
    json(source, name)?.ok_or_else(|| Error::Corrupt(format!("scenario file {name} is missing")))
}

/// The `data` of a response file.
fn data<T: DeserializeOwned>(source: &dyn Source, name: &str) -> Result<T> {
    let mut value = required(source, name)?;
    serde_json::from_value(value["data"].take()).map_err(|source| Error::Json {
        what: format!("{name}: data"),
        source,
    })
}

/// The `data` of `rewards/{prefix}_{slot}.json` for every slot.
fn at_slots<T: DeserializeOwned>(
    source: &dyn Source,
    slots: &[Slot],
    prefix: &str,
) -> Result<Vec<AtSlot<T>>> {
    slots
        .iter()
        .map(|s| {
            Ok(AtSlot {
                slot: *s,
                data: data(source, &format!("rewards/{prefix}_{s}.json"))?,
            })
        })
        .collect()
}

fn load(source: &dyn Source, epoch: u64) -> Result<Loaded> {
    let spec_map: serde_json::Map<String, serde_json::Value> = data(source, "config_spec.json")?;
    let spec = ChainSpec::from_config_map(&spec_map)
        .map_err(|e| Error::Corrupt(format!("config_spec.json: {e}")))?;
    let registry = source.registry()?;
    let mut blocks = Vec::new();
    for slot in epoch * SLOTS_PER_EPOCH..(epoch + 2) * SLOTS_PER_EPOCH {
        let name = format!("blocks/{slot}.json");
        if let Some(value) = json(source, &name)? {
            let block = ForkVersioned::<SignedBeaconBlock<MinimalEthSpec>>::decode_json(value)
                .map_err(|e| Error::Corrupt(format!("{name}: {e}")))?;
            blocks.push(BlockFacts::from_block(&block.data));
        }
    }
    let optional = |name: &str| -> Result<Option<Vec<PendingDeposit>>> {
        match json(source, name)? {
            None => Ok(None),
            Some(_) => data(source, name).map(Some),
        }
    };
    let el_values: Vec<ElBlockValue> = serde_json::from_value(required(source, "el_values.json")?)
        .map_err(|source| Error::Json {
            what: "el_values.json".to_owned(),
            source,
        })?;
    let attestations_name = format!("rewards/attestations_{}.json", epoch.saturating_sub(2));
    let rewards = match json(source, &attestations_name)? {
        None => None,
        Some(_) => {
            let slots: Vec<Slot> = blocks
                .iter()
                .filter(|b| b.slot.epoch(SLOTS_PER_EPOCH) == Epoch(epoch))
                .map(|b| b.slot)
                .collect();
            Some(RewardsInputs {
                attestations: data(source, &attestations_name)?,
                blocks: at_slots(source, &slots, "blocks")?,
                sync_committee: at_slots(source, &slots, "sync_committee")?,
            })
        }
    };
    let inputs = EpochInputs {
        epoch: Epoch(epoch),
        validators_start: data(source, "validators_start.json")?,
        validators_end: data(source, "validators_end.json")?,
        blocks,
        committees: data(source, "committees.json")?,
        proposer_duties: data(source, "proposer_duties.json")?,
        sync_committee: Some(data(source, "sync_committees.json")?),
        pending_deposits_start: optional("pending_deposits_start.json")?,
        pending_deposits_end: optional("pending_deposits_end.json")?,
        el_values,
        rewards: None,
    };
    Ok(Loaded {
        spec,
        registry,
        inputs,
        rewards,
    })
}
