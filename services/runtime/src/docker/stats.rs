//! A running container's resource use from the engine's stats endpoint, read once
//! (`one-shot`: no second sample, so the engine answers at once): cumulative CPU time and the
//! memory in use without the page cache, as `docker stats` shows it.

use super::errors;
use super::DockerRuntime;
use crate::spec::ContainerStats;
use crate::Result;
use bollard::container::{MemoryStatsStats, Stats, StatsOptions};
use futures_util::StreamExt;

impl DockerRuntime {
    pub(crate) async fn stats_impl(&self, id: &str) -> Result<Option<ContainerStats>> {
        let mut stream = self.docker.stats(
            id,
            Some(StatsOptions {
                stream: false,
                one_shot: true,
            }),
        );
        match stream.next().await {
            Some(Ok(stats)) => Ok(from_stats(&stats)),
            Some(Err(e)) if errors::is_not_found(&e) => Ok(None),
            Some(Err(e)) => Err(errors::map(e)),
            None => Ok(None),
        }
    }
}

/// `None` for a container that is not running (the engine then reports no CPU time).
fn from_stats(stats: &Stats) -> Option<ContainerStats> {
    let cpu = stats.cpu_stats.cpu_usage.total_usage;
    let memory = &stats.memory_stats;
    let usage = memory.usage?;
    if cpu == 0 && usage == 0 {
        return None;
    }
    // `docker stats` subtracts the inactive page cache (cgroup v2) or the cache (v1).
    let cache = match memory.stats {
        Some(MemoryStatsStats::V2(v2)) => v2.inactive_file,
        Some(MemoryStatsStats::V1(v1)) => v1.total_inactive_file,
        None => 0,
    };
    Some(ContainerStats {
        cpu_ns: cpu,
        memory_bytes: usage.saturating_sub(cache),
        memory_limit_bytes: memory.limit.filter(|l| *l > 0 && *l < u64::MAX / 2),
    })
}
