//! SSZ containers, per fork of introduction.
//!
//! Every container derives SSZ `Encode`/`Decode`, `TreeHash` and serde in Beacon API JSON form.
//! Containers whose shape changed at a fork carry the fork in their name
//! (`AttestationPhase0`, `AttestationElectra`); fork-dispatching enums over them live in
//! [`crate::versioned`] and [`crate::block`].

pub mod altair;
pub mod builder;
pub mod capella;
pub mod electra;
pub mod execution;
pub mod phase0;

pub use altair::*;
pub use builder::*;
pub use capella::*;
pub use electra::*;
pub use execution::*;
pub use phase0::*;
