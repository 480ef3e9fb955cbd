//! The Keymanager API on a whole client against the mock beacon node (which verifies every
//! published signature): authentication, key imports and deletions proven by duties performed
//! or stopped, slashing protection data in and out, the key cache across restarts, per-key
//! settings under the pool's fee policy, voluntary exits, and remote keys over a
//! Web3Signer-compatible remote signer; the API while keys load, and keystore directories
//! holding more than keystores.

mod auth;
mod connections;
mod delete;
mod exit;
mod harness;
mod import;
mod remote;
mod settings;
mod startup;
mod web3signer;
