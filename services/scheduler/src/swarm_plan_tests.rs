//! The Swarm plan as data: specs, when a service is rolled, scaled or removed, which tasks
//! are routed, and how a pending release ends.

use super::*;
use paas_runtime::swarm::Rollout;
use std::net::{IpAddr, Ipv4Addr};

fn settings() -> SwarmSettings {
    SwarmSettings {
        instance: "i1".to_string(),
        default_size: ProcessSize {
            memory_mb: 512,
            cpu_millis: 1000,
        },
        pids_limit: 512,
        stop_grace: Duration::from_secs(30),
        health_timeout: Duration::from_secs(60),
    }
}

fn release(id: &str) -> SwarmRelease {
    SwarmRelease {
        id: id.to_string(),
        version: 3,
        image: "10.0.0.1:5000/paas-i1/shop:3".to_string(),
        commands: BTreeMap::from([
            ("web".to_string(), "gunicorn app:app".to_string()),
            ("worker".to_string(), "python worker.py".to_string()),
        ]),
        config: BTreeMap::from([("SECRET".to_string(), "s3cret".to_string())]),
        pending: true,
        created_at: 1_000,
        web_port: 5000,
        health_command: true,
        entrypoint: vec!["/.paas/launch".to_string()],
    }
}

fn node(id: &str, last: u8) -> SwarmNode {
    SwarmNode {
        id: id.to_string(),
        hostname: format!("host-{id}"),
        addr: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))),
        state: "ready".to_string(),
        availability: "active".to_string(),
        manager: true,
        leader: false,
    }
}

fn task(
    id: &str,
    process: &str,
    slot: u64,
    node: &SwarmNode,
    port: u16,
    rel: &str,
) -> SwarmProcess {
    SwarmProcess {
        task_id: id.to_string(),
        service_id: format!("svc-{process}"),
        slot,
        node_id: node.id.clone(),
        node: Some(node.hostname.clone()),
        node_addr: node.addr,
        published_port: Some(port),
        state: ContainerState::Running,
        task_state: "running".to_string(),
        desired_running: true,
        container_id: Some(format!("c-{id}")),
        exit_code: None,
        error: None,
        labels: BTreeMap::from([
            (labels::PROCESS.to_string(), process.to_string()),
            (labels::RELEASE.to_string(), rel.to_string()),
        ]),
        created: 1,
    }
}

struct World {
    settings: SwarmSettings,
    release: Option<SwarmRelease>,
    formation: Formation,
    sizes: BTreeMap<String, ProcessSize>,
    restarts: BTreeMap<String, u64>,
    services: Vec<SwarmService>,
    processes: Vec<SwarmProcess>,
    nodes: Vec<SwarmNode>,
    draining: HashSet<String>,
    healthy: HashSet<String>,
    now: i64,
}

impl World {
    fn new() -> Self {
        World {
            settings: settings(),
            release: Some(release("r3")),
            formation: BTreeMap::from([("web".to_string(), 2), ("worker".to_string(), 1)]),
            sizes: BTreeMap::new(),
            restarts: BTreeMap::new(),
            services: Vec::new(),
            processes: Vec::new(),
            nodes: vec![node("n1", 11), node("n2", 12)],
            draining: HashSet::new(),
            healthy: HashSet::new(),
            now: 2_000,
        }
    }

