//! poolvc, the validator client: library of everything the `poolvc` binary runs.
//!
//! - [`beacon_node`]: Beacon API client, multi-node fallback with health ranking, SSE events;
//! - [`clock`]: the slot clock;
//! - [`executor`]: named, monitored tasks and graceful shutdown;
//! - `testing` (feature `testing`): an in-process mock beacon node for tests and benches.

pub mod beacon_node;
pub mod clock;
pub mod executor;
pub mod http;

#[cfg(feature = "testing")]
pub mod testing;
