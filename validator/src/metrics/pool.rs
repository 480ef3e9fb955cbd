//! The pool's accounting metrics (naming rules in [`crate::metrics`]): the exchange rate and
//! APR, the last report (frame, reference slot, status, root), per-operator figures of the last
//! report, the ledger's progress and validator states, and counters of reports, sanity-limit
//! breaches, invariant breaks and accounting errors.
//!
//! The accounting service calls [`PoolMetrics::observe_report`] once per report produced,
//! [`PoolMetrics::observe_epoch`] once per epoch accounted, [`PoolMetrics::credential_mismatches`]
//! when it checks credentials, and [`PoolMetrics::accounting_error`] on failures.
//!
//! Invariants:
//! - per-operator series exist only for the operators of the latest observation (each
//!   observation replaces the previous set), so there are never more than the registry's
//!   operators, whatever the number of validators;
//! - `poolvc_pool_report_info` has exactly one series once a report was observed: the latest
//!   root;
//! - the exchange rate and APR are those of the latest **final** report (the rate in force); a
//!   withheld report moves the report gauges and counters, not the rate;
//! - the observers re-check the conservation identities of what they are given (ledger
//!   income, rewards breakdown, report totals, fee split, net rewards) and count every break:
//!   these hold by construction, so any count is a bug or corrupt data to investigate;
//! - the raw 1e18-scaled rate is not exported: a float sample cannot carry its 18 decimals
//!   (the reports API serves it exactly).

use std::collections::BTreeMap;

use pool_registry::ledger::{EpochLedger, ValidatorEpoch};
use pool_registry::report::{ReportEnvelope, ReportStatus, SanityViolation, Tally};
use pool_registry::{FrameSnapshot, OperatorId};
use prometheus::{Gauge, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};
use types::U256;

use super::{
    Declared, MetricGroup, counter_vec, float_gauge, float_gauge_vec, gauge_vec, int_counter,
    int_gauge,
};

/// A conservation identity the observers check (the `invariant` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// `income = balance_end − balance_start + withdrawals − deposits` of a ledger record.
    Income,
    /// The rewards breakdown's components sum to the record's income.
    Breakdown,
    /// A ledger record's key is assigned to an operator in the frame's snapshot.
    Assignment,
    /// A report's totals are the sums of its operators' figures.
    OperatorTotals,
    /// `fee = operator fee + protocol fee`, per operator and in total.
    FeeSplit,
    /// `net rewards = CL rewards − penalties − slashing losses + EL rewards`.
    NetRewards,
}

impl Invariant {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Invariant::Income => "income",
            Invariant::Breakdown => "breakdown",
            Invariant::Assignment => "assignment",
            Invariant::OperatorTotals => "operator_totals",
            Invariant::FeeSplit => "fee_split",
            Invariant::NetRewards => "net_rewards",
        }
    }
}

/// What kind of accounting failure happened (the `kind` label of
/// `poolvc_pool_accounting_errors_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountingErrorKind {
    /// The beacon node could not provide the epoch's data.
    BeaconNode,
    /// The inputs were inconsistent or incomplete.
    Inputs,
    /// A stored result differs from a recomputed one (history is never rewritten).
    Conflict,
    /// The ledger store failed (database, stored data).
    Store,
    /// The registry could not be read or reloaded.
    Registry,
    /// A report could not be built.
    Report,
    /// A report could not be signed.
    Signing,
}

impl AccountingErrorKind {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BeaconNode => "beacon_node",
            Self::Inputs => "inputs",
            Self::Conflict => "conflict",
            Self::Store => "store",
            Self::Registry => "registry",
            Self::Report => "report",
            Self::Signing => "signing",
        }
    }

    /// The kind of a `pool-registry` error.
    pub fn of(error: &pool_registry::Error) -> Self {
        use pool_registry::Error as E;
        match error {
            E::Io { .. } | E::Registry { .. } | E::ReloadRefused(_) => Self::Registry,
            E::Input { .. } | E::Pruned(_) => Self::Inputs,
            E::LedgerConflict { .. } | E::Conflict { .. } | E::OracleVoteConflict { .. } => {
                Self::Conflict
            }
            E::Report { .. } | E::Overflow(_) | E::Merkle(_) => Self::Report,
            E::Corrupt(_)
            | E::Json { .. }
            | E::Sqlite { .. }
            | E::Postgres { .. }
            | E::PostgresPool(_)
            | E::Task(_) => Self::Store,
            E::Signing(_) => Self::Signing,
        }
    }
}

