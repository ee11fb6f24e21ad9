//! The Swarm backend of the process side (issue 11), in progress: `SwarmRuntime` talks to a
//! Swarm manager's engine and runs each process type of an app as one replicated service
//! (`spec.rs`: replicas = the formation, our labels on the service and its tasks' containers,
//! start-first updates that roll back on failure, the port published in host mode), lists the
//! tasks as processes with their node and route address (`tasks.rs`), reads where a rolling
//! update stands (`rollout.rs`: completed, or rolled back with Swarm's reason), lists and
//! drains nodes, follows a task's output on any node (`task_logs.rs`), and says in one line
//! when the engine is no Swarm manager (`state.rs`). The scheduler's Swarm pass
//! (`paas_scheduler`, `swarm_pass.rs`) drives it.

mod api;
mod rollout;
mod spec;
mod state;
mod task_logs;
mod tasks;

pub use rollout::{rollout_of, Rollout};
pub use spec::{
    service_name, service_spec, HealthCommand, ServiceProcessSpec, BACKEND_LABEL, BACKEND_SWARM,
};
pub use state::SwarmState;
pub use tasks::{node_of, process_of, SwarmNode, SwarmProcess};

use crate::RuntimeError;
use bollard::models::{Node, NodeSpec, NodeSpecAvailabilityEnum, Service, Task};
use bollard::service::{InspectServiceOptions, UpdateServiceOptions};
use bollard::Docker;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Time allowed for the engine to answer a request.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// What went wrong talking to the Swarm.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error("cannot reach the Docker engine: {0}")]
    Unavailable(String),
    /// The engine is no Swarm manager; the text says how to fix it.
    #[error("{0}")]
    NotAManager(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("swarm: {0}")]
    Engine(String),
    #[error("unexpected answer from the engine: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<SwarmError> for RuntimeError {
    fn from(e: SwarmError) -> Self {
        match e {
            SwarmError::Unavailable(m) => RuntimeError::Unavailable(m),
            SwarmError::NotFound(m) => RuntimeError::NotFound(m),
            SwarmError::Conflict(m) => RuntimeError::Conflict(m),
            SwarmError::Io(e) => RuntimeError::Io(e),
            other => RuntimeError::Docker(other.to_string()),
        }
    }
}

fn map_bollard(e: bollard::errors::Error) -> SwarmError {
    use bollard::errors::Error;
    match e {
        Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => SwarmError::NotFound(message),
        Error::DockerResponseServerError {
            status_code: 409,
            message,
        } => SwarmError::Conflict(message),
        Error::DockerResponseServerError {
            status_code: 503,
            message,
        } => SwarmError::NotAManager(message),
        Error::DockerResponseServerError { message, .. } => SwarmError::Engine(message),
        Error::IOError { err } => SwarmError::Unavailable(err.to_string()),
        other => SwarmError::Engine(other.to_string()),
    }
}

/// What `ensure_service` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceChange {
    Created { id: String },
    Updated { id: String },
}

/// A paas service as the Swarm has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub replicas: u64,
    /// The labels of the spec before the last update (after a rollback: the spec that
    /// failed), empty when it was never updated.
    pub previous_labels: BTreeMap<String, String>,
    /// Where its last update stands.
    pub rollout: Rollout,
}

/// The commands that join a new node to the Swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCommands {
    pub worker: String,
    pub manager: String,
}

/// Node availability, as `docker node update --availability` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Active,
    Pause,
    /// Swarm moves the node's tasks to the other nodes.
    Drain,
}

/// A Swarm manager's engine.
#[derive(Debug, Clone)]
pub struct SwarmRuntime {
    docker: Docker,
    socket: String,
}

