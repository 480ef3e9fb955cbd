//! The exposition as Prometheus reads it: every declared metric with its type, the naming
//! rules, bounded per-operator cardinality, the pool observers over real reports built by
//! `pool-registry`, and the documentation and dashboard naming only declared metrics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use pool_registry::ledger::{Breakdown, Duties, EpochLedger, ValidatorEpoch, ValidatorStatus};
use pool_registry::report::{
    FrameReport, ReportBuilder, ReportEnvelope, ReportParams, ReportStatus,
};
use pool_registry::{FrameSnapshot, OperatorTerms, PoolConfig, Registry};
use types::{Address, ChainSpec, Epoch, ForkName, Hash256, PublicKeyBytes};

use super::*;

/// Label names the rules allow.
const ALLOWED_LABELS: &[&str] = &[
    "duty",
    "outcome",
    "kind",
    "reason",
    "node",
    "health",
    "state",
    "status",
    "operator",
    "limit",
    "invariant",
    "root",
];

/// One sample line of the exposition.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `# TYPE` lines (name → type) and samples of an exposition text.
fn parse_exposition(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line has a type");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} has two TYPE lines"
            );
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                (name.to_owned(), parse_labels(body))
            }
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    (types, samples)
}

/// `a="x",b="y\"z"` → pairs.
fn parse_labels(body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {name} value is quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.push(chars.next().expect("escape")),
                '"' => break,
                other => value.push(other),
            }
        }
        if chars.peek() == Some(&',') {
            chars.next();
        }
        labels.insert(name, value);
    }
    labels
}

/// The metric family a sample belongs to (histogram series carry suffixes).
fn family_of<'a>(sample: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = sample.strip_suffix(suffix)
            && types.get(base).is_some_and(|t| t == "histogram")
        {
            return base;
        }
    }
    sample
}

fn pubkey(index: u64) -> PublicKeyBytes {
    let mut bytes = [0u8; 48];
    bytes[..8].copy_from_slice(&index.to_le_bytes());
    bytes[47] = 1;
    PublicKeyBytes::from(bytes)
}

/// The pool of these tests: one-epoch frames from epoch 1, a large share supply (so a modest
/// gain stays under the rebase limit).
fn pool() -> PoolConfig {
    let text = format!(
        "[pool]\nname = \"p\"\nwithdrawal_credentials = \"0x01{}\"\nel_rewards_vault = \"0x{}\"\n\
         frame_epochs = 1\nframe_start_epoch = 1\n[pool.fees]\nprotocol_bps = 500\n\
         operator_bps = 500\n[pool.shares]\ninitial_total_shares = \"320000000000000000000000\"\n",
        "00".repeat(11) + &"aa".repeat(20),
        "bb".repeat(20)
    );
    Registry::parse(Path::new("registry.toml"), &text)
        .expect("test registry")
        .pool()
        .clone()
}

/// `operators` operators with `per_operator` validators each (validator i belongs to operator
/// `i % operators + 1`).
fn snapshot(frame: u64, operators: u64, per_operator: u64) -> FrameSnapshot {
    FrameSnapshot {
        frame,
        protocol_bps: 500,
        operators: (1..=operators)
            .map(|id| {
                (
                    id,
                    OperatorTerms {
                        operator_bps: 500,
                        reward_address: Address::repeat_byte(id as u8),
                    },
                )
            })
            .collect(),
        assignments: (0..operators * per_operator)
            .map(|i| (pubkey(i), i % operators + 1))
            .collect(),
    }
}

