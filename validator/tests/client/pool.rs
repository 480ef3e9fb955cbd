//! The pool side of a running client: withdrawal credentials gate the keys (foreign ones are not
//! run unless the policy only reports them), the accounting store and the reports API start
//! with the registry.

use std::time::Duration;

use types::{ForkName, Hash256};
use validator::config::{CredentialsPolicy, LedgerDb, PoolSettings};

use crate::harness::{self, SLOT_SECONDS, VAULT};

/// `0x01 ‖ 11 zero bytes ‖ address`.
fn credentials(address: u8) -> Hash256 {
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    bytes[12..].fill(address);
    Hash256::from(bytes)
}

fn registry(keys: &[types::PublicKeyBytes]) -> String {
    let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        r#"[pool]
name = "test pool"
withdrawal_credentials = "{pool}"
el_rewards_vault = "{VAULT}"
frame_epochs = 4
frame_start_epoch = 1

[pool.fees]
protocol_bps = 500
operator_bps = 500

[pool.shares]
initial_total_shares = "64000000000000000000"

[[operators]]
id = 1
name = "Only"
reward_address = "0x{ra}"
keys = [{keys}]
"#,
        pool = credentials(0xaa),
        ra = "11".repeat(20),
        keys = list.join(", ")
    )
}

async fn run(
    policy: CredentialsPolicy,
) -> (
    Vec<u64>,
    std::sync::Arc<validator::metrics::Metrics>,
    String,
) {
    let node = harness::mock(ForkName::Capella, 64, 12).await;
    // Validators 0..8 pay someone else, 8..16 the pool, the rest still have BLS credentials.
    for index in 0..8 {
        node.mock
            .set_withdrawal_credentials(index, credentials(0xbb));
    }
    for index in 8..16 {
        node.mock
            .set_withdrawal_credentials(index, credentials(0xaa));
    }
    let dir = tempfile::tempdir().unwrap();
    let registry_path = dir.path().join("registry.toml");
    let pubkeys: Vec<_> = node.keys.iter().map(|k| k.pubkey).collect();
    std::fs::write(&registry_path, registry(&pubkeys)).unwrap();
    let mut config = harness::config(dir.path(), &[node.mock.url()], 0);
    config.pool = Some(PoolSettings {
        registry: registry_path,
        ledger_db: LedgerDb::Sqlite(dir.path().join("accounting.sqlite")),
        oracle: None,
        share_supply: None,
        start_frame: None,
        reports_listen: Some("127.0.0.1:0".parse().unwrap()),
        credentials: policy,
    });
    let (logs, _guard) = harness::Logs::capture();
    let client = harness::start(&config, harness::interop_signer(64)).await;
    let reports = client.reports_addr().expect("reports API served");
    let metrics = client.metrics().clone();
    let pool = reqwest::get(format!("http://{reports}/pool/v1/pool"))
        .await
        .expect("reports API answers")
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(pool["name"], "test pool");
    assert!(dir.path().join("accounting.sqlite").exists());
    harness::run_for(client, Duration::from_secs(3 * SLOT_SECONDS)).await;
    let mut attesters: Vec<u64> = node
        .mock
        .published()
        .attestations
        .iter()
        .map(|a| a.validator_index)
        .collect();
    attesters.sort_unstable();
    attesters.dedup();
    (attesters, metrics, logs.text())
}

fn gauge(metrics: &validator::metrics::Metrics, check: &str) -> i64 {
    metrics
        .withdrawal_credentials
        .with_label_values(&[check])
        .get()
}

#[tokio::test]
async fn keys_with_foreign_credentials_are_not_run() {
    let (attesters, metrics, logs) = run(CredentialsPolicy::Enforce).await;
    assert!(!attesters.is_empty(), "the other keys attest");
    assert!(
        attesters.iter().all(|i| *i >= 8),
        "keys paying someone else attested: {attesters:?}"
    );
    assert!(
        attesters.iter().any(|i| (8..16).contains(i)),
        "pool keys attest"
    );
    assert!(attesters.iter().any(|i| *i >= 16), "BLS keys attest");
    assert_eq!(gauge(&metrics, "foreign"), 8);
    assert_eq!(gauge(&metrics, "pool"), 8);
    assert_eq!(gauge(&metrics, "bls"), 48);
    assert_eq!(
        logs.matches("withdrawal credentials are not the pool's: this key is not run")
            .count(),
        8,
        "one error line per key"
    );
    assert!(
        logs.contains("set-withdrawal-address"),
        "BLS keys get a hint"
    );
}

#[tokio::test]
async fn report_only_policy_runs_them() {
    let (attesters, metrics, logs) = run(CredentialsPolicy::ReportOnly).await;
    assert!(
        attesters.iter().any(|i| *i < 8),
        "keys paying someone else attest under report-only: {attesters:?}"
    );
    assert_eq!(gauge(&metrics, "foreign"), 8);
    assert!(logs.contains("running it anyway"));
}
