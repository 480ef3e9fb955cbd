//! Coalescing: concurrent signing requests are signed as one batch, so requests for the same
//! signing root (a committee's attestations, a slot's selection proofs, the sync committee's
//! messages) share one hash-to-curve, and the batch's attestations share one
//! slashing-protection transaction.
//!
//! # How requests are batched: no timer
//! One batch is signed at a time. A request that arrives when nothing is being signed (and
//! nothing is queued) is signed at once, alone, on its own task — exactly the path it would
//! take without coalescing: a lone request waits for no window and for no hand-off. A request
//! that arrives while a batch is being signed (and its attestations recorded) is queued; the
//! dispatcher task takes everything queued (up to [`MAX_BATCH`]) as the next batch as soon as
//! the batch in flight is done. The window is therefore exactly the duration of the batch in
//! flight: it opens only when there is work in flight, it grows with the load, and it never
//! delays a request that arrives when nothing else is being signed. A fixed timer would add its
//! whole length to every lone request and still miss requests arriving just after it closed.
//!
//! # Invariants
//! - an attestation's signature is answered only after its slashing-protection record is
//!   durable (`check_and_insert_attestations` returned `Safe` for it); refused items get the
//!   refusal, and when the database fails no attestation of the batch is answered with a
//!   signature;
//! - signing runs concurrently with the database transaction (signatures of refused items are
//!   dropped); requests without slashing protection are answered as soon as their signature
//!   exists, without waiting for the transaction;
//! - within a batch, the database sees the attestations in arrival order, so two conflicting
//!   requests for one key can never both be approved;
//! - one batch at a time (the `signing` lock), so a queued request waits for one batch at most
//!   before its own;
//! - with [`Coalescing::Disabled`] every request is its own batch, processed on its own task,
//!   concurrently with the others.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use slashing_protection::{AttestationRequest, NotSafe, SlashingProtection};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use types::{Hash256, PublicKeyBytes, SignatureBytes};

use crate::keys::Keys;
use crate::observer::SignerObserver;

/// Requests in one batch at most (bounds the work of one batch and its database transaction).
pub const MAX_BATCH: usize = 4096;

/// Requests waiting for the dispatcher at most; beyond this, requests wait to be queued.
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;

/// Whether concurrent requests are batched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coalescing {
    /// Batched by the dispatcher (the default).
    #[default]
    Enabled,
    /// Every request signed on its own (for comparison in the benchmark).
    Disabled,
}

/// One signature to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Job {
    /// The signing root.
    pub(crate) root: Hash256,
    /// The key.
    pub(crate) pubkey: PublicKeyBytes,
    /// The attestation to check and record first, for attestations.
    pub(crate) protection: Option<AttestationRequest>,
}

/// What became of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobOutcome {
    /// Signed (and recorded first, for an attestation).
    Signed(SignatureBytes),
    /// Refused by slashing protection.
    Refused(NotSafe),
    /// Not signed: the signer failed.
    Failed(String),
}

struct Queued {
    job: Job,
    answer: oneshot::Sender<JobOutcome>,
}

/// The batching signer.
pub(crate) struct Coalescer {
    mode: Coalescing,
    /// Held while a batch is signed (coalescing only): one batch at a time.
    signing: tokio::sync::Mutex<()>,
    sender: mpsc::Sender<Queued>,
    receiver: Mutex<Option<mpsc::Receiver<Queued>>>,
    keys: Arc<Keys>,
    slashing: Arc<dyn SlashingProtection>,
    observer: Arc<dyn SignerObserver>,
}

