//! The command line (clap derive, one struct per concern).
//!
//! - `poolvc run`: the validator client ([`run::RunArgs`], the Keymanager API flags in
//!   [`keymanager::KeymanagerArgs`], remote signing in [`remote_signer::RemoteSignerArgs`]);
//! - `poolvc keys interop`: deterministic devnet keystores ([`keys::KeysCommand`]);
//! - `poolvc slashing-protection import|export`: EIP-3076 interchange files
//!   ([`slashing_protection::SlashingProtectionCommand`]);
//! - `poolvc report verify`: recompute a pool report from a beacon node
//!   ([`report::ReportCommand`]; its oracle signature check in [`report_signature`]);
//! - `poolvc credentials set-withdrawal-address`: BLS-to-execution credential changes
//!   ([`credentials::CredentialsCommand`]);
//! - `poolvc signer`: a Web3Signer-compatible remote signer for any validator client
//!   ([`signer::SignerArgs`]).

pub mod credentials;
pub mod keymanager;
pub mod keys;
pub mod pool;
pub mod remote_signer;
pub mod report;
pub mod report_signature;
pub mod run;
pub mod signer;
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
    /// Serve a Web3Signer-compatible remote signer (slashing protection, the pool's fee policy)
    /// for validator clients of any make.
    Signer(Box<self::signer::SignerArgs>),
}

/// A command line the tests expected to parse but did not (clap's or the validation's
/// message).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseFailure(pub(crate) String);

#[cfg(test)]
impl std::ops::Deref for ParseFailure {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
impl From<clap::Error> for ParseFailure {
    fn from(error: clap::Error) -> Self {
        Self(error.to_string())
    }
}

#[cfg(test)]
impl From<crate::error::Error> for ParseFailure {
    fn from(error: crate::error::Error) -> Self {
        Self(error.to_string())
    }
}

#[cfg(test)]
impl From<&str> for ParseFailure {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
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
