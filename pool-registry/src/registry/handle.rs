//! A hot-swappable registry: readers take the current `Arc<Registry>` without locking; a reload
//! validates the file first and keeps the old registry when the new one is invalid.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Registry;
use crate::error::{Error, Result};

/// What a successful reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file validated and differs: the new registry is live.
    Replaced,
    /// The file validated and is identical: nothing changed.
    Unchanged,
}

/// The live registry, shared by every service.
#[derive(Debug)]
pub struct RegistryHandle {
    path: PathBuf,
    current: ArcSwap<Registry>,
}

impl RegistryHandle {
    /// Loads the registry at `path`; fails when it is invalid.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let registry = Registry::load(&path)?;
        Ok(Self {
            path,
            current: ArcSwap::from_pointee(registry),
        })
    }

    /// The live registry.
    pub fn current(&self) -> Arc<Registry> {
        self.current.load_full()
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file. On any error the old registry stays live and the error is returned
    /// (and logged). Frame geometry cannot change at runtime: a file changing it is refused.
    pub fn reload(&self) -> Result<ReloadOutcome> {
        let result = Registry::load(&self.path).and_then(|new| {
            let old = self.current.load();
            if new.pool().frame != old.pool().frame {
                return Err(Error::ReloadRefused(format!(
                    "{}: frame geometry changed from {:?} to {:?}; frame indices would shift (restart with a migration plan instead)",
                    self.path.display(),
                    old.pool().frame,
                    new.pool().frame
                )));
            }
            // What signing and the withdrawal-credential checks rely on changes only with a
            // restart, so a half-edited file can never redirect rewards of a running node.
            let (o, n) = (old.pool(), new.pool());
            let fixed = [
                (
                    "withdrawal_credentials",
                    o.withdrawal_credentials != n.withdrawal_credentials,
                ),
                ("el_rewards_vault", o.el_rewards_vault != n.el_rewards_vault),
                (
                    "allow_other_fee_recipients",
                    o.allow_other_fee_recipients != n.allow_other_fee_recipients,
                ),
            ];
            if let Some((field, _)) = fixed.iter().find(|(_, changed)| *changed) {
                return Err(Error::ReloadRefused(format!(
                    "{}: pool.{field} changed; it takes effect only at a restart",
                    self.path.display()
                )));
            }
            if **old == new {
                return Ok(ReloadOutcome::Unchanged);
            }
            self.current.store(Arc::new(new));
            Ok(ReloadOutcome::Replaced)
        });
        match &result {
            Ok(outcome) => {
                tracing::info!(path = %self.path.display(), ?outcome, "registry reloaded")
            }
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "registry reload failed; keeping the previous registry")
            }
        }
        result
    }
}
