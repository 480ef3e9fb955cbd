//! The validator client's metrics: duties, signing, slashing protection, pool safety, beacon
//! nodes, doppelganger protection, keys, the chain's checkpoints (naming rules in
//! [`crate::metrics`]).
//!
//! One [`Metrics`] instance per client, with its own registry (so tests and several clients in
//! one process do not mix their numbers). Serving `/metrics` is the HTTP layer's job: it reads
//! [`Metrics::gather`] or [`Metrics::registry`].

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use slashing_protection::{BatchOutcome, MessageKind, NotSafe, SlashingObserver};

use super::pool::PoolMetrics;
use super::signer::SignerMetrics;
use super::{Declared, Descriptor, counter_vec, gauge_vec, histogram_vec, register};
use crate::beacon_node::NodeStatus;

/// A duty type (the `duty` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Duty {
    /// Attestations.
    Attestation,
    /// Aggregate-and-proofs.
    Aggregate,
    /// Block proposals.
    Block,
    /// Sync committee messages.
    SyncMessage,
    /// Sync committee contributions.
    SyncContribution,
    /// Builder registrations.
    BuilderRegistration,
    /// Attestation and sync aggregator selection proofs.
    SelectionProof,
    /// RANDAO reveals.
    Randao,
    /// Voluntary exits.
    VoluntaryExit,
}

impl Duty {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Duty::Attestation => "attestation",
            Duty::Aggregate => "aggregate",
            Duty::Block => "block",
            Duty::SyncMessage => "sync_message",
            Duty::SyncContribution => "sync_contribution",
            Duty::BuilderRegistration => "builder_registration",
            Duty::SelectionProof => "selection_proof",
            Duty::Randao => "randao",
            Duty::VoluntaryExit => "voluntary_exit",
        }
    }
}

/// What became of a duty (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Signed and accepted by a beacon node.
    Performed,
    /// Not done (node failure, missing data, late).
    Missed,
    /// Refused by slashing protection, pool safety or doppelganger protection.
    Refused,
}

impl Outcome {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Performed => "performed",
            Outcome::Missed => "missed",
            Outcome::Refused => "refused",
        }
    }
}

