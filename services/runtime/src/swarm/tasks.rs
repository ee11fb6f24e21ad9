//! Swarm's tasks and nodes as paas sees them, and the pure translation from the engine's
//! objects: a task is a process (its slot is the process's index, its node's address and the
//! port published for it in host mode are where the router reaches it).

use crate::spec::ContainerState;
use bollard::models::{
    EndpointPortConfigPublishModeEnum, Node, NodeSpecAvailabilityEnum, NodeSpecRoleEnum, NodeState,
    Task, TaskState,
};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};

/// One node of the Swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// The address other nodes (and the router) reach it at.
    pub addr: Option<IpAddr>,
    /// `ready`, `down`, `disconnected`, `unknown`.
    pub state: String,
    /// `active`, `pause`, `drain`.
    pub availability: String,
    pub manager: bool,
    pub leader: bool,
}

impl SwarmNode {
    pub fn is_ready(&self) -> bool {
        self.state == "ready"
    }
}

/// One task of a paas service: a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmProcess {
    pub task_id: String,
    pub service_id: String,
    /// Swarm's slot, 1-based: the process's index (`web.<slot>`).
    pub slot: u64,
    pub node_id: String,
    /// The node's hostname, when the node is known.
    pub node: Option<String>,
    pub node_addr: Option<IpAddr>,
    /// The host port the task's port is published on, on its node.
    pub published_port: Option<u16>,
    pub state: ContainerState,
    /// Swarm's own word for the state (`running`, `preparing`, `failed`, ...).
    pub task_state: String,
    /// Whether Swarm wants it running (false once it is being replaced or scaled away).
    pub desired_running: bool,
    pub container_id: Option<String>,
    pub exit_code: Option<i64>,
    /// The engine's error, when the task failed or was rejected.
    pub error: Option<String>,
    /// The labels of the task's container (ours, from the service spec).
    pub labels: BTreeMap<String, String>,
    /// When the task was created, Unix seconds (0 when the engine did not say).
    pub created: i64,
}

impl SwarmProcess {
    /// Where the router sends its requests: the node's address and the published port, once
    /// the task runs.
    pub fn route(&self) -> Option<SocketAddr> {
        if self.state != ContainerState::Running || !self.desired_running {
            return None;
        }
        Some(SocketAddr::new(self.node_addr?, self.published_port?))
    }
}

