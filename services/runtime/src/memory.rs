//! `MemoryRuntime`: an in-memory fake of the container engine, for fast tests of what sits
//! above the runtime boundary (the API, the console's pages and forms, the scheduler's
//! bookkeeping) without Docker. Containers are records: created, started, renamed, listed by
//! label, inspected and removed, with the engine's events (started, died) sent to watchers;
//! `crash` makes one die as an app would. Nothing runs in them: no output, no files, no
//! address to answer HTTP on, and image builds are refused. Pushes to a registry are recorded
//! (`pushes`) and can be made to fail (`refuse_pushes`). The real boundary is tested
//! against Docker (`DockerRuntime`); this fake never replaces those tests.

use crate::{
    Attached, ContainerEvent, ContainerEventKind, ContainerInfo, ContainerRuntime, ContainerSpec,
    ContainerState, DockerBuild, ImageConfig, ImageDetails, LogLine, Result, RuntimeError,
    StackConfig, StackImages,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    containers: BTreeMap<String, ContainerInfo>,
    images: BTreeSet<String>,
    networks: BTreeSet<String>,
    /// `(image, registry name)` of every push, in order.
    pushes: Vec<(String, String)>,
    /// Set by `refuse_pushes`: the registry's error for every push.
    push_error: Option<String>,
    watchers: Vec<(BTreeMap<String, String>, mpsc::Sender<ContainerEvent>)>,
}

/// The in-memory engine. Cheap to create; every instance is empty.
#[derive(Debug, Default)]
pub struct MemoryRuntime {
    state: Mutex<State>,
}

fn missing(id: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("no container {id}"))
}

fn runs_nothing<T>(what: &str) -> Result<T> {
    Err(RuntimeError::Docker(format!(
        "the in-memory runtime cannot {what}: nothing runs in it"
    )))
}

fn has_labels(info: &ContainerInfo, labels: &BTreeMap<String, String>) -> bool {
    labels.iter().all(|(k, v)| info.labels.get(k) == Some(v))
}

impl MemoryRuntime {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `image` exist, as if it had been pulled or built.
    pub fn add_image(&self, image: &str) {
        self.lock().images.insert(image.to_string());
    }

    /// `(image, registry name)` of every successful `push_image`, in order.
    pub fn pushes(&self) -> Vec<(String, String)> {
        self.lock().pushes.clone()
    }

    /// Every later `push_image` fails with `message` (as an unreachable registry would);
    /// `None` makes pushes succeed again.
    pub fn refuse_pushes(&self, message: Option<&str>) {
        self.lock().push_error = message.map(str::to_string);
    }

    /// Every container, as `docker ps -a` would list them.
    pub fn containers(&self) -> Vec<ContainerInfo> {
        self.lock().containers.values().cloned().collect()
    }

    /// The container's main process ends with `exit_code`, as a crash would.
    pub fn crash(&self, id: &str, exit_code: i64) -> Result<()> {
        let mut state = self.lock();
        let info = state.containers.get_mut(id).ok_or_else(|| missing(id))?;
        info.state = ContainerState::Exited;
        info.ip = None;
        let info = info.clone();
        notify(
            &mut state,
            &info,
            ContainerEventKind::Died {
                exit_code: Some(exit_code),
            },
        );
        Ok(())
    }
}

/// Sends an event to every watcher whose labels the container carries; gone watchers are
/// dropped, full ones miss the event (as a slow reader of Docker's stream would).
fn notify(state: &mut State, info: &ContainerInfo, kind: ContainerEventKind) {
    state.watchers.retain(|(labels, sink)| {
        if has_labels(info, labels) {
            let _ = sink.try_send(ContainerEvent {
                id: info.id.clone(),
                kind,
            });
        }
        !sink.is_closed()
    });
}