/// The `limit` label of a sanity violation.
pub(crate) fn limit_label(violation: &SanityViolation) -> &'static str {
    match violation {
        SanityViolation::AnnualBalanceIncrease { .. } => "annual_balance_increase",
        SanityViolation::PositiveRebase { .. } => "positive_rebase",
        SanityViolation::NegativeRebase { .. } => "negative_rebase",
        SanityViolation::FeesExceedRewards { .. } => "fees_exceed_rewards",
    }
}

/// 1e18 as a float (the exchange rate's scale).
const RATE_SCALE: f64 = 1e18;

/// A U256 as a float (exact to 53 bits, enough for a ratio).
fn u256_to_f64(value: U256) -> f64 {
    value.to_string().parse().unwrap_or(f64::MAX)
}

/// The pool's accounting metrics.
#[derive(Debug, Clone)]
pub struct PoolMetrics {
    /// `poolvc_pool_exchange_rate`: ether per share of the latest final report.
    pub exchange_rate: Gauge,
    /// `poolvc_pool_apr_ratio`: annualised rate change of the latest final report.
    pub apr: Gauge,
    /// `poolvc_pool_report_frame`: frame of the latest report.
    pub report_frame: IntGauge,
    /// `poolvc_pool_report_reference_slot`: reference slot of the latest report.
    pub report_reference_slot: IntGauge,
    /// `poolvc_pool_report_status{status}`: 1 for the latest report's status (`final`,
    /// `withheld`), 0 for the other.
    pub report_status: IntGaugeVec,
    /// `poolvc_pool_report_info{root}`: 1, labelled with the latest report's root.
    pub report_info: IntGaugeVec,
    /// `poolvc_pool_reports_total{status}`.
    pub reports: IntCounterVec,
    /// `poolvc_pool_sanity_limit_breaches_total{limit}`.
    pub sanity_breaches: IntCounterVec,
    /// `poolvc_pool_operator_cl_rewards_gwei{operator}` of the latest report.
    pub operator_cl_rewards: IntGaugeVec,
    /// `poolvc_pool_operator_el_rewards_gwei{operator}` of the latest report.
    pub operator_el_rewards: IntGaugeVec,
    /// `poolvc_pool_operator_penalties_gwei{operator}` of the latest report.
    pub operator_penalties: IntGaugeVec,
    /// `poolvc_pool_operator_slashing_losses_gwei{operator}` of the latest report.
    pub operator_slashing_losses: IntGaugeVec,
    /// `poolvc_pool_operator_unexplained_income_gwei{operator}` of the latest report (signed).
    pub operator_unexplained: IntGaugeVec,
    /// `poolvc_pool_operator_effectiveness_ratio{operator}` of the latest report.
    pub operator_effectiveness: GaugeVec,
    /// `poolvc_pool_operator_missed_duties{operator, duty}` (`attestation`, `proposal`,
    /// `sync_committee`) of the latest report.
    pub operator_missed_duties: IntGaugeVec,
    /// `poolvc_pool_operator_validators{operator, state}` (`active`, `exited`, `slashed`) at the
    /// latest accounted epoch.
    pub operator_validators: IntGaugeVec,
    /// `poolvc_pool_operator_credential_mismatches{operator}`: validators whose withdrawal
    /// credentials are not the pool's.
    pub operator_credential_mismatches: IntGaugeVec,
    /// `poolvc_pool_ledger_epochs_total`: epochs accounted.
    pub ledger_epochs: IntCounter,
    /// `poolvc_pool_ledger_last_epoch`: the latest epoch accounted.
    pub ledger_last_epoch: IntGauge,
    /// `poolvc_pool_invariant_breaks_total{invariant}`.
    pub invariant_breaks: IntCounterVec,
    /// `poolvc_pool_accounting_errors_total{kind}`.
    pub accounting_errors: IntCounterVec,
}

