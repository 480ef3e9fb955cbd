//! The signing pipeline of one request, in order: parse the body; compute the signing root on
//! the configured chain (refusing another chain and a `signingRoot` that does not match); take
//! the signing gate and check the key is held; apply the pool's fee-recipient policy; for a
//! block, check and durably record it with slashing protection, then sign; for an attestation
//! or any other message, sign through the [`Coalescer`] (attestations are recorded there,
//! batched, before their signature is answered).
//!
//! Invariant: a signature is returned only after every check above passed, and for a block or
//! an attestation only after its slashing-protection record is durable.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use slashing_protection::{AttestationRequest, SlashingProtection};
use tokio_util::sync::CancellationToken;
use types::{EthSpec, Hash256, PublicKeyBytes, SignatureBytes};

use crate::chain::Chain;
use crate::coalesce::{Coalescer, Coalescing, Job, JobOutcome};
use crate::keys::Keys;
use crate::message::{Message, MessageKind};
use crate::observer::SignerObserver;
use crate::policy::FeePolicy;
use crate::refusal::{Outcome, Refusal};
use crate::request::{SignRequest, parse_identifier};

/// What a [`SignerService`] is built from.
pub struct ServiceParts {
    /// The chain it signs for.
    pub chain: Chain,
    /// The keys.
    pub keys: Arc<Keys>,
    /// Slashing protection (bound to the chain's genesis validators root).
    pub slashing: Arc<dyn SlashingProtection>,
    /// The pool's fee-recipient policy, if any.
    pub fee_policy: Option<FeePolicy>,
    /// Whether concurrent requests are batched.
    pub coalescing: Coalescing,
    /// Metrics.
    pub observer: Arc<dyn SignerObserver>,
}

/// Signs requests for one chain with one set of keys.
pub struct SignerService<E: EthSpec> {
    chain: Chain,
    keys: Arc<Keys>,
    slashing: Arc<dyn SlashingProtection>,
    fee_policy: Option<FeePolicy>,
    coalescer: Coalescer,
    observer: Arc<dyn SignerObserver>,
    _preset: PhantomData<E>,
}

impl<E: EthSpec> std::fmt::Debug for SignerService<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerService")
            .field("keys", &self.keys)
            .field(
                "genesis_validators_root",
                &self.chain.genesis_validators_root(),
            )
            .field("fee_policy", &self.fee_policy)
            .finish_non_exhaustive()
    }
}

impl<E: EthSpec> SignerService<E> {
    /// A service over `parts`. With [`Coalescing::Enabled`], [`SignerService::run_dispatcher`]
    /// must run for requests to be answered.
    pub fn new(parts: ServiceParts) -> Self {
        let coalescer = Coalescer::new(
            parts.coalescing,
            parts.keys.clone(),
            parts.slashing.clone(),
            parts.observer.clone(),
        );
        parts.observer.on_keys(parts.keys.len());
        Self {
            chain: parts.chain,
            keys: parts.keys,
            slashing: parts.slashing,
            fee_policy: parts.fee_policy,
            coalescer,
            observer: parts.observer,
            _preset: PhantomData,
        }
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The keys.
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// Slashing protection.
    pub fn slashing_protection(&self) -> &Arc<dyn SlashingProtection> {
        &self.slashing
    }

    /// The metrics observer.
    pub fn observer(&self) -> &Arc<dyn SignerObserver> {
        &self.observer
    }

    /// The coalescing dispatcher: run it once, as its own task, until `shutdown`.
    pub async fn run_dispatcher(&self, shutdown: CancellationToken) {
        self.coalescer.run(shutdown).await;
    }

    /// Signs the request `body` with the key `identifier`; counts and logs the outcome.
    pub async fn sign(&self, identifier: &str, body: &[u8]) -> Result<SignatureBytes, Refusal> {
        let started = Instant::now();
        let mut kind = None;
        let result = self.sign_inner(identifier, body, &mut kind).await;
        let outcome = match &result {
            Ok(_) => Outcome::Signed,
            Err(refusal) => refusal.outcome(),
        };
        self.observer.on_request(kind, outcome, started.elapsed());
        if let Err(refusal) = &result {
            let kind = kind.map_or("unknown", MessageKind::as_str);
            match refusal {
                Refusal::Slashable(_) | Refusal::PoolSafety(_) => {
                    tracing::warn!(kind, %identifier, reason = %refusal, "signing refused");
                }
                Refusal::Internal(_) => {
                    tracing::error!(kind, %identifier, reason = %refusal, "signing failed");
                }
                Refusal::BadRequest(_) | Refusal::UnknownKey(_) => {
                    tracing::debug!(kind, reason = %refusal, "signing request refused");
                }
            }
        }
        result
    }

    async fn sign_inner(
        &self,
        identifier: &str,
        body: &[u8],
        kind: &mut Option<MessageKind>,
    ) -> Result<SignatureBytes, Refusal> {
        let pubkey = parse_identifier(identifier)?;
        let request = SignRequest::<E>::from_slice(body)?;
        *kind = Some(request.message.kind());
        let root = self.chain.signing_root(&request)?;
        let _permit = self.keys.permit().await;
        if !self.keys.has_key(&pubkey) {
            return Err(Refusal::UnknownKey(pubkey));
        }
        if let Some(policy) = &self.fee_policy {
            policy.check(self.chain.spec(), &request.message)?;
        }
        match &request.message {
            Message::Block(block) => self.sign_block(pubkey, block.header.slot, root).await,
            Message::Attestation(data) => {
                let protection = AttestationRequest {
                    pubkey,
                    source: data.source.epoch,
                    target: data.target.epoch,
                    signing_root: root,
                };
                self.coalesced(root, pubkey, Some(protection)).await
            }
            _ => self.coalesced(root, pubkey, None).await,
        }
    }

    async fn sign_block(
        &self,
        pubkey: PublicKeyBytes,
        slot: types::Slot,
        root: Hash256,
    ) -> Result<SignatureBytes, Refusal> {
        self.slashing
            .check_and_insert_block(pubkey, slot, root)
            .await
            .map_err(|e| Refusal::Internal(format!("slashing protection failed: {e}")))??;
        let mut signatures = self
            .keys
            .signer()
            .sign_roots(vec![(root, vec![pubkey])])
            .await
            .map_err(|e| Refusal::Internal(format!("signing failed: {e}")))?;
        signatures
            .pop()
            .and_then(|mut group| group.pop())
            .ok_or_else(|| Refusal::Internal("the signer returned no signature".to_owned()))
    }

    async fn coalesced(
        &self,
        root: Hash256,
        pubkey: PublicKeyBytes,
        protection: Option<AttestationRequest>,
    ) -> Result<SignatureBytes, Refusal> {
        match self
            .coalescer
            .submit(Job {
                root,
                pubkey,
                protection,
            })
            .await
        {
            JobOutcome::Signed(signature) => Ok(signature),
            JobOutcome::Refused(reason) => Err(Refusal::Slashable(reason)),
            JobOutcome::Failed(why) => Err(Refusal::Internal(why)),
        }
    }
}
