//! JSON shapes of an app's metrics (`GET /api/apps/{app}/metrics`: one point per step, for
//! `paas metrics` and the console's charts), its log drains (`paas drains`) and its OTLP
//! exports (`paas telemetry`), shared by the API and the CLI.

use serde::{Deserialize, Serialize};

/// An app's metrics over a window, oldest point first, one point per `step_secs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSeries {
    pub app: String,
    pub step_secs: u64,
    pub points: Vec<MetricsPoint>,
}

/// What happened in one step: requests through the router and the processes' resource use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsPoint {
    /// Start of the step, unix seconds.
    pub time: i64,
    pub requests: StatusCounts,
    /// Latency percentiles (connect + service time) in milliseconds; absent without requests.
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    /// Response bytes (as the responses' Content-Length said).
    pub bytes: u64,
    /// Per process (`web.1`), sorted by name; absent when it was not sampled in this step.
    pub processes: Vec<ProcessPoint>,
}

/// Requests by status class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    #[serde(rename = "1xx", default)]
    pub s1xx: u64,
    #[serde(rename = "2xx")]
    pub s2xx: u64,
    #[serde(rename = "3xx")]
    pub s3xx: u64,
    #[serde(rename = "4xx")]
    pub s4xx: u64,
    #[serde(rename = "5xx")]
    pub s5xx: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.s1xx + self.s2xx + self.s3xx + self.s4xx + self.s5xx
    }
}

/// One process's resource use over a step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessPoint {
    pub dyno: String,
    /// Mean CPU use over the step's samples, in percent of one core.
    pub cpu_percent: f64,
    /// Highest memory in use among the step's samples.
    pub memory_bytes: u64,
}

/// What the client sends to add or remove a drain or an OTLP export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainRequest {
    pub url: String,
}

/// A log drain (`paas drains`) or an OTLP export (`paas telemetry`) with what it delivered.
/// The URL is shown with its password (if any) hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainInfo {
    pub url: String,
    /// Lines (or, for OTLP, lines and metric points) delivered since paasd started.
    pub delivered: u64,
    /// Lines lost since paasd started: its queue was full (the drain is slow or down) or the
    /// delivery failed.
    pub lost: u64,
    /// The last delivery error, if the last delivery failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
