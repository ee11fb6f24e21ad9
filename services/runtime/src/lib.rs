//! The container runtime boundary: the only crate that imports bollard. It creates, starts,
//! lists (by label), stops and removes containers, moves files in and out of them as tar
//! archives, commits images, and bootstraps the stack images when no registry can be reached.
//! `ContainerRuntime` is the trait; `DockerRuntime` is the real implementation.

mod attach;
mod docker;
mod error;
mod log_line;
pub mod memory;
mod spec;
mod stacks;
mod subnets;
pub mod swarm;

pub use attach::{Attached, OutputChunk};
pub use docker::{DockerBuild, DockerRuntime};
pub use error::RuntimeError;
pub use log_line::{parse_engine_timestamp, LogLine, LogStream};
pub use spec::{
    ContainerEvent, ContainerEventKind, ContainerInfo, ContainerSpec, ContainerState,
    ContainerStats, ImageConfig, ImageDetails, Mount, MountKind,
};
pub use stacks::{StackConfig, StackImages, RUN_ALIAS};
pub use subnets::{Ipv4Net, Ipv4NetError, SubnetPool};

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// Everything the platform asks of a container engine.
#[async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    /// Creates a user-defined bridge network unless it exists.
    async fn ensure_network(&self, name: &str) -> Result<()>;
    /// Removes a network; a missing one is not an error.
    async fn remove_network(&self, name: &str) -> Result<()>;

    /// Containers in any state (running, exited, created) that carry every given label.
    async fn list_containers(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ContainerInfo>>;

    /// Creates (does not start) a container; returns its id. `RuntimeError::Conflict` when the
    /// name is taken.
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    /// Gives a container another name (freeing its name for a new container).
    async fn rename_container(&self, id: &str, name: &str) -> Result<()>;
    /// Stops (SIGTERM, then SIGKILL after `grace`) and removes the container with its anonymous
    /// volumes. A container that does not exist is not an error.
    async fn remove_container(&self, id: &str, grace: Duration) -> Result<()>;
    /// Details of one container; `None` when it does not exist.
    async fn inspect_container(&self, id: &str) -> Result<Option<ContainerInfo>>;

    /// Extracts a tar archive into `dest_dir` inside the container (created or running).
    async fn upload_tar(&self, id: &str, dest_dir: &str, tar: Vec<u8>) -> Result<()>;
    /// A tar archive of `path` inside the container (the archive's root entry is the last
    /// component of `path`, as `docker cp` does).
    async fn download_tar(&self, id: &str, path: &str) -> Result<Vec<u8>>;
    /// `upload_tar` of an archive file, streamed (never held whole in memory).
    async fn upload_tar_file(&self, id: &str, dest_dir: &str, archive: &Path) -> Result<()>;
    /// `download_tar` into the file `archive`, streamed (never held whole in memory).
    async fn download_tar_file(&self, id: &str, path: &str, archive: &Path) -> Result<()>;
    /// Sends the container's stdout and stderr, line by line, to `sink` from its start until it
    /// exits (or the sink is closed). Call it after `start_container`: on a container that is
    /// not running it returns the output so far and ends at once.
    async fn follow_output(&self, id: &str, sink: mpsc::Sender<String>) -> Result<()>;
    /// A running container's CPU time so far and memory in use (for metrics, sampled every
    /// few seconds); `None` when it does not exist or is not running. Runtimes that cannot
    /// return an error.
    async fn stats(&self, id: &str) -> Result<Option<ContainerStats>> {
        let _ = id;
        Err(RuntimeError::Docker("stats are not supported".to_string()))
    }
    /// Sends a process's output to `sink`, line by line with the engine's timestamp of each,
    /// from just after `since_nanos` (from the container's start when `None`), following it
    /// until the container stops (or the sink is closed). On a stopped container it sends
    /// what is kept and ends.
    async fn follow_logs(
        &self,
        id: &str,
        since_nanos: Option<i64>,
        sink: mpsc::Sender<LogLine>,
    ) -> Result<()>;
    /// Waits for the container to exit; returns its exit code.
    async fn wait_container(&self, id: &str) -> Result<i64>;
    /// Attaches to a created container's stdin, stdout and stderr; call it before
    /// `start_container` so that no output is missed. Stdin reaches the process only when
    /// the spec had `open_stdin`.
    async fn attach_container(&self, id: &str) -> Result<Attached>;
    /// Sets the size of a running container's terminal (`tty` in its spec).
    async fn resize_tty(&self, id: &str, rows: u16, cols: u16) -> Result<()>;
    /// Whether the kernel's OOM killer ended the container.
    async fn was_oom_killed(&self, id: &str) -> Result<bool>;
    /// The last `lines` lines the container printed (stdout and stderr), oldest first.
    async fn last_output(&self, id: &str, lines: usize) -> Result<Vec<String>>;
    /// Sends the engine's events about containers carrying every given label (died, killed
    /// for memory, started) to `sink`, as they happen, until the sink is closed (`Ok`) or the
    /// engine's stream breaks (an error; call again to resume).
    async fn watch_events(
        &self,
        labels: &BTreeMap<String, String>,
        sink: mpsc::Sender<ContainerEvent>,
    ) -> Result<()>;

    /// Commits the container's filesystem as image `tag` with the given config. The engine
    /// merges the container's own config in: its env variables and labels that `config` does
    /// not name are kept in the image (and image labels are inherited by containers created
    /// from it), and so are its working dir and user when `config` leaves them unset, and its
    /// cmd when `config` sets neither cmd nor entrypoint. The entrypoint is exactly
    /// `config.entrypoint` (none when unset).
    async fn commit(&self, id: &str, tag: &str, config: &ImageConfig) -> Result<()>;
    /// Makes image `tag` from image `base` plus one layer, `layer` (an uncompressed tar file),
    /// with `config` over `base`'s config (environment and labels merged, the rest replaced),
    /// without a container: much faster than [`Self::commit`] on engines whose storage driver
    /// diffs whole trees (fuse-overlayfs). Runtimes that cannot return an error; callers then
    /// commit.
    async fn layer_image(
        &self,
        base: &str,
        layer: &Path,
        tag: &str,
        config: &ImageConfig,
    ) -> Result<()> {
        let _ = (base, layer, tag, config);
        Err(RuntimeError::Docker(
            "layer_image is not supported".to_string(),
        ))
    }
    async fn image_exists(&self, image: &str) -> Result<bool>;
    /// Builds an image from a Dockerfile with the engine's builder. `context` is a tar archive
    /// file with the Dockerfile at its root, streamed (never whole in memory); the build's
    /// output goes to `sink` line by line. A failing Dockerfile is `RuntimeError::Build` with
    /// the engine's message.
    async fn build_image(
        &self,
        context: &Path,
        build: &DockerBuild,
        sink: mpsc::Sender<String>,
    ) -> Result<()>;
    /// An image's entrypoint, cmd and exposed ports; `None` when it does not exist.
    async fn image_details(&self, image: &str) -> Result<Option<ImageDetails>>;
    /// Size of the image in bytes; `None` when it does not exist.
    async fn image_size(&self, image: &str) -> Result<Option<i64>>;
    /// Removes an image; a missing image is not an error, one still used by a container is a
    /// `Conflict`.
    async fn remove_image(&self, image: &str) -> Result<()>;
    /// Removes a named volume; a missing volume is not an error, one in use is a `Conflict`.
    async fn remove_volume(&self, name: &str) -> Result<()>;
    /// Tags the local image `image` into `registry` (`host:port`) and pushes it there, so
    /// that every node of a Swarm can pull it; returns the name the nodes pull
    /// (`<registry>/<repository>:<tag>`). Pushing an image the registry has is cheap (no
    /// layer is sent again). Runtimes without a registry return an error.
    async fn push_image(&self, image: &str, registry: &str) -> Result<String> {
        let _ = (image, registry);
        Err(RuntimeError::Docker(
            "pushing images is not supported".to_string(),
        ))
    }

    /// Makes sure the stack images exist, building them when missing (pull of a Debian base,
    /// else `debootstrap` + import, then packages installed in containers). Progress lines go
    /// to `progress`. Safe to call concurrently from several processes on one host.
    async fn ensure_stacks(
        &self,
        config: &StackConfig,
        progress: mpsc::Sender<String>,
    ) -> Result<StackImages>;
}