    fn input(&self) -> SwarmPlanInput<'_> {
        SwarmPlanInput {
            app: "shop",
            settings: &self.settings,
            release: self.release.as_ref(),
            formation: &self.formation,
            sizes: &self.sizes,
            restarts: &self.restarts,
            services: &self.services,
            processes: &self.processes,
            nodes: &self.nodes,
            draining: &self.draining,
            healthy: &self.healthy,
            now: self.now,
        }
    }

    fn plan(&self) -> SwarmPlan {
        plan_swarm_app(&self.input())
    }

    /// The services as they are once the plan's specs were applied.
    fn applied(&mut self) {
        let plan = self.plan();
        for spec in plan.ensure {
            self.services.retain(|s| s.name != spec.name);
            self.services.push(SwarmService {
                id: format!("svc-{}", spec.labels[labels::PROCESS]),
                name: spec.name.clone(),
                labels: spec.labels.clone(),
                replicas: spec.replicas,
                previous_labels: BTreeMap::new(),
                rollout: Rollout::Created,
            });
        }
    }

    fn run_tasks(&mut self, rel: &str) {
        let n1 = self.nodes[0].clone();
        let n2 = self.nodes[1].clone();
        self.processes = vec![
            task("t1", "web", 1, &n1, 30001, rel),
            task("t2", "web", 2, &n2, 30002, rel),
            task("t3", "worker", 1, &n1, 0, rel),
        ];
    }
}

#[test]
fn a_first_deploy_creates_one_service_per_type_with_the_formation_as_replicas() {
    let world = World::new();
    let plan = world.plan();
    assert_eq!(plan.ensure.len(), 2);
    let web = &plan.ensure[0];
    assert_eq!(web.name, "paas-i1-shop-web");
    assert_eq!(web.replicas, 2);
    assert_eq!(web.image, "10.0.0.1:5000/paas-i1/shop:3");
    assert_eq!(web.cmd, Some(vec!["gunicorn app:app".to_string()]));
    assert_eq!(web.env["PORT"], "5000");
    assert_eq!(web.env["DYNO"], "web.{{.Task.Slot}}");
    assert_eq!(web.env["SECRET"], "s3cret");
    assert_eq!(web.port, Some(5000));
    assert_eq!(web.labels[labels::APP], "shop");
    assert_eq!(web.labels[labels::RELEASE], "r3");
    assert_eq!(web.labels[labels::VERSION], "3");
    assert_eq!(web.labels[labels::ROLE], labels::ROLE_PROCESS);
    assert_eq!(web.labels[SPEC_LABEL], fingerprint(web));
    assert_eq!(web.memory_bytes, Some(512 * 1024 * 1024));
    assert_eq!(web.user.as_deref(), Some("app"));
    assert!(web.drop_capabilities && web.init);
    let health = web
        .health
        .as_ref()
        .expect("web gets the HTTP health command");
    assert!(health.command[2].contains("/dev/tcp/127.0.0.1/5000"));
    assert_eq!(health.start_period, Duration::from_secs(60));
    let worker = &plan.ensure[1];
    assert_eq!(worker.name, "paas-i1-shop-worker");
    assert_eq!((worker.replicas, worker.port), (1, None));
    assert!(worker.health.is_none());
    assert!(plan.remove.is_empty() && plan.scale.is_empty());
    assert_eq!(plan.verdict, None);
    assert!(plan.in_progress);
    // The launcher runs under the stop delay; the grace covers the delay too.
    let entrypoint = web.entrypoint.as_ref().expect("wrapped entrypoint");
    assert_eq!(entrypoint[..2], ["/bin/bash".to_string(), "-c".to_string()]);
    assert_eq!(entrypoint[4], "/.paas/launch");
    assert_eq!(web.stop_grace, Duration::from_secs(30) + STOP_DELAY);
}

