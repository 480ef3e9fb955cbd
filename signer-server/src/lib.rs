//! A Web3Signer-compatible eth2 remote signer: what `poolvc signer` serves, so that validator
//! clients of any make (Lighthouse, Teku, Prysm, Lodestar, poolvc itself) sign through poolvc
//! with their Web3Signer support, unchanged.
//!
//! - [`request`]: the request bodies of every signing type, parsed into consensus containers;
//! - [`message`]: the typed message, its object root and domain epoch;
//! - [`chain`]: the one chain the signer is bound to, and the signing root of a request;
//! - [`policy`]: the pool's fee-recipient policy;
//! - [`keys`]: the keys (keystores, key cache, parallel decryption), reloads, the signing gate;
//! - [`coalesce`]: concurrent requests signed as one batch (one hash-to-curve per signing root,
//!   one slashing-protection transaction per batch);
//! - [`service`]: the signing pipeline of one request; [`reload`]: background reloads;
//! - [`api`]: the axum router (sign, public keys, health, reload, keystores); [`auth`]: the
//!   optional bearer token; [`observer`]: metrics hooks.
//!
//! # Invariants
//! - Nothing is signed for another chain: the genesis validators root and the fork version a
//!   request's domain uses must be the configured chain's ([`chain`]).
//! - The signing root is computed here from the typed request; a request whose `signingRoot`
//!   differs is refused.
//! - A block or an attestation is signed only after slashing protection recorded it durably;
//!   a slashable one is refused with 412.
//! - With a fee policy, a block is signed only when it pays the pool's vault (or shows no fee
//!   recipient and the operator allowed header-only blocks); refusals are 412 and counted.
//! - Keys are registered with slashing protection before they can sign; removed keys stop
//!   signing before the removal returns.
//!
//! The binary wires this crate: it builds the [`chain::Chain`], opens slashing protection,
//! loads the [`keys::Keys`], serves [`api::router`] through its accept loop, runs the
//! dispatcher ([`service::SignerService::run_dispatcher`]) and the reloader
//! ([`reload::Reloader::run`]) as named tasks, and implements [`observer::SignerObserver`] with
//! its metrics.

pub mod api;
pub mod auth;
pub mod chain;
pub mod coalesce;
mod error;
pub mod keys;
pub mod message;
pub mod observer;
pub mod policy;
mod refusal;
pub mod reload;
pub mod request;
pub mod service;

pub use api::{SignerApi, router};
pub use auth::BearerToken;
pub use chain::Chain;
pub use coalesce::Coalescing;
pub use error::{Error, Result};
pub use keys::{KeySource, Keys, LoadSummary};
pub use message::{Message, MessageKind};
pub use observer::{NoObserver, SignerObserver};
pub use policy::{FeePolicy, HeaderOnlyBlocks, PolicyRefusal};
pub use refusal::{Outcome, Refusal};
pub use reload::Reloader;
pub use request::{BadRequest, RequestType, SignRequest};
pub use service::{ServiceParts, SignerService};
