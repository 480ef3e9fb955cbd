//! The remote signer's metrics (`poolvc signer`), naming rules in [`crate::metrics`]: every name
//! starts with `poolvc_signer_`; labels `kind` (the message kind, or `unknown` for a body not
//! understood) and `outcome` ([`signer_server::Outcome`]).
//!
//! [`SignerMetricsObserver`] feeds them from the signer; a pool-safety refusal also counts in
//! `poolvc_pool_safety_refusals_total`, as the client's refusals do.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge};
use signer_server::{MessageKind, Outcome, SignerObserver};

use super::{Declared, MetricGroup, counter_vec, histogram_vec, int_gauge, malformed, register};
use crate::metrics::Metrics;

/// Batch sizes: 1 to 4096 requests, powers of two.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// The signer's metrics.
#[derive(Debug, Clone)]
pub struct SignerMetrics {
    /// `poolvc_signer_requests_total{kind, outcome}`.
    pub requests: IntCounterVec,
    /// `poolvc_signer_request_duration_seconds{kind}`: from the body read to the answer.
    pub request_seconds: HistogramVec,
    /// `poolvc_signer_batch_requests`: requests signed together in one coalesced batch.
    pub batch_requests: prometheus::Histogram,
    /// `poolvc_signer_keys`: keys held.
    pub keys: IntGauge,
}

impl SignerMetrics {
    /// Declares the signer's metrics in `r`.
    pub(crate) fn new(r: &Declared) -> Self {
        r.set_group(MetricGroup::Signer);
        let name = "poolvc_signer_batch_requests";
        let batch_requests = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                name,
                "Signing requests signed together in one coalesced batch.",
            )
            .buckets(BATCH_BUCKETS.to_vec()),
        )
        .unwrap_or_else(|e| malformed(name, e));
        register(r, name, Box::new(batch_requests.clone()));
        let metrics = Self {
            requests: counter_vec(
                r,
                "poolvc_signer_requests_total",
                "Signing requests by message kind and outcome.",
                &["kind", "outcome"],
            ),
            request_seconds: histogram_vec(
                r,
                "poolvc_signer_request_duration_seconds",
                "Time from a signing request's body to its answer, by message kind.",
                &["kind"],
            ),
            batch_requests,
            keys: int_gauge(r, "poolvc_signer_keys", "Keys the signer holds."),
        };
        r.set_group(MetricGroup::Client);
        metrics
    }

    /// The count of `kind` requests with `outcome` so far.
    pub fn count(&self, kind: Option<MessageKind>, outcome: Outcome) -> u64 {
        self.requests
            .with_label_values(&[kind_label(kind), outcome.as_str()])
            .get()
    }
}

fn kind_label(kind: Option<MessageKind>) -> &'static str {
    kind.map_or("unknown", MessageKind::as_str)
}

/// Feeds the signer's outcomes into [`Metrics`].
#[derive(Debug, Clone)]
pub struct SignerMetricsObserver(pub Arc<Metrics>);

impl SignerObserver for SignerMetricsObserver {
    fn on_request(&self, kind: Option<MessageKind>, outcome: Outcome, elapsed: Duration) {
        let signer = &self.0.signer;
        let label = kind_label(kind);
        signer
            .requests
            .with_label_values(&[label, outcome.as_str()])
            .inc();
        signer
            .request_seconds
            .with_label_values(&[label])
            .observe(elapsed.as_secs_f64());
        if outcome == Outcome::PoolSafety {
            self.0.pool_safety_refusals.inc();
        }
    }

    fn on_batch(&self, requests: usize) {
        self.0.signer.batch_requests.observe(requests as f64);
    }

    fn on_keys(&self, count: usize) {
        self.0
            .signer
            .keys
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}
