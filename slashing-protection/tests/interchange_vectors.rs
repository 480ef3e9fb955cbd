//! The EIP-3076 interchange test vectors (eth-clients/slashing-protection-interchange-tests),
//! one trial per file and backend, run as the upstream README prescribes: a fresh database per
//! file bound to the file's top-level genesis validators root; per step, import the interchange
//! (must succeed iff `should_succeed`), then every block and attestation attempt must be
//! permitted iff `should_succeed` (the minimal-strategy column); permitted ones are recorded.
//!
//! Every file runs twice per backend: attempts one by one, and each step's attestations (and
//! blocks) as one batch — the batch path must decide exactly as the sequential one.

mod common;

use std::path::{Path, PathBuf};

use common::Backend;
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use slashing_protection::{AttestationRequest, BlockRequest, Interchange, SlashingProtection};
use types::{Epoch, Hash256, PublicKeyBytes, Slot};

/// The number of vector files the vectors README announces.
const EXPECTED_FILES: usize = 38;

#[derive(Deserialize)]
struct TestCase {
    name: String,
    genesis_validators_root: Hash256,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    should_succeed: bool,
    contains_slashable_data: bool,
    interchange: serde_json::Value,
    blocks: Vec<BlockAttempt>,
    attestations: Vec<AttestationAttempt>,
}

#[derive(Deserialize)]
struct BlockAttempt {
    pubkey: PublicKeyBytes,
    slot: Slot,
    #[serde(default)]
    signing_root: Option<Hash256>,
    should_succeed: bool,
}

#[derive(Deserialize)]
struct AttestationAttempt {
    pubkey: PublicKeyBytes,
    source_epoch: Epoch,
    target_epoch: Epoch,
    #[serde(default)]
    signing_root: Option<Hash256>,
    should_succeed: bool,
}

#[derive(Clone, Copy)]
enum Mode {
    OneByOne,
    Batched,
}

fn vector_files() -> Vec<PathBuf> {
    let Some(dir) = types::test_vectors::vectors_subdir("slashing-interchange") else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the vectors folder")
        .map(|entry| entry.expect("folder entry").path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && path.file_name().is_some_and(|n| n != "schema.json")
        })
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        EXPECTED_FILES,
        "expected {EXPECTED_FILES} interchange vector files in {}",
        dir.display()
    );
    files
}

fn check(cond: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(message().into()) }
}

async fn run_steps(
    store: &dyn SlashingProtection,
    case: &TestCase,
    mode: Mode,
) -> Result<(), Failed> {
    // The client knows its keys: every key that attempts to sign is registered up front.
    let mut keys: Vec<PublicKeyBytes> = case
        .steps
        .iter()
        .flat_map(|s| {
            s.blocks
                .iter()
                .map(|b| b.pubkey)
                .chain(s.attestations.iter().map(|a| a.pubkey))
        })
        .collect();
    keys.sort();
    keys.dedup();
    store.register_validators(&keys).await?;

    for (i, step) in case.steps.iter().enumerate() {
        let bytes = serde_json::to_vec(&step.interchange)?;
        let imported = match Interchange::from_json_slice(&bytes) {
            Ok(interchange) => store.import_interchange(&interchange).await,
            Err(e) => Err(e),
        };
        // We minify slashable data instead of rejecting it, so `contains_slashable_data`
        // never excuses a failed import.
        check(imported.is_ok() == step.should_succeed, || {
            format!(
                "step {i}: import should_succeed={} (contains_slashable_data={}), got {imported:?}",
                step.should_succeed, step.contains_slashable_data
            )
        })?;

        let blocks: Vec<BlockRequest> = step
            .blocks
            .iter()
            .map(|b| BlockRequest {
                pubkey: b.pubkey,
                slot: b.slot,
                signing_root: b.signing_root.unwrap_or_default(),
            })
            .collect();
        let attestations: Vec<AttestationRequest> = step
            .attestations
            .iter()
            .map(|a| AttestationRequest {
                pubkey: a.pubkey,
                source: a.source_epoch,
                target: a.target_epoch,
                signing_root: a.signing_root.unwrap_or_default(),
            })
            .collect();
        let (block_results, attestation_results) = match mode {
            Mode::OneByOne => {
                let mut b = Vec::new();
                for request in &blocks {
                    b.extend(
                        store
                            .check_and_insert_blocks(std::slice::from_ref(request))
                            .await?,
                    );
                }
                let mut a = Vec::new();
                for request in &attestations {
                    a.extend(
                        store
                            .check_and_insert_attestations(std::slice::from_ref(request))
                            .await?,
                    );
                }
                (b, a)
            }
            Mode::Batched => (
                store.check_and_insert_blocks(&blocks).await?,
                store.check_and_insert_attestations(&attestations).await?,
            ),
        };
        for (j, (attempt, result)) in step.blocks.iter().zip(&block_results).enumerate() {
            check(result.is_ok() == attempt.should_succeed, || {
                format!(
                    "step {i} block {j} (slot {}): should_succeed={}, got {result:?}",
                    attempt.slot, attempt.should_succeed
                )
            })?;
        }
        for (j, (attempt, result)) in step
            .attestations
            .iter()
            .zip(&attestation_results)
            .enumerate()
        {
            check(result.is_ok() == attempt.should_succeed, || {
                format!(
                    "step {i} attestation {j} ({} -> {}): should_succeed={}, got {result:?}",
                    attempt.source_epoch, attempt.target_epoch, attempt.should_succeed
                )
            })?;
        }
        check(
            block_results.len() == blocks.len() && attestation_results.len() == attestations.len(),
            || format!("step {i}: one result per request expected"),
        )?;
    }
    Ok(())
}

fn run_file(path: &Path, backend: Backend) -> Result<(), Failed> {
    let case: TestCase = serde_json::from_slice(&std::fs::read(path)?)?;
    common::runtime().block_on(async {
        for mode in [Mode::OneByOne, Mode::Batched] {
            let Some(fresh) =
                common::fresh(backend, case.genesis_validators_root, &case.name).await
            else {
                return Err(Failed::from("PostgreSQL unavailable"));
            };
            run_steps(fresh.store(), &case, mode).await.map_err(|e| {
                let mode = match mode {
                    Mode::OneByOne => "one by one",
                    Mode::Batched => "batched",
                };
                Failed::from(format!(
                    "{} ({mode}): {}",
                    case.name,
                    e.message().unwrap_or("")
                ))
            })?;
        }
        Ok(())
    })
}

fn main() {
    let args = Arguments::from_args();
    let files = vector_files();
    let postgres_available = common::database_url("interchange vectors on PostgreSQL").is_some();
    let mut trials = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for path in &files {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = path.clone();
            trials.push(
                Trial::test(format!("{}::{name}", backend.name()), move || {
                    run_file(&path, backend)
                })
                .with_ignored_flag(backend == Backend::Postgres && !postgres_available),
            );
        }
    }
    if !files.is_empty() {
        assert_eq!(
            trials.len(),
            2 * EXPECTED_FILES,
            "one trial per file and backend"
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
