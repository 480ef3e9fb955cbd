//! Metrics hooks without a metrics dependency: the binary implements [`SignerObserver`] with
//! its Prometheus registry (the metrics are declared with the client's, in one module).
//!
//! Observers are called on the request's task: they must be cheap and never block.

use std::time::Duration;

use crate::message::MessageKind;
use crate::refusal::Outcome;

/// Receives what the signer did.
pub trait SignerObserver: Send + Sync {
    /// A signing request ended; `kind` is `None` when the body was not understood far enough to
    /// know it.
    fn on_request(&self, kind: Option<MessageKind>, outcome: Outcome, elapsed: Duration);

    /// A coalesced batch of `requests` signing requests was signed together.
    fn on_batch(&self, requests: usize) {
        let _ = requests;
    }

    /// The signer now holds `count` keys.
    fn on_keys(&self, count: usize) {
        let _ = count;
    }
}

/// An observer that records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl SignerObserver for NoObserver {
    fn on_request(&self, _kind: Option<MessageKind>, _outcome: Outcome, _elapsed: Duration) {}
}
