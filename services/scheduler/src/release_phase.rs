//! The release phase: a Procfile's `release:` command runs once for every new release (a
//! push, a config change, a rollback), before its rollout, in a container of the release with
//! its config (a database migration, say). The scheduler drives it like everything else: a
//! pending current release with a release command gets its phase container (labelled with
//! the release, so a restarted paasd adopts it instead of running the command twice); its
//! processes start only once the command exits 0; a failure fails the release, and the
//! previous one keeps serving meanwhile and after. The container is kept until the release
//! is decided, then removed. Waiters read the output as it comes (`Phases::lines_since`).

use crate::labels::{self, Slot};
use crate::scheduler::Scheduler;
use paas_runtime::{ContainerInfo, ContainerRuntime, ContainerSpec, RuntimeError};
use paas_store::{App, Release};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

/// The Procfile process type whose command is the release phase.
pub const RELEASE_PHASE: &str = "release";
/// Longest a release command may run.
const PHASE_LIMIT: Duration = Duration::from_secs(3600);
/// Where a failure's reason goes on to the command's last lines.
pub(crate) const LAST_LINES: &str = "; its last lines:\n";
/// Output lines kept per phase for waiters.
const MAX_LINES: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PhaseState {
    Running,
    Succeeded,
    /// Why, with the last lines the command printed.
    Failed(String),
}

#[derive(Debug)]
struct Phase {
    state: PhaseState,
    lines: Vec<String>,
    /// Unix ms when it ended: the release's health timeout counts from there.
    finished_ms: Option<i64>,
}

/// The release phases this paasd runs or ran, by release.
#[derive(Debug, Clone, Default)]
pub(crate) struct Phases(Arc<Mutex<HashMap<Uuid, Phase>>>);

