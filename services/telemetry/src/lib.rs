//! What paas tells about apps beyond their log: metrics per app (`metrics.rs`: the router's
//! requests by status class, latency percentiles and bytes, each process's CPU and memory
//! from `sampler.rs`; 24 hours at one-minute resolution in bounded memory), their Prometheus
//! text (`prometheus.rs`), log drains (`drains/`: syslog over TCP and HTTPS batches, each
//! drain with its own bounded queue and task, so a slow or dead drain never slows anything
//! else and its losses are counted) and OTLP/HTTP export of logs and metrics (`otlp.rs`).

pub mod drains;
pub mod histogram;
pub mod metrics;
pub mod otlp;
pub mod prometheus;
pub mod sampler;

pub use drains::{redacted, DrainClass, Drains, Line, Target};
pub use metrics::{Metrics, MetricsHandle, ProcessNow, Totals, DEFAULT_RETENTION_MINUTES};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A drain or export URL that cannot be used; the message says why (never the URL).
    #[error("{0}")]
    InvalidUrl(String),
}

/// The metrics and the drains, shared by paasd's tasks and the API. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    pub metrics: MetricsHandle,
    pub drains: Drains,
}