/// Validator `i`'s record: `gain` gwei, with a slashed validator (3), an exited one (4), missed
/// attestations (every 5th), proposals (every 7th, the 14th missed), sync duties, unexplained
/// income (every 6th) and credential mismatches (every 11th).
fn record(i: u64, gain: i64) -> ValidatorEpoch {
    let (status, slashed, income) = match i {
        3 => (ValidatorStatus::ActiveSlashed, true, -2_000),
        4 => (ValidatorStatus::ExitedUnslashed, false, 0),
        _ => (ValidatorStatus::ActiveOngoing, false, gain),
    };
    let included = u32::from(!i.is_multiple_of(5));
    let unexplained = if i.is_multiple_of(6) { 3 } else { 0 };
    ValidatorEpoch {
        validator_index: i,
        pubkey: pubkey(i),
        balance_start: 32_000_000_000,
        balance_end: 32_000_000_000_u64
            .checked_add_signed(income)
            .expect("balance"),
        withdrawals: 0,
        deposits: 0,
        income,
        effective_balance: 32_000_000_000,
        status,
        slashed_start: slashed,
        slashed_end: slashed,
        credentials_mismatch: i.is_multiple_of(11),
        duties: Duties {
            attestation_duties: 1,
            attestation_included: included,
            source_timely: included,
            target_timely: included,
            head_timely: included,
            inclusion_delay: included,
            proposals_assigned: u32::from(i.is_multiple_of(7)),
            proposals_made: u32::from(i.is_multiple_of(7) && i != 14),
            sync_expected: 4,
            sync_participated: 3,
        },
        el_rewards: if i.is_multiple_of(7) { 5 } else { 0 },
        el_values_missing: 0,
        fee_recipient_mismatches: 0,
        breakdown: Some(Breakdown {
            attestation: income - 10 - unexplained,
            inactivity: 0,
            sync_committee: 10,
            proposer: 0,
            unexplained,
        }),
    }
}

fn ledger(epoch: u64, validators: u64, gain: i64) -> EpochLedger {
    EpochLedger {
        epoch: Epoch(epoch),
        fork: ForkName::Deneb,
        records: (0..validators).map(|i| record(i, gain)).collect(),
    }
}

/// The report of `frame` (epoch `frame + 1`) built by `pool-registry`, with its ledger and
/// snapshot.
fn report(
    frame: u64,
    operators: u64,
    per_operator: u64,
    gain: i64,
    previous: Option<&FrameReport>,
) -> (ReportEnvelope, EpochLedger, FrameSnapshot) {
    let pool = pool();
    let spec = ChainSpec::minimal();
    let mut builder = ReportBuilder::new(ReportParams {
        spec: &spec,
        pool: &pool,
        genesis_validators_root: Hash256::repeat_byte(0x4b),
        frame,
        previous,
        share_supply: pool.initial_total_shares,
    })
    .expect("report starts");
    let snapshot = snapshot(frame, operators, per_operator);
    let ledger = ledger(frame + 1, operators * per_operator, gain);
    builder.add_epoch(&ledger, &snapshot).expect("epoch added");
    let envelope = builder.finish(&[ledger.summary()]).expect("report built");
    (envelope, ledger, snapshot)
}

/// Gives every client metric a sample.
fn touch_client_metrics(metrics: &Metrics) {
    metrics.duty(Duty::Attestation, Outcome::Performed, 3);
    metrics.pool_safety_refusals.inc();
    metrics.signing_batch(Duty::Attestation, 3, Duration::from_millis(2));
    metrics
        .slashing_checks
        .with_label_values(&["block", "valid"])
        .inc();
    metrics
        .doppelganger_keys
        .with_label_values(&["held"])
        .set(1);
    metrics
        .validator_keys
        .with_label_values(&["unknown"])
        .set(1);
    metrics
        .withdrawal_credentials
        .with_label_values(&["bls"])
        .set(1);
    metrics
        .slashing_refusals
        .with_label_values(&["block", "double_proposal"])
        .inc();
    metrics
        .beacon_node_requests
        .with_label_values(&["http://x/", "success"])
        .inc();
    metrics
        .beacon_node_health
        .with_label_values(&["http://x/", "synced"])
        .set(1);
    metrics
        .beacon_node_latency
        .with_label_values(&["http://x/"])
        .set(0.01);
    metrics
        .slashing_batch_seconds
        .with_label_values(&["block"])
        .observe(0.001);
}

#[test]
fn client_metrics_are_all_registered_and_count() {
    let metrics = Metrics::new();
    touch_client_metrics(&metrics);
    let client: Vec<String> = metrics
        .descriptors()
        .into_iter()
        .filter(|d| d.group == MetricGroup::Client)
        .map(|d| d.name)
        .collect();
    let families: Vec<_> = metrics
        .registry()
        .gather()
        .into_iter()
        .filter(|f| client.iter().any(|name| name == f.name()))
        .collect();
    assert_eq!(families.len(), 16, "every metric is registered");
    for family in &families {
        let name = family.name();
        assert!(name.starts_with("poolvc_"), "{name}");
        let is_counter = family.get_field_type() == prometheus::proto::MetricType::COUNTER;
        assert_eq!(name.ends_with("_total"), is_counter, "{name}");
    }
    let text = metrics.gather();
    assert!(
        text.contains("poolvc_duties_total{duty=\"attestation\",outcome=\"performed\"} 3"),
        "{text}"
    );
    assert_eq!(metrics.duty_count(Duty::Attestation, Outcome::Performed), 3);
}

