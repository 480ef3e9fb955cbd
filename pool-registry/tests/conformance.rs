//! The accounting conformance fixtures (`tests/fixtures/conformance/`, normative per
//! `docs/accounting.md` §7): every committed case is run from its files alone and must give
//! its `expected/` files byte for byte; the generator must reproduce the committed files.
//! Regenerate (only when the accounting changes on purpose) with
//! `POOLVC_REGENERATE_FIXTURES=1 cargo test -p pool-registry --test conformance`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::fixtures_dir;
use pool_registry::testing::conformance::{cases, run_case};

fn conformance_dir() -> PathBuf {
    fixtures_dir().join("conformance")
}

/// Every file under `dir`, relative, with `/` separators.
fn list(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        if entry.file_type().expect("file type").is_dir() {
            list(&entry.path(), &format!("{path}/"), out);
        } else {
            out.insert(path);
        }
    }
}

fn committed_cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("the conformance fixtures")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn fixtures_are_current() {
    let generated = cases().expect("the cases generate");
    let root = conformance_dir();
    if std::env::var("POOLVC_REGENERATE_FIXTURES").is_ok_and(|v| v == "1") {
        for case in &generated {
            let dir = root.join(case.name);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("remove the old case");
            }
            common::write_files(&dir, &case.files);
        }
    }
    let names: BTreeSet<String> = generated.iter().map(|c| c.name.to_owned()).collect();
    let committed: BTreeSet<String> = committed_cases()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names, committed,
        "cases; regenerate with POOLVC_REGENERATE_FIXTURES=1"
    );
    for case in &generated {
        let dir = root.join(case.name);
        let mut on_disk = BTreeSet::new();
        list(&dir, "", &mut on_disk);
        let expected: BTreeSet<String> = case.files.keys().cloned().collect();
        assert_eq!(
            on_disk, expected,
            "{}: file set differs; regenerate with POOLVC_REGENERATE_FIXTURES=1",
            case.name
        );
        for (path, text) in &case.files {
            let stored = std::fs::read_to_string(dir.join(path)).unwrap();
            assert!(
                &stored == text,
                "{}/{path} is stale; regenerate with POOLVC_REGENERATE_FIXTURES=1",
                case.name
            );
        }
    }
}

/// What an outside implementation does: read a case's inputs, compute, compare with its
/// `expected/` files.
#[test]
fn every_case_runs_from_its_files_alone() {
    let dirs = committed_cases();
    assert!(dirs.len() >= 7, "the conformance cases are committed");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let outputs = run_case(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expected_on_disk = BTreeSet::new();
        list(&dir.join("expected"), "expected/", &mut expected_on_disk);
        let computed: BTreeSet<String> = outputs.keys().cloned().collect();
        assert_eq!(computed, expected_on_disk, "{name}: expected files");
        for (path, text) in &outputs {
            let expected = std::fs::read_to_string(dir.join(path)).unwrap();
            assert!(&expected == text, "{name}/{path}: computed output differs");
        }
    }
}

