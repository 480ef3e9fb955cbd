//! poolvc, the validator client: library of everything the `poolvc` binary runs.
//!
//! - [`beacon_node`]: Beacon API client, multi-node fallback with health ranking, SSE events;
//! - [`clock`]: the slot clock; [`executor`]: named, monitored tasks and graceful shutdown;
//! - [`store`]: the validator store, the only producer of duty signatures (slashing protection,
//!   pool safety, doppelganger holding);
//! - [`services`]: the duty services (duties, attestation, aggregation, block, sync committee,
//!   preparation, doppelganger, epoch summary);
//! - [`client`]: assembling and running the whole client; [`cli`]: the command line;
//! - [`metrics`]: every Prometheus metric; [`config`]: the validated runtime configuration;
//! - [`credentials`]: BLS-to-execution withdrawal credential changes;
//! - `testing` (feature `testing`): an in-process mock beacon node for tests and benches.

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
pub mod services;
pub mod store;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
