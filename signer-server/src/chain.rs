//! The one chain this signer signs for, and the signing root of a request.
//!
//! The domain comes from the request, as in Web3Signer: `fork_info` gives the fork version of
//! the message's epoch (`previous_version` before `fork.epoch`, `current_version` from it on)
//! and the genesis validators root. This signer is bound to one chain, so that version and root
//! must also be the ones the configured chain uses for that message:
//! - `genesis_validators_root` must be the configured one;
//! - the version must be the configured chain's version at the message's epoch; a voluntary
//!   exit may also use the Capella version once Deneb is scheduled (EIP-7044);
//! - a deposit's `genesis_fork_version` must be the chain's `GENESIS_FORK_VERSION`; a builder
//!   registration is signed with it (the builder domain has no fork information).
//!
//! Invariant: a root returned by [`Chain::signing_root`] is `compute_signing_root(object,
//! domain)` with a domain of the configured chain, and equals the request's `signingRoot` when
//! one was sent.

use types::{
    ChainSpec, Domain, DomainKind, EthSpec, ForkName, Hash256, Version, compute_domain,
    compute_signing_root,
};

use crate::message::Message;
use crate::request::{BadRequest, SignRequest};

/// The configured chain.
#[derive(Debug, Clone)]
pub struct Chain {
    spec: ChainSpec,
    genesis_validators_root: Hash256,
}

impl Chain {
    /// The chain with `spec` and `genesis_validators_root`.
    pub fn new(spec: ChainSpec, genesis_validators_root: Hash256) -> Self {
        Self {
            spec,
            genesis_validators_root,
        }
    }

    /// The chain config.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The genesis validators root.
    pub fn genesis_validators_root(&self) -> Hash256 {
        self.genesis_validators_root
    }

    /// The fork versions a message of `kind` about `epoch` may be signed under on this chain.
    fn allowed_versions(&self, kind: DomainKind, epoch: types::Epoch) -> Vec<Version> {
        let mut allowed = vec![self.spec.fork_version_at_epoch(epoch)];
        if kind == DomainKind::VoluntaryExit
            && self.spec.is_fork_scheduled(ForkName::Deneb)
            && let Some(capella) = self.spec.fork_version(ForkName::Capella)
            && !allowed.contains(&capella)
        {
            allowed.push(capella);
        }
        allowed
    }

    /// The domain of `request` on this chain, or why it is not this chain's.
    pub fn domain<E: EthSpec>(&self, request: &SignRequest<E>) -> Result<Domain, BadRequest> {
        let kind = request.message.domain_kind();
        let domain_type = self.spec.domain_type(kind);
        let genesis_fork_version = self.spec.genesis_fork_version();
        match &request.message {
            Message::Deposit {
                genesis_fork_version: requested,
                ..
            } => {
                if *requested != genesis_fork_version {
                    return Err(BadRequest(format!(
                        "deposit.genesis_fork_version {requested} is not this chain's \
                         GENESIS_FORK_VERSION {genesis_fork_version}"
                    )));
                }
                return Ok(compute_domain(domain_type, *requested, Hash256::ZERO));
            }
            Message::ValidatorRegistration(_) => {
                return Ok(compute_domain(
                    domain_type,
                    genesis_fork_version,
                    Hash256::ZERO,
                ));
            }
            _ => {}
        }
        let Some(fork_info) = &request.fork_info else {
            return Err(BadRequest(format!(
                "`fork_info` is required for type {}",
                request.request_type.as_str()
            )));
        };
        if fork_info.genesis_validators_root != self.genesis_validators_root {
            return Err(BadRequest(format!(
                "fork_info.genesis_validators_root {} is not this signer's chain ({}): \
                 refusing to sign for another chain",
                fork_info.genesis_validators_root, self.genesis_validators_root
            )));
        }
        let epoch = request
            .message
            .domain_epoch(self.spec.slots_per_epoch)
            .unwrap_or_default();
        let version = fork_info.version_at(epoch);
        let allowed = self.allowed_versions(kind, epoch);
        if !allowed.contains(&version) {
            let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            return Err(BadRequest(format!(
                "fork_info selects fork version {version} for epoch {epoch}, but this chain \
                 signs {} messages of that epoch with {}",
                request.message.kind().as_str(),
                allowed.join(" or ")
            )));
        }
        Ok(compute_domain(
            domain_type,
            version,
            self.genesis_validators_root,
        ))
    }

    /// The signing root of `request`, checked against its `signingRoot` when sent.
    pub fn signing_root<E: EthSpec>(
        &self,
        request: &SignRequest<E>,
    ) -> Result<Hash256, BadRequest> {
        let domain = self.domain(request)?;
        let root = compute_signing_root(request.message.object_root(), domain);
        if let Some(sent) = request.signing_root
            && sent != root
        {
            return Err(BadRequest(format!(
                "signingRoot {sent} does not match the signing root {root} computed from the \
                 request's {} and fork_info",
                request.request_type.object_field()
            )));
        }
        Ok(root)
    }
}
