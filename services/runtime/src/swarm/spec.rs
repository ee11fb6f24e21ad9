//! What a process type becomes on Swarm, as plain data, and the pure translation into the
//! engine's service spec: one replicated service per process type, replicas = its formation,
//! our labels on the service and on every task's container, limits, a start-first rolling
//! update that rolls back on failure, and the process's port published in host mode (no
//! published number: each task gets a port of its own on its node, so several tasks of one
//! type can share a node and the router reaches each at `node address:published port`).

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, HealthConfig, Limit, NetworkAttachmentConfig, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigFailureActionEnum, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Label on every service (and task container) that paas made through the Swarm backend.
pub const BACKEND_LABEL: &str = "paas.backend";
/// Its value.
pub const BACKEND_SWARM: &str = "swarm";

/// A command run in the container to decide whether a task is healthy; Swarm's start-first
/// update waits for it before it stops the task being replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCommand {
    /// Run without a shell (`CMD` form).
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive failures before the task is unhealthy.
    pub retries: u32,
    /// Failures during this time after the start do not count.
    pub start_period: Duration,
}

/// How one process type of one release runs on Swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProcessSpec {
    /// The service's name (see [`service_name`]).
    pub name: String,
    /// Must be pullable by every node (the registry's name of the release image) or loaded
    /// into each.
    pub image: String,
    /// Replaces the image's entrypoint when set (Swarm's `Command`).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command when set (Swarm's `Args`).
    pub cmd: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    /// On the service and on each task's container (`paas.instance`, `paas.app`, ...).
    pub labels: BTreeMap<String, String>,
    /// The formation's count for this type.
    pub replicas: u64,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// The engine's init as PID 1 (signals reach the app, zombies are reaped).
    pub init: bool,
    /// Drop every capability but `capabilities`.
    pub drop_capabilities: bool,
    pub capabilities: Vec<String>,
    /// The port the process listens on (web), published in host mode on a port the node
    /// chooses for each task.
    pub port: Option<u16>,
    /// Time between SIGTERM and SIGKILL when a task is stopped.
    pub stop_grace: Duration,
    pub health: Option<HealthCommand>,
    /// Overlay networks to attach every task to.
    pub networks: Vec<String>,
    /// Bumped to replace every task without another change (`paas restart`).
    pub force_update: u64,
    /// How long Swarm watches each updated task for failure before it moves on.
    pub update_monitor: Duration,
}

impl ServiceProcessSpec {
    /// A spec with the platform's usual settings: no limits, no port, a 30 s stop grace,
    /// 10 s of update monitoring.
    pub fn new(name: impl Into<String>, image: impl Into<String>, replicas: u64) -> Self {
        ServiceProcessSpec {
            name: name.into(),
            image: image.into(),
            entrypoint: None,
            cmd: None,
            env: BTreeMap::new(),
            labels: BTreeMap::new(),
            replicas,
            memory_bytes: None,
            nano_cpus: None,
            pids_limit: None,
            user: None,
            working_dir: None,
            init: true,
            drop_capabilities: false,
            capabilities: Vec::new(),
            port: None,
            stop_grace: Duration::from_secs(30),
            health: None,
            networks: Vec::new(),
            force_update: 0,
            update_monitor: Duration::from_secs(10),
        }
    }
}

