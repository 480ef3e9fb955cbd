//! The task executor: every task the client spawns goes through it, named.
//!
//! Invariants:
//! - every task has a name (shown in logs, in [`TaskExecutor::running_tasks`] and in shutdown
//!   reasons);
//! - a **critical** task must run until shutdown: if it panics, returns an error, or returns at
//!   all before shutdown was requested, the executor cancels the shutdown token and sends a
//!   [`ShutdownReason::Failure`] naming the task and the reason, so the process stops with a clear
//!   error instead of running without, say, its attestation service;
//! - a **non-critical** task's panic or error is logged and nothing else happens;
//! - shutdown is cooperative: tasks watch [`TaskExecutor::shutdown_token`] and return;
//!   [`TaskExecutor::wait_for_tasks`] waits for them (with a deadline) and names stragglers.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Whether a task's failure stops the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// Must run until shutdown; any exit before that shuts the process down.
    Critical,
    /// May end or fail; failures are logged.
    NonCritical,
}

/// Why the process is shutting down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownReason {
    /// An orderly shutdown (signal, finished command).
    Requested {
        /// Who asked (e.g. `SIGTERM`).
        by: String,
    },
    /// A critical task failed.
    Failure {
        /// The task's name.
        task: String,
        /// What happened (panic message, error, or unexpected exit).
        reason: String,
    },
}

impl std::fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShutdownReason::Requested { by } => write!(f, "shutdown requested by {by}"),
            ShutdownReason::Failure { task, reason } => {
                write!(f, "critical task {task} failed: {reason}")
            }
        }
    }
}

/// A blocking job panicked or was cancelled before finishing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task {task} did not complete: {reason}")]
pub struct TaskFailed {
    /// The task's name.
    pub task: String,
    /// The panic message or cancellation.
    pub reason: String,
}

/// Receives the first shutdown reason.
#[derive(Debug)]
pub struct ShutdownReceiver {
    rx: mpsc::UnboundedReceiver<ShutdownReason>,
}

impl ShutdownReceiver {
    /// Waits for a shutdown reason. If every executor handle is gone, that is an orderly
    /// shutdown by the executor's owner.
    pub async fn recv(&mut self) -> ShutdownReason {
        self.rx.recv().await.unwrap_or(ShutdownReason::Requested {
            by: "executor dropped".into(),
        })
    }
}

#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    running: Mutex<BTreeMap<u64, String>>,
}

/// Removes a task from the registry when its future ends (normally or by panic).
struct Registration {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.running.lock().remove(&self.id);
    }
}

/// Spawns named, monitored tasks on the tokio runtime. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TaskExecutor {
    handle: tokio::runtime::Handle,
    token: CancellationToken,
    tracker: TaskTracker,
    shutdown_tx: mpsc::UnboundedSender<ShutdownReason>,
    registry: Arc<Registry>,
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

