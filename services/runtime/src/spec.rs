//! Plain descriptions of containers and images, independent of the Docker API types.

use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A path on the Docker host.
    Bind,
    /// A named Docker volume (created on first use).
    Volume,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    /// Host path (bind) or volume name (volume).
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: Option<String>,
    pub image: String,
    /// Replaces the image's entrypoint when set.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command when set.
    pub cmd: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub network: Option<String>,
    pub mounts: Vec<Mount>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    /// Drop all capabilities and forbid privilege escalation.
    pub drop_capabilities: bool,
    /// Capabilities kept all the same (e.g. `CHOWN`); none by default.
    pub capabilities: Vec<String>,
    /// Run a minimal init (the engine's `docker-init`, i.e. tini) as PID 1 that forwards
    /// signals to the command and reaps zombies, so SIGTERM reaches the app.
    pub init: bool,
    /// Give the container a terminal (stdout and stderr then arrive as one stream).
    pub tty: bool,
    /// Keep stdin open for one attached client; it is closed when that client closes its
    /// side (`Attached::stdin` shut down).
    pub open_stdin: bool,
    /// The engine removes the container when it exits.
    pub auto_remove: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    /// Stopped (exited, dead) or being removed.
    Exited,
    /// Restarting, paused or anything else.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    /// Without Docker's leading slash.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub state: ContainerState,
    /// Address on the first network the container is attached to, when running.
    pub ip: Option<IpAddr>,
    /// Unix seconds.
    pub created: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub env: BTreeMap<String, String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// What a built image says about how it runs (`docker inspect`'s config).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDetails {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// TCP ports of its `EXPOSE` lines, ascending.
    pub exposed_ports: Vec<u16>,
}

/// A running container's resource use at one moment (the engine's stats, read once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerStats {
    /// CPU time used since the container started, in nanoseconds (all cores together).
    pub cpu_ns: u64,
    /// Memory in use without the reclaimable page cache, as `docker stats` shows it.
    pub memory_bytes: u64,
    /// The container's memory limit, when it has one.
    pub memory_limit_bytes: Option<u64>,
}

/// Something that happened to a container, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    pub id: String,
    pub kind: ContainerEventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerEventKind {
    /// Its main process ended (crashed, killed, or exited).
    Died {
        exit_code: Option<i64>,
    },
    /// The kernel's OOM killer ended a process in it.
    OutOfMemory,
    Started,
}
