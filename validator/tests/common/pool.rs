//! Pool accounting on the devnet: the sample registry (and a reloaded variant), an oracle key
//! made by `poolvc keys oracle`, the node's validators and proposers recorded while it still
//! serves them, and the report figures they determine, to check the ledger and the reports
//! against the node's own data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::devnet::{Devnet, SLOTS_PER_EPOCH, number, repo_root};

/// Keys moved from operator 1 to operator 2 by the mid-run registry edit.
pub(crate) const MOVED_KEYS: [u64; 4] = [0, 1, 2, 3];

/// The sample registry of `scripts/devnet.sh`.
pub(crate) fn sample_registry() -> String {
    std::fs::read_to_string(repo_root().join("scripts/devnet/registry.toml"))
        .expect("scripts/devnet/registry.toml")
}

/// The sample registry with [`MOVED_KEYS`] moved from operator 1 to operator 2.
pub(crate) fn reloaded_registry() -> String {
    let text = sample_registry();
    let mut moved = Vec::new();
    let mut kept = Vec::new();
    for line in text.lines() {
        let is_moved = MOVED_KEYS
            .iter()
            .any(|k| line.trim_end().ends_with(&format!("# {k}")));
        if is_moved {
            moved.push(line.to_owned());
        } else {
            kept.push(line.to_owned());
        }
    }
    assert_eq!(moved.len(), MOVED_KEYS.len(), "the sample lists keys 0..3");
    let mut out = Vec::new();
    let mut in_operator_2 = false;
    for line in kept {
        if line.starts_with("id = ") {
            in_operator_2 = line == "id = 2";
        }
        let opens_keys = line.starts_with("keys = [");
        out.push(line);
        if in_operator_2 && opens_keys {
            out.extend(moved.iter().cloned());
        }
    }
    out.join("\n") + "\n"
}

/// Writes a new oracle key with `poolvc keys oracle` (as `scripts/devnet.sh` does): its
/// keystore, password file and public key.
pub(crate) fn write_oracle_key(dir: &Path) -> (PathBuf, PathBuf, types::PublicKeyBytes) {
    let keystore = dir.join("oracle-keystore.json");
    let password = dir.join("oracle-password.txt");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["keys", "oracle", "--kdf", "pbkdf2", "--keystore"])
        .arg(&keystore)
        .arg("--password-file")
        .arg(&password)
        .output()
        .expect("poolvc keys oracle runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pubkey = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the public key on stdout");
    (keystore, password, pubkey)
}

/// One validator in a state, as the node shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeValidator {
    /// Public key.
    pub(crate) pubkey: types::PublicKeyBytes,
    /// Balance (gwei).
    pub(crate) balance: u64,
    /// Beacon API status.
    pub(crate) status: String,
    /// Slashed flag.
    pub(crate) slashed: bool,
    /// Exit epoch.
    pub(crate) exit_epoch: u64,
}

impl NodeValidator {
    /// `active_*`.
    pub(crate) fn is_active(&self) -> bool {
        self.status.starts_with("active_")
    }

    /// `exited_*` or `withdrawal_*`.
    pub(crate) fn is_exited(&self) -> bool {
        self.status.starts_with("exited_") || self.status.starts_with("withdrawal_")
    }
}

/// What the node shows while it still serves it: every validator at the end of each epoch,
/// and each epoch's proposers (served for the current epoch only).
#[derive(Debug, Default)]
pub(crate) struct ChainRecorder {
    /// `epoch -> validator -> state` at `end_slot(epoch)`.
    pub(crate) ends: BTreeMap<u64, BTreeMap<u64, NodeValidator>>,
    /// `epoch -> slot -> proposer`.
    pub(crate) proposers: BTreeMap<u64, BTreeMap<u64, u64>>,
}

impl ChainRecorder {
    /// Records every epoch end that has passed and is not recorded yet (up to `last`), and the
    /// current epoch's proposers.
    pub(crate) async fn poll(&mut self, net: &Devnet, last: u64) {
        let wall = net.wall_slot();
        let epoch = wall / SLOTS_PER_EPOCH;
        if !self.proposers.contains_key(&epoch)
            && super::devnet::now() >= net.genesis_time
            && let Some(value) = net
                .try_get(&format!("/eth/v1/validator/duties/proposer/{epoch}"))
                .await
        {
            let duties = value["data"]
                .as_array()
                .expect("proposer duties")
                .iter()
                .map(|d| (number(&d["slot"]), number(&d["validator_index"])))
                .collect();
            self.proposers.insert(epoch, duties);
        }
        for epoch in 0..=last {
            let end = (epoch + 1) * SLOTS_PER_EPOCH - 1;
            if self.ends.contains_key(&epoch) || wall <= end + 1 {
                continue;
            }
            let Some(value) = net
                .get(&format!("/eth/v1/beacon/states/{end}/validators"))
                .await
            else {
                continue;
            };
            let validators = value["data"]
                .as_array()
                .expect("validators")
                .iter()
                .map(|v| {
                    let record = &v["validator"];
                    let state = NodeValidator {
                        pubkey: serde_json::from_value(record["pubkey"].clone()).expect("pubkey"),
                        balance: number(&v["balance"]),
                        status: v["status"].as_str().expect("status").to_owned(),
                        slashed: record["slashed"].as_bool().expect("slashed"),
                        exit_epoch: number(&record["exit_epoch"]),
                    };
                    (number(&v["index"]), state)
                })
                .collect();
            self.ends.insert(epoch, validators);
        }
    }

    /// Validator `index` at the end of `epoch` (recorded).
    pub(crate) fn at(&self, epoch: u64, index: u64) -> &NodeValidator {
        self.ends
            .get(&epoch)
            .and_then(|e| e.get(&index))
            .unwrap_or_else(|| panic!("validator {index} at the end of epoch {epoch} not recorded"))
    }

