//! The process stats sampler: every few seconds it lists this paasd's process containers
//! through the runtime boundary, reads each running one's stats, and records CPU (percent
//! of one core since its previous sample) and memory per process (`web.1`) in the metrics.

use crate::metrics::{now_secs, MetricsHandle, ProcessNow};
use paas_runtime::{ContainerRuntime, ContainerState};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The labels the scheduler puts on process containers (see `scheduler/src/labels.rs`).
const INSTANCE: &str = "paas.instance";
const ROLE: &str = "paas.role";
const ROLE_PROCESS: &str = "process";
const APP: &str = "paas.app";
const PROCESS: &str = "paas.process";
const INDEX: &str = "paas.index";

/// CPU percent of one core between two readings of cumulative CPU time.
pub fn cpu_percent(previous_ns: u64, now_ns: u64, elapsed: Duration) -> f64 {
    let wall = elapsed.as_nanos() as f64;
    if wall <= 0.0 || now_ns < previous_ns {
        return 0.0;
    }
    ((now_ns - previous_ns) as f64 / wall * 100.0 * 10.0).round() / 10.0
}

/// Samples forever, every `every`.
pub async fn sample_processes(
    runtime: Arc<dyn ContainerRuntime>,
    instance: String,
    metrics: MetricsHandle,
    every: Duration,
) {
    let labels = BTreeMap::from([
        (INSTANCE.to_string(), instance),
        (ROLE.to_string(), ROLE_PROCESS.to_string()),
    ]);
    let mut previous: HashMap<String, (u64, Instant)> = HashMap::new();
    let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut warned = false;
    loop {
        ticker.tick().await;
        let containers = match runtime.list_containers(&labels).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("cannot list processes for metrics: {e}");
                continue;
            }
        };
        let running: Vec<(String, String, String)> = containers
            .into_iter()
            .filter(|c| c.state == ContainerState::Running)
            .filter_map(|c| {
                let app = c.labels.get(APP)?.clone();
                let dyno = format!("{}.{}", c.labels.get(PROCESS)?, c.labels.get(INDEX)?);
                Some((c.id, app, dyno))
            })
            .collect();
        let stats =
            futures_util::future::join_all(running.iter().map(|(id, _, _)| runtime.stats(id)))
                .await;
        let read_at = Instant::now();
        let at = now_secs();
        let mut live = HashSet::new();
        let mut seen = HashSet::new();
        {
            let mut metrics = metrics.lock();
            for ((id, app, dyno), stats) in running.iter().zip(stats) {
                let stats = match stats {
                    Ok(Some(s)) => s,
                    Ok(None) => continue,
                    Err(e) => {
                        if !warned {
                            tracing::warn!("cannot read process stats for metrics: {e}");
                            warned = true;
                        }
                        continue;
                    }
                };
                seen.insert(id.clone());
                live.insert((app.clone(), dyno.clone()));
                // The first reading of a container only sets the baseline for its CPU.
                if let Some((cpu_ns, then)) = previous.insert(id.clone(), (stats.cpu_ns, read_at)) {
                    metrics.sample_process(
                        app,
                        dyno,
                        at,
                        ProcessNow {
                            cpu_percent: cpu_percent(cpu_ns, stats.cpu_ns, read_at - then),
                            memory_bytes: stats.memory_bytes,
                            memory_limit_bytes: stats.memory_limit_bytes,
                            at,
                        },
                    );
                }
            }
            metrics.retain_processes(&live);
            metrics.prune(at);
        }
        previous.retain(|id, _| seen.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_time_used_over_wall_time() {
        assert_eq!(cpu_percent(0, 500_000_000, Duration::from_secs(1)), 50.0);
        assert_eq!(cpu_percent(0, 3_000_000_000, Duration::from_secs(2)), 150.0);
        // A restarted container (counter went back) or no time passed: zero, not garbage.
        assert_eq!(cpu_percent(10, 5, Duration::from_secs(1)), 0.0);
        assert_eq!(cpu_percent(0, 5, Duration::ZERO), 0.0);
    }
}