/// The client's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Declared,
    /// `poolvc_duties_total{duty, outcome}`.
    pub duties: IntCounterVec,
    /// `poolvc_signing_batch_duration_seconds{duty}`: wall time of one batch (signing and the
    /// concurrent slashing-protection commit).
    pub signing_batch_seconds: HistogramVec,
    /// `poolvc_signatures_total{duty}`: signatures produced.
    pub signatures: IntCounterVec,
    /// `poolvc_slashing_protection_checks_total{kind, outcome}` (`valid`, `same_data`,
    /// `refused`, `error`).
    pub slashing_checks: IntCounterVec,
    /// `poolvc_slashing_protection_refusals_total{kind, reason}`.
    pub slashing_refusals: IntCounterVec,
    /// `poolvc_slashing_protection_batch_duration_seconds{kind}`.
    pub slashing_batch_seconds: HistogramVec,
    /// `poolvc_pool_safety_refusals_total`: blocks refused for paying another fee recipient.
    pub pool_safety_refusals: IntCounter,
    /// `poolvc_beacon_node_requests_total{node, outcome}` (`success`, `failure`).
    pub beacon_node_requests: IntCounterVec,
    /// `poolvc_beacon_node_latency_seconds{node}`: moving mean call duration of each node.
    pub beacon_node_latency: prometheus::GaugeVec,
    /// `poolvc_beacon_node_health{node, health}`: 1 for the node's current health, else 0.
    pub beacon_node_health: IntGaugeVec,
    /// `poolvc_doppelganger_keys{state}` (`held`, `released`).
    pub doppelganger_keys: IntGaugeVec,
    /// `poolvc_validator_keys{status}`: loaded keys by beacon chain status (`unknown` when the
    /// chain does not know the key yet).
    pub validator_keys: IntGaugeVec,
    /// `poolvc_withdrawal_credentials{state}`: loaded keys by how their withdrawal credentials
    /// compare with the pool's (`pool`, `bls`, `foreign`, `unchecked`).
    pub withdrawal_credentials: IntGaugeVec,
    /// `poolvc_attestation_inclusion_ratio`: included / performed attestations of the last
    /// summarised epoch.
    pub attestation_inclusion_ratio: prometheus::Gauge,
    /// `poolvc_finalized_epoch`.
    pub finalized_epoch: IntGauge,
    /// `poolvc_justified_epoch`.
    pub justified_epoch: IntGauge,
    /// The pool's accounting metrics.
    pub pool: PoolMetrics,
    /// The remote signer's metrics (`poolvc signer`).
    pub signer: SignerMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics in its own registry.
    pub fn new() -> Self {
        let r = Declared::new();
        let beacon_node_latency = prometheus::GaugeVec::new(
            Opts::new(
                "poolvc_beacon_node_latency_seconds",
                "Moving mean duration of calls to each beacon node.",
            ),
            &["node"],
        )
        .unwrap_or_else(|e| panic!("metric poolvc_beacon_node_latency_seconds: {e}"));
        register(
            &r,
            "poolvc_beacon_node_latency_seconds",
            Box::new(beacon_node_latency.clone()),
        );
        let inclusion = prometheus::Gauge::new(
            "poolvc_attestation_inclusion_ratio",
            "Share of the attestations of the last summarised epoch found in canonical blocks.",
        )
        .unwrap_or_else(|e| panic!("metric poolvc_attestation_inclusion_ratio: {e}"));
        register(
            &r,
            "poolvc_attestation_inclusion_ratio",
            Box::new(inclusion.clone()),
        );
        let finalized = IntGauge::new("poolvc_finalized_epoch", "The chain's finalized epoch.")
            .unwrap_or_else(|e| panic!("metric poolvc_finalized_epoch: {e}"));
        register(&r, "poolvc_finalized_epoch", Box::new(finalized.clone()));
        let justified = IntGauge::new(
            "poolvc_justified_epoch",
            "The chain's current justified epoch.",
        )
        .unwrap_or_else(|e| panic!("metric poolvc_justified_epoch: {e}"));
        register(&r, "poolvc_justified_epoch", Box::new(justified.clone()));
        let pool_safety = IntCounter::new(
            "poolvc_pool_safety_refusals_total",
            "Blocks refused because they pay a fee recipient the pool does not allow.",
        )
        .unwrap_or_else(|e| panic!("metric poolvc_pool_safety_refusals_total: {e}"));
        register(
            &r,
            "poolvc_pool_safety_refusals_total",
            Box::new(pool_safety.clone()),
        );
        Self {
            duties: counter_vec(
                &r,
                "poolvc_duties_total",
                "Duties by type and outcome.",
                &["duty", "outcome"],
            ),
            signing_batch_seconds: histogram_vec(
                &r,
                "poolvc_signing_batch_duration_seconds",
                "Wall time of one signing batch, slashing protection included.",
                &["duty"],
            ),
            signatures: counter_vec(
                &r,
                "poolvc_signatures_total",
                "Signatures produced, by duty type.",
                &["duty"],
            ),
            slashing_checks: counter_vec(
                &r,
                "poolvc_slashing_protection_checks_total",
                "Slashing protection checks by message kind and outcome.",
                &["kind", "outcome"],
            ),
            slashing_refusals: counter_vec(
                &r,
                "poolvc_slashing_protection_refusals_total",
                "Slashing protection refusals by message kind and reason.",
                &["kind", "reason"],
            ),
            slashing_batch_seconds: histogram_vec(
                &r,
                "poolvc_slashing_protection_batch_duration_seconds",
                "Duration of one slashing protection check batch, durable commit included.",
                &["kind"],
            ),
            pool_safety_refusals: pool_safety,
            beacon_node_requests: counter_vec(
                &r,
                "poolvc_beacon_node_requests_total",
                "Calls to each beacon node by outcome.",
                &["node", "outcome"],
            ),
            beacon_node_latency,
            beacon_node_health: gauge_vec(
                &r,
                "poolvc_beacon_node_health",
                "1 for each node's current health state, 0 for the others.",
                &["node", "health"],
            ),
            doppelganger_keys: gauge_vec(
                &r,
                "poolvc_doppelganger_keys",
                "Keys held back by doppelganger protection, and keys released.",
                &["state"],
            ),
            validator_keys: gauge_vec(
                &r,
                "poolvc_validator_keys",
                "Loaded keys by beacon chain status.",
                &["status"],
            ),
            withdrawal_credentials: gauge_vec(
                &r,
                "poolvc_withdrawal_credentials",
                "Loaded keys by how their withdrawal credentials compare with the pool's.",
                &["state"],
            ),
            attestation_inclusion_ratio: inclusion,
            finalized_epoch: finalized,
            justified_epoch: justified,
            pool: PoolMetrics::new(&r),
            signer: SignerMetrics::new(&r),
            registry: r,
        }
    }

    /// The registry holding every metric.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric this module declares, in registration order (client metrics first).
    pub fn descriptors(&self) -> Vec<Descriptor> {
        self.registry.descriptors()
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn gather(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding plain metric families into memory does not fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// Counts `n` duties of `duty` with `outcome`.
    pub fn duty(&self, duty: Duty, outcome: Outcome, n: usize) {
        if n > 0 {
            self.duties
                .with_label_values(&[duty.as_str(), outcome.as_str()])
                .inc_by(n as u64);
        }
    }

    /// The count of `duty` with `outcome` so far.
    pub fn duty_count(&self, duty: Duty, outcome: Outcome) -> u64 {
        self.duties
            .with_label_values(&[duty.as_str(), outcome.as_str()])
            .get()
    }

    /// Records a signing batch of `signatures` for `duty` that took `elapsed`.
    pub fn signing_batch(&self, duty: Duty, signatures: usize, elapsed: Duration) {
        self.signing_batch_seconds
            .with_label_values(&[duty.as_str()])
            .observe(elapsed.as_secs_f64());
        self.signatures
            .with_label_values(&[duty.as_str()])
            .inc_by(signatures as u64);
    }

    /// Mirrors the fallback's per-node statistics (called every slot). Counters only move
    /// forward, by the difference to what was already exported.
    pub fn update_beacon_nodes(&self, nodes: &[NodeStatus]) {
        const HEALTH: [&str; 6] = [
            "unknown",
            "synced",
            "optimistic",
            "syncing",
            "offline",
            "incompatible",
        ];
        for node in nodes {
            let url = node.url.as_str();
            for (outcome, total) in [
                ("success", node.stats.successes),
                ("failure", node.stats.failures),
            ] {
                let counter = self.beacon_node_requests.with_label_values(&[url, outcome]);
                let delta = total.saturating_sub(counter.get());
                counter.inc_by(delta);
            }
            if let Some(mean) = node.stats.mean_latency {
                self.beacon_node_latency
                    .with_label_values(&[url])
                    .set(mean.as_secs_f64());
            }
            let current = node.health.as_str();
            for health in HEALTH {
                self.beacon_node_health
                    .with_label_values(&[url, health])
                    .set(i64::from(health == current));
            }
        }
    }
}

/// A stable label for a refusal reason.
pub fn refusal_reason(reason: &NotSafe) -> &'static str {
    use slashing_protection::{InvalidAttestation as A, InvalidBlock as B};
    match reason {
        NotSafe::UnregisteredValidator(_) => "unregistered",
        NotSafe::ValueOutOfRange { .. } => "out_of_range",
        NotSafe::InvalidBlock(B::NotAboveImportedWatermark { .. }) => "below_imported_watermark",
        NotSafe::InvalidBlock(B::DoubleProposal { .. }) => "double_proposal",
        NotSafe::InvalidBlock(B::BelowLatestSigned { .. }) => "below_latest_signed",
        NotSafe::InvalidAttestation(A::SourceExceedsTarget { .. }) => "source_exceeds_target",
        NotSafe::InvalidAttestation(A::SourceBelowImportedWatermark { .. })
        | NotSafe::InvalidAttestation(A::TargetNotAboveImportedWatermark { .. }) => {
            "below_imported_watermark"
        }
        NotSafe::InvalidAttestation(A::DoubleVote { .. }) => "double_vote",
        NotSafe::InvalidAttestation(A::SurroundsExisting { .. })
        | NotSafe::InvalidAttestation(A::SurroundedByExisting { .. }) => "surround_vote",
        NotSafe::InvalidAttestation(A::TargetBelowLatestSigned { .. }) => "below_latest_signed",
        #[expect(
            unreachable_patterns,
            reason = "NotSafe may gain variants; they still need a label"
        )]
        _ => "other",
    }
}

