//! Named tasks: the validator spawns the committee's tasks through its own executor (which
//! names and monitors every task) by implementing [`TaskSpawner`]; [`TokioSpawner`] is the
//! plain runtime with a log line when a task ends.

use futures::future::BoxFuture;

/// Spawns long-lived, named tasks.
pub trait TaskSpawner: Send + Sync {
    /// Runs `task` under `name` until it completes.
    fn spawn(&self, name: &'static str, task: BoxFuture<'static, ()>);
}

/// Spawns on the current tokio runtime and logs each task's end.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSpawner;

impl TaskSpawner for TokioSpawner {
    fn spawn(&self, name: &'static str, task: BoxFuture<'static, ()>) {
        tokio::spawn(async move {
            task.await;
            tracing::debug!(task = name, "task ended");
        });
    }
}
