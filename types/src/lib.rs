//! Consensus-layer types for poolvc: SSZ containers, chain spec, signing roots, Beacon API JSON.
//!
//! This crate performs no I/O and pulls no runtime: every other crate depends on it.

pub mod primitives;
pub mod serde_utils;

pub use primitives::*;
#[cfg(feature = "test-vectors")]
pub mod test_vectors;
