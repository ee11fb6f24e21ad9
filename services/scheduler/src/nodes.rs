//! The Swarm's nodes as paas shows and changes them (issue 11, point 2): `paas nodes` (each
//! node with the processes on it), `nodes:add` (the join command), `nodes:drain` with zero
//! failed requests (the node's tasks leave the route table and finish their requests before
//! Swarm is told to drain it), and `nodes:activate`.

use crate::labels;
use crate::scheduler::{Scheduler, SchedulerError};
use paas_domain::SchedulerKind;
use paas_runtime::swarm::{Availability, SwarmNode, SwarmRuntime, BACKEND_LABEL, BACKEND_SWARM};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// How long `nodes:drain` waits for the Swarm to move the node's processes.
const DRAIN_WAIT: Duration = Duration::from_secs(120);
/// How often the Swarm's nodes and tasks are looked at between passes.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// What the watcher compares between two looks: each node's state and availability, each
/// task's state and whether Swarm wants it running.
pub(crate) fn swarm_snapshot(
    nodes: &[SwarmNode],
    processes: &[paas_runtime::swarm::SwarmProcess],
) -> Vec<String> {
    let mut seen: Vec<String> = nodes
        .iter()
        .map(|n| format!("node {} {} {}", n.id, n.state, n.availability))
        .chain(processes.iter().map(|p| {
            format!(
                "task {} {} {} {:?}",
                p.task_id, p.task_state, p.desired_running, p.published_port
            )
        }))
        .collect();
    seen.sort();
    seen
}

/// A node as `paas nodes` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub id: String,
    pub hostname: String,
    pub addr: Option<String>,
    /// `ready`, `down`, `disconnected` or `unknown`.
    pub state: String,
    /// `active`, `drain` or `pause`.
    pub availability: String,
    pub manager: bool,
    pub leader: bool,
    /// `"<app> <type>.<n>"` of each process Swarm runs there, sorted.
    pub processes: Vec<String>,
}

/// The node `wanted` names (hostname, id, or a unique id prefix).
pub fn find_node<'a>(nodes: &'a [SwarmNode], wanted: &str) -> Option<&'a SwarmNode> {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return None;
    }
    if let Some(n) = nodes
        .iter()
        .find(|n| n.hostname == wanted || n.id == wanted)
    {
        return Some(n);
    }
    let mut prefixed = nodes.iter().filter(|n| n.id.starts_with(wanted));
    match (prefixed.next(), prefixed.next()) {
        (Some(n), None) => Some(n),
        _ => None,
    }
}

impl Scheduler {
    /// Whether this paasd can run apps on a Swarm.
    pub fn swarm_available(&self) -> bool {
        self.swarm.is_some()
    }

    /// Where apps that did not choose run.
    pub fn default_backend(&self) -> SchedulerKind {
        self.config.default_backend
    }

    fn swarm_or_refuse(&self) -> Result<&SwarmRuntime, SchedulerError> {
        self.swarm.as_ref().ok_or(SchedulerError::NoSwarm)
    }