impl PoolMetrics {
    /// Declares the pool's metrics in `r`.
    pub(crate) fn new(r: &Declared) -> Self {
        r.set_group(MetricGroup::Pool);
        let operator = &["operator"];
        let metrics = Self {
            exchange_rate: float_gauge(
                r,
                "poolvc_pool_exchange_rate",
                "Ether per share of the latest final report.",
            ),
            apr: float_gauge(
                r,
                "poolvc_pool_apr_ratio",
                "Annualised exchange-rate change of the latest final report.",
            ),
            report_frame: int_gauge(r, "poolvc_pool_report_frame", "Frame of the latest report."),
            report_reference_slot: int_gauge(
                r,
                "poolvc_pool_report_reference_slot",
                "Reference slot of the latest report.",
            ),
            report_status: gauge_vec(
                r,
                "poolvc_pool_report_status",
                "1 for the latest report's status (final or withheld), 0 for the other.",
                &["status"],
            ),
            report_info: gauge_vec(
                r,
                "poolvc_pool_report_info",
                "1, labelled with the root of the latest report.",
                &["root"],
            ),
            reports: counter_vec(
                r,
                "poolvc_pool_reports_total",
                "Reports produced, by status.",
                &["status"],
            ),
            sanity_breaches: counter_vec(
                r,
                "poolvc_pool_sanity_limit_breaches_total",
                "Sanity limits a report exceeded (the report is withheld), by limit.",
                &["limit"],
            ),
            operator_cl_rewards: gauge_vec(
                r,
                "poolvc_pool_operator_cl_rewards_gwei",
                "Positive CL income of each operator's validators over the latest report.",
                operator,
            ),
            operator_el_rewards: gauge_vec(
                r,
                "poolvc_pool_operator_el_rewards_gwei",
                "EL rewards of each operator's canonical blocks over the latest report.",
                operator,
            ),
            operator_penalties: gauge_vec(
                r,
                "poolvc_pool_operator_penalties_gwei",
                "Negative CL income of each operator's unslashed validators over the latest report.",
                operator,
            ),
            operator_slashing_losses: gauge_vec(
                r,
                "poolvc_pool_operator_slashing_losses_gwei",
                "Negative CL income of each operator's slashed validators over the latest report.",
                operator,
            ),
            operator_unexplained: gauge_vec(
                r,
                "poolvc_pool_operator_unexplained_income_gwei",
                "Income the rewards endpoints did not explain, per operator, over the latest report.",
                operator,
            ),
            operator_effectiveness: float_gauge_vec(
                r,
                "poolvc_pool_operator_effectiveness_ratio",
                "Duty effectiveness of each operator over the latest report.",
                operator,
            ),
            operator_missed_duties: gauge_vec(
                r,
                "poolvc_pool_operator_missed_duties",
                "Duties missed by each operator's validators over the latest report, by type.",
                &["operator", "duty"],
            ),
            operator_validators: gauge_vec(
                r,
                "poolvc_pool_operator_validators",
                "Each operator's validators by state at the latest accounted epoch.",
                &["operator", "state"],
            ),
            operator_credential_mismatches: gauge_vec(
                r,
                "poolvc_pool_operator_credential_mismatches",
                "Each operator's validators whose withdrawal credentials are not the pool's.",
                operator,
            ),
            ledger_epochs: int_counter(
                r,
                "poolvc_pool_ledger_epochs_total",
                "Epochs accounted in the ledger.",
            ),
            ledger_last_epoch: int_gauge(
                r,
                "poolvc_pool_ledger_last_epoch",
                "The latest epoch accounted in the ledger.",
            ),
            invariant_breaks: counter_vec(
                r,
                "poolvc_pool_invariant_breaks_total",
                "Conservation identities found broken in ledger epochs or reports, by identity.",
                &["invariant"],
            ),
            accounting_errors: counter_vec(
                r,
                "poolvc_pool_accounting_errors_total",
                "Accounting failures, by kind.",
                &["kind"],
            ),
        };
        r.set_group(MetricGroup::Client);
        metrics
    }