/// A client with every metric observed at least once.
fn observed() -> Metrics {
    let metrics = Metrics::new();
    touch_client_metrics(&metrics);
    let (envelope, ledger, snapshot) = report(0, 4, 5, 1_000, None);
    metrics.pool.observe_epoch(&ledger, &snapshot);
    metrics.pool.observe_report(&envelope);
    metrics
        .pool
        .accounting_error(AccountingErrorKind::BeaconNode);
    metrics.pool.invariant_break(Invariant::Income);
    let (withheld, _, _) = report(1, 4, 5, 1_000_000, Some(&envelope.report));
    assert_eq!(withheld.status, ReportStatus::Withheld);
    metrics.pool.observe_report(&withheld);
    touch_signer_metrics(&metrics);
    metrics
}

/// Gives every signer metric a sample, through the observer the signer reports to.
fn touch_signer_metrics(metrics: &Metrics) {
    use signer_server::{MessageKind, Outcome, SignerObserver};
    let observer = super::SignerMetricsObserver(std::sync::Arc::new(metrics.clone()));
    observer.on_request(
        Some(MessageKind::Attestation),
        Outcome::Signed,
        Duration::from_millis(1),
    );
    observer.on_batch(3);
    observer.on_keys(2);
}

#[test]
fn signer_outcomes_are_counted_and_pool_safety_refusals_shared() {
    use signer_server::{MessageKind, Outcome, SignerObserver};
    let metrics = std::sync::Arc::new(Metrics::new());
    let observer = super::SignerMetricsObserver(metrics.clone());
    observer.on_request(
        Some(MessageKind::Block),
        Outcome::PoolSafety,
        Duration::ZERO,
    );
    observer.on_request(None, Outcome::BadRequest, Duration::ZERO);
    observer.on_request(Some(MessageKind::Block), Outcome::Slashable, Duration::ZERO);
    assert_eq!(
        metrics
            .signer
            .count(Some(MessageKind::Block), Outcome::PoolSafety),
        1
    );
    assert_eq!(metrics.signer.count(None, Outcome::BadRequest), 1);
    assert_eq!(metrics.pool_safety_refusals.get(), 1, "pool safety only");
    let text = metrics.gather();
    assert!(
        text.contains("poolvc_signer_requests_total{kind=\"unknown\",outcome=\"bad_request\"} 1"),
        "{text}"
    );
    observer.on_keys(7);
    assert_eq!(metrics.signer.keys.get(), 7);
}

#[test]
fn every_declared_metric_is_exported_with_its_type() {
    let metrics = observed();
    let descriptors = metrics.descriptors();
    assert!(descriptors.len() > 30, "{} declared", descriptors.len());
    let names: BTreeSet<_> = descriptors.iter().map(|d| d.name.clone()).collect();
    assert_eq!(names.len(), descriptors.len(), "names are unique");
    let (types, samples) = parse_exposition(&metrics.gather());
    for descriptor in &descriptors {
        assert_eq!(
            types.get(&descriptor.name).map(String::as_str),
            Some(descriptor.kind.as_str()),
            "TYPE line of {}",
            descriptor.name
        );
        assert!(
            samples
                .iter()
                .any(|s| family_of(&s.name, &types) == descriptor.name),
            "{} has a sample",
            descriptor.name
        );
    }
    assert_eq!(
        types.len(),
        descriptors.len(),
        "nothing undeclared is exported"
    );
}

