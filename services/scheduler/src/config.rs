//! Settings of the scheduler.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Label value that marks this paasd's containers (several may share one engine).
    pub instance_id: String,
    /// User-defined bridge network the processes join.
    pub network: String,
    /// `PORT` inside web containers.
    pub web_port: u16,
    /// How long a new release's web processes have to answer HTTP.
    pub health_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when a process is retired.
    pub stop_grace: Duration,
    pub memory_bytes: i64,
    pub pids_limit: i64,
    /// Time between passes when nothing is in progress.
    pub idle_interval: Duration,
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
            pids_limit: 512,
            idle_interval: Duration::from_secs(5),
        }
    }
}
