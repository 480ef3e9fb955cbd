//! poolvc: the validator client binary. Parses the command line, sets up logging, dispatches,
//! and maps the outcome to the exit code: 0 for a completed command or a requested shutdown
//! (SIGINT/SIGTERM), 1 for any error or a failed critical task (named in the error).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;
use validator::cli::{
    Cli, Command, credentials::CredentialsCommand, keys::KeysCommand, report::ReportCommand,
    slashing_protection::SlashingProtectionCommand,
};
use validator::client::{self, Keys};
use validator::config::LogFormat;
use validator::executor::ShutdownReason;

fn init_logging(format: LogFormat, level: &str) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_new(level).with_context(|| format!("invalid --log-level {level:?}"))?;
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Resolves with the name of the first termination signal received.
async fn termination_signal() -> String {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM".to_owned(),
        _ = int.recv() => "SIGINT".to_owned(),
    }
}

async fn run(args: &validator::cli::run::RunArgs) -> anyhow::Result<ShutdownReason> {
    let config = args.to_config()?;
    let abort = CancellationToken::new();
    let signal = tokio::spawn(termination_signal());
    let bootstrap = {
        let abort = abort.clone();
        async move {
            client::bootstrap(&config.beacon_nodes, &abort)
                .await
                .map(|c| (config, c))
        }
    };
    tokio::pin!(bootstrap);
    let mut signal = signal;
    let (config, (genesis, spec)) = tokio::select! {
        result = &mut bootstrap => result?,
        by = &mut signal => {
            abort.cancel();
            let by = by.unwrap_or_else(|_| "signal".to_owned());
            tracing::info!(%by, "stopped before the client started");
            return Ok(ShutdownReason::Requested { by });
        }
    };
    let running = client::start(&config, Keys::FromConfig, genesis, spec).await?;
    if let Some(address) = args.metrics.address()
        && let Err(error) = running.serve_metrics(address).await
    {
        // Stop the services just started before reporting the error.
        running
            .run_until(async { "metrics server failure".to_owned() })
            .await;
        return Err(error.into());
    }
    Ok(running
        .run_until(async move { signal.await.unwrap_or_else(|_| "signal".to_owned()) })
        .await)
}

async fn run_signer(args: &validator::cli::signer::SignerArgs) -> anyhow::Result<ShutdownReason> {
    let config = args.to_config()?;
    let abort = CancellationToken::new();
    let mut signal = tokio::spawn(termination_signal());
    let start = validator::web3signer::start(&config, &abort);
    tokio::pin!(start);
    let running = tokio::select! {
        started = &mut start => started?,
        by = &mut signal => {
            abort.cancel();
            let by = by.unwrap_or_else(|_| "signal".to_owned());
            tracing::info!(%by, "stopped before the signer started");
            return Ok(ShutdownReason::Requested { by });
        }
    };
    Ok(running
        .run_until(async move { signal.await.unwrap_or_else(|_| "signal".to_owned()) })
        .await)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (format, level) = match &cli.command {
        Command::Run(args) => (args.log.format(), args.log.log_level.clone()),
        Command::Signer(args) => (args.log.format(), args.log.log_level.clone()),
        _ => (LogFormat::Text, "info".to_owned()),
    };
    if let Err(error) = init_logging(format, &level) {
        eprintln!("error: {error:#}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("poolvc")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome: anyhow::Result<ExitCode> = runtime.block_on(async {
        match &cli.command {
            Command::Run(args) => Ok(exit_code(&run(args).await?)),
            Command::Signer(args) => Ok(exit_code(&run_signer(args).await?)),
            Command::Keys(KeysCommand::Interop(args)) => {
                let pubkeys = validator::cli::keys::interop(args)?;
                println!("wrote {} interop keystores", pubkeys.len());
                Ok(ExitCode::SUCCESS)
            }
            Command::Keys(KeysCommand::Oracle(args)) => {
                // Only the public key on stdout: scripts capture it.
                println!("{}", validator::cli::keys::oracle(args)?);
                Ok(ExitCode::SUCCESS)
            }
            Command::SlashingProtection(SlashingProtectionCommand::Import(args)) => {
                let summary = validator::cli::slashing_protection::import(args).await?;
                println!(
                    "imported {} validators ({} blocks, {} attestations)",
                    summary.validators, summary.blocks, summary.attestations
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::SlashingProtection(SlashingProtectionCommand::Export(args)) => {
                let count = validator::cli::slashing_protection::export(args).await?;
                println!("exported {count} validators to {}", args.file.display());
                Ok(ExitCode::SUCCESS)
            }
            Command::Report(ReportCommand::Verify(args)) => {
                // A mismatch is not an error of the tool: exit 1 with the differences printed.
                let matches = validator::cli::report::verify(args).await?;
                Ok(if matches {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            Command::Credentials(CredentialsCommand::SetWithdrawalAddress(args)) => {
                credentials_outcome(
                    &validator::cli::credentials::set_withdrawal_address(args).await?,
                )
            }
        }
    });
    // Blocking tasks (key loading, SQLite) must not keep the process alive after the outcome.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            // Library errors already carry their causes in their message.
            if format == LogFormat::Json {
                tracing::error!(%error, "poolvc failed");
            }
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The exit code of a shutdown (the failed task named on stderr).
fn exit_code(reason: &ShutdownReason) -> ExitCode {
    let code = client::exit_code(reason);
    if code != 0 {
        eprintln!("error: {reason}");
    }
    ExitCode::from(code)
}

/// Prints a credential change report: the signed changes as JSON on stdout in a dry run (the
/// summary then goes to stderr), else the summary on stdout. Exit code 1 when any validator
/// was skipped or rejected.
fn credentials_outcome(report: &validator::credentials::Report) -> anyhow::Result<ExitCode> {
    if report.dry_run {
        println!("{}", serde_json::to_string_pretty(&report.changes)?);
        eprintln!("{}", report.summary());
    } else {
        println!("{}", report.summary());
    }
    Ok(if report.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