/// The labels of a service's `PreviousSpec` in the engine's JSON.
fn previous_labels(service: &serde_json::Value) -> BTreeMap<String, String> {
    service
        .pointer("/PreviousSpec/Labels")
        .and_then(|l| l.as_object())
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn label_filters(labels: &BTreeMap<String, String>) -> Vec<String> {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

impl SwarmRuntime {
    /// The engine at `DOCKER_HOST` (a `unix://` address) or the local socket.
    pub async fn connect() -> Result<Self, SwarmError> {
        let socket = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(String::from))
            .unwrap_or_else(|| "/var/run/docker.sock".to_string());
        Self::connect_to(&socket).await
    }

    /// The engine at the Unix socket `socket`, API version negotiated.
    pub async fn connect_to(socket: &str) -> Result<Self, SwarmError> {
        let docker =
            Docker::connect_with_unix(socket, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
                .map_err(|e| SwarmError::Unavailable(format!("{socket}: {e}")))?
                .negotiate_version()
                .await
                .map_err(|e| SwarmError::Unavailable(format!("{socket}: {e}")))?;
        Ok(SwarmRuntime {
            docker,
            socket: socket.to_string(),
        })
    }

    fn versioned(&self, path: &str) -> String {
        let v = self.docker.client_version();
        format!("/v{}.{}{path}", v.major_version, v.minor_version)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, SwarmError> {
        let (status, body) = api::request(&self.socket, "GET", &self.versioned(path), None).await?;
        match status {
            200 => Ok(serde_json::from_slice(&body)?),
            404 => Err(SwarmError::NotFound(api::error_message(&body))),
            503 => Err(SwarmError::NotAManager(api::error_message(&body))),
            _ => Err(SwarmError::Engine(api::error_message(&body))),
        }
    }

    /// The engine's place in a Swarm.
    pub async fn state(&self) -> Result<SwarmState, SwarmError> {
        let info = self.docker.info().await.map_err(map_bollard)?;
        Ok(SwarmState::of(&info))
    }

    /// `Ok` on a manager; else `NotAManager` with the one line that says how to fix it.
    pub async fn ensure_manager(&self) -> Result<(), SwarmError> {
        match self.state().await?.problem() {
            None => Ok(()),
            Some(line) => Err(SwarmError::NotAManager(line)),
        }
    }

    /// `docker swarm join` commands for a new worker and a new manager, with the tokens and
    /// the address of a manager (the leader's when known).
    pub async fn join_commands(&self) -> Result<JoinCommands, SwarmError> {
        let swarm: serde_json::Value = self.get_json("/swarm").await?;
        let token = |role: &str| {
            swarm
                .pointer(&format!("/JoinTokens/{role}"))
                .and_then(|t| t.as_str())
                .map(String::from)
        };
        let nodes: Vec<Node> = self.get_json("/nodes").await?;
        let manager_addr = nodes
            .iter()
            .filter_map(|n| n.manager_status.as_ref())
            .max_by_key(|m| m.leader.unwrap_or(false))
            .and_then(|m| m.addr.clone())
            .ok_or_else(|| SwarmError::Engine("the Swarm lists no manager address".into()))?;
        let command = |token: Option<String>| -> Result<String, SwarmError> {
            let token =
                token.ok_or_else(|| SwarmError::Engine("the Swarm gave no join token".into()))?;
            Ok(format!("docker swarm join --token {token} {manager_addr}"))
        };
        Ok(JoinCommands {
            worker: command(token("Worker"))?,
            manager: command(token("Manager"))?,
        })
    }

    /// Every node of the Swarm.
    pub async fn nodes(&self) -> Result<Vec<SwarmNode>, SwarmError> {
        let nodes: Vec<Node> = self.get_json("/nodes").await?;
        let mut nodes: Vec<SwarmNode> = nodes.iter().filter_map(node_of).collect();
        nodes.sort_by(|a, b| a.hostname.cmp(&b.hostname).then(a.id.cmp(&b.id)));
        Ok(nodes)
    }

    /// Sets a node's availability (`Drain` moves its tasks elsewhere).
    pub async fn set_availability(
        &self,
        node_id: &str,
        availability: Availability,
    ) -> Result<(), SwarmError> {
        let node: Node = self
            .get_json(&format!("/nodes/{}", api::encode(node_id)))
            .await?;
        let version = node.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = node.spec.unwrap_or(NodeSpec {
            name: None,
            labels: None,
            role: None,
            availability: None,
        });
        spec.availability = Some(match availability {
            Availability::Active => NodeSpecAvailabilityEnum::ACTIVE,
            Availability::Pause => NodeSpecAvailabilityEnum::PAUSE,
            Availability::Drain => NodeSpecAvailabilityEnum::DRAIN,
        });
        let body = serde_json::to_vec(&spec)?;
        let path = self.versioned(&format!(
            "/nodes/{}/update?version={version}",
            api::encode(node_id)
        ));
        let (status, body) = api::request(&self.socket, "POST", &path, Some(&body)).await?;
        match status {
            200 => Ok(()),
            404 => Err(SwarmError::NotFound(api::error_message(&body))),
            _ => Err(SwarmError::Engine(api::error_message(&body))),
        }
    }

    /// Creates the service, or updates it to `spec` (Swarm rolls its tasks over start-first
    /// when the task template changed, and only scales when just the replicas did).
    pub async fn ensure_service(
        &self,
        spec: &ServiceProcessSpec,
    ) -> Result<ServiceChange, SwarmError> {
        let wanted = service_spec(spec);
        match self
            .docker
            .inspect_service(&spec.name, None::<InspectServiceOptions>)
            .await
        {
            Ok(existing) => {
                let id = existing.id.unwrap_or_else(|| spec.name.clone());
                let version = existing.version.and_then(|v| v.index).unwrap_or(0);
                let options = UpdateServiceOptions {
                    version,
                    ..Default::default()
                };
                self.docker
                    .update_service(&id, wanted, options, None)
                    .await
                    .map_err(map_bollard)?;
                Ok(ServiceChange::Updated { id })
            }
            Err(e) => match map_bollard(e) {
                SwarmError::NotFound(_) => {
                    let created = self
                        .docker
                        .create_service(wanted, None)
                        .await
                        .map_err(map_bollard)?;
                    Ok(ServiceChange::Created {
                        id: created.id.unwrap_or_default(),
                    })
                }
                other => Err(other),
            },
        }
    }

    /// Where the service's last update stands (a failed one rolled back, with Swarm's reason).
    pub async fn rollout(&self, name: &str) -> Result<Rollout, SwarmError> {
        let service = self
            .docker
            .inspect_service(name, None::<InspectServiceOptions>)
            .await
            .map_err(map_bollard)?;
        Ok(rollout_of(&service))
    }

    /// Sets a service's replicas, leaving the rest of its spec as it is.
    pub async fn scale_service(&self, name: &str, replicas: u64) -> Result<(), SwarmError> {
        let existing = self
            .docker
            .inspect_service(name, None::<InspectServiceOptions>)
            .await
            .map_err(map_bollard)?;
        let version = existing.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = existing.spec.unwrap_or_default();
        let mode = spec.mode.get_or_insert_with(Default::default);
        mode.replicated
            .get_or_insert_with(Default::default)
            .replicas = Some(i64::try_from(replicas).unwrap_or(i64::MAX));
        let options = UpdateServiceOptions {
            version,
            ..Default::default()
        };
        self.docker
            .update_service(name, spec, options, None)
            .await
            .map_err(map_bollard)?;
        Ok(())
    }

    /// Removes a service and so its tasks; a missing one is not an error.
    pub async fn remove_service(&self, name: &str) -> Result<(), SwarmError> {
        match self.docker.delete_service(name).await.map_err(map_bollard) {
            Ok(()) | Err(SwarmError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The services carrying every given label.
    pub async fn list_services(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<SwarmService>, SwarmError> {
        // Raw JSON: bollard 0.18's `Service` has no `PreviousSpec`, whose labels say which
        // release a rollback undid.
        let filters = serde_json::json!({ "label": label_filters(labels) });
        let raw: Vec<serde_json::Value> = self
            .get_json(&format!(
                "/services?filters={}",
                api::encode(&filters.to_string())
            ))
            .await?;
        let mut out: Vec<SwarmService> = raw
            .into_iter()
            .filter_map(|value| {
                let previous_labels = previous_labels(&value);
                let s: Service = serde_json::from_value(value).ok()?;
                let rollout = rollout_of(&s);
                let spec = s.spec?;
                Some(SwarmService {
                    id: s.id?,
                    name: spec.name.unwrap_or_default(),
                    labels: spec.labels.unwrap_or_default().into_iter().collect(),
                    previous_labels,
                    rollout,
                    replicas: spec
                        .mode
                        .and_then(|m| m.replicated)
                        .and_then(|r| r.replicas)
                        .and_then(|r| u64::try_from(r).ok())
                        .unwrap_or(0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The tasks Swarm wants running of the services carrying every given label, as
    /// processes with their node and route address, by service then slot.
    pub async fn list_processes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<SwarmProcess>, SwarmError> {
        let services = self.list_services(labels).await?;
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let filters = serde_json::json!({
            "service": services.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
            "desired-state": ["running"],
        });
        let tasks: Vec<Task> = self
            .get_json(&format!(
                "/tasks?filters={}",
                api::encode(&filters.to_string())
            ))
            .await?;
        let nodes: HashMap<String, SwarmNode> = self
            .nodes()
            .await?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let order: HashMap<&str, &str> = services
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str()))
            .collect();
        let mut processes: Vec<SwarmProcess> =
            tasks.iter().filter_map(|t| process_of(t, &nodes)).collect();
        processes.sort_by(|a, b| {
            let sa = order.get(a.service_id.as_str());
            let sb = order.get(b.service_id.as_str());
            sa.cmp(&sb).then(a.slot.cmp(&b.slot))
        });
        Ok(processes)
    }

    /// Waits until every service carrying the labels has as many running, routable tasks as
    /// replicas; returns them. Gives up after `timeout` with what it saw.
    pub async fn wait_converged(
        &self,
        labels: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Vec<SwarmProcess>, SwarmError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let services = self.list_services(labels).await?;
            let processes = self.list_processes(labels).await?;
            let converged = services.iter().all(|s| {
                let running = processes
                    .iter()
                    .filter(|p| p.service_id == s.id && p.state == crate::ContainerState::Running)
                    .count();
                running as u64 == s.replicas
            });
            if converged {
                return Ok(processes);
            }
            if tokio::time::Instant::now() >= deadline {
                let seen: Vec<String> = processes
                    .iter()
                    .map(|p| {
                        format!(
                            "{}.{} on {}: {}{}",
                            p.service_id,
                            p.slot,
                            p.node.as_deref().unwrap_or("?"),
                            p.task_state,
                            p.error
                                .as_deref()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                return Err(SwarmError::Engine(format!(
                    "services did not converge in {timeout:?}: {}",
                    seen.join("; ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
