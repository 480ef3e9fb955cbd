//! Reloading the keys in the background (`POST /reload`, SIGHUP) and its status
//! (`GET /reload`), as the specification describes: one reload at a time, a request while one
//! runs is refused (409), the status says whether the last one completed, completed with
//! keystores that failed to load, or failed.
//!
//! Invariant: the status is `running` from the moment a reload is accepted until it ends, so
//! two reloads never overlap.

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::keys::Keys;
use crate::observer::SignerObserver;

/// The state of the reload operation (the specification's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadState {
    /// No reload since start.
    Idle,
    /// A reload is in progress.
    Running,
    /// The last reload succeeded.
    Completed,
    /// The last reload succeeded, but some keystores failed to load.
    CompletedWithErrors,
    /// The last reload failed (the keystores could not be read, or slashing protection failed).
    Failed,
}

impl ReloadState {
    /// The specification's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReloadState::Idle => "idle",
            ReloadState::Running => "running",
            ReloadState::Completed => "completed",
            ReloadState::CompletedWithErrors => "completed_with_errors",
            ReloadState::Failed => "failed",
        }
    }
}

/// The reload status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadStatus {
    /// The state.
    pub state: ReloadState,
    /// When the last reload started or ended.
    pub last_operation: Option<SystemTime>,
    /// Why the last reload failed or what failed to load.
    pub last_error: Option<String>,
}

/// A reload was asked while one runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a reload operation is already in progress")]
pub struct AlreadyRunning;

/// Runs reloads one at a time.
pub struct Reloader {
    keys: Arc<Keys>,
    observer: Arc<dyn SignerObserver>,
    status: Mutex<ReloadStatus>,
    trigger: Notify,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("status", &*self.status.lock())
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A reloader of `keys`.
    pub fn new(keys: Arc<Keys>, observer: Arc<dyn SignerObserver>) -> Self {
        Self {
            keys,
            observer,
            status: Mutex::new(ReloadStatus {
                state: ReloadState::Idle,
                last_operation: None,
                last_error: None,
            }),
            trigger: Notify::new(),
        }
    }

    /// The current status.
    pub fn status(&self) -> ReloadStatus {
        self.status.lock().clone()
    }

    /// Starts a reload in the background (the task of [`Reloader::run`] performs it).
    pub fn request(&self) -> Result<(), AlreadyRunning> {
        {
            let mut status = self.status.lock();
            if status.state == ReloadState::Running {
                return Err(AlreadyRunning);
            }
            *status = ReloadStatus {
                state: ReloadState::Running,
                last_operation: Some(SystemTime::now()),
                last_error: None,
            };
        }
        self.trigger.notify_one();
        Ok(())
    }

    /// Performs the reloads requested, until `shutdown`. Run it once, as its own task.
    pub async fn run(&self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.trigger.notified() => {}
            }
            let (state, error) = match self.keys.reload().await {
                Ok(summary) => {
                    tracing::info!(
                        keys = summary.keys,
                        added = summary.added,
                        removed = summary.removed,
                        failed = summary.errors,
                        "keys reloaded"
                    );
                    self.observer.on_keys(summary.keys);
                    if summary.errors == 0 {
                        (ReloadState::Completed, None)
                    } else {
                        (
                            ReloadState::CompletedWithErrors,
                            Some(format!(
                                "Reload completed with {} keystore loading error(s)",
                                summary.errors
                            )),
                        )
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "key reload failed; the keys held are unchanged");
                    (ReloadState::Failed, Some(format!("Reload failed: {error}")))
                }
            };
            *self.status.lock() = ReloadStatus {
                state,
                last_operation: Some(SystemTime::now()),
                last_error: error,
            };
        }
    }
}

/// `time` as RFC 3339 UTC with whole seconds (`2025-12-10T10:30:00Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), after H. Hinnant.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_dates() {
        let at = |s: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_765_362_600), "2025-12-10T10:30:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