/// The wrapper, run by bash: the command runs, a SIGTERM reaches it only after the delay,
/// and its exit status is the wrapper's.
#[test]
fn the_stop_delay_wrapper_passes_sigterm_on_late_and_keeps_the_exit_status() {
    use std::process::Command;
    use std::time::Instant;
    let wrapper = stop_delay_wrapper(Duration::from_secs(1));
    // Many times: bash may reap a quick child before the wrapper's loop looks at it (one
    // run in seven lost the status that way before).
    for _ in 0..50 {
        let status = Command::new("bash")
            .args(["-c", &wrapper, "paas-stop-delay", "bash", "-c", "exit 7"])
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(7));
    }
    // A child that records when it got SIGTERM.
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("got-term");
    let child_script = format!(
        "trap 'date +%s%N > {}; exit 3' TERM; while true; do sleep 0.05; done",
        mark.display()
    );
    let mut wrapper_process = Command::new("bash")
        .args([
            "-c",
            &wrapper,
            "paas-stop-delay",
            "bash",
            "-c",
            &child_script,
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let pid = wrapper_process.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(!mark.exists(), "the command got SIGTERM before the delay");
    let status = wrapper_process.wait().unwrap();
    assert!(mark.exists(), "the command never got SIGTERM");
    assert!(
        sent.elapsed() >= Duration::from_millis(900),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(3), "the command's own exit status");
}

#[test]
fn an_image_without_bash_gets_no_health_command_and_types_at_zero_no_service() {
    let mut world = World::new();
    world.release.as_mut().unwrap().health_command = false;
    world.formation.insert("worker".to_string(), 0);
    let plan = world.plan();
    assert_eq!(plan.ensure.len(), 1);
    assert!(plan.ensure[0].health.is_none());
}

#[test]
fn passes_leave_an_applied_spec_alone_and_only_scale_when_the_count_changes() {
    let mut world = World::new();
    world.applied();
    let plan = world.plan();
    assert!(plan.ensure.is_empty() && plan.scale.is_empty(), "{plan:?}");
    world.formation.insert("web".to_string(), 6);
    let plan = world.plan();
    assert!(plan.ensure.is_empty());
    assert_eq!(plan.scale, vec![("paas-i1-shop-web".to_string(), 6)]);
}

#[test]
fn a_new_release_config_size_or_restart_rolls_the_service_over() {
    let mut world = World::new();
    world.applied();
    let rolled = |world: &World| -> Vec<String> {
        world.plan().ensure.into_iter().map(|s| s.name).collect()
    };
    world.release.as_mut().unwrap().id = "r4".to_string();
    assert_eq!(rolled(&world).len(), 2, "a new release rolls every type");
    world.applied();
    world.sizes.insert(
        "worker".to_string(),
        ProcessSize {
            memory_mb: 1024,
            cpu_millis: 2000,
        },
    );
    assert_eq!(rolled(&world), vec!["paas-i1-shop-worker".to_string()]);
    world.applied();
    world.restarts.insert("web".to_string(), 7);
    let plan = world.plan();
    assert_eq!(plan.ensure.len(), 1);
    assert_eq!(plan.ensure[0].force_update, 7);
    assert_eq!(plan.ensure[0].labels[labels::RESTART], "7");
}

#[test]
fn the_fingerprint_ignores_replicas_and_changes_with_config() {
    let world = World::new();
    let input = world.input();
    let r = release("r3");
    let a = process_spec(&input, &r, "web", "gunicorn app:app");
    let mut scaled = a.clone();
    scaled.replicas = 9;
    assert_eq!(fingerprint(&a), fingerprint(&scaled));
    let mut other = r.clone();
    other.config.insert("SECRET".to_string(), "new".to_string());
    let b = process_spec(&input, &other, "web", "gunicorn app:app");
    assert_ne!(a.labels[SPEC_LABEL], b.labels[SPEC_LABEL]);
}

#[test]
fn services_of_types_gone_from_the_release_or_of_an_app_without_one_are_removed() {
    let mut world = World::new();
    world.applied();
    world.release.as_mut().unwrap().commands.remove("worker");
    assert_eq!(world.plan().remove, vec!["paas-i1-shop-worker".to_string()]);
    world.release = None;
    let mut removed = world.plan().remove;
    removed.sort();
    assert_eq!(removed.len(), 2);
    world.release = Some(release("r3"));
    world.release.as_mut().unwrap().image.clear();
    assert_eq!(
        world.plan().remove.len(),
        2,
        "a release without an image runs nothing"
    );
}

#[test]
fn only_healthy_running_web_tasks_on_usable_nodes_are_routed() {
    let mut world = World::new();
    world.applied();
    world.run_tasks("r3");
    let plan = world.plan();
    assert!(plan.backends.is_empty());
    let checked: Vec<&str> = plan.check.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        checked,
        vec!["t1", "t2"],
        "workers are never checked or routed"
    );
    world.healthy = HashSet::from(["t1".to_string(), "t2".to_string()]);
    let plan = world.plan();
    assert_eq!(
        plan.backends,
        vec![
            ("10.0.0.11:30001".parse().unwrap(), "web.1".to_string()),
            ("10.0.0.12:30002".parse().unwrap(), "web.2".to_string()),
        ]
    );
    world.draining.insert("n2".to_string());
    assert_eq!(
        world.plan().backends.len(),
        1,
        "a node paas drains is not routed"
    );
    world.draining.clear();
    world.nodes[1].availability = "drain".to_string();
    assert_eq!(world.plan().backends.len(), 1, "nor a drained one");
    world.nodes[1].availability = "active".to_string();
    world.nodes[1].state = "down".to_string();
    assert_eq!(world.plan().backends.len(), 1, "nor a node that is down");
    world.nodes[1].state = "ready".to_string();
    world.processes[1].desired_running = false;
    assert_eq!(
        world.plan().backends.len(),
        1,
        "nor a task Swarm is stopping"
    );
}

