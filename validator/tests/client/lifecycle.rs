//! Start, shutdown and restart of the client, in-process and as the `poolvc` binary.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use types::{ForkName, Slot};
use validator::client;
use validator::executor::{ShutdownReason, TaskKind};

use crate::harness::{self, SLOT_SECONDS};

#[tokio::test]
async fn critical_task_panic_stops_the_client_naming_it() {
    let node = harness::mock(ForkName::Altair, 64, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let client = harness::start(
        &harness::config(dir.path(), &[node.mock.url()], 0),
        harness::interop_signer(64),
    )
    .await;
    client
        .executor()
        .spawn("attestation-probe", TaskKind::Critical, async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            panic!("probe failure");
        });
    let reason = harness::run_for(client, Duration::from_secs(30)).await;
    match &reason {
        ShutdownReason::Failure { task, reason } => {
            assert_eq!(task, "attestation-probe");
            assert!(reason.contains("probe failure"), "{reason}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(client::exit_code(&reason), 1);
    assert!(reason.to_string().contains("attestation-probe"));
}

fn poolvc() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_poolvc"));
    command.kill_on_drop(true);
    command
}

/// Sends SIGTERM and returns the exit code and stderr.
async fn terminate(mut child: Child) -> (Option<i32>, String) {
    let pid = child.id().expect("running child");
    let pid = i32::try_from(pid).expect("pid fits");
    // SAFETY: `kill` with a valid pid and signal has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "SIGTERM delivered");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let mut text = String::new();
    let reader = async {
        let _ = stderr.read_to_string(&mut text).await;
    };
    let status = tokio::time::timeout(Duration::from_secs(20), async {
        let (status, ()) = tokio::join!(child.wait(), reader);
        status
    })
    .await
    .expect("poolvc stops within 20 s of SIGTERM")
    .expect("wait");
    (status.code(), text)
}

/// Waits until the mock has attestations from after `slot` (bounded).
async fn wait_for_attestations(node: &validator::testing::TestNode<harness::E>, after: Slot) {
    for _ in 0..100 {
        if node
            .mock
            .published()
            .attestations
            .iter()
            .any(|a| a.data.slot > after)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no attestation after slot {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_runs_stops_on_sigterm_and_restarts() {
    let node = harness::mock(ForkName::Capella, 64, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let secrets = dir.path().join("secrets");
    let datadir = dir.path().join("data");
    let status = poolvc()
        .args(["keys", "interop", "--count", "64"])
        .arg("--keystores")
        .arg(&keys)
        .arg("--secrets")
        .arg(&secrets)
        .status()
        .await
        .unwrap();
    assert!(status.success());

    let run = |doppelganger: &str| {
        let mut command = poolvc();
        command
            .arg("run")
            .arg("--datadir")
            .arg(&datadir)
            .args(["--beacon-nodes", &node.mock.url()])
            .arg("--keystores")
            .arg(&keys)
            .arg("--secrets")
            .arg(&secrets)
            .args(["--pool-vault", &harness::VAULT.to_string()])
            .args(["--doppelganger-epochs", doppelganger])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.spawn().expect("poolvc starts")
    };

    let first = run("0");
    let start = node.slot();
    wait_for_attestations(&node, start).await;
    // Until every key has attested once (a full epoch of operation).
    for _ in 0..150 {
        let attested: std::collections::BTreeSet<u64> = node
            .mock
            .published()
            .attestations
            .iter()
            .map(|a| a.validator_index)
            .collect();
        if attested.len() == 64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (code, logs) = terminate(first).await;
    assert_eq!(code, Some(0), "exit code after SIGTERM; logs:\n{logs}");
    assert!(
        logs.contains("shutting down: finishing in-flight duties"),
        "{logs}"
    );
    assert!(logs.contains("all tasks stopped"), "{logs}");
    for file in [
        "slashing_protection.sqlite",
        "validator_definitions.json",
        "key_cache.json",
    ] {
        assert!(datadir.join(file).exists(), "{file} in the data directory");
    }

    // The restart loads the keys from the cache, and keys that attested recently sign at once
    // despite doppelganger protection (their own slashing database shows the recent votes).
    let second = run("2");
    let restart = node.slot();
    wait_for_attestations(&node, restart + 1).await;
    tokio::time::sleep(Duration::from_secs(SLOT_SECONDS)).await;
    let (code, logs) = terminate(second).await;
    assert_eq!(code, Some(0), "{logs}");
    assert!(
        logs.contains("validator keys loaded from the key cache"),
        "{logs}"
    );
    assert!(logs.contains("restart); not waiting"), "{logs}");
    assert!(
        node.mock.rejected().is_empty(),
        "{:?}",
        node.mock.rejected()
    );
}
