//! The Swarm backend's plan for one app, as data (issue 11): from the app's release,
//! formation, sizes and restarts on one side, and the services, tasks and nodes the Swarm has
//! on the other, which services to create or roll over to a new spec, which only to scale,
//! which to remove, which tasks the router may send requests to, and whether a pending
//! release deployed or failed. Nothing here talks to the Swarm; `swarm_pass.rs` does.
//!
//! One process type is one service. Its spec carries a fingerprint label (`paas.spec`): a
//! pass rolls a service over only when the fingerprint of the spec it wants differs (a new
//! release, config, size or restart), scales it when only the count differs, and leaves it
//! alone otherwise, so passes can run every few hundred milliseconds without disturbing a
//! rollout Swarm is carrying out.

use crate::labels;
use paas_domain::{Formation, ProcessSize};
use paas_runtime::swarm::{
    service_name, HealthCommand, ServiceProcessSpec, SwarmNode, SwarmProcess, SwarmService,
};
use paas_runtime::ContainerState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

/// Label with the fingerprint of the spec a service was given.
pub const SPEC_LABEL: &str = "paas.spec";

/// The release an app should run, as the Swarm pass needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmRelease {
    pub id: String,
    pub version: i64,
    /// The name every node pulls (the registry's name of the release image).
    pub image: String,
    /// Process type -> command (the release phase left out).
    pub commands: BTreeMap<String, String>,
    pub config: BTreeMap<String, String>,
    /// Not yet deployed or failed.
    pub pending: bool,
    /// Unix milliseconds from which its health timeout counts.
    pub created_at: i64,
    /// The port web processes listen on.
    pub web_port: u16,
    /// Whether the image can run the HTTP health command (it has bash: the stacks do).
    pub health_command: bool,
    /// The image's entrypoint (the launcher of buildpack images).
    pub entrypoint: Vec<String>,
}

/// How long a task keeps serving after Swarm tells it to stop, before its process gets the
/// SIGTERM: time for the next pass to take it out of the route table and for its requests
/// in flight to finish (passes run every few hundred milliseconds while a rollout runs).
pub const STOP_DELAY: Duration = Duration::from_secs(3);

/// Runs the image's entrypoint with the command and passes Swarm's SIGTERM on to it only
/// after `STOP_DELAY`, so that a task Swarm retires (an update's old task, a scale-down) is
/// out of the routes before it stops listening. `$@` is the entrypoint and the command.
/// Bash may reap the child (its SIGCHLD handler) before the loop looks, and a `wait` cut
/// short by the trap returns 143: the status is the last one a `wait` collected for the
/// child (127 means it was collected before).
pub fn stop_delay_wrapper(delay: Duration) -> String {
    format!(
        "\"$@\" & child=$!; trap 'sleep {}; kill -TERM $child 2>/dev/null' TERM; status=0; \
         while :; do wait $child; s=$?; [ $s -ne 127 ] && status=$s; \
         kill -0 $child 2>/dev/null || break; done; \
         wait $child 2>/dev/null; s=$?; [ $s -ne 127 ] && status=$s; exit $status",
        delay.as_secs()
    )
}

/// The platform's settings the specs need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmSettings {
    pub instance: String,
    pub default_size: ProcessSize,
    pub pids_limit: i64,
    pub stop_grace: Duration,
    pub health_timeout: Duration,
}

/// Everything one app's plan is made from.
#[derive(Debug, Clone)]
pub struct SwarmPlanInput<'a> {
    pub app: &'a str,
    pub settings: &'a SwarmSettings,
    pub release: Option<&'a SwarmRelease>,
    pub formation: &'a Formation,
    pub sizes: &'a BTreeMap<String, ProcessSize>,
    pub restarts: &'a BTreeMap<String, u64>,
    /// The app's services on the Swarm.
    pub services: &'a [SwarmService],
    /// The app's tasks that Swarm wants running.
    pub processes: &'a [SwarmProcess],
    /// Every node, with its state and availability.
    pub nodes: &'a [SwarmNode],
    /// Nodes being drained by paas: their tasks are no longer routed.
    pub draining: &'a HashSet<String>,
    /// Tasks whose web process answered HTTP.
    pub healthy: &'a HashSet<String>,
    /// Unix milliseconds.
    pub now: i64,
}

/// How a pending release ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmVerdict {
    Succeeded,
    /// With the reason for the push.
    Failed(String),
}

/// What to do for one app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmPlan {
    /// Services to create, or to roll over to this spec (start-first, one task at a time).
    pub ensure: Vec<ServiceProcessSpec>,
    /// Services whose spec is right but whose replicas are not: (name, replicas).
    pub scale: Vec<(String, u64)>,
    /// Services no longer wanted.
    pub remove: Vec<String>,
    /// The web tasks the router may use: (address, dyno).
    pub backends: Vec<(SocketAddr, String)>,
    /// Running web tasks to health-check before routing them: (task id, address).
    pub check: Vec<(String, SocketAddr)>,
    pub verdict: Option<SwarmVerdict>,
    /// Something is still changing: pass again soon.
    pub in_progress: bool,
}