    /// Nodes paas is draining: their tasks are not routed.
    pub(crate) fn draining_nodes(&self) -> HashSet<String> {
        self.draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Wakes the loop when a node or a task of this instance changes on the Swarm (a node
    /// down, a task that died or started), so that the route table follows within about a
    /// second instead of at the next idle pass. Runs forever; returns at once without a Swarm.
    pub async fn watch_swarm(self: std::sync::Arc<Self>) {
        let Some(swarm) = self.swarm.clone() else {
            return;
        };
        let filter = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
        ]);
        let mut last: Option<Vec<String>> = None;
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            let looked = async {
                let processes = swarm.list_processes(&filter).await?;
                let nodes = swarm.nodes().await?;
                Ok::<_, SchedulerError>(swarm_snapshot(&nodes, &processes))
            }
            .await;
            match looked {
                Ok(now) => {
                    if last.as_ref().is_some_and(|l| *l != now) {
                        self.wake();
                    }
                    last = Some(now);
                }
                Err(e) => tracing::debug!("could not look at the Swarm: {e}"),
            }
        }
    }

    /// Every node with the processes of this instance on it.
    pub async fn nodes(&self) -> Result<Vec<NodeView>, SchedulerError> {
        let swarm = self.swarm_or_refuse()?;
        let filter = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
        ]);
        let processes = swarm.list_processes(&filter).await?;
        let nodes = swarm.nodes().await?;
        Ok(nodes
            .into_iter()
            .map(|n| {
                let mut on_it: Vec<String> = processes
                    .iter()
                    .filter(|p| p.node_id == n.id)
                    .filter_map(|p| {
                        Some(format!(
                            "{} {}.{}",
                            p.labels.get(labels::APP)?,
                            p.labels.get(labels::PROCESS)?,
                            p.slot
                        ))
                    })
                    .collect();
                on_it.sort();
                NodeView {
                    id: n.id,
                    hostname: n.hostname,
                    addr: n.addr.map(|a| a.to_string()),
                    state: n.state,
                    availability: n.availability,
                    manager: n.manager,
                    leader: n.leader,
                    processes: on_it,
                }
            })
            .collect())
    }

    /// The command that joins a new worker (or manager) to the Swarm.
    pub async fn join_command(&self, manager: bool) -> Result<String, SchedulerError> {
        let commands = self.swarm_or_refuse()?.join_commands().await?;
        Ok(if manager {
            commands.manager
        } else {
            commands.worker
        })
    }

    async fn node_view(&self, id: &str) -> Result<NodeView, SchedulerError> {
        self.nodes()
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .ok_or_else(|| SchedulerError::UnknownNode(id.to_string()))
    }

    /// Drains a node with zero failed requests: its tasks leave the route table first and
    /// finish their requests, then Swarm moves them elsewhere; returns once they have moved
    /// (requests meanwhile go to the app's other processes, or are held until the
    /// replacements answer).
    pub async fn drain_node(&self, wanted: &str) -> Result<NodeView, SchedulerError> {
        let swarm = self.swarm_or_refuse()?;
        let nodes = swarm.nodes().await?;
        let node = find_node(&nodes, wanted)
            .ok_or_else(|| SchedulerError::UnknownNode(wanted.to_string()))?
            .clone();
        let filter = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
        ]);
        let routed: Vec<_> = swarm
            .list_processes(&filter)
            .await?
            .into_iter()
            .filter(|p| p.node_id == node.id)
            .filter_map(|p| p.route())
            .collect();
        tracing::info!(node = %node.hostname, "draining a node: its processes leave the routes first");
        self.draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(node.id.clone());
        let result = async {
            // A pass publishes the table without the node's tasks.
            self.reconcile().await?;
            let grace = self.config.stop_grace;
            let drains = routed
                .iter()
                .map(|addr| crate::scheduler::drain(&self.routes, *addr, grace));
            futures_util::future::join_all(drains).await;
            swarm
                .set_availability(&node.id, Availability::Drain)
                .await?;
            self.wake();
            let deadline = tokio::time::Instant::now() + DRAIN_WAIT;
            loop {
                let left = swarm
                    .list_processes(&filter)
                    .await?
                    .into_iter()
                    .filter(|p| p.node_id == node.id)
                    .count();
                if left == 0 || tokio::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok::<(), SchedulerError>(())
        }
        .await;
        self.draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&node.id);
        result?;
        self.wake();
        self.node_view(&node.id).await
    }

    /// Lets the Swarm place processes on a drained or paused node again.
    pub async fn activate_node(&self, wanted: &str) -> Result<NodeView, SchedulerError> {
        let swarm = self.swarm_or_refuse()?;
        let nodes = swarm.nodes().await?;
        let node = find_node(&nodes, wanted)
            .ok_or_else(|| SchedulerError::UnknownNode(wanted.to_string()))?
            .clone();
        swarm
            .set_availability(&node.id, Availability::Active)
            .await?;
        self.wake();
        self.node_view(&node.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, hostname: &str) -> SwarmNode {
        SwarmNode {
            id: id.to_string(),
            hostname: hostname.to_string(),
            addr: None,
            state: "ready".to_string(),
            availability: "active".to_string(),
            manager: true,
            leader: false,
        }
    }

    #[test]
    fn the_snapshot_changes_when_a_node_goes_down_or_a_task_stops() {
        let nodes = vec![node("a", "one"), node("b", "two")];
        let before = swarm_snapshot(&nodes, &[]);
        assert_eq!(before, swarm_snapshot(&nodes, &[]));
        let mut down = nodes.clone();
        down[1].state = "down".to_string();
        assert_ne!(before, swarm_snapshot(&down, &[]));
        let mut drained = nodes.clone();
        drained[0].availability = "drain".to_string();
        assert_ne!(before, swarm_snapshot(&drained, &[]));
    }

    #[test]
    fn a_node_is_found_by_hostname_id_or_unique_prefix() {
        let nodes = vec![node("abc123", "paas-sw-1"), node("abd456", "paas-sw-2")];
        assert_eq!(find_node(&nodes, "paas-sw-2").unwrap().id, "abd456");
        assert_eq!(find_node(&nodes, "abc123").unwrap().hostname, "paas-sw-1");
        assert_eq!(find_node(&nodes, "abc").unwrap().hostname, "paas-sw-1");
        assert!(
            find_node(&nodes, "ab").is_none(),
            "an ambiguous prefix names no node"
        );
        assert!(find_node(&nodes, "").is_none());
        assert!(find_node(&nodes, "paas-sw-9").is_none());
    }
}