impl TaskExecutor {
    /// An executor on the current tokio runtime, and the receiver of its shutdown reasons.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new() -> (Self, ShutdownReceiver) {
        Self::with_handle(tokio::runtime::Handle::current())
    }

    /// An executor spawning on `handle`.
    pub fn with_handle(handle: tokio::runtime::Handle) -> (Self, ShutdownReceiver) {
        let (shutdown_tx, rx) = mpsc::unbounded_channel();
        let executor = Self {
            handle,
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            shutdown_tx,
            registry: Arc::new(Registry::default()),
        };
        (executor, ShutdownReceiver { rx })
    }

    /// The token every long-running task watches to know when to stop.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Begins an orderly shutdown: cancels the token and reports `reason`.
    pub fn shutdown(&self, reason: ShutdownReason) {
        self.token.cancel();
        // The receiver may be gone when the owner already stopped listening; nothing to tell.
        let _ = self.shutdown_tx.send(reason);
    }

    /// Names of the tasks currently running, sorted by spawn order.
    pub fn running_tasks(&self) -> Vec<String> {
        self.registry.running.lock().values().cloned().collect()
    }

    fn register(&self, name: &str) -> Registration {
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        self.registry.running.lock().insert(id, name.to_owned());
        Registration {
            registry: self.registry.clone(),
            id,
        }
    }

    /// Reports the outcome of a task according to its kind.
    fn report(&self, name: &str, kind: TaskKind, failure: Option<String>) {
        match (kind, failure) {
            (TaskKind::Critical, Some(reason)) => {
                tracing::error!(task = name, %reason, "critical task failed, shutting down");
                self.shutdown(ShutdownReason::Failure {
                    task: name.to_owned(),
                    reason,
                });
            }
            (TaskKind::Critical, None) if !self.token.is_cancelled() => {
                let reason = "exited before shutdown was requested".to_owned();
                tracing::error!(task = name, %reason, "critical task stopped, shutting down");
                self.shutdown(ShutdownReason::Failure {
                    task: name.to_owned(),
                    reason,
                });
            }
            (TaskKind::Critical, None) => tracing::debug!(task = name, "task stopped"),
            (TaskKind::NonCritical, Some(reason)) => {
                tracing::error!(task = name, %reason, "task failed");
            }
            (TaskKind::NonCritical, None) => tracing::debug!(task = name, "task finished"),
        }
    }

    /// Spawns a named task.
    pub fn spawn<F>(&self, name: impl Into<String>, kind: TaskKind, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_fallible(name, kind, future.map(Ok::<(), std::convert::Infallible>));
    }

    /// Spawns a named task whose error is reported like a panic.
    pub fn spawn_fallible<F, E>(&self, name: impl Into<String>, kind: TaskKind, future: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let name = name.into();
        let registration = self.register(&name);
        let executor = self.clone();
        let task = async move {
            let _registration = registration;
            let failure = match AssertUnwindSafe(future).catch_unwind().await {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(format!("returned an error: {error}")),
                Err(payload) => Some(format!("panicked: {}", panic_message(payload.as_ref()))),
            };
            executor.report(&name, kind, failure);
        };
        self.tracker.spawn_on(task, &self.handle);
    }

    /// Runs CPU-bound work on the blocking pool under a name; a panic is returned as an error.
    pub fn spawn_blocking<F, T>(
        &self,
        name: impl Into<String>,
        job: F,
    ) -> impl Future<Output = Result<T, TaskFailed>> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = name.into();
        let registration = self.register(&name);
        let handle = self.tracker.spawn_blocking_on(
            move || {
                let _registration = registration;
                job()
            },
            &self.handle,
        );
        async move {
            handle.await.map_err(|error| {
                let reason = if error.is_panic() {
                    format!("panicked: {}", panic_message(error.into_panic().as_ref()))
                } else {
                    "cancelled".to_owned()
                };
                TaskFailed { task: name, reason }
            })
        }
    }

    /// Waits up to `deadline` for every spawned task to finish; returns the names of those still
    /// running (empty when all stopped).
    pub async fn wait_for_tasks(&self, deadline: Duration) -> Vec<String> {
        self.tracker.close();
        match tokio::time::timeout(deadline, self.tracker.wait()).await {
            Ok(()) => Vec::new(),
            Err(_) => self.running_tasks(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn until_cancelled(token: CancellationToken) {
        token.cancelled().await;
    }

    #[tokio::test]
    async fn panic_in_critical_task_shuts_down_with_its_name() {
        let (executor, mut shutdown) = TaskExecutor::new();
        executor.spawn(
            "healthy",
            TaskKind::Critical,
            until_cancelled(executor.shutdown_token()),
        );
        executor.spawn("attestation-service", TaskKind::Critical, async {
            panic!("signer unavailable");
        });
        let reason = shutdown.recv().await;
        assert_eq!(
            reason,
            ShutdownReason::Failure {
                task: "attestation-service".into(),
                reason: "panicked: signer unavailable".into(),
            }
        );
        assert!(reason.to_string().contains("attestation-service"));
        assert!(executor.is_shutting_down());
        assert!(
            executor
                .wait_for_tasks(Duration::from_secs(5))
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn critical_error_and_early_exit_are_failures() {
        let (executor, mut shutdown) = TaskExecutor::new();
        executor.spawn_fallible("duties", TaskKind::Critical, async {
            Err::<(), _>("beacon node returned garbage")
        });
        match shutdown.recv().await {
            ShutdownReason::Failure { task, reason } => {
                assert_eq!(task, "duties");
                assert!(reason.contains("garbage"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }

        let (executor, mut shutdown) = TaskExecutor::new();
        executor.spawn("clock", TaskKind::Critical, async {});
        match shutdown.recv().await {
            ShutdownReason::Failure { task, reason } => {
                assert_eq!(task, "clock");
                assert!(reason.contains("exited"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn non_critical_failures_do_not_shut_down() {
        let (executor, mut shutdown) = TaskExecutor::new();
        executor.spawn("report", TaskKind::NonCritical, async {
            panic!("ignored");
        });
        executor.spawn("one-shot", TaskKind::NonCritical, async {});
        let blocking = executor.spawn_blocking("bls", || -> u32 { panic!("bad point") });
        let err = blocking.await.unwrap_err();
        assert_eq!(err.task, "bls");
        assert!(err.reason.contains("bad point"), "{err}");
        assert_eq!(executor.spawn_blocking("sum", || 2 + 2).await.unwrap(), 4);
        assert!(
            executor
                .wait_for_tasks(Duration::from_secs(5))
                .await
                .is_empty()
        );
        assert!(!executor.is_shutting_down());
        // Only an explicit request ends it.
        executor.shutdown(ShutdownReason::Requested { by: "test".into() });
        assert_eq!(
            shutdown.recv().await,
            ShutdownReason::Requested { by: "test".into() }
        );
    }

    #[tokio::test]
    async fn orderly_shutdown_waits_and_names_stragglers() {
        let (executor, _shutdown) = TaskExecutor::new();
        executor.spawn(
            "polite",
            TaskKind::Critical,
            until_cancelled(executor.shutdown_token()),
        );
        executor.spawn("stubborn", TaskKind::NonCritical, async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        assert_eq!(executor.running_tasks(), vec!["polite", "stubborn"]);
        executor.shutdown(ShutdownReason::Requested {
            by: "SIGTERM".into(),
        });
        let left = executor.wait_for_tasks(Duration::from_millis(200)).await;
        assert_eq!(left, vec!["stubborn".to_owned()]);
    }
}
