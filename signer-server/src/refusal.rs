//! What a signing request gets when it is not signed, and the outcome of every request (the
//! `outcome` label of the signer's metrics).
//!
//! Statuses are those of the specification's sign operation: 400 for a request that cannot be
//! signed as sent (malformed, another chain, a `signingRoot` that does not match), 404 for a key
//! this signer does not hold, 412 for a refusal by slashing protection or by the pool's
//! fee-recipient policy, 500 for a failure of the signer itself (nothing was signed).

use types::PublicKeyBytes;

use crate::policy::PolicyRefusal;
use crate::request::BadRequest;

/// A request that was not signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the request cannot be signed as sent.
    #[error("{0}")]
    BadRequest(#[from] BadRequest),
    /// 404: the key is not held.
    #[error("public key {0} is not held by this signer")]
    UnknownKey(PublicKeyBytes),
    /// 412: slashing protection refused it (its reason).
    #[error("slashing protection: {0}")]
    Slashable(#[from] slashing_protection::NotSafe),
    /// 412: the pool's fee-recipient policy refused it.
    #[error("{0}")]
    PoolSafety(#[from] PolicyRefusal),
    /// 500: the signer failed (database, signing task); nothing was signed.
    #[error("{0}")]
    Internal(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::UnknownKey(_) => 404,
            Refusal::Slashable(_) | Refusal::PoolSafety(_) => 412,
            Refusal::Internal(_) => 500,
        }
    }

    /// The metric outcome.
    pub fn outcome(&self) -> Outcome {
        match self {
            Refusal::BadRequest(_) => Outcome::BadRequest,
            Refusal::UnknownKey(_) => Outcome::UnknownKey,
            Refusal::Slashable(_) => Outcome::Slashable,
            Refusal::PoolSafety(_) => Outcome::PoolSafety,
            Refusal::Internal(_) => Outcome::Error,
        }
    }
}

/// How a signing request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Signed (200).
    Signed,
    /// Malformed, another chain, or a mismatched `signingRoot` (400).
    BadRequest,
    /// The key is not held (404).
    UnknownKey,
    /// Refused by slashing protection (412).
    Slashable,
    /// Refused by the pool's fee-recipient policy (412).
    PoolSafety,
    /// The signer failed (500).
    Error,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 6] = [
        Outcome::Signed,
        Outcome::BadRequest,
        Outcome::UnknownKey,
        Outcome::Slashable,
        Outcome::PoolSafety,
        Outcome::Error,
    ];

    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Signed => "signed",
            Outcome::BadRequest => "bad_request",
            Outcome::UnknownKey => "unknown_key",
            Outcome::Slashable => "slashable",
            Outcome::PoolSafety => "pool_safety",
            Outcome::Error => "error",
        }
    }
}
