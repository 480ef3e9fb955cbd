//! The whole client against in-process mock beacon nodes: every duty on every fork (the mock
//! verifies each published signature and domain), request budgets with 1,000+ keys, pool
//! safety, slashing refusals, doppelganger protection, faults of the beacon nodes, shutdown and
//! restart.

mod doppelganger;
mod duties;
mod faults;
mod harness;
mod lifecycle;
mod metrics;
mod pool;
mod requests;
mod safety;
mod slashed;
