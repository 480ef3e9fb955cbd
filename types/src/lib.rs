//! Consensus-layer types for poolvc: SSZ containers, chain spec, signing roots, Beacon API JSON.
//!
//! This crate performs no I/O and pulls no runtime: every other crate depends on it.
//!
//! - [`eth_spec`]: presets as types ([`MainnetEthSpec`], [`MinimalEthSpec`]); [`preset`]: picking
//!   one from the beacon node's `PRESET_BASE` and checking its values ([`verify_preset`]).
//! - [`chain_spec`]: [`ChainSpec`] parsed from `/eth/v1/config/spec`: fork schedule, fork digests,
//!   domains ([`ChainSpec::get_domain`]), slot timing.
//! - [`signing`]: `compute_domain`, `compute_signing_root`, the [`SignedRoot`] trait.
//! - [`containers`]: every container a validator client signs or relays, phase0 → Fulu.
//! - [`block`]: per-fork blocks and the [`BeaconBlock`] / [`SignedBeaconBlock`] /
//!   [`BlindedBeaconBlock`] enums; Deneb+ [`BlockContents`].
//! - [`versioned`]: the `{"version", "data"}` envelope ([`ForkVersioned`]) and Electra-split
//!   operation enums ([`Attestation`], [`SignedAggregateAndProof`], ...).
//! - [`duties`]: aggregator selection and subnet math.
//! - [`api`]: Beacon API request/response JSON (genesis, node status, validators, duties,
//!   subscriptions, events, error bodies).
//!
//! JSON follows the Beacon API: integers are quoted decimal strings, byte strings and SSZ
//! bitfields are 0x-prefixed lowercase hex. Decoders accept bare integers too.

pub mod api;
pub mod block;
pub mod chain_spec;
pub mod containers;
pub mod duties;
pub mod error;
pub mod eth_spec;
pub mod fork_name;
pub mod preset;
pub mod primitives;
pub mod serde_utils;
pub mod signing;
pub mod versioned;

#[cfg(feature = "test-vectors")]
pub mod spec_files;
#[cfg(feature = "test-vectors")]
pub mod test_vectors;

pub use block::{
    BeaconBlock, BlindedBeaconBlock, Blob, BlockContents, SignedBeaconBlock,
    SignedBlindedBeaconBlock, SignedBlockContents,
};
pub use chain_spec::{BlobParameters, ChainSpec, DomainTypes, DutyTimings, ForkParams};
pub use containers::*;
pub use duties::{
    compute_subnet_for_attestation, is_aggregator, is_sync_committee_aggregator,
    sync_subcommittee_index,
};
pub use error::{Error, Result};
pub use eth_spec::{EthSpec, MainnetEthSpec, MinimalEthSpec, PresetEntry};
pub use fork_name::ForkName;
pub use preset::{Preset, verify_preset};
pub use primitives::*;
pub use signing::{DomainKind, SignedRoot, compute_domain, compute_signing_root};
pub use versioned::{
    AggregateAndProof, Attestation, AttesterSlashing, ForkVersioned, ForkVersionedDecode,
    SignedAggregateAndProof,
};
