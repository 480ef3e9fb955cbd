//! A local anvil (the pinned Foundry 1.7.1 of `scripts/evm.sh install`) for tests, benchmarks and
//! development: Prague rules (EIP-2537), loopback only, an ephemeral port, stopped on drop.
//!
//! Invariants: the startup wait is bounded; anvil's output is drained by a named thread so it
//! never blocks on a full pipe; the child is killed and reaped on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;

use crate::error::{Error, Result};

/// Where `scripts/evm.sh install` puts the kit: `$POOLVC_EVM_CACHE`, else
/// `~/.cache/poolvc/evm-1.7.1`.
pub fn kit_dir() -> PathBuf {
    match std::env::var_os("POOLVC_EVM_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".cache/poolvc/evm-1.7.1")
        }
    }
}

/// The kit's anvil binary.
pub fn anvil_path() -> PathBuf {
    kit_dir().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// How long anvil may take to listen.
const STARTUP: Duration = Duration::from_secs(60);

/// A running anvil.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    endpoint: url::Url,
    keys: Vec<PrivateKeySigner>,
}

enum Line {
    Key(String),
    Listening(String),
}

impl Anvil {
    /// Starts the kit's anvil on 127.0.0.1 with an ephemeral port and Prague rules.
    pub fn spawn() -> Result<Self> {
        let path = anvil_path();
        if !path.is_file() {
            return Err(Error::Kit {
                message: format!(
                    "anvil not found at {}: run scripts/evm.sh install",
                    path.display()
                ),
            });
        }
        let mut child = Command::new(&path)
            .args(["--host", "127.0.0.1", "--port", "0", "--hardfork", "prague"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Kit {
                message: format!("cannot start {}: {e}", path.display()),
            })?;
        let stdout = child.stdout.take().ok_or_else(|| Error::Kit {
            message: "anvil has no stdout".to_owned(),
        })?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("anvil-output".to_owned())
            .spawn(move || {
                let mut in_keys = false;
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.starts_with("Private Keys") {
                        in_keys = true;
                    } else if in_keys && line.starts_with('(') {
                        if let Some(key) = line.split_whitespace().nth(1) {
                            let _ = tx.send(Line::Key(key.to_owned()));
                        }
                    } else if in_keys && !line.trim().is_empty() && !line.starts_with('=') {
                        in_keys = false;
                    }
                    if let Some(addr) = line.strip_prefix("Listening on ") {
                        let _ = tx.send(Line::Listening(addr.trim().to_owned()));
                    }
                }
            })
            .map_err(|e| Error::Kit {
                message: format!("cannot start the anvil output reader: {e}"),
            })?;
        let mut keys = Vec::new();
        let deadline = std::time::Instant::now() + STARTUP;
        let endpoint = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(Line::Key(key)) => {
                    keys.push(key.parse::<PrivateKeySigner>().map_err(|e| Error::Kit {
                        message: format!("anvil printed an unreadable dev key: {e}"),
                    })?)
                }
                Ok(Line::Listening(addr)) => break addr,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Error::Kit {
                        message: format!("anvil did not listen within {STARTUP:?}"),
                    });
                }
            }
        };
        let endpoint = url::Url::parse(&format!("http://{endpoint}")).map_err(|e| Error::Kit {
            message: format!("anvil's address {endpoint} is not a URL: {e}"),
        })?;
        if keys.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Kit {
                message: "anvil printed no dev keys".to_owned(),
            });
        }
        Ok(Self {
            child,
            endpoint,
            keys,
        })
    }

    /// Its JSON-RPC endpoint.
    pub fn endpoint(&self) -> url::Url {
        self.endpoint.clone()
    }

    /// Dev account `i`'s key (funded with 10,000 ETH).
    pub fn signer(&self, i: usize) -> PrivateKeySigner {
        self.keys[i % self.keys.len()].clone()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