    /// Counts a broken conservation identity.
    pub fn invariant_break(&self, invariant: Invariant) {
        self.invariant_breaks
            .with_label_values(&[invariant.as_str()])
            .inc();
    }

    /// Counts an accounting failure.
    pub fn accounting_error(&self, kind: AccountingErrorKind) {
        self.accounting_errors
            .with_label_values(&[kind.as_str()])
            .inc();
    }

    /// Sets the per-operator credential mismatch counts (replacing the previous set).
    pub fn credential_mismatches(&self, per_operator: &BTreeMap<OperatorId, u64>) {
        self.operator_credential_mismatches.reset();
        for (operator, count) in per_operator {
            self.operator_credential_mismatches
                .with_label_values(&[operator.to_string()])
                .set(saturating_i64(*count));
        }
    }

    /// Records a report just produced (call once per report).
    pub fn observe_report(&self, envelope: &ReportEnvelope) {
        let report = &envelope.report;
        if envelope.status == ReportStatus::Final {
            self.exchange_rate
                .set(u256_to_f64(report.rate) / RATE_SCALE);
            self.apr.set(report.apr_ppm as f64 / 1e6);
        }
        self.report_frame.set(saturating_i64(report.frame));
        self.report_reference_slot
            .set(saturating_i64(report.reference_slot.as_u64()));
        for status in [ReportStatus::Final, ReportStatus::Withheld] {
            self.report_status
                .with_label_values(&[status.as_str()])
                .set(i64::from(status == envelope.status));
        }
        self.report_info.reset();
        self.report_info
            .with_label_values(&[&envelope.root.to_string()])
            .set(1);
        self.reports
            .with_label_values(&[envelope.status.as_str()])
            .inc();
        for violation in &envelope.violations {
            self.sanity_breaches
                .with_label_values(&[limit_label(violation)])
                .inc();
        }
        for gauge in [
            &self.operator_cl_rewards,
            &self.operator_el_rewards,
            &self.operator_penalties,
            &self.operator_slashing_losses,
            &self.operator_unexplained,
            &self.operator_missed_duties,
        ] {
            gauge.reset();
        }
        self.operator_effectiveness.reset();
        for operator in &report.operators {
            let id = operator.operator_id.to_string();
            let id = id.as_str();
            let t = &operator.tally;
            let set = |gauge: &IntGaugeVec, value: i64| gauge.with_label_values(&[id]).set(value);
            set(&self.operator_cl_rewards, saturating_i64(t.cl_rewards_gwei));
            set(&self.operator_el_rewards, saturating_i64(t.el_rewards_gwei));
            set(&self.operator_penalties, saturating_i64(t.penalties_gwei));
            set(
                &self.operator_slashing_losses,
                saturating_i64(t.slashing_losses_gwei),
            );
            set(&self.operator_unexplained, t.unexplained_gwei);
            self.operator_effectiveness
                .with_label_values(&[id])
                .set(t.effectiveness_ppm as f64 / 1e6);
            for (duty, missed) in [
                ("attestation", t.attestations_missed),
                ("proposal", t.proposals_missed),
                ("sync_committee", t.sync_missed),
            ] {
                self.operator_missed_duties
                    .with_label_values(&[id, duty])
                    .set(saturating_i64(missed));
            }
            self.check_tally(t);
        }
        self.check_tally(&report.totals);
        if !totals_match(envelope) {
            self.invariant_break(Invariant::OperatorTotals);
        }
    }

