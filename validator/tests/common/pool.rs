//! Pool accounting on the devnet: the sample registry (and a reloaded variant), an oracle
//! keystore, balances recorded while their states are still served, and the checks of the
//! ledger and reports against the node's own data.

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

/// Writes an oracle keystore (a fixed test key, light KDF) and its password file.
pub(crate) fn write_oracle_key(dir: &Path) -> (PathBuf, PathBuf, types::PublicKeyBytes) {
    std::fs::create_dir_all(dir).expect("oracle dir");
    let secret = signer::bls::SecretKey::from_bytes(&[0x11; 32]).expect("oracle secret");
    let pubkey = secret.public_key().to_bytes();
    let keystore = signer::keystore::Keystore::encrypt(
        &secret,
        "oracle password",
        signer::keystore::Kdf::pbkdf2(1 << 12),
        "",
    )
    .expect("encrypt");
    let keystore_path = dir.join("oracle.json");
    keystore
        .write_new_file(&keystore_path)
        .expect("write keystore");
    let password = dir.join("oracle.pass");
    std::fs::write(&password, "oracle password\n").expect("password");
    (keystore_path, password, pubkey)
}

/// Balances at the end of each epoch, read while the node still serves those states.
#[derive(Debug, Default)]
pub(crate) struct BalanceRecorder {
    /// `epoch -> validator -> balance` at `end_slot(epoch)`.
    pub(crate) ends: BTreeMap<u64, BTreeMap<u64, u64>>,
}

impl BalanceRecorder {
    /// Records every epoch end that has passed and is not recorded yet (up to `last`).
    pub(crate) async fn poll(&mut self, net: &Devnet, last: u64) {
        let wall = net.wall_slot();
        for epoch in 0..=last {
            let end = (epoch + 1) * SLOTS_PER_EPOCH - 1;
            if self.ends.contains_key(&epoch) || wall <= end + 1 {
                continue;
            }
            let Some(value) = net
                .get(&format!("/eth/v1/beacon/states/{end}/validator_balances"))
                .await
            else {
                continue;
            };
            let balances = value["data"]
                .as_array()
                .expect("balances")
                .iter()
                .map(|b| (number(&b["index"]), number(&b["balance"])))
                .collect();
            self.ends.insert(epoch, balances);
        }
    }
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
