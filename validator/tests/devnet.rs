//! End to end on a real Lodestar 1.5.1 devnet (`POOLVC_E2E=1`; otherwise prints `SKIPPED`).
//!
//! poolvc runs all 64 genesis validators; Lodestar runs none. Checked from the beacon node, not
//! from poolvc's logs: the chain justifies and finalises on poolvc's votes alone; at least 95 %
//! of the attestation duties are included (aggregation bits mapped through committees); every
//! slot has its canonical block (every proposer is a poolvc key), paying the pool vault; sync
//! committee participation above 90 %. From poolvc's log: no slashing-protection or pool-safety
//! refusal. Then a second poolvc with the same keys and its own fresh slashing database is
//! stopped by doppelganger protection (chain-based: Lodestar 1.5.1 has no liveness endpoint)
//! before it signs anything, and the first one shuts down cleanly on SIGTERM.
//!
//! Pool accounting on the same run (the sample registry of `scripts/devnet.sh`: 4-epoch frames
//! from epoch 1): the reports of frames 0 and 1 are final and signed by the oracle key; every
//! validator's CL income in epochs 1..=8 equals the node's balances and withdrawals; a registry
//! edit in frame 0 moves keys between operators from frame 1 only; `poolvc report verify`
//! recomputes both reports from the node alone and finds them identical.

mod common;

use common::pool::{self as pool, BalanceRecorder};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::devnet::{
    self, Devnet, SLOTS_PER_EPOCH, VAULT, bits, included_votes, number, start_poolvc,
    write_interop_keys,
};

const VALIDATORS: u64 = 64;
/// The last epoch whose votes are checked.
const LAST_EPOCH: u64 = 7;
/// Frames reported and checked (4 epochs each from epoch 1: epochs 1..=8).
const FRAMES: u64 = 2;
/// Wall slot by which both reports must exist (frame 1 ends with epoch 8; it is final when
/// epoch 10 is, which takes about two more epochs).
const REPORTS_DEADLINE_SLOT: u64 = 15 * SLOTS_PER_EPOCH;

/// Prints the tail of the logs if the test fails.
struct LogsOnFailure(Vec<PathBuf>);

