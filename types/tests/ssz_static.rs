//! Official `ssz_static` cases from consensus-spec-tests: each `value.yaml` decoded into our type
//! must have the `hash_tree_root` given in `roots.yaml`, and survive SSZ and JSON round trips.
//!
//! One trial per case folder; the number of cases must match the vectors README (8), so a
//! shrunken folder cannot pass silently. A type this runner does not know fails its trial.

#[path = "../src/test_vectors.rs"]
#[expect(
    unreachable_pub,
    reason = "shared with the library, where these are public"
)]
mod test_vectors;

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Serialize;
use serde::de::DeserializeOwned;
use ssz::{Decode, Encode};
use tree_hash::TreeHash;
use types::{
    ContributionAndProof, ForkData, Hash256, MainnetEthSpec, SignedRoot, SigningData,
    SingleAttestation, SyncAggregatorSelectionData, VoluntaryExit,
};

/// The count stated in the vectors README for `consensus-spec-tests-subset/`.
const EXPECTED_CASES: usize = 8;

fn read_yaml(path: &Path) -> Result<serde_json::Value, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Decodes, hashes and round-trips one case of type `T`.
fn check<T>(case: &Path) -> Result<(), Failed>
where
    T: DeserializeOwned + Serialize + Encode + Decode + TreeHash + PartialEq + Debug,
{
    let value: T = serde_json::from_value(read_yaml(&case.join("value.yaml"))?)
        .map_err(|e| format!("value.yaml does not decode: {e}"))?;
    let roots = read_yaml(&case.join("roots.yaml"))?;
    let expected: Hash256 = roots
        .get("root")
        .and_then(|r| r.as_str())
        .ok_or("roots.yaml has no root")?
        .parse()
        .map_err(|e| format!("bad root in roots.yaml: {e}"))?;
    let root = value.tree_hash_root();
    if root != expected {
        return Err(format!("hash_tree_root {root} != expected {expected}").into());
    }
    // The signing root path used for every signature goes through the same hashing.
    let domain = Hash256::repeat_byte(0x42);
    let signing = SigningData {
        object_root: expected,
        domain,
    };
    if value.signing_root(domain) != signing.tree_hash_root() {
        return Err("signing_root disagrees with SigningData".into());
    }

    let bytes = value.as_ssz_bytes();
    let decoded = T::from_ssz_bytes(&bytes).map_err(|e| format!("SSZ decode: {e:?}"))?;
    if decoded != value || decoded.as_ssz_bytes() != bytes {
        return Err("SSZ round trip changed the value".into());
    }
    let json = serde_json::to_value(&value).map_err(|e| e.to_string())?;
    let decoded: T = serde_json::from_value(json).map_err(|e| format!("JSON decode: {e}"))?;
    if decoded != value {
        return Err("JSON round trip changed the value".into());
    }
    Ok(())
}

/// Checks one case folder.
type Runner = fn(&Path) -> Result<(), Failed>;

fn runner(type_name: &str) -> Option<Runner> {
    Some(match type_name {
        "SingleAttestation" => check::<SingleAttestation>,
        "SigningData" => check::<SigningData>,
        "ForkData" => check::<ForkData>,
        "VoluntaryExit" => check::<VoluntaryExit>,
        "ContributionAndProof" => check::<ContributionAndProof<MainnetEthSpec>>,
        "SyncAggregatorSelectionData" => check::<SyncAggregatorSelectionData>,
        _ => return None,
    })
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// `tests/<preset>/<fork>/ssz_static/<Type>/<handler>/<case>` folders.
fn discover(root: &Path) -> Vec<(String, String, PathBuf)> {
    let mut cases = Vec::new();
    for preset in sorted_dirs(&root.join("tests")) {
        for fork in sorted_dirs(&preset) {
            let ssz_static = fork.join("ssz_static");
            if !ssz_static.is_dir() {
                continue;
            }
            for type_dir in sorted_dirs(&ssz_static) {
                for handler in sorted_dirs(&type_dir) {
                    for case in sorted_dirs(&handler) {
                        let name = case
                            .strip_prefix(root.join("tests"))
                            .unwrap_or(&case)
                            .display()
                            .to_string();
                        let type_name = type_dir
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        cases.push((name, type_name, case));
                    }
                }
            }
        }
    }
    cases
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = test_vectors::vectors_subdir("consensus-spec-tests-subset") else {
        let skipped =
            Trial::test("ssz_static (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let cases = discover(&root);
    let found = cases.len();
    let mut trials: Vec<Trial> = cases
        .into_iter()
        .map(|(name, type_name, case)| {
            Trial::test(name, move || match runner(&type_name) {
                Some(run) => run(&case),
                None => Err(format!("no runner for ssz_static type {type_name}").into()),
            })
        })
        .collect();
    trials.push(Trial::test("ssz_static case count", move || {
        if found == EXPECTED_CASES {
            Ok(())
        } else {
            Err(format!(
                "found {found} ssz_static cases, the vectors README states {EXPECTED_CASES}"
            )
            .into())
        }
    }));
    println!("ssz_static: {found} cases found under {}", root.display());
    libtest_mimic::run(&args, trials).exit();
}
