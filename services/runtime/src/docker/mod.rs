//! `DockerRuntime`: the `ContainerRuntime` implementation over the Docker Engine API (bollard,
//! local Unix socket, API version negotiated with the engine). The trait methods delegate to
//! the submodules: containers and networks, images and volumes, log following, and the stack
//! bootstrap.

mod attach;
mod build;
mod containers;
mod convert;
mod errors;
mod events;
mod follow_logs;
mod images;
mod logs;
mod registry;
mod stack_build;
mod stats;

pub use build::DockerBuild;
pub(crate) use registry::registry_name;

use crate::spec::{ContainerEvent, ContainerInfo, ContainerSpec, ImageConfig, ImageDetails};
use crate::stacks::{StackConfig, StackImages};
use crate::subnets::SubnetPool;
use crate::{ContainerRuntime, Result, RuntimeError};
use async_trait::async_trait;
use bollard::Docker;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Time allowed for the engine to answer the first request (version negotiation).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the engine to answer an ordinary request (headers; streams such as logs
/// and waits then run as long as they need).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Time allowed for slow requests: stop with a grace period, commit, import, archive copies.
const SLOW_REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The Docker engine on the local Unix socket (`DOCKER_HOST` when it is a `unix://` address).
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    docker: Docker,
    /// Same connection pool with a longer request timeout.
    slow: Docker,
    /// Serializes `ensure_network` in this process: the engine's duplicate-name check is not
    /// atomic, and two concurrent creates could make two networks of one name.
    network_lock: Arc<tokio::sync::Mutex<()>>,
    /// Where the subnets of new networks come from.
    subnets: SubnetPool,
}

impl DockerRuntime {
    /// Connects to the local engine and negotiates the API version (the engine may be older
    /// than bollard's default, e.g. API 1.41). Fails with `Unavailable` when the engine does
    /// not answer.
    pub async fn connect() -> Result<Self> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| RuntimeError::Unavailable(e.to_string()))?
            .with_timeout(CONNECT_TIMEOUT);
        Self::negotiated(docker).await
    }

    /// Connects to the engine at the Unix socket `socket` (a path, or a `unix://` address)
    /// instead of `DOCKER_HOST`, e.g. one node of a test Swarm.
    pub async fn connect_to(socket: &str) -> Result<Self> {
        let path = socket.strip_prefix("unix://").unwrap_or(socket);
        let docker = Docker::connect_with_unix(
            path,
            CONNECT_TIMEOUT.as_secs(),
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| RuntimeError::Unavailable(format!("{path}: {e}")))?;
        Self::negotiated(docker).await
    }

    /// Negotiates the API version and sets the request timeouts.
    async fn negotiated(docker: Docker) -> Result<Self> {
        // The negotiated version is shared by clones of the client.
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| RuntimeError::Unavailable(e.to_string()))?
            .with_timeout(REQUEST_TIMEOUT);
        let slow = docker.clone().with_timeout(SLOW_REQUEST_TIMEOUT);
        Ok(DockerRuntime {
            docker,
            slow,
            network_lock: Arc::default(),
            subnets: SubnetPool::default(),
        })
    }

    /// Takes the subnets of the networks it creates from `pool` instead of the default.
    pub fn with_subnet_pool(mut self, pool: SubnetPool) -> Self {
        self.subnets = pool;
        self
    }

    /// Checks that the engine answers.
    pub async fn ping(&self) -> Result<()> {
        self.docker
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| RuntimeError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn ensure_network(&self, name: &str) -> Result<()> {
        self.ensure_network_impl(name).await
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.remove_network_impl(name).await
    }

    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>> {
        self.list_containers_impl(labels).await
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        self.create_container_impl(spec).await
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.start_container_impl(id).await
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        self.rename_container_impl(id, name).await
    }

    async fn remove_container(&self, id: &str, grace: Duration) -> Result<()> {
        self.remove_container_impl(id, grace).await
    }

    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerInfo>> {
        self.inspect_container_impl(id).await
    }

    async fn upload_tar(&self, id: &str, dest_dir: &str, tar: Vec<u8>) -> Result<()> {
        self.upload_tar_impl(id, dest_dir, tar).await
    }

    async fn download_tar(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        self.download_tar_impl(id, path).await
    }

    async fn upload_tar_file(&self, id: &str, dest_dir: &str, archive: &Path) -> Result<()> {
        self.upload_tar_file_impl(id, dest_dir, archive).await
    }

    async fn download_tar_file(&self, id: &str, path: &str, archive: &Path) -> Result<()> {
        self.download_tar_file_impl(id, path, archive).await
    }

    async fn follow_output(&self, id: &str, sink: mpsc::Sender<String>) -> Result<()> {
        self.follow_output_impl(id, sink).await
    }

    async fn stats(&self, id: &str) -> Result<Option<crate::ContainerStats>> {
        self.stats_impl(id).await
    }

    async fn follow_logs(
        &self,
        id: &str,
        since_nanos: Option<i64>,
        sink: mpsc::Sender<crate::LogLine>,
    ) -> Result<()> {
        self.follow_logs_impl(id, since_nanos, sink).await
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        self.wait_container_impl(id).await
    }

    async fn was_oom_killed(&self, id: &str) -> Result<bool> {
        self.was_oom_killed_impl(id).await
    }

    async fn attach_container(&self, id: &str) -> Result<crate::Attached> {
        self.attach_container_impl(id).await
    }

    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> Result<()> {
        self.resize_tty_impl(id, rows, cols).await
    }

    async fn last_output(&self, id: &str, lines: usize) -> Result<Vec<String>> {
        self.last_output_impl(id, lines).await
    }

    async fn watch_events(
        &self,
        labels: &BTreeMap<String, String>,
        sink: mpsc::Sender<ContainerEvent>,
    ) -> Result<()> {
        self.watch_events_impl(labels, sink).await
    }

    async fn commit(&self, id: &str, tag: &str, config: &ImageConfig) -> Result<()> {
        self.commit_impl(id, tag, config).await
    }

    async fn layer_image(
        &self,
        base: &str,
        layer: &Path,
        tag: &str,
        config: &ImageConfig,
    ) -> Result<()> {
        self.layer_image_impl(base, layer, tag, config).await
    }

    async fn image_exists(&self, image: &str) -> Result<bool> {
        Ok(self.image_size_impl(image).await?.is_some())
    }

    async fn build_image(
        &self,
        context: &Path,
        build: &DockerBuild,
        sink: mpsc::Sender<String>,
    ) -> Result<()> {
        self.build_image_impl(context, build, sink).await
    }

    async fn image_details(&self, image: &str) -> Result<Option<ImageDetails>> {
        self.image_details_impl(image).await
    }

    async fn image_size(&self, image: &str) -> Result<Option<i64>> {
        self.image_size_impl(image).await
    }

    async fn remove_image(&self, image: &str) -> Result<()> {
        self.remove_image_impl(image).await
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.remove_volume_impl(name).await
    }

    async fn push_image(&self, image: &str, registry: &str) -> Result<String> {
        self.push_image_impl(image, registry).await
    }

    async fn ensure_stacks(
        &self,
        config: &StackConfig,
        progress: mpsc::Sender<String>,
    ) -> Result<StackImages> {
        stack_build::ensure_stacks(self, config, &progress).await
    }
}
