//! Epoch accounting on Beacon API responses recorded from a real Lodestar 1.5.1 devnet
//! (`tests/fixtures/ledger/capella-devnet`: how and from what is in the fixtures README and in
//! `recording.json`). The chain had 64 interop validators; validator 63's key ran nowhere, the
//! BLS credentials of all were changed to the pool's address at slot 2, and one validator
//! exited. Every expectation is computed here from the raw JSON — balances, payload
//! withdrawals, proposer duties, committees and aggregation bits — never by the code under
//! test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{Loaded, fixtures_dir, load};
use pool_registry::ledger::*;
use pool_registry::report::{ReportBuilder, ReportParams};
use pool_registry::{FrameConfig, PoolConfig};
use serde_json::Value;
use types::{Epoch, Hash256, Slot};

const SLOTS_PER_EPOCH: u64 = 8;

fn devnet_dir() -> PathBuf {
    fixtures_dir().join("ledger/capella-devnet")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `recording.json`: which epochs show which case, and the validators involved.
fn manifest() -> Value {
    read_json(&devnet_dir().join("recording.json"))
}

/// A quoted or bare JSON integer.
fn num(value: &Value) -> u64 {
    match value {
        Value::String(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("not a number {s:?}: {e}")),
        Value::Number(n) => n.as_u64().expect("unsigned"),
        other => panic!("not a number: {other}"),
    }
}

fn case_epoch(name: &str) -> u64 {
    num(&manifest()["cases"][name])
}

/// One recorded epoch: the decoded inputs and the raw responses.
struct Recorded {
    epoch: u64,
    dir: PathBuf,
    loaded: Loaded,
}

impl Recorded {
    fn open(epoch: u64) -> Self {
        let dir = devnet_dir().join(format!("epoch-{epoch}"));
        let mut loaded = load(&dir, epoch);
        loaded.inputs.committees = spec_form(epoch, loaded.inputs.committees.clone());
        Self { epoch, dir, loaded }
    }

    fn raw(&self, name: &str) -> Value {
        read_json(&self.dir.join(name))
    }

    /// Accounts the epoch with the registry's keys and pool terms.
    fn account(&self) -> EpochLedger {
        let pool = self.loaded.registry.pool();
        account_epoch(
            &self.loaded.spec,
            &self.loaded.keys(),
            pool.withdrawal_credentials,
            pool.el_rewards_vault,
            &self.loaded.inputs,
        )
        .unwrap_or_else(|e| panic!("epoch {}: {e}", self.epoch))
    }

    /// Raw validator entries by index (`validators_start.json` / `validators_end.json`).
    fn validators(&self, name: &str) -> BTreeMap<u64, Value> {
        self.raw(name)["data"]
            .as_array()
            .expect("validator list")
            .iter()
            .map(|v| (num(&v["index"]), v.clone()))
            .collect()
    }

    /// Raw blocks by slot (epochs e and e+1).
    fn blocks(&self) -> BTreeMap<u64, Value> {
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(self.dir.join("blocks")).expect("blocks directory") {
            let path = entry.expect("entry").path();
            let block = read_json(&path);
            let slot = num(&block["data"]["message"]["slot"]);
            assert_eq!(
                path.file_stem().and_then(|s| s.to_str()),
                Some(slot.to_string().as_str()),
                "file name is the block's slot"
            );
            out.insert(slot, block);
        }
        out
    }

    /// Raw blocks of epoch e only.
    fn epoch_blocks(&self) -> BTreeMap<u64, Value> {
        self.blocks()
            .into_iter()
            .filter(|(slot, _)| slot / SLOTS_PER_EPOCH == self.epoch)
            .collect()
    }

    /// `(validator index, amount, address)` of every payload withdrawal in epoch e's blocks.
    fn withdrawals(&self) -> Vec<(u64, u64, String)> {
        self.epoch_blocks()
            .values()
            .flat_map(|b| {
                b["data"]["message"]["body"]["execution_payload"]["withdrawals"]
                    .as_array()
                    .expect("withdrawals")
                    .clone()
            })
            .map(|w| {
                (
                    num(&w["validator_index"]),
                    num(&w["amount"]),
                    w["address"].as_str().expect("address").to_ascii_lowercase(),
                )
            })
            .collect()
    }

    /// The pool's withdrawal address, lowercase `0x…`, from its 0x01 credentials.
    fn pool_address(&self) -> String {
        let credentials = self.loaded.registry.pool().withdrawal_credentials;
        format!("0x{}", hex::encode(&credentials[12..]))
    }
}

/// The spec's form of a committees response. Lodestar 1.5.1 labels the slot's position in the
/// epoch `index` and the committee index `slot`; any other form is refused here.
fn spec_form(epoch: u64, committees: Vec<Committee>) -> Vec<Committee> {
    let start = epoch * SLOTS_PER_EPOCH;
    let in_epoch = |c: &Committee| (start..start + SLOTS_PER_EPOCH).contains(&c.slot.as_u64());
    if committees.iter().all(in_epoch) {
        return committees;
    }
    let positions: BTreeSet<u64> = committees.iter().map(|c| c.index).collect();
    assert!(
        committees
            .iter()
            .all(|c| c.index < SLOTS_PER_EPOCH && c.slot.as_u64() < SLOTS_PER_EPOCH)
            && positions == (0..SLOTS_PER_EPOCH).collect(),
        "epoch {epoch}: committees neither in the spec's form nor in Lodestar 1.5.1's swapped form"
    );
    committees
        .into_iter()
        .map(|c| Committee {
            index: c.slot.as_u64(),
            slot: Slot(start + c.index),
            validators: c.validators,
        })
        .collect()
}

fn record(ledger: &EpochLedger, index: u64) -> &ValidatorEpoch {
    ledger
        .records
        .iter()
        .find(|r| r.validator_index == index)
        .unwrap_or_else(|| panic!("epoch {}: no record for {index}", ledger.epoch))
}

/// The bits of a hex SSZ bitlist (length marker removed).
fn bitlist(hex_bits: &str) -> Vec<bool> {
    let bytes = hex::decode(hex_bits.trim_start_matches("0x")).expect("hex bits");
    let mut bits: Vec<bool> = bytes
        .iter()
        .flat_map(|byte| (0..8).map(move |i| byte >> i & 1 == 1))
        .collect();
    let marker = bits.iter().rposition(|b| *b).expect("length marker");
    bits.truncate(marker);
    bits
}

/// The validators whose attestation for epoch e is included in a block of e or e+1 at an
/// inclusion delay the Capella state accepts (1..=SLOTS_PER_EPOCH).
fn attesters(r: &Recorded) -> BTreeSet<u64> {
    let committees: BTreeMap<(u64, u64), Vec<u64>> = spec_form(
        r.epoch,
        serde_json::from_value(r.raw("committees.json")["data"].clone()).expect("committees"),
    )
    .into_iter()
    .map(|c| ((c.slot.as_u64(), c.index), c.validators))
    .collect();
    let mut out = BTreeSet::new();
    for (slot, block) in r.blocks() {
        for a in block["data"]["message"]["body"]["attestations"]
            .as_array()
            .expect("attestations")
        {
            let data = &a["data"];
            let attested = num(&data["slot"]);
            if num(&data["target"]["epoch"]) != r.epoch
                || !(1..=SLOTS_PER_EPOCH).contains(&(slot - attested))
            {
                continue;
            }
            let members = &committees[&(attested, num(&data["index"]))];
            let bits = bitlist(a["aggregation_bits"].as_str().expect("bits"));
            assert_eq!(bits.len(), members.len(), "slot {slot}: bits per member");
            out.extend(
                members
                    .iter()
                    .zip(bits)
                    .filter(|(_, b)| *b)
                    .map(|(m, _)| *m),
            );
        }
    }
    out
}

#[test]
fn lodestar_committees_are_relabelled_into_the_spec_form() {
    let m = manifest();
    for e in m["epochs"].as_array().expect("epochs").iter().map(num) {
        let r = Recorded::open(e);
        // As recorded, the committees are refused: their slots are not in the epoch.
        let mut raw_inputs = r.loaded.inputs.clone();
        raw_inputs.committees =
            serde_json::from_value(r.raw("committees.json")["data"].clone()).expect("committees");
        let pool = r.loaded.registry.pool();
        let err = account_epoch(
            &r.loaded.spec,
            &r.loaded.keys(),
            pool.withdrawal_credentials,
            pool.el_rewards_vault,
            &raw_inputs,
        )
        .unwrap_err();
        assert!(err.to_string().contains("is not in epoch"), "{err}");
        // Relabelled: every slot of the epoch has `get_committee_count_per_slot` committees
        // (minimal preset: max(1, min(4, active / 8 / 4))), and every active validator is in
        // exactly one of them.
        let active: BTreeSet<u64> = r
            .validators("validators_end.json")
            .into_iter()
            .filter(|(_, v)| num(&v["validator"]["activation_epoch"]) <= e)
            .filter(|(_, v)| num(&v["validator"]["exit_epoch"]) > e)
            .map(|(i, _)| i)
            .collect();
        let per_slot_count = (active.len() as u64 / SLOTS_PER_EPOCH / 4).clamp(1, 4);
        let mut per_slot: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut members = Vec::new();
        for c in &r.loaded.inputs.committees {
            per_slot.entry(c.slot.as_u64()).or_default().insert(c.index);
            members.extend(c.validators.iter().copied());
        }
        let slots: Vec<u64> = (e * SLOTS_PER_EPOCH..(e + 1) * SLOTS_PER_EPOCH).collect();
        assert_eq!(per_slot.keys().copied().collect::<Vec<_>>(), slots);
        let indices: BTreeSet<u64> = (0..per_slot_count).collect();
        assert!(
            per_slot.values().all(|i| *i == indices),
            "epoch {e}: {per_slot:?}"
        );
        members.sort_unstable();
        assert_eq!(members, active.into_iter().collect::<Vec<_>>(), "epoch {e}");
    }
}

#[test]
fn income_is_the_balance_change_plus_withdrawals_in_every_recorded_epoch() {
    let m = manifest();
    for e in m["epochs"].as_array().expect("epochs").iter().map(num) {
        let r = Recorded::open(e);
        let ledger = r.account();
        let start = r.validators("validators_start.json");
        let end = r.validators("validators_end.json");
        let mut withdrawn: BTreeMap<u64, u64> = BTreeMap::new();
        for (index, amount, _) in r.withdrawals() {
            *withdrawn.entry(index).or_default() += amount;
        }
        assert_eq!(ledger.records.len(), 64, "epoch {e}: every pool key");
        for (index, v) in &end {
            let balance_end = num(&v["balance"]);
            let balance_start = num(&start[index]["balance"]);
            let w = withdrawn.get(index).copied().unwrap_or(0);
            let expected = i64::try_from(balance_end).unwrap()
                - i64::try_from(balance_start).unwrap()
                + i64::try_from(w).unwrap();
            let rec = record(&ledger, *index);
            assert_eq!(
                (
                    rec.balance_start,
                    rec.balance_end,
                    rec.withdrawals,
                    rec.deposits,
                    rec.income
                ),
                (balance_start, balance_end, w, 0, expected),
                "epoch {e}, validator {index}"
            );
        }
    }
}

#[test]
fn withdrawals_after_the_credential_change() {
    let m = manifest();
    let epochs: Vec<u64> = m["cases"]["withdrawals"]
        .as_array()
        .expect("withdrawal epochs")
        .iter()
        .map(num)
        .collect();
    assert!(!epochs.is_empty());
    for e in epochs {
        let r = Recorded::open(e);
        let ledger = r.account();
        let pool_credentials = format!("{}", r.loaded.registry.pool().withdrawal_credentials);
        assert!(pool_credentials.starts_with("0x01"), "{pool_credentials}");
        // The credential change made every validator the pool's: 0x01 + the pool's address.
        for name in ["validators_start.json", "validators_end.json"] {
            for (index, v) in r.validators(name) {
                assert_eq!(
                    v["validator"]["withdrawal_credentials"].as_str(),
                    Some(pool_credentials.as_str()),
                    "epoch {e} {name}: validator {index}"
                );
            }
        }
        assert!(ledger.records.iter().all(|r| !r.credentials_mismatch));
        // Non-zero withdrawals, paid to the pool's address, credited to their validators.
        let list = r.withdrawals();
        assert!(
            list.iter().any(|(_, amount, _)| *amount > 0),
            "epoch {e}: {list:?}"
        );
        let address = r.pool_address();
        let mut per_validator: BTreeMap<u64, u64> = BTreeMap::new();
        for (index, amount, to) in &list {
            assert_eq!(to, &address, "epoch {e}: withdrawal of {index}");
            *per_validator.entry(*index).or_default() += amount;
        }
        for rec in &ledger.records {
            assert_eq!(
                rec.withdrawals,
                per_validator
                    .get(&rec.validator_index)
                    .copied()
                    .unwrap_or(0),
                "epoch {e}: validator {}",
                rec.validator_index
            );
        }
        let total: u64 = per_validator.values().sum();
        assert_eq!(
            ledger.records.iter().map(|r| r.withdrawals).sum::<u64>(),
            total
        );
    }
}

#[test]
fn missed_proposal_of_the_absent_key() {
    let m = manifest();
    let absent = num(&m["absent_validator"]);
    let e = case_epoch("missed_proposal");
    let r = Recorded::open(e);
    let ledger = r.account();
    let blocks = r.epoch_blocks();
    // Proposals, from the raw duties and blocks.
    let mut assigned: BTreeMap<u64, u32> = BTreeMap::new();
    let mut made: BTreeMap<u64, u32> = BTreeMap::new();
    let mut absent_slots = Vec::new();
    for duty in r.raw("proposer_duties.json")["data"]
        .as_array()
        .expect("duties")
    {
        let (v, slot) = (num(&duty["validator_index"]), num(&duty["slot"]));
        *assigned.entry(v).or_default() += 1;
        let proposer = blocks
            .get(&slot)
            .map(|b| num(&b["data"]["message"]["proposer_index"]));
        if proposer == Some(v) {
            *made.entry(v).or_default() += 1;
        }
        if v == absent {
            absent_slots.push(slot);
            assert!(!blocks.contains_key(&slot), "no block at slot {slot}");
        }
    }
    assert!(
        !absent_slots.is_empty(),
        "validator {absent} had a duty in epoch {e}"
    );
    for rec in &ledger.records {
        let v = rec.validator_index;
        assert_eq!(
            (rec.duties.proposals_assigned, rec.duties.proposals_made),
            (
                assigned.get(&v).copied().unwrap_or(0),
                made.get(&v).copied().unwrap_or(0)
            ),
            "validator {v}"
        );
    }
    let missing = record(&ledger, absent);
    assert_eq!(
        (
            missing.duties.proposals_assigned,
            missing.duties.proposals_made
        ),
        (absent_slots.len() as u32, 0)
    );
    // Attestations: the absent key is in a committee but never included; every other
    // inclusion matches the aggregation bits.
    let included = attesters(&r);
    assert!(!included.contains(&absent));
    assert_eq!(
        (
            missing.duties.attestation_duties,
            missing.duties.attestation_included
        ),
        (1, 0)
    );
    for rec in &ledger.records {
        assert_eq!(
            rec.duties.attestation_included,
            u32::from(included.contains(&rec.validator_index)),
            "validator {}",
            rec.validator_index
        );
    }
    assert!(
        included.len() >= 60,
        "the other keys attested: {}",
        included.len()
    );
    // Lodestar 1.5.1 reports no execution payload value, so poolvc recorded none: every
    // canonical block of the epoch counts as a missing EL value of its proposer, and pays the
    // pool's vault.
    let recorded: Vec<ElBlockValue> =
        serde_json::from_value(r.raw("el_values.json")).expect("EL values");
    assert!(recorded.is_empty(), "{recorded:?}");
    let vault = format!("{}", r.loaded.registry.pool().el_rewards_vault).to_ascii_lowercase();
    let mut proposed: BTreeMap<u64, u32> = BTreeMap::new();
    for block in blocks.values() {
        let message = &block["data"]["message"];
        *proposed.entry(num(&message["proposer_index"])).or_default() += 1;
        assert_eq!(
            message["body"]["execution_payload"]["fee_recipient"]
                .as_str()
                .map(str::to_ascii_lowercase),
            Some(vault.clone())
        );
    }
    for rec in &ledger.records {
        let blocks = proposed.get(&rec.validator_index).copied().unwrap_or(0);
        assert_eq!(
            (
                rec.el_values_missing,
                rec.el_rewards,
                rec.fee_recipient_mismatches
            ),
            (blocks, 0, 0),
            "validator {}",
            rec.validator_index
        );
    }
}

#[test]
fn voluntary_exit_reaches_its_exit_epoch() {
    let m = manifest();
    let exiting = num(&m["exiting_validator"]);
    let e = case_epoch("voluntary_exit");
    let r = Recorded::open(e);
    let ledger = r.account();
    let start = r.validators("validators_start.json");
    let end = r.validators("validators_end.json");
    let status = |v: &Value| v["status"].as_str().expect("status").to_owned();
    assert_eq!(status(&start[&exiting]), "active_exiting");
    assert_eq!(status(&end[&exiting]), "exited_unslashed");
    assert_eq!(num(&end[&exiting]["validator"]["exit_epoch"]), e);
    let rec = record(&ledger, exiting);
    assert_eq!(rec.status, ValidatorStatus::ExitedUnslashed);
    // Exited at the epoch's start: no committee, so no attestation duty.
    let in_committee = r.raw("committees.json")["data"]
        .as_array()
        .expect("committees")
        .iter()
        .any(|c| {
            c["validators"]
                .as_array()
                .expect("members")
                .iter()
                .any(|m| num(m) == exiting)
        });
    assert!(!in_committee);
    assert_eq!(rec.duties.attestation_duties, 0);
    for rec in &ledger.records {
        let expected: ValidatorStatus =
            serde_json::from_value(end[&rec.validator_index]["status"].clone()).expect("status");
        assert_eq!(rec.status, expected, "validator {}", rec.validator_index);
    }

    // A one-epoch frame report over the exit epoch.
    let registry = &r.loaded.registry;
    let pool = PoolConfig {
        frame: FrameConfig {
            start_epoch: e,
            epochs: 1,
        },
        ..registry.pool().clone()
    };
    let snapshot = registry.snapshot(0);
    let root: Hash256 = serde_json::from_value(m["genesis_validators_root"].clone()).expect("root");
    let mut builder = ReportBuilder::new(ReportParams {
        spec: &r.loaded.spec,
        pool: &pool,
        genesis_validators_root: root,
        frame: 0,
        previous: None,
        share_supply: pool.initial_total_shares,
    })
    .expect("report");
    assert_eq!(builder.epochs(), (Epoch(e), Epoch(e)));
    builder.add_epoch(&ledger, &snapshot).expect("epoch");
    let report = builder.finish(&[ledger.summary()]).expect("report").report;

    let count = |f: &dyn Fn(&str) -> bool| end.values().filter(|v| f(&status(v))).count() as u64;
    let exited = count(&|s| s.starts_with("exited_") || s.starts_with("withdrawal_"));
    let active = count(&|s| s.starts_with("active_"));
    assert_eq!((exited, active), (1, 63));
    let totals = &report.totals;
    assert_eq!(
        (totals.validators_exited, totals.validators_active),
        (exited, active)
    );
    assert_eq!(totals.credential_mismatches, 0);
    let withdrawn: u64 = r.withdrawals().iter().map(|(_, a, _)| a).sum();
    assert_eq!(totals.withdrawals_gwei, withdrawn);
    let income: i64 = end
        .iter()
        .map(|(i, v)| {
            i64::try_from(num(&v["balance"])).unwrap()
                - i64::try_from(num(&start[i]["balance"])).unwrap()
        })
        .sum::<i64>()
        + i64::try_from(withdrawn).unwrap();
    // No slashing: rewards minus penalties is the epoch's CL income.
    assert_eq!(totals.slashing_losses_gwei, 0);
    assert_eq!(
        i64::try_from(totals.cl_rewards_gwei).unwrap()
            - i64::try_from(totals.penalties_gwei).unwrap(),
        income
    );
    let operator = registry
        .operator_of(&rec.pubkey)
        .expect("the exiting key's operator")
        .id;
    for o in &report.operators {
        assert_eq!(
            o.tally.validators_exited,
            u64::from(o.operator_id == operator),
            "operator {}",
            o.operator_id
        );
    }
}