#[async_trait]
impl ContainerRuntime for MemoryRuntime {
    async fn ensure_network(&self, name: &str) -> Result<()> {
        self.lock().networks.insert(name.to_string());
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.lock().networks.remove(name);
        Ok(())
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>> {
        Ok(self
            .lock()
            .containers
            .values()
            .filter(|info| has_labels(info, labels))
            .cloned()
            .collect())
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let mut state = self.lock();
        if !state.images.contains(&spec.image) {
            return Err(RuntimeError::NotFound(format!("no image {}", spec.image)));
        }
        if let Some(name) = &spec.name {
            if state.containers.values().any(|c| &c.name == name) {
                return Err(RuntimeError::Conflict(format!("name {name} is taken")));
            }
        }
        state.next_id += 1;
        let id = format!("mem{:08}", state.next_id);
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let info = ContainerInfo {
            id: id.clone(),
            name: spec.name.clone().unwrap_or_else(|| id.clone()),
            labels: spec.labels.clone(),
            state: ContainerState::Created,
            ip: None,
            created,
        };
        state.containers.insert(id.clone(), info);
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        let info = state.containers.get_mut(id).ok_or_else(|| missing(id))?;
        info.state = ContainerState::Running;
        let info = info.clone();
        notify(&mut state, &info, ContainerEventKind::Started);
        Ok(())
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let mut state = self.lock();
        if state
            .containers
            .values()
            .any(|c| c.name == name && c.id != id)
        {
            return Err(RuntimeError::Conflict(format!("name {name} is taken")));
        }
        let info = state.containers.get_mut(id).ok_or_else(|| missing(id))?;
        info.name = name.to_string();
        Ok(())
    }

    async fn remove_container(&self, id: &str, _grace: Duration) -> Result<()> {
        let mut state = self.lock();
        if let Some(info) = state.containers.remove(id) {
            if info.state == ContainerState::Running {
                notify(
                    &mut state,
                    &info,
                    ContainerEventKind::Died {
                        exit_code: Some(143),
                    },
                );
            }
        }
        Ok(())
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerInfo>> {
        Ok(self.lock().containers.get(id).cloned())
    }

    async fn upload_tar(&self, _: &str, _: &str, _: Vec<u8>) -> Result<()> {
        runs_nothing("take files")
    }

    async fn download_tar(&self, _: &str, _: &str) -> Result<Vec<u8>> {
        runs_nothing("give files")
    }

    async fn upload_tar_file(&self, _: &str, _: &str, _: &Path) -> Result<()> {
        runs_nothing("take files")
    }

    async fn download_tar_file(&self, _: &str, _: &str, _: &Path) -> Result<()> {
        runs_nothing("give files")
    }

    async fn follow_output(&self, id: &str, _: mpsc::Sender<String>) -> Result<()> {
        self.inspect_container(id)
            .await?
            .ok_or_else(|| missing(id))?;
        Ok(())
    }

    async fn follow_logs(&self, id: &str, _: Option<i64>, _: mpsc::Sender<LogLine>) -> Result<()> {
        self.inspect_container(id)
            .await?
            .ok_or_else(|| missing(id))?;
        Ok(())
    }

    async fn wait_container(&self, _: &str) -> Result<i64> {
        runs_nothing("wait for a process")
    }

    async fn attach_container(&self, _: &str) -> Result<Attached> {
        runs_nothing("attach")
    }

    async fn resize_tty(&self, _: &str, _: u16, _: u16) -> Result<()> {
        Ok(())
    }

    async fn was_oom_killed(&self, _: &str) -> Result<bool> {
        Ok(false)
    }

    async fn last_output(&self, _: &str, _: usize) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn watch_events(
        &self,
        labels: &BTreeMap<String, String>,
        sink: mpsc::Sender<ContainerEvent>,
    ) -> Result<()> {
        self.lock().watchers.push((labels.clone(), sink.clone()));
        sink.closed().await;
        Ok(())
    }

    async fn commit(&self, id: &str, tag: &str, _: &ImageConfig) -> Result<()> {
        self.inspect_container(id)
            .await?
            .ok_or_else(|| missing(id))?;
        self.add_image(tag);
        Ok(())
    }

    async fn image_exists(&self, image: &str) -> Result<bool> {
        Ok(self.lock().images.contains(image))
    }

    async fn build_image(&self, _: &Path, _: &DockerBuild, _: mpsc::Sender<String>) -> Result<()> {
        runs_nothing("build images")
    }

    async fn image_details(&self, image: &str) -> Result<Option<ImageDetails>> {
        Ok(self
            .lock()
            .images
            .contains(image)
            .then(ImageDetails::default))
    }

    async fn image_size(&self, image: &str) -> Result<Option<i64>> {
        Ok(self.lock().images.contains(image).then_some(0))
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        self.lock().images.remove(image);
        Ok(())
    }

    async fn remove_volume(&self, _: &str) -> Result<()> {
        Ok(())
    }

    /// Records the push and tags the image with its registry name, as `DockerRuntime` does;
    /// a missing image is `NotFound`.
    async fn push_image(&self, image: &str, registry: &str) -> Result<String> {
        let name = crate::docker::registry_name(image, registry)?.to_string();
        let mut state = self.lock();
        if !state.images.contains(image) {
            return Err(RuntimeError::NotFound(format!("no image {image}")));
        }
        if let Some(message) = &state.push_error {
            return Err(RuntimeError::Docker(format!(
                "pushing {image} to {registry} as {name} failed: {message}"
            )));
        }
        state.images.insert(name.clone());
        state.pushes.push((image.to_string(), name.clone()));
        Ok(name)
    }

    async fn ensure_stacks(&self, _: &StackConfig, _: mpsc::Sender<String>) -> Result<StackImages> {
        runs_nothing("build stacks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, app: &str) -> ContainerSpec {
        ContainerSpec {
            name: Some(name.to_string()),
            image: "img".to_string(),
            labels: BTreeMap::from([("paas.app".to_string(), app.to_string())]),
            ..ContainerSpec::default()
        }
    }

    #[tokio::test]
    async fn containers_are_created_listed_by_label_renamed_and_removed() {
        let rt = MemoryRuntime::new();
        assert!(
            rt.create_container(&spec("a.web.1", "a")).await.is_err(),
            "no image yet"
        );
        rt.add_image("img");
        let a = rt.create_container(&spec("a.web.1", "a")).await.unwrap();
        let b = rt.create_container(&spec("b.web.1", "b")).await.unwrap();
        assert!(matches!(
            rt.create_container(&spec("a.web.1", "a")).await,
            Err(RuntimeError::Conflict(_))
        ));
        rt.start_container(&a).await.unwrap();
        let only_a = BTreeMap::from([("paas.app".to_string(), "a".to_string())]);
        let listed = rt.list_containers(&only_a).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].state, ContainerState::Running);
        assert!(matches!(
            rt.rename_container(&a, "b.web.1").await,
            Err(RuntimeError::Conflict(_))
        ));
        rt.rename_container(&a, "a.web.1-old").await.unwrap();
        assert_eq!(
            rt.inspect_container(&a).await.unwrap().unwrap().name,
            "a.web.1-old"
        );
        rt.remove_container(&a, Duration::ZERO).await.unwrap();
        assert!(rt.inspect_container(&a).await.unwrap().is_none());
        assert_eq!(rt.containers().len(), 1);
        assert!(rt.inspect_container(&b).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn watchers_hear_starts_and_deaths_of_their_containers_only() {
        let rt = std::sync::Arc::new(MemoryRuntime::new());
        rt.add_image("img");
        let (tx, mut rx) = mpsc::channel(16);
        let only_a = BTreeMap::from([("paas.app".to_string(), "a".to_string())]);
        let watcher = {
            let rt = rt.clone();
            tokio::spawn(async move { rt.watch_events(&only_a, tx).await })
        };
        tokio::task::yield_now().await;
        while rt.lock().watchers.is_empty() {
            tokio::task::yield_now().await;
        }
        let a = rt.create_container(&spec("a.web.1", "a")).await.unwrap();
        let b = rt.create_container(&spec("b.web.1", "b")).await.unwrap();
        rt.start_container(&b).await.unwrap();
        rt.start_container(&a).await.unwrap();
        rt.crash(&a, 3).unwrap();
        let first = rx.recv().await.unwrap();
        assert_eq!(
            (first.id.as_str(), first.kind),
            (a.as_str(), ContainerEventKind::Started)
        );
        let second = rx.recv().await.unwrap();
        assert_eq!(second.kind, ContainerEventKind::Died { exit_code: Some(3) });
        assert!(rx.try_recv().is_err(), "nothing about b");
        drop(rx);
        // A closed sink ends the watch.
        tokio::time::timeout(Duration::from_secs(1), watcher)
            .await
            .expect("the watch ends")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn pushes_are_recorded_under_the_registry_name() {
        let rt = MemoryRuntime::new();
        let missing = rt.push_image("paas-x/app:build-1", "10.0.0.1:5000").await;
        assert!(
            matches!(missing, Err(RuntimeError::NotFound(_))),
            "{missing:?}"
        );
        rt.add_image("paas-x/app:build-1");
        let name = rt
            .push_image("paas-x/app:build-1", "10.0.0.1:5000")
            .await
            .expect("pushed");
        assert_eq!(name, "10.0.0.1:5000/paas-x/app:build-1");
        assert!(rt.image_exists(&name).await.expect("answers"));
        assert_eq!(
            rt.pushes(),
            vec![("paas-x/app:build-1".to_string(), name.clone())]
        );
        rt.refuse_pushes(Some("connection refused"));
        let refused = rt
            .push_image("paas-x/app:build-1", "10.0.0.1:5000")
            .await
            .expect_err("refused")
            .to_string();
        assert!(refused.contains("connection refused"), "{refused}");
        assert_eq!(rt.pushes().len(), 1);
    }
}