/// The cases show what their descriptions say (checked on the committed expected files, so a
/// regeneration that loses a property fails here).
#[test]
fn cases_cover_the_advertised_situations() {
    let read = |case: &str, path: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(conformance_dir().join(case).join(path))
            .unwrap_or_else(|e| panic!("{case}/{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    };
    let tally = |case: &str, frame: u64| {
        read(case, &format!("expected/reports/{frame}/report.json"))["totals"].clone()
    };
    let outcome =
        |case: &str, frame: u64| read(case, &format!("expected/reports/{frame}/outcome.json"));
    let n = |v: &serde_json::Value| -> i128 { v.as_str().unwrap().parse().unwrap() };

    // normal: a missed proposal, late and missed attestations, a missing EL value, a foreign
    // fee recipient, a credential mismatch, the breakdown available from epoch 2.
    let t0 = tally("normal", 0);
    assert_eq!(n(&t0["proposals_missed"]), 1);
    assert_eq!(n(&t0["el_values_missing"]), 1);
    assert_eq!(n(&t0["fee_recipient_mismatches"]), 1);
    assert_eq!(n(&t0["credential_mismatches"]), 1);
    assert_eq!(n(&t0["attestations_missed"]), 1);
    assert!(n(&t0["breakdown_available"]) > 0 && n(&t0["breakdown_unavailable"]) > 0);
    let t1 = tally("normal", 1);
    assert_eq!(n(&t1["breakdown_unavailable"]), 0);
    assert_eq!(n(&t1["unexplained_gwei"]), 0);
    assert!(
        n(&t1["source_timely"]) < n(&t1["attestation_duties"]),
        "a late attestation"
    );
    assert!(n(&t1["fee_gwei"]) > 0);
    let r1 = read("normal", "expected/reports/1/report.json");
    assert_eq!(
        r1["previous_report_root"],
        outcome("normal", 0)["root"],
        "the second report builds on the first"
    );

    assert!(n(&tally("withdrawals", 1)["withdrawals_gwei"]) == 2_000_000_000);
    assert!(n(&tally("withdrawals", 0)["withdrawals_gwei"]) == 500_000_000);

    let s = tally("slashing", 1);
    assert_eq!(n(&s["newly_slashed"]), 1);
    assert!(n(&s["slashing_losses_gwei"]) > 900_000_000);
    assert!(n(&s["net_rewards_gwei"]) < 0 && n(&s["fee_gwei"]) == 0);
    assert!(n(&s["unexplained_gwei"]) <= -1_000_000_000);
    assert_eq!(outcome("slashing", 1)["status"], "final");

    for frame in 0..2 {
        let t = tally("exit", frame);
        assert_eq!(
            (n(&t["validators_exited"]), n(&t["validators_active"])),
            (1, 11)
        );
    }
    let status = |epoch: u64| {
        read("exit", &format!("expected/ledger/{epoch}.json"))["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["validator_index"] == 2)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(
        (1..=4).map(status).collect::<Vec<_>>(),
        [
            "active_exiting",
            "exited_unslashed",
            "withdrawal_done",
            "withdrawal_done"
        ]
    );

    for case in ["deposits", "deposits-electra"] {
        let deposits: i128 = (0..2).map(|f| n(&tally(case, f)["deposits_gwei"])).sum();
        assert_eq!(deposits, 33_000_000_000, "{case}");
    }
    // Across the fork: credited at once in epoch 1, through the queue (from an empty one) after.
    let fork = |f| n(&tally("electra-fork", f)["deposits_gwei"]);
    assert_eq!(
        (fork(0), fork(1), fork(2)),
        (1_000_000_000, 0, 33_000_000_000)
    );
    let dir = conformance_dir().join("electra-fork/beacon/pending_deposits");
    assert!(!dir.join("15.json").exists() && dir.join("23.json").exists());

    for frame in [0, 2] {
        let o = outcome("sanity-breach", frame);
        assert_eq!(o["status"], "withheld", "frame {frame}");
        assert_eq!(o["violations"][0]["limit"], "positive_rebase");
    }
    let first = read("sanity-breach", "expected/reports/1/report.json");
    assert_eq!(outcome("sanity-breach", 1)["status"], "final");
    assert_eq!(
        (first["first_epoch"].as_str(), first["last_epoch"].as_str()),
        (Some("1"), Some("2"))
    );
    assert_eq!(
        first["previous_report_root"],
        format!("0x{}", "00".repeat(32))
    );
    let catch_up = read("sanity-breach", "expected/reports/3/report.json");
    assert_eq!(outcome("sanity-breach", 3)["status"], "final");
    assert_eq!(catch_up["first_epoch"], "3");
    assert_eq!(
        catch_up["previous_report_root"],
        outcome("sanity-breach", 1)["root"]
    );

    let fees = read("fee-rounding", "expected/reports/2/report.json");
    let ops = fees["operators"].as_array().unwrap();
    let ids: Vec<&str> = ops
        .iter()
        .map(|o| o["operator_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let op = |id: usize| ops[id - 1]["tally"].clone();
    assert!(n(&op(2)["net_rewards_gwei"]) < 0 && n(&op(2)["fee_gwei"]) == 0);
    assert_eq!(ops[3]["operator_bps"], "0", "operator 4 left: rate 0");
    let some_remainder = ops.iter().any(|o| {
        let t = &o["tally"];
        let (r, bps) = (n(&t["net_rewards_gwei"]), n(&o["operator_bps"]));
        r > 0 && (r * (300 + bps)) % 10_000 != 0
    });
    assert!(some_remainder, "a fee rounds down");
}
