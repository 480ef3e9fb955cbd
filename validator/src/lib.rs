//! poolvc, the validator client: library of everything the `poolvc` binary runs.
//!
//! - [`beacon_node`]: Beacon API client, multi-node fallback with health ranking, SSE events;
//! - [`clock`]: the slot clock; [`executor`]: named, monitored tasks and graceful shutdown;
//! - [`store`]: the validator store, the only producer of duty signatures (slashing protection,
//!   pool safety, doppelganger holding);
//! - [`services`]: the duty services (duties, attestation, aggregation, block, sync committee,
//!   preparation, doppelganger, epoch summary);
//! - [`accounting`]: the pool's accounting from finalized chain data, frame reports, and their
//!   recomputation (`poolvc report verify`);
//! - [`client`]: assembling and running the whole client; [`cli`]: the command line;
//! - [`pool`]: the pool side of a running client (registry reload, accounting store, oracle key,
//!   reports server);
//! - [`metrics`]: every Prometheus metric; [`config`]: the validated runtime configuration;
//! - [`credentials`]: BLS-to-execution withdrawal credential changes;
//! - [`web3signer`]: `poolvc signer`, the Web3Signer-compatible remote signer;
//! - `testing` (feature `testing`): an in-process mock beacon node for tests and benches.

pub mod accounting;
pub mod beacon_node;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod executor;
pub mod http;
pub mod metrics;
pub mod pool;
pub mod services;
pub mod store;
pub mod web3signer;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
