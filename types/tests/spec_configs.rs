//! The consensus-specs v1.6.1 config and preset files against our compiled values:
//! every key of `presets/mainnet/*.yaml` equals `MainnetEthSpec`'s entry (and every entry we
//! compile for a fork is in that fork's file), and `configs/{mainnet,minimal}.yaml` parse into
//! the same chain spec as `ChainSpec::mainnet()` / `ChainSpec::minimal()`.
//!
//! One trial per file. The files are read line by line like a beacon node's `KEY: value`
//! listing (a YAML parser would read `0x00000000` as an integer); `BLOB_SCHEDULE` is the one
//! structured value and is read with a YAML parser.

#[path = "../src/test_vectors.rs"]
#[expect(
    unreachable_pub,
    reason = "shared with the library, where these are public"
)]
mod test_vectors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Map, Value};
use types::{ChainSpec, EthSpec, ForkName, MainnetEthSpec, MinimalEthSpec, PresetEntry};

const PRESET_FILES: [(&str, ForkName); 7] = [
    ("phase0", ForkName::Phase0),
    ("altair", ForkName::Altair),
    ("bellatrix", ForkName::Bellatrix),
    ("capella", ForkName::Capella),
    ("deneb", ForkName::Deneb),
    ("electra", ForkName::Electra),
    ("fulu", ForkName::Fulu),
];

/// Top-level `KEY: value` pairs of a YAML file.
type Scalars = BTreeMap<String, String>;

/// `KEY: value  # comment` lines; nested lines (indented or list items) are skipped.
fn scalar_lines(path: &Path) -> Result<Scalars, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut values = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with([' ', '#', '-']) || line.trim().is_empty() {
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let value = rest
            .split('#')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('\'');
        if !value.is_empty() {
            values.insert(key.trim().to_owned(), value.to_owned());
        }
    }
    Ok(values)
}

fn check_preset_file(path: &Path, fork: ForkName) -> Result<(), Failed> {
    let file = scalar_lines(path)?;
    let ours: BTreeMap<&str, u64> = MainnetEthSpec::preset_entries()
        .into_iter()
        .filter(|e| e.fork == fork)
        .map(|PresetEntry { key, value, .. }| (key, value))
        .collect();
    for (key, value) in &file {
        let theirs: u64 = value.parse().map_err(|e| format!("{key}: {value}: {e}"))?;
        match ours.get(key.as_str()) {
            Some(v) if *v == theirs => {}
            Some(v) => return Err(format!("{key}: file has {theirs}, we compile {v}").into()),
            None => return Err(format!("{key} is not among our {fork} preset entries").into()),
        }
    }
    if let Some(missing) = ours.keys().find(|k| !file.contains_key(**k)) {
        return Err(format!("{missing} is compiled for {fork} but not in the file").into());
    }
    println!("{}: {} keys match", path.display(), file.len());
    Ok(())
}

fn config_map<E: EthSpec>(path: &Path) -> Result<Map<String, Value>, Failed> {
    let mut map: Map<String, Value> = scalar_lines(path)?
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    // Only the BLOB_SCHEDULE block goes through YAML: the whole file holds integers (terminal
    // total difficulty) beyond what the YAML parser accepts.
    let text = std::fs::read_to_string(path)?;
    let mut block = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("BLOB_SCHEDULE:") {
            inside = true;
        } else if inside && !line.starts_with([' ', '-', '#']) && !line.trim().is_empty() {
            break;
        }
        if inside {
            block.push_str(line);
            block.push('\n');
        }
    }
    let yaml: serde_yaml::Value = serde_yaml::from_str(&block)?;
    let schedule = yaml
        .get("BLOB_SCHEDULE")
        .cloned()
        .ok_or("no BLOB_SCHEDULE")?;
    map.insert("BLOB_SCHEDULE".into(), serde_json::to_value(schedule)?);
    // Config files hold no preset values; a node serves both.
    for entry in E::preset_entries() {
        map.entry(entry.key.to_owned())
            .or_insert_with(|| entry.value.to_string().into());
    }
    Ok(map)
}

