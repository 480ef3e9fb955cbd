//! Validator keys and signing for poolvc.
//!
//! - [`bls`]: BLS12-381 over blst `min_pk` with the Ethereum proof-of-possession ciphersuite;
//! - [`batch`]: the batch signer (one hash-to-curve per message, all cores);
//! - [`keystore`]: EIP-2335 keystores; [`derivation`]: EIP-2333/2334, BIP-39, interop keys;
//! - [`loader`] and [`cache`]: loading thousands of keystores in parallel, and the key cache that
//!   makes restarts cost one KDF; [`keyfiles`]: adding and removing keystores at run time;
//! - [`Signer`]: the async seam the validator signs through (signing roots with a typed
//!   description of each message), with [`LocalSigner`] (keys in memory), [`remote`] (a
//!   Web3Signer-compatible remote signer) and [`CompositeSigner`] (both, changeable at run
//!   time) behind it.

pub mod batch;
pub mod bls;
pub mod cache;
mod composite;
pub mod derivation;
mod error;
pub mod fs;
mod hex_serde;
pub mod keyfiles;
pub mod keystore;
pub mod loader;
mod local;
pub mod remote;
mod signing;

pub use composite::CompositeSigner;
pub use error::{Error, Result};
pub use local::LocalSigner;
pub use signing::{
    BlockMessage, ForkInfo, Signable, SignableMessage, SignatureResult, Signer, SigningGroup,
};