    /// Checks a tally's fee split and net rewards.
    fn check_tally(&self, t: &Tally) {
        if t.operator_fee_gwei.checked_add(t.protocol_fee_gwei) != Some(t.fee_gwei) {
            self.invariant_break(Invariant::FeeSplit);
        }
        let net = i128::from(t.cl_rewards_gwei)
            - i128::from(t.penalties_gwei)
            - i128::from(t.slashing_losses_gwei)
            + i128::from(t.el_rewards_gwei);
        if net != i128::from(t.net_rewards_gwei) {
            self.invariant_break(Invariant::NetRewards);
        }
    }

    /// Records an epoch just accounted (call once per epoch) with the snapshot of its frame:
    /// validators by state and credential mismatches per operator, and the ledger's identities.
    pub fn observe_epoch(&self, ledger: &EpochLedger, snapshot: &FrameSnapshot) {
        self.ledger_epochs.inc();
        self.ledger_last_epoch
            .set(saturating_i64(ledger.epoch.as_u64()));
        let mut states: BTreeMap<OperatorId, [u64; 3]> =
            snapshot.operators.keys().map(|id| (*id, [0; 3])).collect();
        let mut mismatches: BTreeMap<OperatorId, u64> =
            snapshot.operators.keys().map(|id| (*id, 0)).collect();
        for record in &ledger.records {
            self.check_record(record);
            let Some(id) = snapshot.operator_of(&record.pubkey) else {
                self.invariant_break(Invariant::Assignment);
                continue;
            };
            let counts = states.entry(id).or_default();
            counts[0] += u64::from(record.status.is_active());
            // `exited_*` and `withdrawal_*`, as the accounting spec counts exited validators.
            counts[1] += u64::from(record.status.is_exited());
            counts[2] += u64::from(record.slashed_end);
            *mismatches.entry(id).or_default() += u64::from(record.credentials_mismatch);
        }
        self.operator_validators.reset();
        for (id, counts) in &states {
            let id = id.to_string();
            for (state, count) in ["active", "exited", "slashed"].into_iter().zip(counts) {
                self.operator_validators
                    .with_label_values(&[id.as_str(), state])
                    .set(saturating_i64(*count));
            }
        }
        self.credential_mismatches(&mismatches);
    }

    /// Checks one ledger record's income identity and breakdown.
    fn check_record(&self, r: &ValidatorEpoch) {
        let income = i128::from(r.balance_end) - i128::from(r.balance_start)
            + i128::from(r.withdrawals)
            - i128::from(r.deposits);
        if income != i128::from(r.income) {
            self.invariant_break(Invariant::Income);
        }
        if let Some(b) = &r.breakdown {
            let sum = i128::from(b.attestation)
                + i128::from(b.inactivity)
                + i128::from(b.sync_committee)
                + i128::from(b.proposer)
                + i128::from(b.unexplained);
            if sum != i128::from(r.income) {
                self.invariant_break(Invariant::Breakdown);
            }
        }
    }
}

/// Whether the report's totals are the sums of its operators' additive figures.
fn totals_match(envelope: &ReportEnvelope) -> bool {
    let report = &envelope.report;
    let fields: [fn(&Tally) -> i128; 12] = [
        |t| i128::from(t.cl_rewards_gwei),
        |t| i128::from(t.penalties_gwei),
        |t| i128::from(t.slashing_losses_gwei),
        |t| i128::from(t.el_rewards_gwei),
        |t| i128::from(t.net_rewards_gwei),
        |t| i128::from(t.fee_gwei),
        |t| i128::from(t.operator_fee_gwei),
        |t| i128::from(t.protocol_fee_gwei),
        |t| i128::from(t.withdrawals_gwei),
        |t| i128::from(t.deposits_gwei),
        |t| i128::from(t.unexplained_gwei),
        |t| i128::from(t.validators_active),
    ];
    fields.iter().all(|field| {
        let sum: i128 = report.operators.iter().map(|o| field(&o.tally)).sum();
        sum == field(&report.totals)
    })
}

/// A count or amount as a gauge value (saturating: gauges are i64).
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
