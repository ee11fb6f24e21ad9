//! API wire type of a build as `paas builds` lists it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub id: String,
    /// `pending` (running now), `succeeded` or `failed`.
    pub status: String,
    pub commit: String,
    /// RFC 3339.
    pub created_at: String,
    /// Seconds from its start to its end (to now while it runs).
    pub duration_secs: f64,
    /// The release it made, when it made one.
    pub release_version: Option<i64>,
}
