//! A real third-party validator client through `poolvc signer`, on a real Lodestar 1.5.1
//! devnet (`POOLVC_E2E=1`; otherwise prints `SKIPPED`).
//!
//! Lodestar's own validator client (`lodestar validator --externalSigner.url …
//! --externalSigner.fetch`), unchanged, drives the devnet's 64 keys, all held by
//! `poolvc signer` (keys from keystores, SQLite slashing protection, the pool's vault policy
//! with header-only blocks signed — Lodestar sends Capella blocks as headers). Checked from the
//! beacon node: the chain justifies and finalises; the votes of the first epochs are included;
//! every block pays the vault. Once the chain has finalised, a second Lodestar validator client
//! with the same keys and another graffiti shares the signer: the conflicting block proposals
//! of whichever client asks second are refused (412, counted in the signer's metrics and seen
//! in a client's log), the chain finalises again with both running. Then both stop and
//! poolvc's own client (`poolvc run --remote-signer-url`, no local key) takes the keys over
//! through the same signer: the chain finalises twice more on its signatures. Over the whole
//! run the chain has no slashable pair (no slashing in the pools or blocks, no validator
//! slashed) and every block pays the vault. The run stops as soon as this is shown.

#[path = "common/devnet.rs"]
#[expect(dead_code, reason = "helpers shared with the other devnet tests; this one uses a subset")]
mod devnet;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use devnet::{
    Devnet, Process, SLOTS_PER_EPOCH, VAULT, free_port, included_votes, number, start_poolvc,
    write_interop_keys,
};

const VALIDATORS: u64 = 64;
/// The finalised epoch after which the second validator client joins.
const FIRST_FINALIZED: u64 = 1;
/// Epochs whose votes must be included (voted by the first client alone).
const VOTED_EPOCHS: std::ops::RangeInclusive<u64> = 1..=2;
/// Share of the validators whose vote of each of those epochs must be on chain, in percent.
const INCLUDED_PERCENT: u64 = 85;
/// Wall slot by which the Lodestar part must have been shown (generous: the machine may be
/// busy).
const DEADLINE_SLOT: u64 = 16 * SLOTS_PER_EPOCH;
/// Further slots for poolvc's own client to show finality through the signer.
const HANDOVER_SLOTS: u64 = 8 * SLOTS_PER_EPOCH;

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
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!("==== last lines of {} ====\n{tail}", path.display());
        }
    }
}

fn lodestar() -> PathBuf {
    let cache = std::env::var_os("POOLVC_DEVNET_CACHE").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/poolvc/lodestar-1.5.1")
        },
        PathBuf::from,
    );
    cache.join("node_modules/.bin/lodestar")
}

/// Starts a Lodestar validator client of the devnet's chain, signing with the signer at
/// `signer`.
fn start_lodestar_vc(
    net: &Devnet,
    data_dir: &Path,
    signer: &str,
    graffiti: &str,
    log: &Path,
) -> Process {
    let log = std::fs::File::create(log).expect("validator log");
    let mut command = Command::new(lodestar());
    command
        .env("LODESTAR_PRESET", "minimal")
        .arg("validator")
        .arg("--dataDir")
        .arg(data_dir)
        // The dev chain's config: the minimal config, 2-second slots, forks up to Capella at 0.
        .args(["--network", "dev"])
        .args(["--params.SECONDS_PER_SLOT", "2"])
        .args(["--params.ALTAIR_FORK_EPOCH", "0"])
        .args(["--params.BELLATRIX_FORK_EPOCH", "0"])
        .args(["--params.CAPELLA_FORK_EPOCH", "0"])
        .args(["--beaconNodes", &net.url])
        .args(["--externalSigner.url", signer])
        .arg("--externalSigner.fetch")
        .args(["--suggestedFeeRecipient", VAULT])
        .args(["--graffiti", graffiti])
        .stdout(Stdio::from(log.try_clone().expect("log handle")))
        .stderr(Stdio::from(log));
    Process::spawn("lodestar validator", command)
}

