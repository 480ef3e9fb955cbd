//! `poolvc run` flags of the Keymanager API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::Args;

use crate::config::{
    API_TOKEN_FILE, DEFAULT_KEYMANAGER_MAX_BODY_BYTES, DEFAULT_KEYMANAGER_PORT, KeymanagerConfig,
    default_decrypt_threads,
};
use crate::error::{Error, Result};

/// Keymanager API flags.
#[derive(Debug, Args)]
pub struct KeymanagerArgs {
    /// Serve the standard Keymanager API (keys, fee recipients, gas limits, graffiti, voluntary
    /// exits), authenticated with the bearer token in `<datadir>/api-token.txt`.
    #[arg(long)]
    pub keymanager: bool,
    /// Address of the Keymanager API; a non-loopback address also needs
    /// `--keymanager-allow-non-loopback`.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub keymanager_address: IpAddr,
    /// Port of the Keymanager API.
    #[arg(long, default_value_t = DEFAULT_KEYMANAGER_PORT)]
    pub keymanager_port: u16,
    /// Allow the Keymanager API on an address other hosts can reach (use TLS or a tunnel in
    /// front: the token travels in clear text).
    #[arg(long)]
    pub keymanager_allow_non_loopback: bool,
    /// Bearer token file (default `<datadir>/api-token.txt`; created 0600 when absent).
    #[arg(long)]
    pub keymanager_token_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_KEYMANAGER_MAX_BODY_BYTES)]
    pub keymanager_max_body_bytes: usize,
    /// Keystores decrypted at once during an import (default: cores - 1, at most 4).
    #[arg(long)]
    pub keymanager_decrypt_threads: Option<usize>,
}

impl KeymanagerArgs {
    /// The Keymanager API configuration (`None` without `--keymanager`).
    pub fn to_config(&self, datadir: &Path) -> Result<Option<KeymanagerConfig>> {
        let others_given = self.keymanager_address != IpAddr::V4(Ipv4Addr::LOCALHOST)
            || self.keymanager_port != DEFAULT_KEYMANAGER_PORT
            || self.keymanager_allow_non_loopback
            || self.keymanager_token_file.is_some()
            || self.keymanager_max_body_bytes != DEFAULT_KEYMANAGER_MAX_BODY_BYTES
            || self.keymanager_decrypt_threads.is_some();
        if !self.keymanager {
            if others_given {
                return Err(Error::Config(
                    "--keymanager-* flags were given without --keymanager".into(),
                ));
            }
            return Ok(None);
        }
        if !self.keymanager_address.is_loopback() && !self.keymanager_allow_non_loopback {
            return Err(Error::Config(format!(
                "--keymanager-address {} is not a loopback address: other hosts could reach \
                 the Keymanager API; add --keymanager-allow-non-loopback if that is intended",
                self.keymanager_address
            )));
        }
        if self.keymanager_max_body_bytes < 1024 {
            return Err(Error::Config(format!(
                "--keymanager-max-body-bytes {} is too small (at least 1024)",
                self.keymanager_max_body_bytes
            )));
        }
        let decrypt_threads = match self.keymanager_decrypt_threads {
            Some(0) => {
                return Err(Error::Config(
                    "--keymanager-decrypt-threads must be at least 1".into(),
                ));
            }
            Some(n) => n,
            None => default_decrypt_threads(),
        };
        Ok(Some(KeymanagerConfig {
            listen: SocketAddr::new(self.keymanager_address, self.keymanager_port),
            token_file: self
                .keymanager_token_file
                .clone()
                .unwrap_or_else(|| datadir.join(API_TOKEN_FILE)),
            max_body_bytes: self.keymanager_max_body_bytes,
            decrypt_threads,
        }))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        keymanager: KeymanagerArgs,
    }

    fn parse(
        args: &[&str],
    ) -> std::result::Result<Option<KeymanagerConfig>, crate::cli::ParseFailure> {
        let mut full = vec!["test"];
        full.extend_from_slice(args);
        let flags = Flags::try_parse_from(full)?;
        Ok(flags.keymanager.to_config(Path::new("/d"))?)
    }

    #[test]
    fn defaults_and_refusals() {
        assert_eq!(parse(&[]).unwrap(), None);
        let config = parse(&["--keymanager"]).unwrap().unwrap();
        assert_eq!(config.listen, "127.0.0.1:5062".parse().unwrap());
        assert_eq!(config.token_file, PathBuf::from("/d/api-token.txt"));
        assert_eq!(config.max_body_bytes, 64 << 20);
        assert!((1..=4).contains(&config.decrypt_threads));
        let ipv6 = parse(&["--keymanager", "--keymanager-address", "::1"])
            .unwrap()
            .unwrap();
        assert!(ipv6.listen.ip().is_loopback());

        let err = parse(&["--keymanager", "--keymanager-address", "0.0.0.0"]).unwrap_err();
        assert!(err.contains("--keymanager-allow-non-loopback"), "{err}");
        let open = parse(&[
            "--keymanager",
            "--keymanager-address",
            "0.0.0.0",
            "--keymanager-allow-non-loopback",
            "--keymanager-port",
            "9000",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(open.listen, "0.0.0.0:9000".parse().unwrap());

        let err = parse(&["--keymanager-port", "9000"]).unwrap_err();
        assert!(err.contains("without --keymanager"), "{err}");
        let err = parse(&["--keymanager", "--keymanager-decrypt-threads", "0"]).unwrap_err();
        assert!(err.contains("at least 1"), "{err}");
        let err = parse(&["--keymanager", "--keymanager-address", "nowhere"]).unwrap_err();
        assert!(err.contains("keymanager-address"), "{err}");
    }
}
