//! Every Prometheus metric of the client, declared in this one module: the validator client's
//! ([`vc`]: duties, signing, slashing protection, beacon nodes, doppelganger, keys), the
//! pool's accounting ([`pool`]: exchange rate, APR, reports, per-operator figures, the ledger
//! and its checks) and the remote signer's ([`signer`], `poolvc signer`). All live in one
//! registry per [`Metrics`] instance.
//!
//! # Naming rules
//! - Every name starts with `poolvc_`; the pool's accounting metrics with `poolvc_pool_`, the
//!   remote signer's with `poolvc_signer_`.
//! - Counters, and only counters, end in `_total`.
//! - Base units only, named in the suffix: `_seconds`, `_bytes`; ratios end in `_ratio` and are
//!   fractions in `0..=1` (0.04 = 4 %), except the APR, which is negative when the rate fell.
//!   **Exception**: amounts of ether from the accounting are in gwei, suffix `_gwei`,
//!   as in the reports: integer gwei are exact in a sample up to 2^53 gwei (9 million ether),
//!   where wei would lose precision beyond 0.009 ether.
//! - Labels are bounded, from this set only: `duty`, `outcome`, `kind`, `reason`, `node` (the
//!   configured URLs), `health`, `state`, `status`, `operator` (registry operator ids), `limit`
//!   (a sanity limit), `invariant`, and `root` on the one info gauge. Never a label per
//!   validator, slot or epoch.
//! - An info gauge (`_info`) has one series, value 1, whose label holds the latest value; the
//!   previous series is removed when the value changes.
//!
//! Invariant: every metric is registered through [`Declared`], so [`Metrics::descriptors`]
//! lists exactly what the registry can export (names, types, help, labels); the tests, the
//! documentation check and the dashboard check read that list.

pub mod pool;
pub mod signer;
mod vc;

use std::sync::Arc;

use parking_lot::Mutex;
use prometheus::core::Collector;
use prometheus::proto::MetricType;
use prometheus::{
    Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry,
};

pub use pool::{AccountingErrorKind, Invariant, PoolMetrics};
pub use signer::{SignerMetrics, SignerMetricsObserver};
pub use vc::{Duty, Metrics, Outcome, SlashingMetrics, refusal_reason};

/// Which part of the client a metric belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricGroup {
    /// The validator client.
    Client,
    /// The pool's accounting.
    Pool,
    /// The remote signer (`poolvc signer`).
    Signer,
}

/// A metric's type as exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A counter.
    Counter,
    /// A gauge.
    Gauge,
    /// A histogram.
    Histogram,
}

impl MetricKind {
    /// The word of the exposition format's `# TYPE` line.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// A declared metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Its name.
    pub name: String,
    /// Its help text.
    pub help: String,
    /// Its type.
    pub kind: MetricKind,
    /// Its label names.
    pub labels: Vec<String>,
    /// Which part of the client it belongs to.
    pub group: MetricGroup,
}

#[derive(Debug)]
struct Declarations {
    group: MetricGroup,
    list: Vec<Descriptor>,
}

/// A registry that remembers what was registered in it (the plain registry only exports
/// metrics that have samples).
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    registry: Registry,
    declarations: Arc<Mutex<Declarations>>,
}

impl std::ops::Deref for Declared {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        &self.registry
    }
}

impl Declared {
    pub(crate) fn new() -> Self {
        Self {
            registry: Registry::new(),
            declarations: Arc::new(Mutex::new(Declarations {
                group: MetricGroup::Client,
                list: Vec::new(),
            })),
        }
    }

    /// Metrics registered from now on belong to `group`.
    pub(crate) fn set_group(&self, group: MetricGroup) {
        self.declarations.lock().group = group;
    }

    pub(crate) fn descriptors(&self) -> Vec<Descriptor> {
        self.declarations.lock().list.clone()
    }
}

/// Batch latencies from 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

pub(crate) fn malformed(name: &str, error: prometheus::Error) -> ! {
    panic!("metric {name} is malformed: {error}")
}

pub(crate) fn counter_vec(
    registry: &Declared,
    name: &str,
    help: &str,
    labels: &[&str],
) -> IntCounterVec {
    let metric =
        IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

pub(crate) fn gauge_vec(
    registry: &Declared,
    name: &str,
    help: &str,
    labels: &[&str],
) -> IntGaugeVec {
    let metric =
        IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

pub(crate) fn float_gauge_vec(
    registry: &Declared,
    name: &str,
    help: &str,
    labels: &[&str],
) -> GaugeVec {
    let metric =
        GaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

pub(crate) fn histogram_vec(
    registry: &Declared,
    name: &str,
    help: &str,
    labels: &[&str],
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let metric = HistogramVec::new(opts, labels).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

pub(crate) fn int_gauge(registry: &Declared, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

pub(crate) fn float_gauge(registry: &Declared, name: &str, help: &str) -> Gauge {
    let metric = Gauge::new(name, help).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

pub(crate) fn int_counter(registry: &Declared, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help).unwrap_or_else(|e| malformed(name, e));
    register(registry, name, Box::new(metric.clone()));
    metric
}

/// Registers a collector and records what it declares; the names are static and distinct, so
/// failure is a programming error caught by the tests of this module.
pub(crate) fn register(registry: &Declared, name: &str, collector: Box<dyn Collector>) {
    let kind = collector
        .collect()
        .first()
        .map(|family| match family.get_field_type() {
            MetricType::COUNTER => MetricKind::Counter,
            MetricType::HISTOGRAM => MetricKind::Histogram,
            _ => MetricKind::Gauge,
        })
        .unwrap_or(MetricKind::Gauge);
    let descs: Vec<(String, String, Vec<String>)> = collector
        .desc()
        .iter()
        .map(|d| (d.fq_name.clone(), d.help.clone(), d.variable_labels.clone()))
        .collect();
    if let Err(e) = registry.registry.register(collector) {
        panic!("metric {name} cannot be registered: {e}");
    }
    let mut declarations = registry.declarations.lock();
    let group = declarations.group;
    for (name, help, labels) in descs {
        declarations.list.push(Descriptor {
            name,
            help,
            kind,
            labels,
            group,
        });
    }
}

#[cfg(test)]
mod tests;
