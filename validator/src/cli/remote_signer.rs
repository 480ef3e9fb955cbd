//! `poolvc run` flags of remote signing (a Web3Signer-compatible remote signer).

use std::time::Duration;

use clap::Args;
use signer::remote::{RemoteSignerConfig, check_url};

use crate::config::RemoteSignerSettings;
use crate::error::{Error, Result};

/// Remote signer flags.
#[derive(Debug, Args)]
pub struct RemoteSignerArgs {
    /// A Web3Signer-compatible remote signer: every key it lists
    /// (`GET /api/v1/eth2/publicKeys`) is loaded at start and signed with remotely (slashing
    /// protection stays here and is checked before every request).
    #[arg(long)]
    pub remote_signer_url: Option<String>,
    /// Time a remote signing request may take, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub remote_signer_timeout_ms: u64,
    /// Remote signing requests in flight at most, per remote signer.
    #[arg(long, default_value_t = 32)]
    pub remote_signer_max_concurrency: usize,
}

impl RemoteSignerArgs {
    /// The remote signing settings.
    pub fn to_config(&self) -> Result<RemoteSignerSettings> {
        if let Some(url) = &self.remote_signer_url {
            check_url(url).map_err(|e| Error::Config(format!("--remote-signer-url: {e}")))?;
        }
        if self.remote_signer_timeout_ms == 0 {
            return Err(Error::Config(
                "--remote-signer-timeout-ms must be at least 1".into(),
            ));
        }
        if self.remote_signer_max_concurrency == 0 {
            return Err(Error::Config(
                "--remote-signer-max-concurrency must be at least 1".into(),
            ));
        }
        Ok(RemoteSignerSettings {
            url: self.remote_signer_url.clone(),
            config: RemoteSignerConfig {
                timeout: Duration::from_millis(self.remote_signer_timeout_ms),
                max_concurrent: self.remote_signer_max_concurrency,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        remote: RemoteSignerArgs,
    }

    fn parse(args: &[&str]) -> std::result::Result<RemoteSignerSettings, crate::cli::ParseFailure> {
        let mut full = vec!["test"];
        full.extend_from_slice(args);
        let flags = Flags::try_parse_from(full)?;
        Ok(flags.remote.to_config()?)
    }

    #[test]
    fn settings_and_refusals() {
        let none = parse(&[]).unwrap();
        assert_eq!(none.url, None);
        assert_eq!(none.config, RemoteSignerConfig::default());
        let set = parse(&[
            "--remote-signer-url",
            "http://127.0.0.1:9000",
            "--remote-signer-timeout-ms",
            "1500",
        ])
        .unwrap();
        assert_eq!(set.url.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(set.config.timeout, Duration::from_millis(1500));
        let err = parse(&["--remote-signer-url", "http://u:pw@signer"]).unwrap_err();
        assert!(
            err.contains("--remote-signer-url") && err.contains("credentials"),
            "{err}"
        );
        assert!(!err.contains("pw@"), "{err}");
        let err = parse(&["--remote-signer-max-concurrency", "0"]).unwrap_err();
        assert!(err.contains("at least 1"), "{err}");
    }
}