/// The signer's Prometheus text.
async fn metrics(port: u16) -> String {
    match reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The value of one sample line `name{labels} value`.
fn sample(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lodestar_validator_clients_sign_through_poolvc_signer() {
    if !devnet::enabled("devnet_signer::lodestar_validator_clients_sign_through_poolvc_signer") {
        return;
    }
    devnet::install();
    let dir = tempfile::Builder::new()
        .prefix("poolvc-e2e-signer")
        .tempdir()
        .unwrap();
    let keys = dir.path().join("keys");
    let secrets = dir.path().join("secrets");
    write_interop_keys(VALIDATORS, &keys, &secrets);
    let signer_log = dir.path().join("signer.log");
    let first_log = dir.path().join("lodestar-vc-1.log");
    let second_log = dir.path().join("lodestar-vc-2.log");
    let poolvc_log = dir.path().join("poolvc.log");
    let _logs = LogsOnFailure(vec![
        dir.path().join("run/beacon.log"),
        signer_log.clone(),
        first_log.clone(),
        second_log.clone(),
        poolvc_log.clone(),
    ]);

    // Everything starts before genesis: a peerless Lodestar without a block for an epoch
    // believes it is syncing and refuses duties for good.
    let mut net = Devnet::start_with_params(&dir.path().join("run"), VALIDATORS, 40, &[]);
    let signer_port = free_port();
    let metrics_port = free_port();
    let mut signer = {
        let log = std::fs::File::create(&signer_log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_poolvc"));
        command
            .arg("signer")
            .arg("--datadir")
            .arg(dir.path().join("signer"))
            .args(["--beacon-nodes", &net.url])
            .arg("--keystores")
            .arg(&keys)
            .arg("--secrets")
            .arg(&secrets)
            .args(["--http-port", &signer_port.to_string()])
            .args(["--pool-vault", VAULT, "--header-only-blocks", "sign"])
            .args(["--metrics", "--metrics-port", &metrics_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        Process::spawn("poolvc signer", command)
    };
    net.wait_ready(Duration::from_secs(60)).await;
    let signer_url = format!("http://127.0.0.1:{signer_port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        assert!(signer.try_status().is_none(), "poolvc signer stopped");
        if http
            .get(format!("{signer_url}/upcheck"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(up, "poolvc signer answers");
    let mut first = start_lodestar_vc(
        &net,
        &dir.path().join("vc1"),
        &signer_url,
        "first",
        &first_log,
    );

    // Run until finality with the first client alone, collecting committees while their
    // epoch is the head's; then the second client joins, and the run goes on until one of its
    // proposals was refused and the chain finalised once more with both clients running.
    let mut committees = BTreeMap::new();
    let mut second: Option<(Process, u64)> = None;
    let mut last_seen = (0, 0);
    let (justified, finalized, refused) = loop {
        assert!(net.beacon.try_status().is_none(), "Lodestar stopped");
        assert!(signer.try_status().is_none(), "poolvc signer stopped");
        assert!(
            first.try_status().is_none(),
            "the first validator client stopped"
        );
        let epoch = net.wall_slot() / SLOTS_PER_EPOCH;
        for e in epoch.saturating_sub(1)..=epoch {
            if !committees.contains_key(&e)
                && let Some(c) = net.committees(e).await
            {
                committees.insert(e, c);
            }
        }
        let text = metrics(metrics_port).await;
        let refused = sample(
            &text,
            "poolvc_signer_requests_total{kind=\"block\",outcome=\"slashable\"}",
        );
        let (justified, finalized) = net.finality().await;
        if (justified, finalized) != last_seen {
            eprintln!(
                "slot {}: justified {justified}, finalized {finalized}, {refused} block proposals refused",
                net.wall_slot()
            );
            last_seen = (justified, finalized);
        }
        match &second {
            None if finalized >= FIRST_FINALIZED => {
                let vc = start_lodestar_vc(
                    &net,
                    &dir.path().join("vc2"),
                    &signer_url,
                    "second",
                    &second_log,
                );
                second = Some((vc, finalized));
            }
            Some((_, joined_at)) if finalized > *joined_at && refused > 0 => {
                break (justified, finalized, refused);
            }
            _ => {}
        }
        assert!(
            net.wall_slot() < DEADLINE_SLOT,
            "by slot {DEADLINE_SLOT}: justified {justified}, finalized {finalized}, second client \
             joined: {}, {refused} block proposals refused",
            second.is_some()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };

    // The Lodestar clients stop; poolvc's own client takes the keys over through the same
    // signer (`--remote-signer-url`, no local key) and the chain finalises again on its
    // signatures alone. Doppelganger protection would rightly see the keys just used by the
    // Lodestar clients: the signer's slashing protection is what guards this handover.
    if let Some((mut second, _)) = second.take() {
        second.stop(Duration::from_secs(20));
    }
    first.stop(Duration::from_secs(20));
    let empty = dir.path().join("no-local-keys");
    std::fs::create_dir_all(empty.join("keys")).unwrap();
    std::fs::create_dir_all(empty.join("secrets")).unwrap();
    let mut poolvc = start_poolvc(
        &net,
        &dir.path().join("poolvc"),
        &empty.join("keys"),
        &empty.join("secrets"),
        &poolvc_log,
        &[
            "--remote-signer-url",
            &signer_url,
            "--doppelganger-epochs",
            "0",
        ],
    );
    eprintln!(
        "Lodestar clients through the signer: justified {justified}, finalized {finalized}, \
         {refused} block proposals refused (the client asking second)"
    );
    let handed_over_at = finalized;
    let before = metrics(metrics_port).await;
    let (justified, finalized) = loop {
        assert!(net.beacon.try_status().is_none(), "Lodestar stopped");
        assert!(signer.try_status().is_none(), "poolvc signer stopped");
        assert!(poolvc.try_status().is_none(), "poolvc stopped");
        let (justified, finalized) = net.finality().await;
        if finalized >= handed_over_at + 2 {
            break (justified, finalized);
        }
        assert!(
            net.wall_slot() < DEADLINE_SLOT + HANDOVER_SLOTS,
            "poolvc through the signer: finalized {finalized}, handed over at {handed_over_at}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let after = metrics(metrics_port).await;
    let by_poolvc = |kind: &str| {
        let series = format!("poolvc_signer_requests_total{{kind=\"{kind}\",outcome=\"signed\"}}");
        sample(&after, &series) - sample(&before, &series)
    };
    assert!(
        by_poolvc("attestation") > 0 && by_poolvc("block") > 0,
        "poolvc's client signed through the signer"
    );
    let poolvc_text = std::fs::read_to_string(&poolvc_log).unwrap_or_default();
    assert!(
        poolvc_text.contains("remote signer keys loaded"),
        "poolvc loaded the signer's keys"
    );
    eprintln!(
        "poolvc run through the signer: finalized {handed_over_at} -> {finalized} (justified \
         {justified}); {} attestations, {} blocks signed for it",
        by_poolvc("attestation"),
        by_poolvc("block")
    );

    let head = number(
        &net.get("/eth/v1/beacon/headers/head").await.expect("head")["data"]["header"]["message"]["slot"],
    );

    // Votes included, blocks paying the vault, no slashing anywhere.
    let mut votes = BTreeSet::new();
    let mut blocks = 0;
    for slot in 1..=head {
        let Some(block) = net.block(slot).await else {
            continue;
        };
        blocks += 1;
        let body = &block["data"]["message"]["body"];
        assert_eq!(
            body["execution_payload"]["fee_recipient"]
                .as_str()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some(VAULT),
            "block at slot {slot} pays the pool vault"
        );
        assert_eq!(
            body["proposer_slashings"],
            serde_json::json!([]),
            "slot {slot}"
        );
        assert_eq!(
            body["attester_slashings"],
            serde_json::json!([]),
            "slot {slot}"
        );
        let slot_epoch = slot / SLOTS_PER_EPOCH;
        if committees.contains_key(&slot_epoch)
            && committees.contains_key(&slot_epoch.saturating_sub(1))
        {
            votes.extend(included_votes(&block, &committees));
        }
    }
    for epoch in VOTED_EPOCHS {
        let included = votes.iter().filter(|(target, _)| *target == epoch).count() as u64;
        assert!(
            included * 100 >= VALIDATORS * INCLUDED_PERCENT,
            "{included} of {VALIDATORS} votes of epoch {epoch} included"
        );
    }
    for pool in ["proposer_slashings", "attester_slashings"] {
        let answer = net
            .get(&format!("/eth/v1/beacon/pool/{pool}"))
            .await
            .expect("pool");
        assert_eq!(answer["data"], serde_json::json!([]), "{pool} in the pool");
    }
    let validators = net
        .get("/eth/v1/beacon/states/head/validators")
        .await
        .expect("validators");
    let slashed = validators["data"]
        .as_array()
        .expect("validators")
        .iter()
        .filter(|v| v["validator"]["slashed"] == serde_json::json!(true))
        .count();
    assert_eq!(slashed, 0, "no validator slashed");

    let text = metrics(metrics_port).await;
    let signed_blocks = sample(
        &text,
        "poolvc_signer_requests_total{kind=\"block\",outcome=\"signed\"}",
    );
    let signed_votes = sample(
        &text,
        "poolvc_signer_requests_total{kind=\"attestation\",outcome=\"signed\"}",
    );
    let refused_votes = sample(
        &text,
        "poolvc_signer_requests_total{kind=\"attestation\",outcome=\"slashable\"}",
    );
    assert_eq!(
        sample(
            &text,
            "poolvc_signer_requests_total{kind=\"block\",outcome=\"pool_safety\"}"
        ),
        0,
        "no block refused by the vault policy"
    );
    let second_log_text = std::fs::read_to_string(&second_log).unwrap_or_default()
        + &std::fs::read_to_string(&first_log).unwrap_or_default();
    assert!(
        second_log_text.contains("\"code\":412"),
        "a validator client saw the signer's 412"
    );
    eprintln!(
        "devnet_signer: justified {justified}, finalized {finalized} at head slot {head}; \
         {blocks} blocks all paying the vault; signer: {signed_blocks} blocks and \
         {signed_votes} attestations signed, {refused} block proposals and {refused_votes} \
         attestations refused (412); no slashing"
    );

    let status = poolvc.stop(Duration::from_secs(20)).expect("poolvc stops");
    assert_eq!(status.code(), Some(0), "poolvc: clean shutdown on SIGTERM");
    let status = signer
        .stop(Duration::from_secs(20))
        .expect("the signer stops");
    assert_eq!(status.code(), Some(0), "clean shutdown on SIGTERM");
    net.beacon.stop(Duration::from_secs(30));
}
