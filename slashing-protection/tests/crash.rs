//! Crash safety: a child process (this test binary re-executed with `SP_CRASH_CHILD` set)
//! signs batches of attestations and blocks and prints `released <n>` after each batch's check
//! returned, exactly when a validator client would release the signatures. The parent SIGKILLs
//! it at a random moment, reopens the store and checks that every released message is stored,
//! that no batch is half-written, and that the store opens cleanly (SQLite `integrity_check`)
//! and keeps working. Three kill/restart cycles per backend.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use rand::Rng;
use slashing_protection::{
    AttestationRequest, BlockRequest, ExportScope, PostgresConfig, PostgresStore,
    SlashingProtection, SqliteConfig, SqliteStore,
};
use types::{Epoch, Hash256, Slot};

const GVR: Hash256 = Hash256::repeat_byte(0x44);
const KEYS: u64 = 64;
const CHILD_ENV: &str = "SP_CRASH_CHILD";
const CYCLES: usize = 3;

/// Where the child writes: `sqlite:<path>` or `postgres:<schema>` (URL from `DATABASE_URL`).
async fn open(target: &str) -> Arc<dyn SlashingProtection> {
    if let Some(path) = target.strip_prefix("sqlite:") {
        Arc::new(
            SqliteStore::open(path, GVR, SqliteConfig::default())
                .await
                .expect("open SQLite"),
        )
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        let url = std::env::var("DATABASE_URL").expect("DATABASE_URL for the PostgreSQL child");
        let config = PostgresConfig::from_url(&url)
            .expect("URL")
            .with_schema(schema);
        Arc::new(
            PostgresStore::connect(config, GVR)
                .await
                .expect("connect PostgreSQL"),
        )
    } else {
        panic!("unknown crash target {target}");
    }
}

/// The latest target signed by the first key (all keys move together, batch by batch).
async fn latest(store: &dyn SlashingProtection) -> u64 {
    let state = store
        .validator_state(&common::pubkey(0))
        .await
        .expect("state")
        .expect("registered");
    state.last_attestation.map_or(0, |a| a.target.as_u64())
}

/// Child: sign forever, announcing each batch once its check returned.
fn child(target: &str) {
    common::runtime().block_on(async {
        let store = open(target).await;
        let keys: Vec<_> = (0..KEYS).map(common::pubkey).collect();
        store.register_validators(&keys).await.expect("register");
        let mut n = latest(store.as_ref()).await + 1;
        let mut stdout = std::io::stdout().lock();
        loop {
            let batch: Vec<AttestationRequest> = keys
                .iter()
                .map(|&pubkey| AttestationRequest {
                    pubkey,
                    source: Epoch(n - 1),
                    target: Epoch(n),
                    signing_root: common::root(n),
                })
                .collect();
            let results = store
                .check_and_insert_attestations(&batch)
                .await
                .expect("batch");
            assert!(
                results.iter().all(Result::is_ok),
                "batch {n} refused: {results:?}"
            );
            let blocks = [BlockRequest {
                pubkey: keys[(n % KEYS) as usize],
                slot: Slot(n),
                signing_root: common::root(n),
            }];
            let results = store.check_and_insert_blocks(&blocks).await.expect("block");
            assert!(
                results.iter().all(Result::is_ok),
                "block {n} refused: {results:?}"
            );
            writeln!(stdout, "released {n}").expect("stdout");
            stdout.flush().expect("stdout");
            n += 1;
        }
    });
}

/// Runs the child, kills it after a random number of batches, and returns the batch numbers it
/// released.
fn run_and_kill(target: &str) -> Result<Vec<u64>, Failed> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(CHILD_ENV, target)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let kill_after = rand::thread_rng().gen_range(20..60);
    let mut released = Vec::new();
    let parse = |line: &str| -> Result<u64, Failed> {
        Ok(line
            .strip_prefix("released ")
            .ok_or_else(|| format!("unexpected child output {line:?}"))?
            .parse()?)
    };
    for line in lines.by_ref() {
        released.push(parse(&line?)?);
        if released.len() >= kill_after {
            break;
        }
    }
    // Let it get into the next transaction, then SIGKILL: no chance to clean up.
    std::thread::sleep(Duration::from_micros(rand::thread_rng().gen_range(0..3000)));
    child.kill()?;
    // Anything printed before the kill was released to the network: drain it.
    for line in lines {
        released.push(parse(&line?)?);
    }
    child.wait()?;
    if released.len() < 20 {
        return Err(format!("child died early, after {} batches", released.len()).into());
    }
    Ok(released)
}

async fn verify(store: &dyn SlashingProtection, released: &[u64]) -> Result<(), Failed> {
    let export = store.export_interchange(ExportScope::All).await?;
    let last_released = released.iter().copied().max().unwrap_or(0);
    let mut latest_targets = Vec::new();
    let mut block_slots = std::collections::HashSet::new();
    for data in &export.data {
        let targets: std::collections::HashSet<u64> = data
            .signed_attestations
            .iter()
            .map(|a| a.target_epoch.as_u64())
            .collect();
        if let Some(missing) = released.iter().find(|n| !targets.contains(n)) {
            return Err(format!(
                "key {}: released batch {missing} is not stored",
                data.pubkey
            )
            .into());
        }
        latest_targets.push(targets.iter().copied().max().unwrap_or(0));
        block_slots.extend(data.signed_blocks.iter().map(|b| b.slot.as_u64()));
    }
    if export.data.len() as u64 != KEYS {
        return Err(format!("{} keys stored, expected {KEYS}", export.data.len()).into());
    }
    if let Some(missing) = released.iter().find(|n| !block_slots.contains(n)) {
        return Err(format!("released block at slot {missing} is not stored").into());
    }
    // One transaction per batch: all keys stop at the same batch (at most one past the last
    // announced one, committed just before the kill).
    latest_targets.dedup();
    if latest_targets.len() != 1 || latest_targets[0] > last_released + 1 {
        return Err(
            format!("half-written or phantom batch: latest targets {latest_targets:?}").into(),
        );
    }
    Ok(())
}

fn crash_cycles(target: &str) -> Result<(), Failed> {
    let mut released = Vec::new();
    for cycle in 0..CYCLES {
        released.extend(run_and_kill(target)?);
        common::runtime().block_on(async {
            if let Some(path) = target.strip_prefix("sqlite:") {
                SqliteStore::open(path, GVR, SqliteConfig::default())
                    .await?
                    .integrity_check()
                    .await?;
            }
            let store = open(target).await;
            verify(store.as_ref(), &released)
                .await
                .map_err(|e| Failed::from(format!("cycle {cycle}: {}", e.message().unwrap_or(""))))
        })?;
    }
    Ok(())
}

fn main() {
    if let Ok(target) = std::env::var(CHILD_ENV) {
        child(&target);
        return;
    }
    let args = Arguments::from_args();
    let url = common::database_url("crash test on PostgreSQL");
    let trials = vec![
        Trial::test("sqlite_sigkill_keeps_every_released_message", || {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("crash.sqlite");
            crash_cycles(&format!("sqlite:{}", path.display()))
        }),
        Trial::test("postgres_sigkill_keeps_every_released_message", move || {
            let url = url.ok_or("DATABASE_URL missing")?;
            let guard = common::SchemaGuard::new(&url, "crash");
            crash_cycles(&format!("postgres:{}", guard.schema))
        })
        .with_ignored_flag(std::env::var("DATABASE_URL").is_err()),
    ];
    libtest_mimic::run(&args, trials).exit();
}
