//! The release phase: a Procfile's `release:` command runs once for a new pushed release,
//! before its rollout, in a container of the new image with the release's config (a database
//! migration, say). Its output goes to the push; if it fails, the release is not deployed.

use crate::labels::{self, Slot};
use crate::scheduler::Scheduler;
use paas_runtime::RuntimeError;
use paas_store::{App, Release, ReleaseStatus};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The Procfile process type whose command is the release phase.
pub const RELEASE_PHASE: &str = "release";

#[derive(Debug, thiserror::Error)]
pub enum ReleasePhaseError {
    #[error("the release command failed (exit code {0})")]
    Failed(i64),
    #[error("the release command did not finish within {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Scheduler(#[from] crate::SchedulerError),
}

impl Scheduler {
    /// Runs `command` in a container of `image` with `config`, as the app's processes run
    /// (same user, limits, network and launcher), sending its output lines to `out`. The
    /// container is removed when it ends, also when this future is dropped.
    pub async fn run_release_phase(
        &self,
        app: &App,
        image: &str,
        command: &str,
        config: &BTreeMap<String, String>,
        limit: Duration,
        out: &mpsc::Sender<String>,
    ) -> Result<(), ReleasePhaseError> {
        // Not a release yet: it is recorded only once this phase succeeds.
        let release = Release {
            id: Uuid::new_v4(),
            app_id: app.id,
            version: 0,
            image: image.to_string(),
            process_types: BTreeMap::new(),
            config: config.clone(),
            description: String::new(),
            user_id: None,
            status: ReleaseStatus::Pending,
            created_at: 0,
        };
        let slot = Slot {
            process: RELEASE_PHASE.to_string(),
            index: 1,
        };
        let size = self.resized_types(app).await?.remove(RELEASE_PHASE);
        let mut spec = self.process_spec(app, &release, &slot, command, size.as_ref(), None);
        spec.labels
            .insert(labels::ROLE.to_string(), labels::ROLE_RELEASE.to_string());
        spec.labels.remove(labels::VERSION);
        spec.name = Some(format!(
            "{}.release.{}",
            app.name,
            &release.id.simple().to_string()[..12]
        ));
        self.runtime
            .ensure_network(&self.config.app_network(&app.name))
            .await?;
        let id = self.runtime.create_container(&spec).await?;
        let guard = RemoveOnDrop {
            runtime: Some(self.runtime.clone()),
            id: id.clone(),
        };
        let result = async {
            self.runtime.start_container(&id).await?;
            let (lines, mut incoming) = mpsc::channel(64);
            let follow = {
                let (runtime, id) = (self.runtime.clone(), id.clone());
                tokio::spawn(async move { runtime.follow_output(&id, lines).await })
            };
            let forward = async {
                while let Some(line) = incoming.recv().await {
                    let _ = out.send(format!("       {line}")).await;
                }
            };
            let code = tokio::time::timeout(limit, async {
                let (code, ()) = tokio::join!(self.runtime.wait_container(&id), forward);
                code
            })
            .await;
            follow.abort();
            match code.map_err(|_| ReleasePhaseError::TimedOut(limit))?? {
                0 => Ok(()),
                code => Err(ReleasePhaseError::Failed(code)),
            }
        }
        .await;
        guard.remove().await;
        result
    }
}

/// Removes the release phase's container when it ends, and when the deploy is cancelled.
struct RemoveOnDrop {
    runtime: Option<std::sync::Arc<dyn paas_runtime::ContainerRuntime>>,
    id: String,
}

impl RemoveOnDrop {
    async fn remove(mut self) {
        if let Some(runtime) = self.runtime.take() {
            if let Err(e) = runtime.remove_container(&self.id, Duration::ZERO).await {
                tracing::warn!("could not remove the release phase's container: {e}");
            }
        }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            let id = std::mem::take(&mut self.id);
            tokio::spawn(async move {
                let _ = runtime.remove_container(&id, Duration::ZERO).await;
            });
        }
    }
}
