//! Shared test code: the fixture scenarios and a loader that decodes the recorded Beacon API
//! responses exactly as a beacon-node client would.

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub(crate) mod scenario;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pool_registry::Registry;
use pool_registry::ledger::*;
use serde::de::DeserializeOwned;
use types::{
    ChainSpec, Epoch, ForkVersioned, MinimalEthSpec, PublicKeyBytes, SignedBeaconBlock, Slot,
};

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Writes a scenario's files (used to regenerate fixtures) .
pub(crate) fn write_files(dir: &Path, files: &scenario::Files) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `data` of a response file.
pub(crate) fn data<T: DeserializeOwned>(path: &Path) -> T {
    let mut v = read_json(path);
    serde_json::from_value(v["data"].take()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Everything a scenario directory holds, decoded.
pub(crate) struct Loaded {
    pub(crate) spec: ChainSpec,
    pub(crate) registry: Registry,
    pub(crate) inputs: EpochInputs,
    /// The rewards endpoints, when recorded.
    pub(crate) rewards: Option<RewardsInputs>,
}

impl Loaded {
    pub(crate) fn keys(&self) -> BTreeSet<PublicKeyBytes> {
        self.registry.keys().copied().collect()
    }
}

pub(crate) fn load(dir: &Path, epoch: u64) -> Loaded {
    let spec_map: serde_json::Map<String, serde_json::Value> = data(&dir.join("config_spec.json"));
    let spec = ChainSpec::from_config_map(&spec_map).expect("fixture spec");
    let registry = Registry::load(dir.join("registry.toml")).expect("fixture registry");
    let mut blocks = Vec::new();
    for slot in epoch * 8..(epoch + 2) * 8 {
        let path = dir.join(format!("blocks/{slot}.json"));
        if path.exists() {
            let block =
                ForkVersioned::<SignedBeaconBlock<MinimalEthSpec>>::decode_json(read_json(&path))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            blocks.push(BlockFacts::from_block(&block.data));
        }
    }
    let opt = |name: &str| {
        let p = dir.join(name);
        p.exists().then(|| data::<Vec<PendingDeposit>>(&p))
    };
    let el_values: Vec<ElBlockValue> =
        serde_json::from_value(read_json(&dir.join("el_values.json"))).unwrap();
    let rewards = {
        let att = dir.join(format!("rewards/attestations_{}.json", epoch - 2));
        att.exists().then(|| {
            let slots: Vec<Slot> = blocks
                .iter()
                .filter(|b| b.slot.epoch(8) == Epoch(epoch))
                .map(|b| b.slot)
                .collect();
            RewardsInputs {
                attestations: data(&att),
                blocks: slots
                    .iter()
                    .map(|s| AtSlot {
                        slot: *s,
                        data: data(&dir.join(format!("rewards/blocks_{s}.json"))),
                    })
                    .collect(),
                sync_committee: slots
                    .iter()
                    .map(|s| AtSlot {
                        slot: *s,
                        data: data(&dir.join(format!("rewards/sync_committee_{s}.json"))),
                    })
                    .collect(),
            }
        })
    };
    let inputs = EpochInputs {
        epoch: Epoch(epoch),
        validators_start: data(&dir.join("validators_start.json")),
        validators_end: data(&dir.join("validators_end.json")),
        blocks,
        committees: data(&dir.join("committees.json")),
        proposer_duties: data(&dir.join("proposer_duties.json")),
        sync_committee: Some(data(&dir.join("sync_committees.json"))),
        pending_deposits_start: opt("pending_deposits_start.json"),
        pending_deposits_end: opt("pending_deposits_end.json"),
        el_values,
        rewards: None,
    };
    Loaded {
        spec,
        registry,
        inputs,
        rewards,
    }
}