/// `10.0.0.5:2377` or `10.0.0.5` -> the address.
fn parse_addr(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// A node as paas shows it.
pub fn node_of(node: &Node) -> Option<SwarmNode> {
    let id = node.id.clone()?;
    let spec = node.spec.as_ref();
    let status = node.status.as_ref();
    let manager = node.manager_status.as_ref();
    Some(SwarmNode {
        id,
        hostname: node
            .description
            .as_ref()
            .and_then(|d| d.hostname.clone())
            .unwrap_or_default(),
        addr: status.and_then(|s| s.addr.as_deref()).and_then(parse_addr),
        state: match status.and_then(|s| s.state) {
            Some(NodeState::READY) => "ready",
            Some(NodeState::DOWN) => "down",
            Some(NodeState::DISCONNECTED) => "disconnected",
            _ => "unknown",
        }
        .to_string(),
        availability: match spec.and_then(|s| s.availability) {
            Some(NodeSpecAvailabilityEnum::PAUSE) => "pause",
            Some(NodeSpecAvailabilityEnum::DRAIN) => "drain",
            _ => "active",
        }
        .to_string(),
        manager: spec.and_then(|s| s.role) == Some(NodeSpecRoleEnum::MANAGER),
        leader: manager.and_then(|m| m.leader).unwrap_or(false),
    })
}

fn task_state_word(state: Option<TaskState>) -> String {
    state
        .map(|s| s.to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// A task as a process, its node looked up in `nodes` (by id).
pub fn process_of(task: &Task, nodes: &HashMap<String, SwarmNode>) -> Option<SwarmProcess> {
    let task_id = task.id.clone()?;
    let status = task.status.as_ref();
    let state = status.and_then(|s| s.state);
    let node_id = task.node_id.clone().unwrap_or_default();
    let node = nodes.get(&node_id);
    let published_port = status
        .and_then(|s| s.port_status.as_ref())
        .and_then(|p| p.ports.as_ref())
        .and_then(|ports| {
            ports
                .iter()
                .find(|p| p.publish_mode == Some(EndpointPortConfigPublishModeEnum::HOST))
                .and_then(|p| p.published_port)
        })
        .and_then(|p| u16::try_from(p).ok());
    let container = status.and_then(|s| s.container_status.as_ref());
    let labels = task
        .spec
        .as_ref()
        .and_then(|s| s.container_spec.as_ref())
        .and_then(|c| c.labels.as_ref())
        .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Some(SwarmProcess {
        task_id,
        service_id: task.service_id.clone().unwrap_or_default(),
        slot: task.slot.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        node: node.map(|n| n.hostname.clone()),
        node_addr: node.and_then(|n| n.addr),
        node_id,
        published_port,
        state: match state {
            Some(TaskState::RUNNING) => ContainerState::Running,
            Some(
                TaskState::NEW
                | TaskState::ALLOCATED
                | TaskState::PENDING
                | TaskState::ASSIGNED
                | TaskState::ACCEPTED
                | TaskState::PREPARING
                | TaskState::READY
                | TaskState::STARTING,
            ) => ContainerState::Created,
            Some(
                TaskState::COMPLETE
                | TaskState::SHUTDOWN
                | TaskState::FAILED
                | TaskState::REJECTED
                | TaskState::REMOVE
                | TaskState::ORPHANED,
            ) => ContainerState::Exited,
            _ => ContainerState::Other,
        },
        task_state: task_state_word(state),
        desired_running: task.desired_state == Some(TaskState::RUNNING),
        container_id: container.and_then(|c| c.container_id.clone()),
        exit_code: container.and_then(|c| c.exit_code),
        error: status.and_then(|s| s.err.clone()).filter(|e| !e.is_empty()),
        created: task
            .created_at
            .as_deref()
            .and_then(crate::parse_engine_timestamp)
            .map_or(0, |nanos| nanos / 1_000_000_000),
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> HashMap<String, SwarmNode> {
        let node: Node = serde_json::from_value(serde_json::json!({
            "ID": "n1",
            "Spec": {"Role": "manager", "Availability": "active"},
            "Description": {"Hostname": "paas-sw-1"},
            "Status": {"State": "ready", "Addr": "10.231.0.11"},
            "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "10.231.0.11:2377"}
        }))
        .expect("a node");
        let node = node_of(&node).expect("converted");
        HashMap::from([(node.id.clone(), node)])
    }

    #[test]
    fn a_node_shows_its_hostname_address_state_and_role() {
        let n = &nodes()["n1"];
        assert_eq!(n.hostname, "paas-sw-1");
        assert_eq!(n.addr, Some("10.231.0.11".parse().unwrap()));
        assert!(n.is_ready());
        assert_eq!(n.availability, "active");
        assert!(n.manager && n.leader);
    }

    #[test]
    fn a_running_task_is_a_process_routed_at_its_nodes_address_and_published_port() {
        let task: Task = serde_json::from_value(serde_json::json!({
            "ID": "t1",
            "ServiceID": "s1",
            "Slot": 2,
            "NodeID": "n1",
            "DesiredState": "running",
            "Spec": {"ContainerSpec": {"Image": "img", "Labels": {"paas.app": "hello", "paas.process": "web"}}},
            "Status": {
                "State": "running",
                "ContainerStatus": {"ContainerID": "c1", "PID": 10, "ExitCode": 0},
                "PortStatus": {"Ports": [{"Protocol": "tcp", "TargetPort": 5000, "PublishedPort": 30001, "PublishMode": "host"}]}
            }
        }))
        .expect("a task");
        let p = process_of(&task, &nodes()).expect("a process");
        assert_eq!(p.slot, 2);
        assert_eq!(p.node.as_deref(), Some("paas-sw-1"));
        assert_eq!(p.state, ContainerState::Running);
        assert_eq!(p.container_id.as_deref(), Some("c1"));
        assert_eq!(p.labels["paas.app"], "hello");
        assert_eq!(p.route(), Some("10.231.0.11:30001".parse().unwrap()));
    }

    #[test]
    fn a_task_being_prepared_shut_down_or_on_an_unknown_node_is_not_routed() {
        let preparing: Task = serde_json::from_value(serde_json::json!({
            "ID": "t2", "NodeID": "n1", "DesiredState": "running",
            "Status": {"State": "preparing"}
        }))
        .unwrap();
        let p = process_of(&preparing, &nodes()).unwrap();
        assert_eq!(p.state, ContainerState::Created);
        assert_eq!(p.route(), None);

        let failed: Task = serde_json::from_value(serde_json::json!({
            "ID": "t3", "NodeID": "n1", "DesiredState": "shutdown",
            "Status": {"State": "failed", "Err": "task: non-zero exit (1)",
                       "ContainerStatus": {"ExitCode": 1},
                       "PortStatus": {"Ports": [{"TargetPort": 5000, "PublishedPort": 30002, "PublishMode": "host"}]}}
        }))
        .unwrap();
        let p = process_of(&failed, &nodes()).unwrap();
        assert_eq!(p.state, ContainerState::Exited);
        assert_eq!(p.exit_code, Some(1));
        assert_eq!(p.error.as_deref(), Some("task: non-zero exit (1)"));
        assert_eq!(p.route(), None);

        let elsewhere: Task = serde_json::from_value(serde_json::json!({
            "ID": "t4", "NodeID": "gone", "DesiredState": "running",
            "Status": {"State": "running",
                       "PortStatus": {"Ports": [{"TargetPort": 5000, "PublishedPort": 30003, "PublishMode": "host"}]}}
        }))
        .unwrap();
        let p = process_of(&elsewhere, &nodes()).unwrap();
        assert_eq!(p.node, None);
        assert_eq!(p.route(), None);
    }
}
