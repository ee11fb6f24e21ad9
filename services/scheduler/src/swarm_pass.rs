//! The Swarm side of a reconcile pass (issue 11): for each app that runs on Swarm, makes its
//! services match its release and formation (`swarm_plan.rs` decides, this file does), pushes
//! the release image to the registry the nodes pull from, health-checks new web tasks before
//! the router uses them, and reports a release deployed or failed. Swarm itself rolls tasks
//! over start-first and rolls a failed update back; the route table follows the tasks, and
//! leaves out tasks on nodes that are down or being drained.

use crate::health::answers_http;
use crate::labels::{self, ProcessLabels, Slot};
use crate::release_phase::RELEASE_PHASE;
use crate::scheduler::{now_ms, ProcessView, Scheduler, SchedulerError};
use crate::swarm_plan::{
    plan_swarm_app, SwarmPlanInput, SwarmRelease, SwarmSettings, SwarmVerdict,
};
use paas_domain::SchedulerKind;
use paas_router::{AppRoute, Backend};
use paas_runtime::swarm::{
    SwarmNode, SwarmProcess, SwarmRuntime, SwarmService, BACKEND_LABEL, BACKEND_SWARM,
};
use paas_runtime::{ContainerInfo, ContainerState};
use paas_store::{App, ReleaseStatus};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

/// What the Swarm has of this instance, read once per pass.
#[derive(Debug, Default)]
pub(crate) struct SwarmWorld {
    pub services: HashMap<String, Vec<SwarmService>>,
    pub processes: HashMap<String, Vec<SwarmProcess>>,
    pub nodes: Vec<SwarmNode>,
}

/// How a release image runs on Swarm, worked out once per image.
#[derive(Debug, Clone)]
pub(crate) struct SwarmImage {
    /// The name nodes pull.
    pub name: String,
    pub web_port: u16,
    pub health_command: bool,
    pub entrypoint: Vec<String>,
}

/// One process to retire: container id, slot, route address.
pub(crate) type Retire = (String, Slot, Option<SocketAddr>);

/// Whether a container was made by the Swarm (a task's), not by the local backend.
pub(crate) fn is_swarm_task(c: &ContainerInfo) -> bool {
    c.labels.get(BACKEND_LABEL).map(String::as_str) == Some(BACKEND_SWARM)
}

impl Scheduler {
    /// Where `app` runs: its own choice, else the platform's; Swarm only when there is one.
    pub(crate) fn backend_of(
        &self,
        app: &App,
        chosen: &HashMap<uuid::Uuid, SchedulerKind>,
    ) -> SchedulerKind {
        let kind = chosen
            .get(&app.id)
            .copied()
            .unwrap_or(self.config.default_backend);
        if kind == SchedulerKind::Swarm && self.swarm.is_none() {
            tracing::warn!(app = %app.name, "the app is set to run on Swarm, but this paasd has no Swarm; it runs on this engine");
            return SchedulerKind::Docker;
        }
        kind
    }

