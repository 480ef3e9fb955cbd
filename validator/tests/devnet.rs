//! End to end on a real Lodestar 1.5.1 devnet (`POOLVC_E2E=1`; otherwise prints `SKIPPED`).
//!
//! poolvc runs all 64 genesis validators; Lodestar runs none. Checked from the beacon node, not
//! from poolvc's logs: the chain justifies and finalises on poolvc's votes alone; at least
//! [`MIN_INCLUDED_PERCENT`] % of the attestation duties are included (aggregation bits mapped
//! through committees); every slot has its canonical block (every proposer is a poolvc key)
//! except those of the slashed validator below and those before poolvc was up (it starts
//! before genesis unless a busy machine brings the node's API up late; within epoch 0 or the
//! test fails), every block paying the pool vault; sync
//! committee participation of at least [`MIN_SYNC_PERCENT`] %. (On a quiet machine both are
//! 100 %; the margins are for a machine shared with builds, where a starved node answers
//! publications late. Every duty is checked one by one against the mock beacon node in the
//! client tests.) From poolvc's log: no slashing-protection or pool-safety refusal. Then a second
//! poolvc with the same keys and its own fresh slashing database is stopped by doppelganger
//! protection (chain-based: Lodestar 1.5.1 has no liveness endpoint) before it signs anything,
//! and the first one shuts down cleanly on SIGTERM.
//!
//! A slashing and an exit on the same chain (`SHARD_COMMITTEE_PERIOD = 1`, so a genesis
//! validator may exit from epoch 1): in epoch 2 poolvc signs, through its Keymanager API, the
//! voluntary exit of validator [`EXITING`] (published to the node; it exits at epoch 7); in
//! epoch 5 a double vote of validator [`SLASHED`], signed outside poolvc with its interop key,
//! is submitted as an attester slashing. poolvc then stops that key's attestations and
//! proposals (none of its votes is included from two epochs after its slashing on).
//!
//! Pool accounting on the same run (the sample registry of `scripts/devnet.sh`: 4-epoch frames
//! from epoch 1): the oracle key is made by `poolvc keys oracle`; the report of frame 0 is
//! final and signed by it; every validator's ledger row in epochs 1..=8 (income, balances,
//! status, slashed flags) equals the node's balances, statuses and withdrawals to the gwei;
//! both reports' figures per operator and for the pool (rewards, penalties, slashing losses,
//! withdrawals, newly slashed, active, exited, slashed) equal those the node's data give; frame
//! 1 (the slashing) counts one newly slashed and the exited validator, and is withheld exactly
//! when its fees exceed its net rewards; a registry edit in frame 0 moves keys between
//! operators from frame 1 only; `poolvc report verify` recomputes both reports from the node
//! alone, finds them identical, and checks the oracle's signature.

mod common;