/// The service name of an app's process type: `paas-<instance>-<app>-<type>`, cut to the 63
/// characters Swarm allows (the end kept unique with a hash of the whole name when cut).
pub fn service_name(instance: &str, app: &str, process_type: &str) -> String {
    const MAX: usize = 63;
    let full = format!("paas-{instance}-{app}-{process_type}");
    if full.len() <= MAX {
        return full;
    }
    // FNV-1a: stable across builds, enough to keep two cut names apart.
    let mut hash: u32 = 0x811c_9dc5;
    for b in full.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let suffix = format!("-{hash:08x}");
    let mut cut = full[..MAX - suffix.len()].to_string();
    while cut.ends_with('-') {
        cut.pop();
    }
    cut + &suffix
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The engine's service spec for `spec`.
pub fn service_spec(spec: &ServiceProcessSpec) -> ServiceSpec {
    let mut labels = spec.labels.clone();
    labels.insert(BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string());
    let env = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let health_check = spec.health.as_ref().map(|h| HealthConfig {
        test: Some(
            std::iter::once("CMD".to_string())
                .chain(h.command.iter().cloned())
                .collect(),
        ),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        start_interval: None,
    });
    let container = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        labels: Some(hash_map(&labels)),
        command: spec.entrypoint.clone(),
        args: spec.cmd.clone(),
        env: Some(env),
        dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        init: Some(spec.init),
        stop_grace_period: Some(nanos(spec.stop_grace)),
        health_check,
        capability_drop: spec.drop_capabilities.then(|| vec!["ALL".to_string()]),
        capability_add: (spec.drop_capabilities && !spec.capabilities.is_empty())
            .then(|| spec.capabilities.clone()),
        ..Default::default()
    };
    let limits =
        (spec.memory_bytes.is_some() || spec.nano_cpus.is_some() || spec.pids_limit.is_some())
            .then_some(Limit {
                nano_cpus: spec.nano_cpus,
                memory_bytes: spec.memory_bytes,
                pids: spec.pids_limit,
            });
    let networks: Option<Vec<NetworkAttachmentConfig>> = (!spec.networks.is_empty()).then(|| {
        spec.networks
            .iter()
            .map(|n| NetworkAttachmentConfig {
                target: Some(n.clone()),
                ..Default::default()
            })
            .collect()
    });
    let task = TaskSpec {
        container_spec: Some(container),
        resources: Some(TaskSpecResources {
            limits,
            reservations: None,
        }),
        // Swarm replaces a task that exits, whatever its exit code; our backoff is its delay.
        restart_policy: Some(TaskSpecRestartPolicy {
            condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
            delay: Some(nanos(Duration::from_secs(1))),
            max_attempts: None,
            window: None,
        }),
        placement: Some(TaskSpecPlacement {
            preferences: Some(vec![TaskSpecPlacementPreferences {
                spread: Some(TaskSpecPlacementSpread {
                    spread_descriptor: Some("node.id".to_string()),
                }),
            }]),
            ..Default::default()
        }),
        force_update: Some(i64::try_from(spec.force_update).unwrap_or(i64::MAX)),
        networks,
        ..Default::default()
    };
    let endpoint_spec = EndpointSpec {
        // Virtual IPs need the ingress mesh's IPVS, which this kernel does not have; DNS
        // round-robin on an overlay network works without it.
        mode: Some(EndpointSpecModeEnum::DNSRR),
        ports: spec.port.map(|port| {
            vec![EndpointPortConfig {
                name: Some("web".to_string()),
                protocol: Some(EndpointPortConfigProtocolEnum::TCP),
                target_port: Some(i64::from(port)),
                published_port: None,
                publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
            }]
        }),
    };
    ServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(hash_map(&labels)),
        task_template: Some(task),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(i64::try_from(spec.replicas).unwrap_or(i64::MAX)),
            }),
            ..Default::default()
        }),
        // New beside old, one at a time; a task that fails within the monitor window rolls the
        // whole service back to its previous spec.
        update_config: Some(ServiceSpecUpdateConfig {
            parallelism: Some(1),
            delay: Some(0),
            failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
            monitor: Some(nanos(spec.update_monitor)),
            max_failure_ratio: Some(0.0),
            order: Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST),
        }),
        rollback_config: Some(ServiceSpecRollbackConfig {
            parallelism: Some(1),
            delay: Some(0),
            failure_action: Some(ServiceSpecRollbackConfigFailureActionEnum::PAUSE),
            monitor: Some(nanos(spec.update_monitor)),
            max_failure_ratio: Some(0.0),
            order: Some(ServiceSpecRollbackConfigOrderEnum::START_FIRST),
        }),
        networks: None,
        endpoint_spec: Some(endpoint_spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> ServiceProcessSpec {
        let mut spec = ServiceProcessSpec::new(
            service_name("i1", "hello", "web"),
            "registry.local:5000/paas-i1/hello:7",
            3,
        );
        spec.cmd = Some(vec!["/launch".into(), "python app.py".into()]);
        spec.env.insert("PORT".into(), "5000".into());
        spec.env.insert("GREETING".into(), "hi there".into());
        spec.labels.insert("paas.app".into(), "hello".into());
        spec.labels.insert("paas.release".into(), "7".into());
        spec.labels.insert("paas.process".into(), "web".into());
        spec.memory_bytes = Some(512 << 20);
        spec.nano_cpus = Some(1_000_000_000);
        spec.pids_limit = Some(256);
        spec.port = Some(5000);
        spec.user = Some("app".into());
        spec.drop_capabilities = true;
        spec.stop_grace = Duration::from_secs(5);
        spec
    }

    #[test]
    fn labels_are_on_the_service_and_on_every_tasks_container() {
        let built = service_spec(&web());
        let service = built.labels.expect("service labels");
        let container = built
            .task_template
            .and_then(|t| t.container_spec)
            .and_then(|c| c.labels)
            .expect("container labels");
        for labels in [&service, &container] {
            assert_eq!(labels["paas.app"], "hello");
            assert_eq!(labels["paas.release"], "7");
            assert_eq!(labels["paas.process"], "web");
            assert_eq!(labels[BACKEND_LABEL], BACKEND_SWARM);
        }
        assert_eq!(built.name.as_deref(), Some("paas-i1-hello-web"));
    }

    #[test]
    fn replicas_are_the_formation_and_the_command_env_and_user_pass_through() {
        let built = service_spec(&web());
        assert_eq!(
            built
                .mode
                .and_then(|m| m.replicated)
                .and_then(|r| r.replicas),
            Some(3)
        );
        let c = built
            .task_template
            .and_then(|t| t.container_spec)
            .expect("container spec");
        assert_eq!(c.command, None, "the image's entrypoint is kept");
        assert_eq!(
            c.args,
            Some(vec!["/launch".to_string(), "python app.py".to_string()])
        );
        assert_eq!(
            c.env,
            Some(vec![
                "GREETING=hi there".to_string(),
                "PORT=5000".to_string()
            ])
        );
        assert_eq!(c.user.as_deref(), Some("app"));
        assert_eq!(c.init, Some(true));
        assert_eq!(c.stop_grace_period, Some(5_000_000_000));
        assert_eq!(c.capability_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(c.capability_add, None);
        assert_eq!(
            c.image.as_deref(),
            Some("registry.local:5000/paas-i1/hello:7")
        );
    }

    #[test]
    fn limits_become_task_resources_and_none_set_means_none() {
        let built = service_spec(&web());
        let limits = built
            .task_template
            .and_then(|t| t.resources)
            .and_then(|r| r.limits)
            .expect("limits");
        assert_eq!(limits.memory_bytes, Some(512 << 20));
        assert_eq!(limits.nano_cpus, Some(1_000_000_000));
        assert_eq!(limits.pids, Some(256));

        let bare = service_spec(&ServiceProcessSpec::new("s", "img", 1));
        assert_eq!(
            bare.task_template
                .and_then(|t| t.resources)
                .and_then(|r| r.limits),
            None
        );
    }

    #[test]
    fn updates_start_the_new_task_first_and_roll_back_on_failure() {
        let built = service_spec(&web());
        let update = built.update_config.expect("update config");
        assert_eq!(
            update.order,
            Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST)
        );
        assert_eq!(
            update.failure_action,
            Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK)
        );
        assert_eq!(update.parallelism, Some(1));
        assert_eq!(update.monitor, Some(10_000_000_000));
        let rollback = built.rollback_config.expect("rollback config");
        assert_eq!(
            rollback.order,
            Some(ServiceSpecRollbackConfigOrderEnum::START_FIRST)
        );
    }

    #[test]
    fn the_port_is_published_in_host_mode_on_a_port_each_node_chooses() {
        let built = service_spec(&web());
        let endpoint = built.endpoint_spec.expect("endpoint spec");
        assert_eq!(endpoint.mode, Some(EndpointSpecModeEnum::DNSRR));
        let ports = endpoint.ports.expect("ports");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].target_port, Some(5000));
        assert_eq!(ports[0].published_port, None);
        assert_eq!(
            ports[0].publish_mode,
            Some(EndpointPortConfigPublishModeEnum::HOST)
        );

        let worker = service_spec(&ServiceProcessSpec::new("w", "img", 2));
        assert_eq!(worker.endpoint_spec.and_then(|e| e.ports), None);
    }

    #[test]
    fn tasks_spread_over_nodes_restart_always_and_a_restart_bumps_force_update() {
        let mut spec = web();
        spec.force_update = 3;
        spec.networks = vec!["paas-i1-hello".into()];
        let task = service_spec(&spec).task_template.expect("task");
        let spread = task
            .placement
            .and_then(|p| p.preferences)
            .and_then(|p| p.into_iter().next())
            .and_then(|p| p.spread)
            .and_then(|s| s.spread_descriptor);
        assert_eq!(spread.as_deref(), Some("node.id"));
        assert_eq!(
            task.restart_policy.and_then(|r| r.condition),
            Some(TaskSpecRestartPolicyConditionEnum::ANY)
        );
        assert_eq!(task.force_update, Some(3));
        assert_eq!(
            task.networks
                .and_then(|n| n.into_iter().next())
                .and_then(|n| n.target)
                .as_deref(),
            Some("paas-i1-hello")
        );
    }

    #[test]
    fn a_health_command_becomes_the_containers_health_check() {
        let mut spec = web();
        spec.health = Some(HealthCommand {
            command: vec!["/launch-check".into(), "5000".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            retries: 3,
            start_period: Duration::from_secs(30),
        });
        let check = service_spec(&spec)
            .task_template
            .and_then(|t| t.container_spec)
            .and_then(|c| c.health_check)
            .expect("health check");
        assert_eq!(
            check.test,
            Some(vec![
                "CMD".to_string(),
                "/launch-check".to_string(),
                "5000".to_string()
            ])
        );
        assert_eq!(check.interval, Some(1_000_000_000));
        assert_eq!(check.retries, Some(3));
        assert_eq!(check.start_period, Some(30_000_000_000));
    }

    #[test]
    fn capabilities_kept_are_added_back_after_dropping_all() {
        let mut spec = web();
        spec.capabilities = vec!["CHOWN".into()];
        let c = service_spec(&spec)
            .task_template
            .and_then(|t| t.container_spec)
            .expect("container");
        assert_eq!(c.capability_add, Some(vec!["CHOWN".to_string()]));
    }

    #[test]
    fn long_service_names_are_cut_to_63_characters_and_stay_distinct() {
        assert_eq!(service_name("i", "app", "web"), "paas-i-app-web");
        let instance = "x".repeat(40);
        let a = service_name(&instance, "a-rather-long-app-name", "web");
        let b = service_name(&instance, "a-rather-long-app-name", "worker");
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(a, service_name(&instance, "a-rather-long-app-name", "web"));
    }
}