/// Every typed parameter of two specs agrees.
fn same_parameters(a: &ChainSpec, b: &ChainSpec) -> Result<(), Failed> {
    for fork in ForkName::ALL {
        if a.fork_params(fork) != b.fork_params(fork) {
            return Err(format!(
                "{fork}: {:?} != {:?}",
                a.fork_params(fork),
                b.fork_params(fork)
            )
            .into());
        }
    }
    let fields = [
        (
            "preset_base",
            format!("{:?}", a.preset_base),
            format!("{:?}", b.preset_base),
        ),
        (
            "config_name",
            format!("{:?}", a.config_name),
            format!("{:?}", b.config_name),
        ),
        (
            "slot_duration_ms",
            a.slot_duration_ms.to_string(),
            b.slot_duration_ms.to_string(),
        ),
        (
            "slots_per_epoch",
            a.slots_per_epoch.to_string(),
            b.slots_per_epoch.to_string(),
        ),
        (
            "duty_timings",
            format!("{:?}", a.duty_timings),
            format!("{:?}", b.duty_timings),
        ),
        (
            "domain_types",
            format!("{:?}", a.domain_types),
            format!("{:?}", b.domain_types),
        ),
        (
            "attestation_subnet_count",
            a.attestation_subnet_count.to_string(),
            b.attestation_subnet_count.to_string(),
        ),
        (
            "epochs_per_sync_committee_period",
            a.epochs_per_sync_committee_period.to_string(),
            b.epochs_per_sync_committee_period.to_string(),
        ),
        (
            "shard_committee_period",
            a.shard_committee_period.to_string(),
            b.shard_committee_period.to_string(),
        ),
        (
            "max_effective_balance",
            a.max_effective_balance.to_string(),
            b.max_effective_balance.to_string(),
        ),
        (
            "max_effective_balance_electra",
            a.max_effective_balance_electra.to_string(),
            b.max_effective_balance_electra.to_string(),
        ),
        (
            "max_blobs_per_block",
            a.max_blobs_per_block.to_string(),
            b.max_blobs_per_block.to_string(),
        ),
        (
            "max_blobs_per_block_electra",
            a.max_blobs_per_block_electra.to_string(),
            b.max_blobs_per_block_electra.to_string(),
        ),
        (
            "blob_schedule",
            format!("{:?}", a.blob_schedule),
            format!("{:?}", b.blob_schedule),
        ),
        (
            "deposit_chain_id",
            format!("{:?}", a.deposit_chain_id),
            format!("{:?}", b.deposit_chain_id),
        ),
        (
            "deposit_contract_address",
            format!("{:?}", a.deposit_contract_address),
            format!("{:?}", b.deposit_contract_address),
        ),
    ];
    for (name, x, y) in fields {
        if x != y {
            return Err(format!("{name}: file gives {x}, built-in has {y}").into());
        }
    }
    Ok(())
}

fn check_config<E: EthSpec>(path: &Path, builtin: fn() -> ChainSpec) -> Result<(), Failed> {
    let parsed = ChainSpec::from_config_map(&config_map::<E>(path)?)?;
    same_parameters(&parsed, &builtin())?;
    types::verify_preset::<E>(&parsed)?;
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = test_vectors::vectors_subdir("specs/v1.6.1") else {
        let skipped =
            Trial::test("spec configs (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let mut trials = Vec::new();
    for (name, fork) in PRESET_FILES {
        let path: PathBuf = root.join(format!("presets/mainnet/{name}.yaml"));
        trials.push(Trial::test(
            format!("presets/mainnet/{name}.yaml"),
            move || check_preset_file(&path, fork),
        ));
    }
    let path = root.join("configs/mainnet.yaml");
    trials.push(Trial::test("configs/mainnet.yaml", move || {
        check_config::<MainnetEthSpec>(&path, ChainSpec::mainnet)
    }));
    let path = root.join("configs/minimal.yaml");
    trials.push(Trial::test("configs/minimal.yaml", move || {
        check_config::<MinimalEthSpec>(&path, ChainSpec::minimal)
    }));
    libtest_mimic::run(&args, trials).exit();
}
