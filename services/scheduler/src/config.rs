//! Settings of the scheduler.

use paas_domain::SchedulerKind;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Label value that marks this paasd's containers (several may share one engine).
    pub instance_id: String,
    /// Prefix of the per-app bridge networks (`<network>-<instance>-<app>`, see
    /// `app_network`): each app's processes are on a network of their own.
    pub network: String,
    /// `PORT` inside web containers.
    pub web_port: u16,
    /// How long a new release's web processes have to answer HTTP.
    pub health_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when a process is retired.
    pub stop_grace: Duration,
    pub memory_bytes: i64,
    /// CPU limit per process, in billionths of a CPU.
    pub nano_cpus: i64,
    pub pids_limit: i64,
    /// Time between passes when nothing is in progress.
    pub idle_interval: Duration,
    /// Where apps without their own choice (`paas scheduler:set`) run.
    pub default_backend: SchedulerKind,
    /// The registry (`host:port`) release images are pushed to for Swarm nodes to pull; none:
    /// services name the image as built (enough for a Swarm of one node).
    pub registry: Option<String>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            instance_id: "default".to_string(),
            network: "paas".to_string(),
            web_port: 5000,
            health_timeout: Duration::from_secs(60),
            stop_grace: Duration::from_secs(30),
            memory_bytes: 512 * 1024 * 1024,
            nano_cpus: 1_000_000_000,
            pids_limit: 512,
            idle_interval: Duration::from_secs(5),
            default_backend: SchedulerKind::Docker,
            registry: None,
        }
    }
}

impl SchedulerConfig {
    /// The Docker network of one app's processes. Apps never share one, so an app cannot
    /// reach another app's processes except through the router.
    pub fn app_network(&self, app: &str) -> String {
        format!("{}-{}-{app}", self.network, self.instance_id)
    }
}
