//! Registry hot reload: the registry file's directory is watched (editors and deploy tools
//! replace files by rename, which a watch on the file itself would miss), bursts of events
//! are coalesced, and SIGHUP forces a reload. Every reload goes through
//! [`RegistryHandle::reload`], which validates first and keeps the old registry on any error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use pool_registry::{RegistryHandle, ReloadOutcome};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::executor::{TaskExecutor, TaskKind};

/// The watcher's task name.
pub const REGISTRY_WATCH_TASK: &str = "registry-watch";

/// How long to wait for a burst of file events to end before reloading.
const SETTLE: Duration = Duration::from_millis(300);

/// Why a reload was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The file changed.
    FileChanged,
    /// SIGHUP.
    Signal,
}

/// Reloads the registry when its file changes or on SIGHUP.
pub struct RegistryWatcher {
    handle: Arc<RegistryHandle>,
}

impl std::fmt::Debug for RegistryWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryWatcher")
            .field("path", &self.handle.path())
            .finish()
    }
}

impl RegistryWatcher {
    /// A watcher of `handle`'s file.
    pub fn new(handle: Arc<RegistryHandle>) -> Self {
        Self { handle }
    }

    /// Spawns the task [`REGISTRY_WATCH_TASK`] (non-critical). Without file notifications (an
    /// unsupported file system) reloads still happen on SIGHUP.
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(REGISTRY_WATCH_TASK, TaskKind::NonCritical, self.run(token));
    }

    async fn run(self, token: CancellationToken) {
        let (sender, mut events) = mpsc::channel::<()>(1);
        let path = self.handle.path().to_path_buf();
        let _watcher = match watch_file(&path, sender) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot watch the registry file; reload it with SIGHUP");
                None
            }
        };
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP");
                None
            }
        };
        loop {
            let trigger = tokio::select! {
                () = token.cancelled() => return,
                Some(()) = events.recv() => Trigger::FileChanged,
                Some(()) = async {
                    match hangup.as_mut() {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                } => Trigger::Signal,
            };
            if trigger == Trigger::FileChanged {
                // Let the writer finish (several events per save), then drop the backlog.
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(SETTLE) => {}
                }
                while events.try_recv().is_ok() {}
            }
            let handle = self.handle.clone();
            // Parsing and validating is file I/O: off the async workers.
            let outcome = tokio::task::spawn_blocking(move || handle.reload()).await;
            match outcome {
                Ok(Ok(ReloadOutcome::Replaced)) => {
                    let registry = self.handle.current();
                    tracing::info!(
                        ?trigger,
                        operators = registry.operators().len(),
                        keys = registry.key_count(),
                        "registry changes apply to accounting from the next frame"
                    );
                }
                // Unchanged content, or a refused file: `reload` logged it.
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "registry reload task failed"),
            }
        }
    }
}

/// Watches the directory of `path` and signals `sender` on events concerning its file name.
fn watch_file(
    path: &std::path::Path,
    sender: mpsc::Sender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    let name = path.file_name().map(|n| n.to_os_string());
    let dir: PathBuf = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) && event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name);
        if relevant {
            // Full channel: a reload is already pending, which covers this event too.
            let _ = sender.try_send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}
