//! The command line (clap derive, one struct per concern).
//!
//! - `poolvc run`: the validator client ([`run::RunArgs`], the Keymanager API flags in
//!   [`keymanager::KeymanagerArgs`], remote signing in [`remote_signer::RemoteSignerArgs`]);
//! - `poolvc keys interop`: deterministic devnet keystores ([`keys::KeysCommand`]);
//! - `poolvc slashing-protection import|export`: EIP-3076 interchange files
//!   ([`slashing_protection::SlashingProtectionCommand`]);
//! - `poolvc report verify`: recompute a pool report from a beacon node
//!   ([`report::ReportCommand`]);
//! - `poolvc credentials set-withdrawal-address`: BLS-to-execution credential changes
//!   ([`credentials::CredentialsCommand`]).

pub mod credentials;
pub mod keymanager;
pub mod keys;
pub mod pool;
pub mod remote_signer;
pub mod report;
pub mod run;
pub mod slashing_protection;

use clap::{Parser, Subcommand};

/// poolvc: an Ethereum consensus-layer validator client for pooled staking.
#[derive(Debug, Parser)]
#[command(name = "poolvc", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the validator client next to one or more beacon nodes.
    Run(Box<run::RunArgs>),
    /// Key tools.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Slashing protection interchange (EIP-3076) import and export.
    #[command(subcommand, name = "slashing-protection")]
    SlashingProtection(slashing_protection::SlashingProtectionCommand),
    /// Pool reports.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Withdrawal credential changes (BLS to execution address).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