    /// The services, tasks and nodes of this instance on the Swarm.
    pub(crate) async fn swarm_world(
        &self,
        swarm: &SwarmRuntime,
    ) -> Result<SwarmWorld, SchedulerError> {
        let filter = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
        ]);
        let mut world = SwarmWorld {
            nodes: swarm.nodes().await?,
            ..SwarmWorld::default()
        };
        for service in swarm.list_services(&filter).await? {
            if let Some(app) = service.labels.get(labels::APP).cloned() {
                world.services.entry(app).or_default().push(service);
            }
        }
        for process in swarm.list_processes(&filter).await? {
            if let Some(app) = process.labels.get(labels::APP).cloned() {
                world.processes.entry(app).or_default().push(process);
            }
        }
        let listed: HashSet<&str> = world
            .processes
            .values()
            .flatten()
            .map(|p| p.task_id.as_str())
            .collect();
        self.lock_swarm_healthy()
            .retain(|id| listed.contains(id.as_str()));
        Ok(world)
    }

    fn lock_swarm_healthy(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.swarm_healthy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The release image as the nodes pull it: pushed to the registry when there is one.
    async fn swarm_image(&self, image: &str) -> Result<SwarmImage, SchedulerError> {
        if let Some(known) = self
            .swarm_images
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(image)
        {
            return Ok(known.clone());
        }
        let details = self.runtime.image_details(image).await?;
        // A Dockerfile image that EXPOSEs a port listens there; buildpack images (the stacks,
        // which have bash) listen on PORT and can run the HTTP health command.
        let exposed = details
            .as_ref()
            .and_then(|d| d.exposed_ports.first().copied());
        let name = match &self.config.registry {
            Some(registry) => {
                tracing::info!(image, registry = %registry, "pushing the release image for the Swarm's nodes");
                self.runtime.push_image(image, registry).await?
            }
            None => image.to_string(),
        };
        let known = SwarmImage {
            name,
            web_port: exposed.unwrap_or(self.config.web_port),
            health_command: exposed.is_none(),
            entrypoint: details.map(|d| d.entrypoint).unwrap_or_default(),
        };
        self.swarm_images
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(image.to_string(), known.clone());
        Ok(known)
    }

    /// One Swarm app's pass. `local` are the app's containers on this engine (from before it
    /// moved to Swarm): routed until its Swarm tasks answer, then retired.
    pub(crate) async fn reconcile_swarm_app(
        &self,
        swarm: &SwarmRuntime,
        app: &App,
        world: &SwarmWorld,
        local: Vec<(ContainerInfo, ProcessLabels)>,
        phase_containers: Vec<ContainerInfo>,
    ) -> Result<(AppRoute, bool, Vec<Retire>), SchedulerError> {
        let release = match app.current_release_id {
            Some(id) => self.store.release_by_id(id).await?,
            None => None,
        };
        let (release, phase_running) = self
            .gate_release_phase(app, release, &phase_containers)
            .await?;
        let formation = self.store.formation(app.id).await?;
        let sizes = self.resized_types(app).await?;
        let restarts = self.store.restart_generations(app.id).await?;
        let desired = match release.as_ref().filter(|r| !r.image.is_empty()) {
            Some(r) => {
                let image = match self.swarm_image(&r.image).await {
                    Ok(image) => image,
                    Err(e) if r.status == ReleaseStatus::Pending => {
                        // A push that fails now (the registry went away) fails the release
                        // with the reason; the previous one keeps serving.
                        let reason =
                            format!("its image could not be pushed for the Swarm's nodes: {e}");
                        self.fail_release(app, r, reason).await?;
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                };
                Some(SwarmRelease {
                    id: r.id.to_string(),
                    version: r.version,
                    image: image.name,
                    commands: r
                        .process_types
                        .iter()
                        .filter(|(t, _)| *t != RELEASE_PHASE)
                        .map(|(t, c)| (t.clone(), c.clone()))
                        .collect(),
                    config: r.config.clone(),
                    pending: r.status == ReleaseStatus::Pending,
                    created_at: r.created_at.max(self.phases.finished_ms(r.id).unwrap_or(0)),
                    web_port: image.web_port,
                    health_command: image.health_command,
                    entrypoint: image.entrypoint,
                })
            }
            None => None,
        };
        let settings = SwarmSettings {
            instance: self.config.instance_id.clone(),
            default_size: self.default_size(),
            pids_limit: self.config.pids_limit,
            stop_grace: self.config.stop_grace,
            health_timeout: self.config.health_timeout,
        };
        let draining = self.draining_nodes();
        let empty_services = Vec::new();
        let empty_processes = Vec::new();
        let services = world.services.get(&app.name).unwrap_or(&empty_services);
        let processes = world.processes.get(&app.name).unwrap_or(&empty_processes);
        let healthy = self.lock_swarm_healthy().clone();
        let input = SwarmPlanInput {
            app: &app.name,
            settings: &settings,
            release: desired.as_ref(),
            formation: &formation,
            sizes: &sizes,
            restarts: &restarts,
            services,
            processes,
            nodes: &world.nodes,
            draining: &draining,
            healthy: &healthy,
            now: now_ms(),
        };
        let mut plan = plan_swarm_app(&input);
        if !plan.check.is_empty() {
            let checks = plan.check.iter().map(|(id, addr)| async move {
                (
                    id.clone(),
                    answers_http(*addr, Duration::from_millis(800)).await,
                )
            });
            let mut newly = Vec::new();
            for (id, ok) in futures_util::future::join_all(checks).await {
                if ok {
                    newly.push(id);
                }
            }
            if !newly.is_empty() {
                let mut healthy = healthy.clone();
                {
                    let mut shared = self.lock_swarm_healthy();
                    for id in newly {
                        tracing::info!(task = %id, "Swarm task answers HTTP");
                        shared.insert(id.clone());
                        healthy.insert(id);
                    }
                }
                plan = plan_swarm_app(&SwarmPlanInput {
                    healthy: &healthy,
                    ..input.clone()
                });
            }
        }

        for spec in &plan.ensure {
            tracing::info!(service = %spec.name, replicas = spec.replicas, release = %spec.labels.get(labels::VERSION).map(|v| format!("v{v}")).unwrap_or_default(), "rolling the Swarm service to its spec");
            swarm.ensure_service(spec).await?;
        }
        for (name, replicas) in &plan.scale {
            tracing::info!(service = %name, replicas, "scaling the Swarm service");
            swarm.scale_service(name, *replicas).await?;
        }
        for name in &plan.remove {
            tracing::info!(service = %name, "removing a Swarm service no longer wanted");
            swarm.remove_service(name).await?;
        }
        if let (Some(release), Some(verdict)) = (release.as_ref(), &plan.verdict) {
            match verdict {
                SwarmVerdict::Succeeded => self.record_deployed(release.id, release.version),
                SwarmVerdict::Failed(reason) => {
                    self.fail_release(app, release, reason.clone()).await?
                }
            }
        }

        let web_wanted = match &desired {
            Some(d) if d.commands.contains_key("web") => formation.get("web").copied().unwrap_or(0),
            _ => 0,
        };
        let mut backends: Vec<Backend> = plan
            .backends
            .iter()
            .map(|(addr, dyno)| Backend {
                addr: *addr,
                dyno: dyno.clone(),
            })
            .collect();
        // Processes from before the move to Swarm serve until the Swarm's answer.
        let mut retire = Vec::new();
        let swarm_ready = backends.len() >= web_wanted as usize;
        for (c, l) in local {
            let addr = c.ip.map(|ip| {
                SocketAddr::new(
                    ip,
                    crate::scheduler::web_port_of(&c.labels, self.config.web_port),
                )
            });
            if swarm_ready || c.state != ContainerState::Running {
                tracing::info!(dyno = %l.slot.dyno(), "retiring a process of this engine: the app runs on Swarm");
                retire.push((c.id, l.slot, addr));
            } else if let (Some(addr), "web") = (addr, l.slot.process.as_str()) {
                backends.push(Backend {
                    addr,
                    dyno: l.slot.dyno(),
                });
            }
        }
        let route = AppRoute {
            backends,
            web_wanted,
            maintenance: None,
        };
        Ok((
            route,
            phase_running || plan.in_progress || !swarm_ready,
            retire,
        ))
    }

    /// The app's Swarm tasks as `paas ps` shows them (none without a Swarm).
    pub(crate) async fn swarm_processes(
        &self,
        app: &str,
    ) -> Result<Vec<(Slot, ProcessView)>, SchedulerError> {
        let Some(swarm) = &self.swarm else {
            return Ok(Vec::new());
        };
        let filter = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
            (labels::APP.to_string(), app.to_string()),
        ]);
        Ok(swarm
            .list_processes(&filter)
            .await?
            .into_iter()
            .filter_map(|p| {
                let slot = Slot {
                    process: p.labels.get(labels::PROCESS)?.clone(),
                    index: u32::try_from(p.slot).ok()?,
                };
                let view = ProcessView {
                    dyno: slot.dyno(),
                    process: slot.process.clone(),
                    version: p.labels.get(labels::VERSION).and_then(|v| v.parse().ok()),
                    running: p.state == ContainerState::Running,
                    starting: p.state == ContainerState::Created,
                    out_of_memory: p
                        .error
                        .as_deref()
                        .is_some_and(|e| e.contains("OOM") || e.contains("out of memory")),
                    created: p.created,
                };
                Some((slot, view))
            })
            .collect())
    }

    /// Removes the Swarm services of an app that runs on this engine now, once its local
    /// processes serve.
    pub(crate) async fn remove_swarm_services(
        &self,
        swarm: &SwarmRuntime,
        services: &[SwarmService],
    ) -> Result<(), SchedulerError> {
        for service in services {
            tracing::info!(service = %service.name, "removing a Swarm service: the app runs on this engine");
            swarm.remove_service(&service.name).await?;
        }
        Ok(())
    }
}
