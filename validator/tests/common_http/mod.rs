//! Shared by the reports API, dashboard and browser tests: a SQLite store holding real reports
//! built by the pool-registry pipeline from its Deneb ledger scenario.
//!
//! - frame 0 (epoch 3): the scenario's epoch accounted from its Beacon API responses; a
//!   slashing makes the pool's net rewards −0.949922 ETH (derived by hand in
//!   `pool-registry/tests/pipeline.rs`); final and signed by the oracle;
//! - frames 1–4 (epochs 4–7): generated ledgers continuing the scenario's balances, each active
//!   unslashed validator earning `4_000 + 100·k` gwei and the slashed one losing 2_000 gwei;
//!   final and signed;
//! - frame 5 (epoch 8): every active validator earns 2_000_000 gwei, far over the annual
//!   balance-increase limit: withheld.
//!
//! One-epoch frames start at epoch 3; operator 2 has a hostile name (HTML and quotes).

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::sync::Arc;

use pool_registry::ledger::{EpochLedger, ValidatorStatus};
use pool_registry::pipeline::{account_and_store, build_and_store_report, capture_frame_snapshot};
use pool_registry::report::{ReportEnvelope, ReportSigner};
use pool_registry::testing::{load_files, scenario};
use pool_registry::{LedgerStore, RegistryHandle, SqliteLedgerStore};
use types::{Epoch, Hash256, PublicKeyBytes, U256};
use validator::http::{ChainInfo, ReportsState};

/// Operator 2's name in the fixture registry.
pub(crate) const HOSTILE_NAME: &str = "<script>alert(\"pwn\")</script> & 'Ops' <b>";
/// Genesis time of the fixture chain.
pub(crate) const GENESIS_TIME: u64 = 1_700_000_000;
/// The last frame (withheld).
pub(crate) const WITHHELD_FRAME: u64 = 5;
/// The latest final frame.
pub(crate) const LATEST_FINAL_FRAME: u64 = 4;

/// A populated store and the state over it.
pub(crate) struct Fixture {
    /// State for the router.
    pub(crate) state: ReportsState,
    /// The store.
    pub(crate) store: Arc<SqliteLedgerStore>,
    /// Every stored report, by frame.
    pub(crate) reports: Vec<ReportEnvelope>,
    /// The oracle key's public key.
    pub(crate) oracle: PublicKeyBytes,
    /// The chain.
    pub(crate) chain: ChainInfo,
    /// Holds the registry file and the database.
    pub(crate) dir: tempfile::TempDir,
}

/// The next epoch's ledger: balances carried over, `gain` gwei for active unslashed validators.
fn next_ledger(prev: &EpochLedger, gain: i64) -> EpochLedger {
    let records = prev
        .records
        .iter()
        .map(|r| {
            let mut n = r.clone();
            let active = matches!(
                r.status,
                ValidatorStatus::ActiveOngoing | ValidatorStatus::ActiveExiting
            );
            let income = if r.slashed_end {
                -2_000
            } else if active {
                gain
            } else {
                0
            };
            n.balance_start = r.balance_end;
            n.balance_end = r.balance_end.checked_add_signed(income).expect("balance");
            n.withdrawals = 0;
            n.deposits = 0;
            n.income = income;
            n.slashed_start = r.slashed_end;
            n.el_rewards = 0;
            n.el_values_missing = 0;
            n.fee_recipient_mismatches = 0;
            n.breakdown = None;
            n
        })
        .collect();
    EpochLedger {
        epoch: prev.epoch + 1,
        fork: prev.fork,
        records,
    }
}

/// Registry text: one-epoch frames from epoch 3, operator 2 renamed.
fn registry_text(files: &scenario::Files) -> String {
    let toml_name = HOSTILE_NAME.replace('\\', "\\\\").replace('"', "\\\"");
    files["registry.toml"]
        .replace(
            "frame_epochs = 4",
            "frame_epochs = 1\nframe_start_epoch = 3",
        )
        .replace("name = \"Operator 2\"", &format!("name = \"{toml_name}\""))
}

/// Builds the fixture (reports signed with interop key 7).
pub(crate) async fn fixture() -> Fixture {
    fixture_with_oracle(None).await
}

/// As [`fixture`], with the state checking signatures against `oracle` instead of the real key.
pub(crate) async fn fixture_with_oracle(oracle_override: Option<PublicKeyBytes>) -> Fixture {
    let files = scenario::deneb();
    let loaded = load_files(&files, 3).expect("scenario loads");
    let dir = tempfile::tempdir().expect("tempdir");
    let registry_path = dir.path().join("registry.toml");
    std::fs::write(&registry_path, registry_text(&files)).expect("write registry");
    let registry = Arc::new(RegistryHandle::load(&registry_path).expect("fixture registry"));
    let reg = registry.current();
    let store = Arc::new(
        SqliteLedgerStore::open(dir.path().join("ledger.sqlite"))
            .await
            .expect("open store"),
    );
    let spec = loaded.spec.clone();
    let gvr = Hash256::repeat_byte(0x42);
    let key = signer::derivation::interop_secret_key(7).expect("interop key");
    let oracle = ReportSigner::public_key(&key);
    let shares = U256::from(256u64) * U256::from(1_000_000_000_000_000_000u64);

    let mut inputs = loaded.inputs.clone();
    inputs.rewards = loaded.rewards.clone();
    let (mut ledger, _) = account_and_store(store.as_ref(), &spec, &reg, &inputs, Epoch(5))
        .await
        .expect("account epoch 3");
    let mut reports = vec![
        build_and_store_report(
            store.as_ref(),
            &spec,
            reg.pool(),
            gvr,
            0,
            Some(shares),
            Some(&key),
        )
        .await
        .expect("report 0"),
    ];
    for frame in 1..=WITHHELD_FRAME {
        let gain = if frame == WITHHELD_FRAME {
            2_000_000
        } else {
            4_000 + 100 * frame as i64
        };
        ledger = next_ledger(&ledger, gain);
        capture_frame_snapshot(store.as_ref(), &reg, ledger.epoch)
            .await
            .expect("snapshot");
        store.store_epoch(&ledger).await.expect("store epoch");
        reports.push(
            build_and_store_report(
                store.as_ref(),
                &spec,
                reg.pool(),
                gvr,
                frame,
                Some(shares),
                Some(&key),
            )
            .await
            .expect("report"),
        );
    }
    let chain = ChainInfo {
        spec,
        genesis_validators_root: gvr,
        genesis_time: GENESIS_TIME,
    };
    let state = ReportsState::new(
        Arc::clone(&store) as Arc<dyn LedgerStore>,
        registry,
        chain.clone(),
        Some(oracle_override.unwrap_or(oracle)),
    );
    Fixture {
        state,
        store,
        reports,
        oracle,
        chain,
        dir,
    }
}

/// The text content of the element carrying `data-testid="{id}"` (markup inside removed,
/// entities kept as written), `None` when absent.
pub(crate) fn testid_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{id}\"");
    let at = html.find(&marker)?;
    let open_end = at + html[at..].find('>')? + 1;
    // The element's own closing tag: count nested tags of the same name.
    let open_start = html[..at].rfind('<')?;
    let tag: String = html[open_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut depth = 1usize;
    let mut pos = open_end;
    while depth > 0 {
        let next_close = pos + html[pos..].find(&close)?;
        match html[pos..next_close].find(&open) {
            Some(rel) => {
                depth += 1;
                pos += rel + open.len();
            }
            None => {
                depth -= 1;
                pos = next_close + close.len();
            }
        }
    }
    let inner = &html[open_end..pos - close.len()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.trim().to_owned())
}
