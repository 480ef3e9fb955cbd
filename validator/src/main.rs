//! poolvc: the validator client binary (placeholder entry point: version and help only; the
//! command line grows with the services).

use clap::Parser;

/// poolvc: an Ethereum consensus-layer validator client for pooled staking.
#[derive(Debug, Parser)]
#[command(name = "poolvc", version, about, long_about = None)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    println!(
        "poolvc {}: no command yet; see --help",
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}