/// The spec a process type of `release` gets.
pub fn process_spec(
    input: &SwarmPlanInput<'_>,
    release: &SwarmRelease,
    process_type: &str,
    command: &str,
) -> ServiceProcessSpec {
    let settings = input.settings;
    let replicas = u64::from(input.formation.get(process_type).copied().unwrap_or(0));
    let mut spec = ServiceProcessSpec::new(
        service_name(&settings.instance, input.app, process_type),
        release.image.clone(),
        replicas,
    );
    spec.cmd = Some(vec![command.to_string()]);
    let delayed = release.health_command && !release.entrypoint.is_empty();
    if delayed {
        let mut entrypoint = vec![
            "/bin/bash".to_string(),
            "-c".to_string(),
            stop_delay_wrapper(STOP_DELAY),
            "paas-stop-delay".to_string(),
        ];
        entrypoint.extend(release.entrypoint.iter().cloned());
        spec.entrypoint = Some(entrypoint);
    }
    spec.env = release.config.clone();
    spec.env
        .insert("PORT".to_string(), release.web_port.to_string());
    // Swarm fills in each task's slot: web.1, web.2, ...
    spec.env.insert(
        "DYNO".to_string(),
        format!("{process_type}.{{{{.Task.Slot}}}}"),
    );
    spec.labels = BTreeMap::from([
        (labels::INSTANCE.to_string(), settings.instance.clone()),
        (labels::ROLE.to_string(), labels::ROLE_PROCESS.to_string()),
        (labels::APP.to_string(), input.app.to_string()),
        (labels::RELEASE.to_string(), release.id.clone()),
        (labels::VERSION.to_string(), release.version.to_string()),
        (labels::PROCESS.to_string(), process_type.to_string()),
    ]);
    let size = input
        .sizes
        .get(process_type)
        .copied()
        .unwrap_or(settings.default_size);
    if input.sizes.contains_key(process_type) {
        spec.labels.insert(labels::SIZE.to_string(), size.key());
    }
    if let Some(generation) = input.restarts.get(process_type) {
        spec.labels
            .insert(labels::RESTART.to_string(), generation.to_string());
        spec.force_update = *generation;
    }
    spec.memory_bytes = Some(i64::from(size.memory_mb) * 1024 * 1024);
    spec.nano_cpus = Some(i64::from(size.cpu_millis) * 1_000_000);
    spec.pids_limit = Some(settings.pids_limit);
    spec.user = Some("app".to_string());
    spec.init = true;
    spec.drop_capabilities = true;
    spec.stop_grace = settings.stop_grace + if delayed { STOP_DELAY } else { Duration::ZERO };
    spec.update_monitor = Duration::from_secs(5);
    if process_type == "web" {
        spec.port = Some(release.web_port);
        if release.health_command {
            spec.health = Some(http_health_command(
                release.web_port,
                settings.health_timeout,
            ));
        }
    }
    let fingerprint = fingerprint(&spec);
    spec.labels.insert(SPEC_LABEL.to_string(), fingerprint);
    spec
}