#[test]
fn names_and_labels_follow_the_rules() {
    let metrics = observed();
    for d in metrics.descriptors() {
        assert!(d.name.starts_with("poolvc_"), "{}", d.name);
        assert_eq!(
            d.name.ends_with("_total"),
            d.kind == MetricKind::Counter,
            "{}: `_total` on counters only",
            d.name
        );
        if d.group == MetricGroup::Pool {
            assert!(d.name.starts_with("poolvc_pool_"), "{}", d.name);
        }
        assert_eq!(
            d.group == MetricGroup::Signer,
            d.name.starts_with("poolvc_signer_"),
            "{}: signer metrics and only they start with poolvc_signer_",
            d.name
        );
        for label in &d.labels {
            assert!(
                ALLOWED_LABELS.contains(&label.as_str()),
                "{}: label {label}",
                d.name
            );
        }
        assert!(!d.help.is_empty(), "{} has help", d.name);
    }
    let (types, samples) = parse_exposition(&metrics.gather());
    for sample in &samples {
        let family = family_of(&sample.name, &types);
        assert!(family.starts_with("poolvc_"), "{}", sample.name);
        assert_eq!(
            family.ends_with("_total"),
            types[family] == "counter",
            "{family}"
        );
        for label in sample.labels.keys() {
            assert!(
                ALLOWED_LABELS.contains(&label.as_str()) || label == "le",
                "{family}: label {label}"
            );
        }
        // APR is a signed ratio (a falling rate gives a negative one).
        if family.ends_with("_ratio") && family != "poolvc_pool_apr_ratio" {
            assert!(
                (0.0..=1.0).contains(&sample.value),
                "{family} = {}",
                sample.value
            );
        }
    }
}

/// Distinct values of `label` and the series count per family having it.
fn per_label(samples: &[Sample], label: &str) -> HashMap<String, (BTreeSet<String>, usize)> {
    let mut out: HashMap<String, (BTreeSet<String>, usize)> = HashMap::new();
    for sample in samples {
        if let Some(value) = sample.labels.get(label) {
            let entry = out.entry(sample.name.clone()).or_default();
            entry.0.insert(value.clone());
            entry.1 += 1;
        }
    }
    out
}

#[test]
fn per_operator_series_are_bounded_and_replaced() {
    let metrics = Metrics::new();
    // 10 operators, 300 validators: series follow operators, never validators.
    let (envelope, ledger, snapshot) = report(0, 10, 30, 1_000, None);
    metrics.pool.observe_epoch(&ledger, &snapshot);
    metrics.pool.observe_report(&envelope);
    let (_, samples) = parse_exposition(&metrics.gather());
    let families = per_label(&samples, "operator");
    assert_eq!(families.len(), 9, "{families:?}");
    for (family, (operators, series)) in &families {
        assert_eq!(operators.len(), 10, "{family}");
        // Other labels of per-operator metrics take at most 3 values (duty or state).
        assert!(*series <= 10 * 3, "{family}: {series} series");
        if !family.ends_with("_missed_duties") && !family.ends_with("_validators") {
            assert_eq!(*series, 10, "{family}");
        }
    }

    // A later report with 3 operators replaces the set; the info gauge keeps one series.
    // (No previous report: a report keeps the operators of its base for their cumulative fees.)
    let (next, ledger, snapshot) = report(1, 3, 4, 1_000, None);
    metrics.pool.observe_epoch(&ledger, &snapshot);
    metrics.pool.observe_report(&next);
    let (_, samples) = parse_exposition(&metrics.gather());
    for (family, (operators, _)) in per_label(&samples, "operator") {
        assert_eq!(operators.len(), 3, "{family}: {operators:?}");
    }
    let info: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "poolvc_pool_report_info")
        .collect();
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].labels["root"], next.root.to_string());
    assert_eq!(info[0].value, 1.0);
}

