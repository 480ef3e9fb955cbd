//! Helpers shared by end-to-end test binaries (`mod common;`).

pub(crate) mod devnet;
pub(crate) mod penalties;
pub(crate) mod pool;