impl Coalescer {
    pub(crate) fn new(
        mode: Coalescing,
        keys: Arc<Keys>,
        slashing: Arc<dyn SlashingProtection>,
        observer: Arc<dyn SignerObserver>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            mode,
            signing: tokio::sync::Mutex::new(()),
            sender,
            receiver: Mutex::new(Some(receiver)),
            keys,
            slashing,
            observer,
        }
    }

    /// Signs `job` (with the others queued meanwhile, when coalescing).
    pub(crate) async fn submit(&self, job: Job) -> JobOutcome {
        let (answer, outcome) = oneshot::channel();
        let queued = Queued { job, answer };
        match self.mode {
            Coalescing::Disabled => self.process(vec![queued]).await,
            Coalescing::Enabled => {
                // Nothing being signed and nothing queued: sign it now, here, alone.
                let idle = self.sender.capacity() == self.sender.max_capacity();
                match self.signing.try_lock() {
                    Ok(_signing) if idle => self.process(vec![queued]).await,
                    _ => {
                        if self.sender.send(queued).await.is_err() {
                            return JobOutcome::Failed("the signer is shutting down".to_owned());
                        }
                    }
                }
            }
        }
        outcome
            .await
            .unwrap_or_else(|_| JobOutcome::Failed("the signing batch was abandoned".to_owned()))
    }

    /// The dispatcher (coalescing only; returns at once otherwise): signs batches until
    /// `shutdown` is cancelled, then signs what is still queued and returns. Run it once.
    pub(crate) async fn run(&self, shutdown: CancellationToken) {
        if self.mode == Coalescing::Disabled {
            return;
        }
        let Some(mut receiver) = self.receiver.lock().take() else {
            tracing::error!("the signing dispatcher was started twice; the second one exits");
            return;
        };
        loop {
            let first = tokio::select! {
                biased;
                job = receiver.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
                () = shutdown.cancelled() => break,
            };
            // After the batch in flight (or a lone request signed on its own task).
            let _signing = self.signing.lock().await;
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.process(batch).await;
        }
        receiver.close();
        let mut rest = Vec::new();
        while let Ok(job) = receiver.try_recv() {
            rest.push(job);
        }
        let _signing = self.signing.lock().await;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(MAX_BATCH));
            self.process(std::mem::replace(&mut rest, tail)).await;
        }
    }

    /// Signs one batch and answers every job of it.
    async fn process(&self, batch: Vec<Queued>) {
        // Requests whose client went away need no signature (nor a record).
        let batch: Vec<Queued> = batch
            .into_iter()
            .filter(|q| !q.answer.is_closed())
            .collect();
        if batch.is_empty() {
            return;
        }
        self.observer.on_batch(batch.len());
        let mut group_of: HashMap<Hash256, usize> = HashMap::new();
        let mut groups: Vec<(Hash256, Vec<PublicKeyBytes>)> = Vec::new();
        let mut requests = Vec::new();
        let mut unprotected = Vec::new();
        let mut protected = Vec::new();
        for queued in batch {
            let Job {
                root,
                pubkey,
                protection,
            } = queued.job;
            let group = *group_of.entry(root).or_insert_with(|| {
                groups.push((root, Vec::new()));
                groups.len() - 1
            });
            let place = (group, groups[group].1.len());
            groups[group].1.push(pubkey);
            match protection {
                Some(request) => {
                    requests.push(request);
                    protected.push((place, queued.answer));
                }
                None => unprotected.push((place, queued.answer)),
            }
        }
        let signer = self.keys.signer();
        let sign = async move {
            let signatures = signer.sign_roots(groups).await;
            for ((group, position), answer) in unprotected {
                let _ = answer.send(signature_at(&signatures, group, position));
            }
            signatures
        };
        let check = async {
            if requests.is_empty() {
                Ok(Vec::new())
            } else {
                self.slashing.check_and_insert_attestations(&requests).await
            }
        };
        let (signatures, checks) = tokio::join!(sign, check);
        if protected.is_empty() {
            return;
        }
        let checks = match checks {
            Ok(checks) if checks.len() == protected.len() => checks,
            Ok(checks) => {
                tracing::error!(
                    results = checks.len(),
                    requests = protected.len(),
                    "slashing protection answered the wrong number of results; nothing released"
                );
                return fail_all(protected, "slashing protection answered inconsistently");
            }
            Err(error) => {
                tracing::error!(%error, attestations = protected.len(), "slashing protection failed; no attestation of the batch is signed");
                return fail_all(protected, &format!("slashing protection failed: {error}"));
            }
        };
        for (((group, position), answer), check) in protected.into_iter().zip(checks) {
            let outcome = match check {
                Ok(_) => signature_at(&signatures, group, position),
                Err(reason) => JobOutcome::Refused(reason),
            };
            let _ = answer.send(outcome);
        }
    }
}

fn signature_at(
    signatures: &signer::Result<Vec<Vec<SignatureBytes>>>,
    group: usize,
    position: usize,
) -> JobOutcome {
    match signatures {
        Ok(signatures) => signatures
            .get(group)
            .and_then(|g| g.get(position))
            .map_or_else(
                || JobOutcome::Failed("the batch signer returned too few signatures".to_owned()),
                |signature| JobOutcome::Signed(*signature),
            ),
        Err(error) => JobOutcome::Failed(format!("signing failed: {error}")),
    }
}

fn fail_all(jobs: Vec<((usize, usize), oneshot::Sender<JobOutcome>)>, why: &str) {
    for (_, answer) in jobs {
        let _ = answer.send(JobOutcome::Failed(why.to_owned()));
    }
}