#[test]
fn real_reports_keep_every_identity_and_set_the_figures() {
    let metrics = Metrics::new();
    let pool = &metrics.pool;
    let (envelope, ledger, snapshot) = report(0, 4, 5, 1_000, None);
    assert_eq!(envelope.status, ReportStatus::Final);
    pool.observe_epoch(&ledger, &snapshot);
    pool.observe_report(&envelope);
    let text = metrics.gather();
    assert!(
        !text.contains("poolvc_pool_invariant_breaks_total{"),
        "{text}"
    );

    let rate: f64 = envelope.report.rate.to_string().parse().unwrap();
    assert!((pool.exchange_rate.get() - rate / 1e18).abs() < 1e-12);
    assert!(pool.exchange_rate.get() > 1.0, "rewards raise the rate");
    assert!((pool.apr.get() - envelope.report.apr_ppm as f64 / 1e6).abs() < 1e-12);
    assert_eq!(pool.report_frame.get(), 0);
    assert_eq!(
        pool.report_reference_slot.get(),
        envelope.report.reference_slot.as_u64() as i64
    );
    assert_eq!(pool.report_status.with_label_values(&["final"]).get(), 1);
    assert_eq!(pool.report_status.with_label_values(&["withheld"]).get(), 0);
    assert_eq!(pool.reports.with_label_values(&["final"]).get(), 1);
    assert_eq!(pool.ledger_epochs.get(), 1);
    assert_eq!(pool.ledger_last_epoch.get(), 1);
    for operator in &envelope.report.operators {
        let id = operator.operator_id.to_string();
        let t = &operator.tally;
        assert_eq!(
            pool.operator_cl_rewards.with_label_values(&[&id]).get(),
            t.cl_rewards_gwei as i64
        );
        assert_eq!(
            pool.operator_missed_duties
                .with_label_values(&[&id, "attestation"])
                .get(),
            t.attestations_missed as i64
        );
        assert_eq!(
            pool.operator_unexplained.with_label_values(&[&id]).get(),
            t.unexplained_gwei
        );
    }
    // Validator 3 (slashed) and 4 (exited) belong to operator 4 and 1; 0 and 11 mismatch.
    assert_eq!(
        pool.operator_validators
            .with_label_values(&["4", "slashed"])
            .get(),
        1
    );
    assert_eq!(
        pool.operator_validators
            .with_label_values(&["1", "exited"])
            .get(),
        1
    );
    assert_eq!(
        pool.operator_credential_mismatches
            .with_label_values(&["1"])
            .get(),
        1
    );
    assert_eq!(
        pool.operator_credential_mismatches
            .with_label_values(&["4"])
            .get(),
        1
    );
    assert!(
        envelope.report.totals.slashing_losses_gwei > 0
            && envelope.report.totals.unexplained_gwei > 0
            && envelope.report.totals.proposals_missed > 0,
        "the scenario exercises every figure: {:?}",
        envelope.report.totals
    );

    // A withheld report: counted with its breached limit; the rate in force stays.
    let before = pool.exchange_rate.get();
    let (withheld, _, _) = report(1, 4, 5, 1_000_000, Some(&envelope.report));
    assert_eq!(withheld.status, ReportStatus::Withheld);
    pool.observe_report(&withheld);
    assert_eq!(pool.exchange_rate.get(), before);
    assert_eq!(pool.report_status.with_label_values(&["withheld"]).get(), 1);
    assert_eq!(pool.report_status.with_label_values(&["final"]).get(), 0);
    assert_eq!(pool.reports.with_label_values(&["withheld"]).get(), 1);
    assert_eq!(pool.report_frame.get(), 1);
    for violation in &withheld.violations {
        let label = super::pool::limit_label(violation);
        assert!(pool.sanity_breaches.with_label_values(&[label]).get() >= 1);
    }
    assert!(!withheld.violations.is_empty());
    assert!(
        !metrics
            .gather()
            .contains("poolvc_pool_invariant_breaks_total{")
    );
}

#[test]
fn broken_identities_are_counted() {
    let metrics = Metrics::new();
    let pool = &metrics.pool;
    let breaks = |invariant: Invariant| {
        pool.invariant_breaks
            .with_label_values(&[invariant.as_str()])
            .get()
    };
    let (mut envelope, mut ledger, mut snapshot) = report(0, 2, 3, 1_000, None);
    ledger.records[0].balance_end += 1;
    ledger.records[1]
        .breakdown
        .as_mut()
        .expect("breakdown")
        .proposer += 5;
    snapshot.assignments.remove(&ledger.records[2].pubkey);
    pool.observe_epoch(&ledger, &snapshot);
    assert_eq!(breaks(Invariant::Income), 1);
    assert_eq!(breaks(Invariant::Breakdown), 1);
    assert_eq!(breaks(Invariant::Assignment), 1);

    envelope.report.totals.cl_rewards_gwei += 1;
    envelope.report.operators[0].tally.fee_gwei += 1;
    pool.observe_report(&envelope);
    assert_eq!(breaks(Invariant::OperatorTotals), 1);
    assert_eq!(
        breaks(Invariant::NetRewards),
        1,
        "totals' net no longer matches"
    );
    assert_eq!(breaks(Invariant::FeeSplit), 1, "operator 1's fee split");
}