/// The health check Swarm's start-first update waits for: an HTTP request to the process's
/// port that gets any HTTP answer (as the local backend's check), with bash's `/dev/tcp`
/// (the stacks have bash, not curl). Failures while the app boots, up to the health timeout,
/// do not count.
pub fn http_health_command(port: u16, boot: Duration) -> HealthCommand {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 5 line <&3 && [[ $line == HTTP/* ]]"
    );
    HealthCommand {
        command: vec!["/bin/bash".to_string(), "-c".to_string(), script],
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(6),
        retries: 3,
        start_period: boot,
    }
}

/// A stable fingerprint of everything in a spec but its replicas and this label.
pub fn fingerprint(spec: &ServiceProcessSpec) -> String {
    let mut bare = spec.clone();
    bare.replicas = 0;
    bare.labels.remove(SPEC_LABEL);
    let text = format!("{bare:?}");
    // FNV-1a, 64 bits: stable across builds and runs (std's hasher is not).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The plan for one app.
pub fn plan_swarm_app(input: &SwarmPlanInput<'_>) -> SwarmPlan {
    let mut plan = SwarmPlan::default();
    let by_name: HashMap<&str, &SwarmService> = input
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let release = input.release.filter(|r| !r.image.is_empty());
    let mut wanted: HashSet<String> = HashSet::new();
    let mut failure: Option<String> = None;
    if let Some(release) = release {
        for (process_type, command) in &release.commands {
            let spec = process_spec(input, release, process_type, command);
            wanted.insert(spec.name.clone());
            let existing = by_name.get(spec.name.as_str());
            if let Some(service) = existing {
                if let Some(reason) = rolled_back_from(service, release) {
                    // Swarm put the previous spec back: the release failed. Rolling it out
                    // again would only fail again.
                    failure.get_or_insert_with(|| {
                        format!("Swarm rolled {process_type} back: {reason}")
                    });
                    continue;
                }
                if service.labels.get(SPEC_LABEL) != spec.labels.get(SPEC_LABEL) {
                    plan.ensure.push(spec);
                } else if service.replicas != spec.replicas {
                    plan.scale.push((spec.name.clone(), spec.replicas));
                }
            } else if spec.replicas > 0 {
                plan.ensure.push(spec);
            }
        }
    }
    for service in input.services {
        if !wanted.contains(&service.name) {
            plan.remove.push(service.name.clone());
        }
    }

    let usable: HashSet<&str> = input
        .nodes
        .iter()
        .filter(|n| n.is_ready() && n.availability != "drain" && !input.draining.contains(&n.id))
        .map(|n| n.id.as_str())
        .collect();
    let mut web: Vec<&SwarmProcess> = input
        .processes
        .iter()
        .filter(|p| p.labels.get(labels::PROCESS).map(String::as_str) == Some("web"))
        .collect();
    web.sort_by_key(|p| p.slot);
    for p in &web {
        let Some(addr) = p.route() else { continue };
        if !usable.contains(p.node_id.as_str()) {
            continue;
        }
        if input.healthy.contains(&p.task_id) {
            plan.backends.push((addr, format!("web.{}", p.slot)));
        } else {
            plan.check.push((p.task_id.clone(), addr));
        }
    }

    let rolling = input.services.iter().any(|s| s.rollout.in_progress());
    plan.in_progress = !plan.ensure.is_empty()
        || !plan.scale.is_empty()
        || !plan.remove.is_empty()
        || !plan.check.is_empty()
        || rolling;
    if let Some(release) = release.filter(|r| r.pending) {
        plan.verdict = match failure {
            Some(reason) => Some(SwarmVerdict::Failed(reason)),
            None => verdict(input, release, &plan),
        };
        plan.in_progress |= plan.verdict.is_none();
    }
    plan
}

/// Swarm's reason when the service's last update, to `release`, was rolled back.
fn rolled_back_from<'a>(service: &'a SwarmService, release: &SwarmRelease) -> Option<&'a str> {
    let reason = service.rollout.failure()?;
    let failed = service.previous_labels.get(labels::RELEASE) == Some(&release.id)
        && service.labels.get(labels::RELEASE) != Some(&release.id);
    failed.then_some(reason)
}

/// Whether a pending release is deployed: every service on its spec and done rolling, as
/// many of its tasks running as the formation asks, its web tasks answering HTTP. Failed when
/// its web processes do not get there within the health timeout.
fn verdict(
    input: &SwarmPlanInput<'_>,
    release: &SwarmRelease,
    plan: &SwarmPlan,
) -> Option<SwarmVerdict> {
    let ours = |p: &&SwarmProcess| p.labels.get(labels::RELEASE) == Some(&release.id);
    let routed: HashSet<&SocketAddr> = plan.backends.iter().map(|(a, _)| a).collect();
    let mut ready = plan.ensure.is_empty();
    for process_type in release.commands.keys() {
        let want = input.formation.get(process_type).copied().unwrap_or(0) as usize;
        if want == 0 {
            continue;
        }
        let name = service_name(&input.settings.instance, input.app, process_type);
        let settled = input
            .services
            .iter()
            .find(|s| s.name == name)
            .is_some_and(|s| !s.rollout.in_progress() && s.replicas as usize == want);
        let running: Vec<&SwarmProcess> = input
            .processes
            .iter()
            .filter(ours)
            .filter(|p| p.labels.get(labels::PROCESS) == Some(process_type))
            .filter(|p| p.state == ContainerState::Running)
            .collect();
        let answering = if process_type == "web" {
            running
                .iter()
                .filter(|p| p.route().is_some_and(|a| routed.contains(&a)))
                .count()
        } else {
            running.len()
        };
        ready &= settled && answering >= want;
    }
    if ready {
        return Some(SwarmVerdict::Succeeded);
    }
    let waited = input.now - release.created_at;
    if waited > i64::try_from(input.settings.health_timeout.as_millis()).unwrap_or(i64::MAX) {
        let errors: Vec<String> = input
            .processes
            .iter()
            .filter(ours)
            .filter_map(|p| {
                let process = p.labels.get(labels::PROCESS)?;
                Some(format!("{process}.{}: {}", p.slot, p.error.as_ref()?))
            })
            .collect();
        let mut reason =
            "its processes did not start and answer HTTP on Swarm in time.".to_string();
        if !errors.is_empty() {
            reason.push_str(&format!(" Swarm says: {}", errors.join("; ")));
        }
        return Some(SwarmVerdict::Failed(reason));
    }
    None
}

#[cfg(test)]
#[path = "swarm_plan_tests.rs"]
mod tests;