impl Drop for LogsOnFailure {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for path in &self.0 {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            eprintln!("==== last lines of {} ====\n{tail}", path.display());
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poolvc_runs_a_lodestar_devnet() {
    if !devnet::enabled("devnet::poolvc_runs_a_lodestar_devnet") {
        return;
    }
    devnet::install();
    let dir = tempfile::Builder::new()
        .prefix("poolvc-e2e")
        .tempdir()
        .unwrap();
    let keys = dir.path().join("keys");
    let secrets = dir.path().join("secrets");
    write_interop_keys(VALIDATORS, &keys, &secrets);
    let main_log = dir.path().join("poolvc.log");
    let second_log = dir.path().join("poolvc-second.log");
    let _logs = LogsOnFailure(vec![
        dir.path().join("run/beacon.log"),
        main_log.clone(),
        second_log.clone(),
    ]);

    let registry = dir.path().join("registry.toml");
    std::fs::write(&registry, pool::sample_registry()).unwrap();
    let (oracle_keystore, oracle_password, oracle_pubkey) =
        pool::write_oracle_key(&dir.path().join("oracle"));
    let reports_port = devnet::free_port().to_string();
    let reports = format!("http://127.0.0.1:{reports_port}");

    // poolvc starts before genesis (it waits for the REST API): a peerless Lodestar without a
    // block for an epoch believes it is syncing and refuses duties for good.
    let mut net = Devnet::start(&dir.path().join("run"), VALIDATORS, 25);
    let mut poolvc = start_poolvc(
        &net,
        &dir.path().join("main"),
        &keys,
        &secrets,
        &main_log,
        &[
            "--registry",
            registry.to_str().unwrap(),
            "--reports",
            "--reports-port",
            &reports_port,
            "--oracle-keystore",
            oracle_keystore.to_str().unwrap(),
            "--oracle-password-file",
            oracle_password.to_str().unwrap(),
        ],
    );
    net.wait_ready(Duration::from_secs(60)).await;

    // Committees are collected while their epoch is the head's (the head state serves only
    // the previous, current and next epochs); balances likewise while their states are served.
    // The registry is edited in epoch 2, after frame 0's snapshot was taken (epoch 1).
    let end = (LAST_EPOCH + 1) * SLOTS_PER_EPOCH + 2;
    let mut committees = BTreeMap::new();
    let mut balances = BalanceRecorder::default();
    let mut reloaded = false;
    let mut credentials_changed = false;
    loop {
        assert!(net.beacon.try_status().is_none(), "Lodestar stopped");
        assert!(poolvc.try_status().is_none(), "poolvc stopped");
        let epoch = net.wall_slot() / SLOTS_PER_EPOCH;
        for e in epoch.saturating_sub(1)..=epoch {
            if !committees.contains_key(&e)
                && let Some(c) = net.committees(e).await
            {
                committees.insert(e, c);
            }
        }
        balances.poll(&net, 4 * FRAMES).await;
        if !credentials_changed && net.wall_slot() >= 2 {
            // The genesis keys' BLS credentials now pay the pool: withdrawals (skimming) follow.
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
                .args([
                    "credentials",
                    "set-withdrawal-address",
                    "--beacon-node",
                    &net.url,
                ])
                .args(["--interop-count", &VALIDATORS.to_string()])
                .arg("--registry")
                .arg(&registry)
                .output()
                .expect("poolvc credentials runs");
            assert!(
                output.status.success(),
                "credential change: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            credentials_changed = true;
        }
        if !reloaded && net.wall_slot() >= 2 * SLOTS_PER_EPOCH + 4 {
            std::fs::write(&registry, pool::reloaded_registry()).unwrap();
            reloaded = true;
        }
        let reported = pool::pool_get(&reports, "/pool/v1/reports")
            .await
            .and_then(|v| v["data"].as_array().map(Vec::len))
            .unwrap_or(0) as u64;
        if net.wall_slot() >= end && reported >= FRAMES {
            break;
        }
        assert!(
            net.wall_slot() < REPORTS_DEADLINE_SLOT,
            "{reported} of {FRAMES} reports by slot {REPORTS_DEADLINE_SLOT}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for e in 0..=LAST_EPOCH + 1 {
        assert!(
            committees.contains_key(&e),
            "committees of epoch {e} collected"
        );
    }

    // Finality on poolvc's votes alone (Lodestar runs no validator).
    let (justified, finalized) = net.finality().await;
    assert!(
        finalized >= LAST_EPOCH - 1 && justified >= LAST_EPOCH,
        "justified {justified}, finalized {finalized} at slot {end}"
    );

    // Every slot's block, its fee recipient, its votes and sync participation.
    let mut votes = BTreeSet::new();
    let (mut sync_bits, mut sync_possible) = (0usize, 0usize);
    let mut empty = Vec::new();
    for slot in 1..(LAST_EPOCH + 1) * SLOTS_PER_EPOCH + 1 {
        let Some(block) = net.block(slot).await else {
            empty.push(slot);
            continue;
        };
        let body = &block["data"]["message"]["body"];
        assert_eq!(
            body["execution_payload"]["fee_recipient"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some(VAULT),
            "block at slot {slot} pays the pool vault"
        );
        votes.extend(included_votes(&block, &committees));
        let sync = bits(
            body["sync_aggregate"]["sync_committee_bits"]
                .as_str()
                .expect("sync bits"),
            false,
        );
        sync_bits += sync.iter().filter(|b| **b).count();
        sync_possible += sync.len();
    }
    assert!(empty.is_empty(), "proposals missed at slots {empty:?}");
    let duties = VALIDATORS * LAST_EPOCH;
    let included = votes
        .iter()
        .filter(|(target, _)| (1..=LAST_EPOCH).contains(target))
        .count() as u64;
    assert!(
        included * 100 >= duties * 95,
        "{included} of {duties} attestation duties of epochs 1..={LAST_EPOCH} included"
    );
    assert!(
        sync_bits * 10 > sync_possible * 9,
        "sync participation {sync_bits}/{sync_possible}"
    );
    let log = read(&main_log);
    assert!(
        !log.contains("not signed"),
        "a slashing-protection refusal in poolvc's log"
    );
    assert!(
        !log.contains("pool safety"),
        "a pool-safety refusal in poolvc's log"
    );
    assert!(
        log.contains("epoch summary"),
        "poolvc logs its epoch summaries"
    );
    eprintln!(
        "devnet: justified {justified}, finalized {finalized}; {included}/{duties} attestations \
         included; sync {sync_bits}/{sync_possible}; no empty slot"
    );

    check_accounting(
        &net,
        &reports,
        &registry,
        &balances,
        oracle_pubkey,
        dir.path(),
    )
    .await;
    let log = read(&main_log);
    assert!(log.contains("registry reloaded"), "the edit was picked up");

    // A second instance with the same keys and its own fresh slashing database.
    let head_before = number(
        &net.get("/eth/v1/beacon/headers/head").await.expect("head")["data"]["header"]["message"]["slot"],
    );
    let mut second = start_poolvc(
        &net,
        &dir.path().join("second"),
        &keys,
        &secrets,
        &second_log,
        &[],
    );
    let status = second
        .wait_exit(Duration::from_secs(90))
        .expect("the second instance stops by itself");
    assert_eq!(status.code(), Some(1), "non-zero exit on a doppelganger");
    let log = read(&second_log);
    assert!(log.contains("doppelganger detected"), "{log}");
    for signed in [
        "attestations published",
        "block published",
        "aggregates published",
    ] {
        assert!(
            !log.contains(signed),
            "the second instance signed: {signed}"
        );
    }
    // Its slashing protection database recorded nothing: it never signed a block or vote.
    let export = dir.path().join("second-export.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["slashing-protection", "export", "--datadir"])
        .arg(dir.path().join("second"))
        .arg("--file")
        .arg(&export)
        .output()
        .expect("export runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let entries = exported["data"].as_array().expect("data");
    assert_eq!(entries.len() as u64, VALIDATORS, "every key registered");
    for entry in entries {
        assert_eq!(entry["signed_blocks"], serde_json::json!([]), "{entry}");
        assert_eq!(
            entry["signed_attestations"],
            serde_json::json!([]),
            "{entry}"
        );
    }
    assert!(
        poolvc.try_status().is_none(),
        "the first instance keeps running"
    );
    assert!(net.wall_slot() > head_before, "the chain went on meanwhile");

    let status = poolvc
        .stop(Duration::from_secs(30))
        .expect("poolvc stops on SIGTERM");
    assert_eq!(status.code(), Some(0), "clean shutdown");
    assert!(read(&main_log).contains("all tasks stopped"));
    net.beacon.stop(Duration::from_secs(30));
}

/// The pool checks: reports, income, assignment change, independent recomputation.
async fn check_accounting(
    net: &Devnet,
    reports: &str,
    registry: &Path,
    balances: &BalanceRecorder,
    oracle: types::PublicKeyBytes,
    dir: &Path,
) {
    // Both reports final and signed by the oracle key (the API verifies the signature).
    let mut details = Vec::new();
    for frame in 0..FRAMES {
        let detail = pool::pool_get(reports, &format!("/pool/v1/reports/{frame}"))
            .await
            .unwrap_or_else(|| panic!("report of frame {frame}"));
        assert_eq!(detail["status"], "final", "frame {frame}: {detail}");
        assert_eq!(
            detail["verification"]["verified"], true,
            "frame {frame}: {detail}"
        );
        assert_eq!(
            detail["signer"].as_str(),
            Some(oracle.to_string().as_str()),
            "frame {frame}"
        );
        details.push(detail);
    }

    // The credential change made every validator the pool's, and withdrawals followed.
    for (frame, detail) in details.iter().enumerate() {
        let totals = &detail["report"]["totals"];
        assert_eq!(
            number(&totals["credential_mismatches"]),
            0,
            "frame {frame}: {totals}"
        );
    }
    let withdrawn = number(&details[1]["report"]["totals"]["withdrawals_gwei"]);
    assert!(withdrawn > 0, "frame 1 accounts withdrawals");

    // Operators: frame 0 keeps the registry of its start; the edit applies from frame 1.
    let moved = pool::MOVED_KEYS.len() as u64;
    let before = pool::active_per_operator(&details[0]);
    let after = pool::active_per_operator(&details[1]);
    assert_eq!(before.get(&1), Some(&16), "frame 0: {before:?}");
    assert_eq!(before.get(&2), Some(&16), "frame 0: {before:?}");
    assert_eq!(after.get(&1), Some(&(16 - moved)), "frame 1: {after:?}");
    assert_eq!(after.get(&2), Some(&(16 + moved)), "frame 1: {after:?}");

    // CL income of every validator in epochs 1..=8 from the node's own balances and blocks.
    let last_epoch = 4 * FRAMES;
    let withdrawals = pool::withdrawals(net, (last_epoch + 1) * SLOTS_PER_EPOCH - 1).await;
    for validator in 0..VALIDATORS {
        let ledger = pool::pool_get(
            reports,
            &format!("/pool/v1/validators/{validator}/ledger?from_epoch=1&to_epoch={last_epoch}"),
        )
        .await
        .expect("ledger");
        let rows = ledger["data"].as_array().expect("rows");
        assert_eq!(
            rows.len() as u64,
            last_epoch,
            "validator {validator}: {ledger}"
        );
        for row in rows {
            let epoch = number(&row["epoch"]);
            let balance = |e: u64| -> i64 {
                let b = balances
                    .ends
                    .get(&e)
                    .unwrap_or_else(|| panic!("balances at the end of epoch {e}"));
                i64::try_from(b[&validator]).unwrap()
            };
            let withdrawn = withdrawals.get(&(epoch, validator)).copied().unwrap_or(0);
            let expected = balance(epoch) - balance(epoch - 1) + i64::try_from(withdrawn).unwrap();
            assert_eq!(
                row["record"]["income"].as_i64(),
                Some(expected),
                "validator {validator} epoch {epoch}: {row}"
            );
        }
    }

    // An auditor's recomputation from the node alone (and the pool's recorded inputs).
    for frame in 0..FRAMES {
        let canonical = reqwest::get(format!("{reports}/pool/v1/reports/{frame}/canonical"))
            .await
            .expect("canonical report")
            .text()
            .await
            .expect("canonical text");
        let file = dir.join(format!("report-{frame}.json"));
        std::fs::write(&file, canonical).unwrap();
        let output = report_verify(net, reports, registry, &file);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("matches the beacon node"),
            "frame {frame}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("{}", stdout.trim());
    }

    // A report with one figure changed is caught, field named.
    let mut tampered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report-1.json")).unwrap()).unwrap();
    let field = &mut tampered["operators"][0]["tally"]["cl_rewards_gwei"];
    let bumped = number(field) + 1;
    *field = serde_json::Value::String(bumped.to_string());
    let file = dir.join("report-1-tampered.json");
    std::fs::write(&file, tampered.to_string()).unwrap();
    let output = report_verify(net, reports, registry, &file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("DIFFERS") && stdout.contains("operators[id=1].tally.cl_rewards_gwei"),
        "{stdout}"
    );
}

/// Runs `poolvc report verify` on a report file against the devnet and the pool's API.
fn report_verify(
    net: &Devnet,
    reports: &str,
    registry: &Path,
    report: &Path,
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["report", "verify", "--beacon-node", &net.url])
        .args(["--pool-api", reports])
        .arg("--registry")
        .arg(registry)
        .arg(report)
        .output()
        .expect("poolvc report verify runs")
}