    /// The first epoch at whose end validator `index` is slashed.
    pub(crate) fn slashed_in(&self, index: u64) -> Option<u64> {
        self.ends
            .iter()
            .find(|(_, e)| e.get(&index).is_some_and(|v| v.slashed))
            .map(|(epoch, _)| *epoch)
    }
}

/// `pubkey -> operator id` of a registry text.
pub(crate) fn assignments(text: &str) -> BTreeMap<types::PublicKeyBytes, u64> {
    let registry = pool_registry::Registry::parse(Path::new("registry.toml"), text)
        .expect("the registry parses");
    registry
        .operators()
        .iter()
        .flat_map(|o| o.keys.iter().map(move |k| (*k, o.id)))
        .collect()
}

/// Report figures a node's balances and statuses determine, written from the definitions in
/// `docs/accounting.md`: income `balance_end − balance_start + withdrawals` per validator and
/// epoch; positive income is a reward, negative income a slashing loss when the validator is
/// slashed at the epoch's end and a penalty otherwise; counts at the report's last epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NodeTally {
    /// Sum of income (signed).
    pub(crate) cl_income: i64,
    /// Sum of positive income.
    pub(crate) cl_rewards_gwei: u64,
    /// Negative income of unslashed validators.
    pub(crate) penalties_gwei: u64,
    /// Negative income of slashed validators.
    pub(crate) slashing_losses_gwei: u64,
    /// Withdrawals.
    pub(crate) withdrawals_gwei: u64,
    /// Validators slashed during the epochs.
    pub(crate) newly_slashed: u64,
    /// `active_*` at the last epoch.
    pub(crate) validators_active: u64,
    /// `exited_*` or `withdrawal_*` at the last epoch.
    pub(crate) validators_exited: u64,
    /// Slashed at the last epoch.
    pub(crate) validators_slashed: u64,
}

impl NodeTally {
    /// `(report field, value)` of every figure compared with a report's tally.
    pub(crate) fn fields(&self) -> [(&'static str, u64); 8] {
        [
            ("cl_rewards_gwei", self.cl_rewards_gwei),
            ("penalties_gwei", self.penalties_gwei),
            ("slashing_losses_gwei", self.slashing_losses_gwei),
            ("withdrawals_gwei", self.withdrawals_gwei),
            ("newly_slashed", self.newly_slashed),
            ("validators_active", self.validators_active),
            ("validators_exited", self.validators_exited),
            ("validators_slashed", self.validators_slashed),
        ]
    }
}

/// The node's figures of epochs `first..=last` for the keys of `assignments`, per operator
/// (`Some(id)`) and for the pool (`None`).
pub(crate) fn node_tallies(
    chain: &ChainRecorder,
    withdrawals: &BTreeMap<(u64, u64), u64>,
    assignments: &BTreeMap<types::PublicKeyBytes, u64>,
    first: u64,
    last: u64,
) -> BTreeMap<Option<u64>, NodeTally> {
    let mut out: BTreeMap<Option<u64>, NodeTally> = BTreeMap::new();
    for epoch in first..=last {
        let end = chain
            .ends
            .get(&epoch)
            .unwrap_or_else(|| panic!("the end of epoch {epoch} not recorded"));
        for (index, v) in end {
            let Some(operator) = assignments.get(&v.pubkey) else {
                continue;
            };
            let start = chain.at(epoch - 1, *index);
            let withdrawn = withdrawals.get(&(epoch, *index)).copied().unwrap_or(0);
            let income = i64::try_from(v.balance).expect("balance")
                - i64::try_from(start.balance).expect("balance")
                + i64::try_from(withdrawn).expect("withdrawal");
            for key in [Some(*operator), None] {
                let t = out.entry(key).or_default();
                t.cl_income += income;
                if income > 0 {
                    t.cl_rewards_gwei += income.unsigned_abs();
                } else if v.slashed {
                    t.slashing_losses_gwei += income.unsigned_abs();
                } else {
                    t.penalties_gwei += income.unsigned_abs();
                }
                t.withdrawals_gwei += withdrawn;
                t.newly_slashed += u64::from(v.slashed && !start.slashed);
                if epoch == last {
                    t.validators_active += u64::from(v.is_active());
                    t.validators_exited += u64::from(v.is_exited());
                    t.validators_slashed += u64::from(v.slashed);
                }
            }
        }
    }
    out
}

/// `GET path` on the reports API.
pub(crate) async fn pool_get(base: &str, path: &str) -> Option<Value> {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// The operators' `validators_active` of a report detail, by operator id.
pub(crate) fn active_per_operator(detail: &Value) -> BTreeMap<u64, u64> {
    detail["report"]["operators"]
        .as_array()
        .expect("operators")
        .iter()
        .map(|o| {
            (
                number(&o["operator_id"]),
                number(&o["tally"]["validators_active"]),
            )
        })
        .collect()
}

/// Withdrawals per (epoch, validator) in the blocks of slots `1..=last_slot`.
pub(crate) async fn withdrawals(net: &Devnet, last_slot: u64) -> BTreeMap<(u64, u64), u64> {
    let mut out = BTreeMap::new();
    for slot in 1..=last_slot {
        let Some(block) = net.block(slot).await else {
            continue;
        };
        let list = &block["data"]["message"]["body"]["execution_payload"]["withdrawals"];
        for w in list.as_array().expect("withdrawals") {
            *out.entry((slot / SLOTS_PER_EPOCH, number(&w["validator_index"])))
                .or_insert(0) += number(&w["amount"]);
        }
    }
    out
}