/// Feeds slashing-protection outcomes into [`Metrics`].
#[derive(Debug, Clone)]
pub struct SlashingMetrics(pub Arc<Metrics>);

impl SlashingObserver for SlashingMetrics {
    fn on_batch(&self, outcome: &BatchOutcome) {
        let kind = outcome.kind.as_str();
        let m = &self.0;
        for (label, n) in [
            ("valid", outcome.valid),
            ("same_data", outcome.same_data),
            ("refused", outcome.refused),
        ] {
            if n > 0 {
                m.slashing_checks
                    .with_label_values(&[kind, label])
                    .inc_by(n);
            }
        }
        m.slashing_batch_seconds
            .with_label_values(&[kind])
            .observe(outcome.duration.as_secs_f64());
    }

    fn on_refusal(&self, kind: MessageKind, reason: &NotSafe) {
        self.0
            .slashing_refusals
            .with_label_values(&[kind.as_str(), refusal_reason(reason)])
            .inc();
    }

    fn on_error(&self, kind: MessageKind, _error: &slashing_protection::Error, duration: Duration) {
        self.0
            .slashing_checks
            .with_label_values(&[kind.as_str(), "error"])
            .inc();
        self.0
            .slashing_batch_seconds
            .with_label_values(&[kind.as_str()])
            .observe(duration.as_secs_f64());
    }
}