#[test]
fn accounting_errors_are_labelled_by_kind() {
    let metrics = Metrics::new();
    let kind = |error: pool_registry::Error| AccountingErrorKind::of(&error);
    assert_eq!(
        kind(pool_registry::Error::Pruned(Epoch(3))),
        AccountingErrorKind::Inputs
    );
    assert_eq!(
        kind(pool_registry::Error::Conflict {
            what: "report of frame 7".into()
        }),
        AccountingErrorKind::Conflict
    );
    assert_eq!(
        kind(pool_registry::Error::Signing("no key".into())),
        AccountingErrorKind::Signing
    );
    assert_eq!(
        kind(pool_registry::Error::Corrupt("bad blob".into())),
        AccountingErrorKind::Store
    );
    metrics.pool.accounting_error(AccountingErrorKind::Store);
    metrics.pool.accounting_error(AccountingErrorKind::Store);
    assert!(
        metrics
            .gather()
            .contains("poolvc_pool_accounting_errors_total{kind=\"store\"} 2")
    );
}

/// The repository's `docs/` directory.
fn docs() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

#[test]
fn operations_doc_lists_every_metric() {
    let text = std::fs::read_to_string(docs().join("operations.md")).expect("operations.md");
    for d in Metrics::new().descriptors() {
        let named = |suffix: &str| text.contains(&format!("`{}{suffix}", d.name));
        assert!(named("`") || named("{"), "{} is not documented", d.name);
    }
}

#[test]
fn dashboard_queries_only_declared_metrics() {
    let path = docs().join("grafana/poolvc.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard")).expect("JSON");
    assert!(dashboard["schemaVersion"].as_u64().expect("schemaVersion") >= 36);
    assert!(
        dashboard["__inputs"]
            .as_array()
            .expect("__inputs")
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus")
    );
    let metrics = Metrics::new();
    let declared: HashMap<String, MetricKind> = metrics
        .descriptors()
        .into_iter()
        .map(|d| (d.name, d.kind))
        .collect();
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 20, "{} queries", exprs.len());
    let mut used = BTreeSet::new();
    for expr in &exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "query without a poolvc metric: {expr}");
        for name in names {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|b| declared.get(*b) == Some(&MetricKind::Histogram))
                })
                .unwrap_or(&name)
                .to_owned();
            assert!(
                declared.contains_key(&base),
                "{name} in `{expr}` is not declared"
            );
            used.insert(base);
        }
    }
    for wanted in [
        "poolvc_duties_total",
        "poolvc_signing_batch_duration_seconds",
        "poolvc_slashing_protection_refusals_total",
        "poolvc_beacon_node_health",
        "poolvc_doppelganger_keys",
        "poolvc_validator_keys",
        "poolvc_pool_exchange_rate",
        "poolvc_pool_apr_ratio",
        "poolvc_pool_report_status",
        "poolvc_pool_operator_cl_rewards_gwei",
        "poolvc_pool_operator_penalties_gwei",
        "poolvc_pool_operator_effectiveness_ratio",
        "poolvc_pool_sanity_limit_breaches_total",
        "poolvc_pool_invariant_breaks_total",
    ] {
        assert!(
            used.contains(wanted),
            "the dashboard has no panel over {wanted}"
        );
    }
    for datasource in collect_datasources(&dashboard) {
        assert_eq!(datasource, "${DS_PROMETHEUS}");
    }
}

fn collect_exprs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

fn collect_datasources(value: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(uid) = map
                    .get("datasource")
                    .and_then(|d| d.get("uid"))
                    .and_then(|u| u.as_str())
                {
                    out.push(uid.to_owned());
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// The `poolvc_…` identifiers of a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(found) = expr[i..].find("poolvc_") {
        let start = i + found;
        let preceded_by_ident =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if !preceded_by_ident {
            names.push(expr[start..end].to_owned());
        }
        i = end;
    }
    names
}

#[test]
fn promql_names_are_extracted() {
    assert_eq!(
        metric_names(
            "sum by (operator) (rate(poolvc_duties_total{duty=\"x\"}[5m])) / poolvc_pool_apr_ratio"
        ),
        vec!["poolvc_duties_total", "poolvc_pool_apr_ratio"]
    );
    assert!(metric_names("up{job=\"x_poolvc_y\"}").is_empty());
}
