//! What the supervisor asks of a Swarm (issue 11): the tasks of this instance's services, one
//! task by id, and one task's output from a cursor on. `SwarmRuntime` is the real one; the
//! supervisor's tests use a fake, so its logic runs without a Swarm.

use paas_runtime::swarm::{SwarmError, SwarmProcess, SwarmRuntime};
use paas_runtime::LogLine;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;

/// A boxed future, so the trait stays object-safe without a macro.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The Swarm as the log supervisor sees it.
pub trait SwarmTasks: Send + Sync + 'static {
    /// The tasks Swarm wants running of the services carrying every given label (each with
    /// its slot, state and its container's labels).
    fn list_tasks<'a>(
        &'a self,
        labels: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<Vec<SwarmProcess>, SwarmError>>;

    /// One task, also once Swarm no longer wants it running; `None` once forgotten.
    fn inspect_task<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SwarmProcess>, SwarmError>>;

    /// Sends the task's lines after engine time `since_nanos` (all when `None`) to `sink`,
    /// as long as the future is polled (the stream need not end with the task).
    fn follow_task<'a>(
        &'a self,
        task_id: &'a str,
        since_nanos: Option<i64>,
        sink: mpsc::Sender<LogLine>,
    ) -> BoxFuture<'a, Result<(), SwarmError>>;
}

impl SwarmTasks for SwarmRuntime {
    fn list_tasks<'a>(
        &'a self,
        labels: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<Vec<SwarmProcess>, SwarmError>> {
        Box::pin(self.list_processes(labels))
    }

    fn inspect_task<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SwarmProcess>, SwarmError>> {
        Box::pin(SwarmRuntime::inspect_task(self, task_id))
    }

    fn follow_task<'a>(
        &'a self,
        task_id: &'a str,
        since_nanos: Option<i64>,
        sink: mpsc::Sender<LogLine>,
    ) -> BoxFuture<'a, Result<(), SwarmError>> {
        Box::pin(self.follow_task_logs(task_id, since_nanos, sink))
    }
}