impl Phases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Phase>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn state(&self, release: Uuid) -> Option<PhaseState> {
        self.lock().get(&release).map(|p| p.state.clone())
    }

    /// Marks the phase started; false when it already was.
    fn start(&self, release: Uuid) -> bool {
        let mut phases = self.lock();
        if phases.contains_key(&release) {
            return false;
        }
        phases.insert(
            release,
            Phase {
                state: PhaseState::Running,
                lines: Vec::new(),
                finished_ms: None,
            },
        );
        true
    }

    fn push_line(&self, release: Uuid, line: String) {
        if let Some(phase) = self.lock().get_mut(&release) {
            if phase.lines.len() < MAX_LINES {
                phase.lines.push(line);
            }
        }
    }

    fn finish(&self, release: Uuid, state: PhaseState) {
        if let Some(phase) = self.lock().get_mut(&release) {
            phase.state = state;
            phase.finished_ms = Some(crate::scheduler::now_ms());
        }
    }

    /// When the phase of `release` ended, if it did.
    pub(crate) fn finished_ms(&self, release: Uuid) -> Option<i64> {
        self.lock().get(&release).and_then(|p| p.finished_ms)
    }

    /// The output lines after the first `seen`.
    pub(crate) fn lines_since(&self, release: Uuid, seen: usize) -> Vec<String> {
        self.lock()
            .get(&release)
            .map(|p| p.lines.iter().skip(seen).cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets phases of releases that are decided.
    pub(crate) fn forget(&self, release: Uuid) {
        self.lock().remove(&release);
    }
}

impl Scheduler {
    /// Starts the release phase of `release` (current, pending, with a release command),
    /// adopting its container when one exists (a paasd restarted while it ran). Returns at
    /// once; the phase runs in a task of its own and wakes the loop when it ends.
    pub(crate) async fn start_release_phase(
        &self,
        app: &App,
        release: &Release,
        command: &str,
        existing: Option<&ContainerInfo>,
    ) -> Result<(), RuntimeError> {
        if !self.phases.start(release.id) {
            return Ok(());
        }
        let id = match existing {
            Some(c) => c.id.clone(),
            None => match self.create_phase_container(app, release, command).await {
                Ok(id) => id,
                Err(e) => {
                    self.phases.forget(release.id);
                    return Err(e);
                }
            },
        };
        tracing::info!(release = %format!("v{}", release.version), "running the release command");
        let (runtime, phases, wake, release_id, fresh) = (
            self.runtime.clone(),
            self.phases.clone(),
            self.wake_handle(),
            release.id,
            existing.is_none(),
        );
        tokio::spawn(async move {
            let state = run_phase(&runtime, &phases, release_id, &id, fresh).await;
            phases.finish(release_id, state);
            wake.notify_one();
        });
        Ok(())
    }

    async fn create_phase_container(
        &self,
        app: &App,
        release: &Release,
        command: &str,
    ) -> Result<String, RuntimeError> {
        let slot = Slot {
            process: RELEASE_PHASE.to_string(),
            index: 1,
        };
        let size = self
            .resized_types(app)
            .await
            .ok()
            .and_then(|mut sizes| sizes.remove(RELEASE_PHASE));
        let mut spec: ContainerSpec =
            self.process_spec(app, release, &slot, command, size.as_ref(), None);
        spec.labels
            .insert(labels::ROLE.to_string(), labels::ROLE_RELEASE.to_string());
        spec.name = Some(format!("{}.release.v{}", app.name, release.version));
        self.runtime
            .ensure_network(&self.config.app_network(&app.name))
            .await?;
        let id = match self.runtime.create_container(&spec).await {
            Err(RuntimeError::Conflict(_)) => {
                // A leftover of an earlier attempt that never started: replace it.
                if let Some(name) = &spec.name {
                    self.runtime.remove_container(name, Duration::ZERO).await?;
                }
                self.runtime.create_container(&spec).await?
            }
            other => other?,
        };
        Ok(id)
    }
}

/// Runs (or, adopted, waits for) the phase container and returns how it ended.
async fn run_phase(
    runtime: &Arc<dyn ContainerRuntime>,
    phases: &Phases,
    release: Uuid,
    id: &str,
    fresh: bool,
) -> PhaseState {
    if fresh {
        if let Err(e) = runtime.start_container(id).await {
            return PhaseState::Failed(format!("the release command could not start: {e}"));
        }
    }
    let (sink, mut lines) = mpsc::channel(64);
    let follow = {
        let (runtime, id) = (runtime.clone(), id.to_string());
        tokio::spawn(async move { runtime.follow_output(&id, sink).await })
    };
    let collect = async {
        while let Some(line) = lines.recv().await {
            phases.push_line(release, line);
        }
    };
    let ended = tokio::time::timeout(PHASE_LIMIT, async {
        let (code, ()) = tokio::join!(runtime.wait_container(id), collect);
        code
    })
    .await;
    follow.abort();
    let failure = match ended {
        Ok(Ok(0)) => return PhaseState::Succeeded,
        Ok(Ok(code)) => format!("the release command failed (exit code {code})"),
        Ok(Err(e)) => format!("the release command could not be followed: {e}"),
        Err(_) => {
            let _ = runtime.remove_container(id, Duration::ZERO).await;
            format!(
                "the release command did not finish within {} s",
                PHASE_LIMIT.as_secs()
            )
        }
    };
    let last = phases.lines_since(release, 0);
    let tail: Vec<&String> = last.iter().rev().take(20).rev().collect();
    if tail.is_empty() {
        PhaseState::Failed(failure)
    } else {
        let tail: Vec<&str> = tail.iter().map(|s| s.as_str()).collect();
        PhaseState::Failed(format!("{failure}{LAST_LINES}{}", tail.join("\n")))
    }
}

/// A shared handle on the loop's wake-up, for tasks that outlive a pass.
pub(crate) type WakeHandle = Arc<Notify>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_starts_once_and_keeps_its_output_for_waiters() {
        let phases = Phases::default();
        let r = Uuid::new_v4();
        assert!(phases.start(r));
        assert!(!phases.start(r), "a second start must not run it again");
        phases.push_line(r, "one".into());
        phases.push_line(r, "two".into());
        assert_eq!(phases.lines_since(r, 1), vec!["two".to_string()]);
        assert_eq!(phases.state(r), Some(PhaseState::Running));
        phases.finish(r, PhaseState::Succeeded);
        assert_eq!(phases.state(r), Some(PhaseState::Succeeded));
        phases.forget(r);
        assert_eq!(phases.state(r), None);
    }
}