#[test]
fn a_release_deploys_once_its_tasks_run_and_its_web_tasks_answer() {
    let mut world = World::new();
    world.applied();
    world.run_tasks("r3");
    assert_eq!(world.plan().verdict, None);
    world.healthy = HashSet::from(["t1".to_string(), "t2".to_string()]);
    assert_eq!(world.plan().verdict, Some(SwarmVerdict::Succeeded));
    world.services[0].rollout = Rollout::Updating;
    assert_eq!(world.plan().verdict, None, "not while Swarm still rolls it");
    world.services[0].rollout = Rollout::Completed;
    world.processes[2]
        .labels
        .insert(labels::RELEASE.to_string(), "r2".to_string());
    assert_eq!(
        world.plan().verdict,
        None,
        "the worker must run the release too"
    );
    world.release.as_mut().unwrap().pending = false;
    assert_eq!(
        world.plan().verdict,
        None,
        "a decided release gets no verdict"
    );
}

#[test]
fn a_rollback_by_swarm_fails_the_release_with_its_reason_and_is_not_retried() {
    let mut world = World::new();
    world.applied();
    for service in &mut world.services {
        service.previous_labels = service.labels.clone();
        service
            .labels
            .insert(labels::RELEASE.to_string(), "r2".to_string());
        service
            .labels
            .insert(SPEC_LABEL.to_string(), "old".to_string());
        service.rollout = Rollout::RolledBack {
            message: "update rolled back due to failure".to_string(),
        };
    }
    let plan = world.plan();
    assert!(plan.ensure.is_empty(), "{:?}", plan.ensure);
    match plan.verdict {
        Some(SwarmVerdict::Failed(reason)) => {
            assert!(
                reason.contains("update rolled back due to failure"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The next release rolls out, whatever the service's last rollback said.
    world.release = Some(release("r5"));
    assert_eq!(world.plan().ensure.len(), 2);
}

#[test]
fn a_release_whose_tasks_never_run_fails_after_the_health_timeout_with_swarms_errors() {
    let mut world = World::new();
    world.applied();
    world.run_tasks("r3");
    world.processes[0].state = ContainerState::Exited;
    world.processes[0].error = Some("task: non-zero exit (1)".to_string());
    world.now = 1_000 + 60_001;
    match world.plan().verdict {
        Some(SwarmVerdict::Failed(reason)) => {
            assert!(
                reason.contains("web.1: task: non-zero exit (1)"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    world.now = 1_000 + 59_000;
    assert_eq!(world.plan().verdict, None);
}