use common::penalties;
use common::pool::{self as pool, ChainRecorder};
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
/// Attestation duties of epochs 1..=[`LAST_EPOCH`] that must be included, in percent.
const MIN_INCLUDED_PERCENT: u64 = 85;
/// Sync committee participation through epoch [`LAST_EPOCH`] required, in percent.
const MIN_SYNC_PERCENT: usize = 80;
/// Frames reported and checked (4 epochs each from epoch 1: epochs 1..=8).
const FRAMES: u64 = 2;
/// Wall slot by which both reports must exist (frame 1 ends with epoch 8; it is final when
/// epoch 10 is, which takes about two more epochs).
const REPORTS_DEADLINE_SLOT: u64 = 15 * SLOTS_PER_EPOCH;
/// The last epoch of the reports (frames 0 and 1).
const REPORTED_EPOCH: u64 = 4 * FRAMES;
/// The validator slashed for a double vote (operator 3's).
const SLASHED: u64 = 40;
/// The validator that exits (operator 4's).
const EXITING: u64 = 50;
/// Wall slot from which poolvc's exit is published: epoch 2, so the exit takes effect at epoch
/// 2 + 1 + MAX_SEED_LOOKAHEAD = 7, within frame 1.
const EXIT_SLOT: u64 = 2 * SLOTS_PER_EPOCH + 1;
/// Wall slot from which the double vote is published: epoch 5, frame 1's first.
const SLASHING_SLOT: u64 = 5 * SLOTS_PER_EPOCH + 1;
/// The target epoch of the double vote (a past one: any epoch is slashable).
const DOUBLE_VOTE_EPOCH: u64 = 4;

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
    let keymanager_port = devnet::free_port().to_string();
    let keymanager = format!("http://127.0.0.1:{keymanager_port}");

    // poolvc starts before genesis (it waits for the REST API): a peerless Lodestar without a
    // block for an epoch believes it is syncing and refuses duties for good.
    let mut net = Devnet::start_with_params(
        &dir.path().join("run"),
        VALIDATORS,
        25,
        &[("SHARD_COMMITTEE_PERIOD", "1")],
    );
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
            "--keymanager",
            "--keymanager-port",
            &keymanager_port,
            // The keys are this run's own; a busy machine may bring the node's API up after
            // genesis, and holding every key for two epochs would stall the peerless chain.
            // Doppelganger protection is checked with the second instance below.
            "--doppelganger-epochs",
            "0",
        ],
    );
    net.wait_ready(Duration::from_secs(60)).await;

    // Committees are collected while their epoch is the head's (the head state serves only
    // the previous, current and next epochs); balances likewise while their states are served.
    // The registry is edited in epoch 2, after frame 0's snapshot was taken (epoch 1).
    let end = (LAST_EPOCH + 1) * SLOTS_PER_EPOCH + 2;
    let mut committees = BTreeMap::new();
    let mut chain = ChainRecorder::default();
    let mut reloaded = false;
    let mut credentials_changed = false;
    let (mut exited, mut slashed) = (false, false);
    // The wall slot by which poolvc had started (its proposals can only count from then: on a
    // busy machine the node's API, which poolvc waits for, may come up after genesis).
    let mut started_by: Option<u64> = None;
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
        chain.poll(&net, REPORTED_EPOCH).await;
        if started_by.is_none() && read(&main_log).contains("validator client started") {
            started_by = Some(net.wall_slot());
        }
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
        if !exited && net.wall_slot() >= EXIT_SLOT {
            let pubkey = validator::testing::InteropKeypair::new(EXITING).pubkey;
            let token = dir.path().join("main/api-token.txt");
            penalties::exit_through_keymanager(&net, &keymanager, &token, &pubkey).await;
            exited = true;
        }
        if !slashed && net.wall_slot() >= SLASHING_SLOT {
            penalties::submit_double_vote(&net, SLASHED, DOUBLE_VOTE_EPOCH).await;
            slashed = true;
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

    // The exit and the slashing as the node shows them.
    let exit_epoch = chain.at(REPORTED_EPOCH, EXITING).exit_epoch;
    assert!(
        exit_epoch <= REPORTED_EPOCH
            && chain.at(exit_epoch - 1, EXITING).status == "active_exiting"
            && chain.at(exit_epoch, EXITING).status == "exited_unslashed",
        "validator {EXITING} exits within frame 1: exit epoch {exit_epoch}, {:?}",
        chain.at(REPORTED_EPOCH, EXITING)
    );
    let slashing_epoch = chain
        .slashed_in(SLASHED)
        .unwrap_or_else(|| panic!("validator {SLASHED} not slashed by epoch {REPORTED_EPOCH}"));
    assert!(
        (5..=6).contains(&slashing_epoch),
        "the slashing submitted in epoch 5 is included by epoch 6: epoch {slashing_epoch}"
    );
    assert_eq!(chain.at(slashing_epoch, SLASHED).status, "active_slashed");
    eprintln!(
        "devnet: validator {EXITING} exited at epoch {exit_epoch}; validator {SLASHED} slashed in epoch {slashing_epoch}"
    );

    // Every slot's block through epoch 8, its fee recipient, its votes; sync participation
    // through epoch 7. Only the slashed validator's proposals may be missing, from its
    // slashing on (its block would be invalid).
    let mut votes = BTreeSet::new();
    let (mut sync_bits, mut sync_possible) = (0usize, 0usize);
    let mut empty = Vec::new();
    for slot in 1..(REPORTED_EPOCH + 1) * SLOTS_PER_EPOCH {
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
        if slot <= (LAST_EPOCH + 1) * SLOTS_PER_EPOCH {
            let sync = bits(
                body["sync_aggregate"]["sync_committee_bits"]
                    .as_str()
                    .expect("sync bits"),
                false,
            );
            sync_bits += sync.iter().filter(|b| **b).count();
            sync_possible += sync.len();
        }
    }
    let started_by = started_by.expect("poolvc logged its start");
    assert!(
        started_by < SLOTS_PER_EPOCH,
        "poolvc started at slot {started_by}: a peerless node without blocks for an epoch stalls"
    );
    for slot in &empty {
        let epoch = slot / SLOTS_PER_EPOCH;
        let proposer = chain.proposers.get(&epoch).and_then(|d| d.get(slot));
        let before_start = *slot <= started_by + 1;
        assert!(
            before_start || (proposer == Some(&SLASHED) && epoch >= slashing_epoch),
            "proposal missed at slot {slot} (proposer {proposer:?}; poolvc started by slot \
             {started_by}; empty slots {empty:?})"
        );
    }
    // Duties: committee seats of epochs 1..=7, but the slashed validator's after its slashing.
    let mut duties = 0u64;
    let mut included = 0u64;
    for e in 1..=LAST_EPOCH {
        for members in committees[&e].values() {
            for member in members {
                if *member == SLASHED && e > slashing_epoch {
                    continue;
                }
                duties += 1;
                included += u64::from(votes.contains(&(e, *member)));
            }
        }
    }
    assert!(
        included * 100 >= duties * MIN_INCLUDED_PERCENT,
        "{included} of {duties} attestation duties of epochs 1..={LAST_EPOCH} included"
    );
    // The slashed validator attested before its slashing, and poolvc stopped it after.
    assert!(
        (1..slashing_epoch).any(|e| votes.contains(&(e, SLASHED))),
        "validator {SLASHED} attested before its slashing"
    );
    let late: Vec<u64> = (slashing_epoch + 2..=REPORTED_EPOCH)
        .filter(|e| votes.contains(&(*e, SLASHED)))
        .collect();
    assert!(
        late.is_empty(),
        "votes of the slashed validator {SLASHED} included for epochs {late:?}"
    );
    assert!(
        sync_bits * 100 >= sync_possible * MIN_SYNC_PERCENT,
        "sync participation {sync_bits}/{sync_possible}"
    );
    let log = read(&main_log);
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("not signed") && !l.contains("pool report withheld"))
        .collect();
    assert!(
        refusals.is_empty(),
        "a slashing-protection refusal in poolvc's log: {refusals:?}"
    );
    assert!(
        !log.contains("pool safety"),
        "a pool-safety refusal in poolvc's log"
    );
    assert!(
        log.contains("epoch summary"),
        "poolvc logs its epoch summaries"
    );
    assert!(
        log.contains("Keymanager: voluntary exit signed"),
        "poolvc signed the exit"
    );
    assert_eq!(
        log.matches("validator slashed: its attestation, aggregation and block duties stop")
            .count(),
        1,
        "poolvc saw the slashing once"
    );
    eprintln!(
        "devnet: justified {justified}, finalized {finalized}; {included}/{duties} attestations \
         included; sync {sync_bits}/{sync_possible}; empty slots {empty:?} (poolvc up by slot \
         {started_by}; slashed proposer)"
    );

    check_accounting(&net, &reports, &registry, &chain, oracle_pubkey, dir.path()).await;
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
    chain: &ChainRecorder,
    oracle: types::PublicKeyBytes,
    dir: &Path,
) {
    let mut details = Vec::new();
    for frame in 0..FRAMES {
        let detail = pool::pool_get(reports, &format!("/pool/v1/reports/{frame}"))
            .await
            .unwrap_or_else(|| panic!("report of frame {frame}"));
        assert_eq!(
            detail["verification"]["verified"], true,
            "frame {frame}: {detail}"
        );
        details.push(detail);
    }
    // Frame 0 final and signed by the oracle key (the API verifies the signature).
    assert_eq!(details[0]["status"], "final", "frame 0: {}", details[0]);
    assert_eq!(
        details[0]["signer"].as_str(),
        Some(oracle.to_string().as_str()),
        "frame 0"
    );
    assert_eq!(details[0]["verification"]["signature"], "valid");

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

    // Every validator's ledger row in epochs 1..=8 against the node's balances, statuses and
    // withdrawals, to the gwei.
    let withdrawals = pool::withdrawals(net, (REPORTED_EPOCH + 1) * SLOTS_PER_EPOCH - 1).await;
    for validator in 0..VALIDATORS {
        let ledger = pool::pool_get(
            reports,
            &format!(
                "/pool/v1/validators/{validator}/ledger?from_epoch=1&to_epoch={REPORTED_EPOCH}"
            ),
        )
        .await
        .expect("ledger");
        let rows = ledger["data"].as_array().expect("rows");
        assert_eq!(
            rows.len() as u64,
            REPORTED_EPOCH,
            "validator {validator}: {ledger}"
        );
        for row in rows {
            let epoch = number(&row["epoch"]);
            let (start, end) = (chain.at(epoch - 1, validator), chain.at(epoch, validator));
            let withdrawn = withdrawals.get(&(epoch, validator)).copied().unwrap_or(0);
            let income = i64::try_from(end.balance).unwrap()
                - i64::try_from(start.balance).unwrap()
                + i64::try_from(withdrawn).unwrap();
            let record = &row["record"];
            let at = format!("validator {validator} epoch {epoch}: {row}");
            assert_eq!(record["income"].as_i64(), Some(income), "{at}");
            assert_eq!(
                record["balance_start"].as_u64(),
                Some(start.balance),
                "{at}"
            );
            assert_eq!(record["balance_end"].as_u64(), Some(end.balance), "{at}");
            assert_eq!(record["withdrawals"].as_u64(), Some(withdrawn), "{at}");
            assert_eq!(record["status"].as_str(), Some(end.status.as_str()), "{at}");
            assert_eq!(
                record["slashed_start"].as_bool(),
                Some(start.slashed),
                "{at}"
            );
            assert_eq!(record["slashed_end"].as_bool(), Some(end.slashed), "{at}");
        }
    }

    // Each report's figures, per operator and for the pool, as the node's data give them.
    let registries = [pool::sample_registry(), pool::reloaded_registry()];
    let mut node = Vec::new();
    for (frame, detail) in details.iter().enumerate() {
        let report = &detail["report"];
        let (first, last) = (
            number(&report["first_epoch"]),
            number(&report["last_epoch"]),
        );
        assert_eq!((first, last), (4 * frame as u64 + 1, 4 * frame as u64 + 4));
        let tallies = pool::node_tallies(
            chain,
            &withdrawals,
            &pool::assignments(&registries[frame]),
            first,
            last,
        );
        let operators = report["operators"].as_array().expect("operators");
        assert_eq!(operators.len(), 4, "frame {frame}");
        for (key, expected) in &tallies {
            let tally = match key {
                None => &report["totals"],
                Some(id) => &operators
                    .iter()
                    .find(|o| number(&o["operator_id"]) == *id)
                    .unwrap_or_else(|| panic!("frame {frame}: operator {id}"))["tally"],
            };
            for (field, value) in expected.fields() {
                assert_eq!(
                    number(&tally[field]),
                    value,
                    "frame {frame}, {}: {field} ({tally})",
                    key.map_or("pool".to_owned(), |id| format!("operator {id}"))
                );
            }
        }
        node.push(tallies);
    }
    // The slashing (operator 3's validator) and the exit (operator 4's) land in frame 1.
    let pool_of = |frame: usize| node[frame][&None];
    assert_eq!(
        (pool_of(0).newly_slashed, pool_of(0).slashing_losses_gwei),
        (0, 0)
    );
    assert_eq!(pool_of(0).validators_exited, 0);
    let (slashed_op, exiting_op) = (node[1][&Some(3)], node[1][&Some(4)]);
    assert_eq!(
        (slashed_op.newly_slashed, slashed_op.validators_slashed),
        (1, 1)
    );
    assert!(
        slashed_op.slashing_losses_gwei > 900_000_000,
        "at least the initial penalty (1 ETH less a few rewards): {slashed_op:?}"
    );
    assert_eq!(exiting_op.validators_exited, 1, "{exiting_op:?}");
    assert_eq!(
        (pool_of(1).newly_slashed, pool_of(1).validators_exited),
        (1, 1)
    );

    // Frame 1 is withheld exactly when its fees exceed its net rewards (the slashing loss can
    // make the pool's rewards negative while the other operators still earn fees); the net
    // rewards are the node's CL income plus the recorded EL rewards.
    let totals = &details[1]["report"]["totals"];
    let net_rewards = totals["net_rewards_gwei"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .expect("net rewards");
    let el = i64::try_from(number(&totals["el_rewards_gwei"])).unwrap();
    assert_eq!(net_rewards, pool_of(1).cl_income + el, "{totals}");
    let fees = i64::try_from(number(&totals["fee_gwei"])).unwrap();
    let withheld = fees > 0 && fees > net_rewards;
    let status = &details[1]["status"];
    if withheld {
        assert_eq!(status, "withheld", "{}", details[1]);
        let reasons = details[1]["withheld_reasons"].as_array().expect("reasons");
        assert!(
            reasons.iter().any(|r| r["limit"] == "fees_exceed_rewards"),
            "{reasons:?}"
        );
        assert_eq!(details[1]["signature"], serde_json::Value::Null);
        assert_eq!(details[1]["verification"]["signature"], "not_signed");
    } else {
        assert_eq!(status, "final", "{}", details[1]);
        assert_eq!(details[1]["verification"]["signature"], "valid");
    }
    eprintln!(
        "devnet: frame 1 net rewards {net_rewards} gwei, fees {fees} gwei: {status}; \
         slashing losses {} gwei, newly slashed 1, exited 1",
        slashed_op.slashing_losses_gwei
    );

    // An auditor's recomputation from the node alone (and the pool's recorded inputs), with the
    // oracle's signature checked.
    for frame in 0..FRAMES {
        let canonical = reqwest::get(format!("{reports}/pool/v1/reports/{frame}/canonical"))
            .await
            .expect("canonical report")
            .text()
            .await
            .expect("canonical text");
        let file = dir.join(format!("report-{frame}.json"));
        std::fs::write(&file, canonical).unwrap();
        let output = report_verify(net, reports, registry, &file, Some(&oracle));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let signed = frame == 0 || !withheld;
        assert!(
            stdout.contains("matches the beacon node")
                && output.status.success() == signed
                && stdout.contains(if signed { ": valid" } else { "MISSING" }),
            "frame {frame}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("{}", stdout.trim());
    }
    // Another oracle key does not verify frame 0's signature.
    let other: types::PublicKeyBytes = validator::testing::InteropKeypair::new(1).pubkey;
    let output = report_verify(
        net,
        reports,
        registry,
        &dir.join("report-0.json"),
        Some(&other),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.code() == Some(1) && stdout.contains("INVALID"),
        "{stdout}"
    );

    // A report with one figure changed is caught, field named.
    let mut tampered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report-1.json")).unwrap()).unwrap();
    let field = &mut tampered["operators"][0]["tally"]["cl_rewards_gwei"];
    let bumped = number(field) + 1;
    *field = serde_json::Value::String(bumped.to_string());
    let file = dir.join("report-1-tampered.json");
    std::fs::write(&file, tampered.to_string()).unwrap();
    let output = report_verify(net, reports, registry, &file, None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("DIFFERS") && stdout.contains("operators[id=1].tally.cl_rewards_gwei"),
        "{stdout}"
    );
}

/// Runs `poolvc report verify` on a report file against the devnet and the pool's API (with
/// the signature checked against `oracle` when given).
fn report_verify(
    net: &Devnet,
    reports: &str,
    registry: &Path,
    report: &Path,
    oracle: Option<&types::PublicKeyBytes>,
) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_poolvc"));
    command
        .args(["report", "verify", "--beacon-node", &net.url])
        .args(["--pool-api", reports])
        .arg("--registry")
        .arg(registry)
        .arg(report);
    if let Some(oracle) = oracle {
        command.args(["--oracle-pubkey", &oracle.to_string()]);
    }
    command.output().expect("poolvc report verify runs")
}
