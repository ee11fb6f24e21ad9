//! The scheduler: gathers desired and actual state, plans each app, carries the plan out, and
//! publishes the route table. Runs as a loop woken by changes, and on demand.

use crate::backoff::CrashTracker;
use crate::config::SchedulerConfig;
use crate::events::Liveness;
use crate::health::{answers_http, check_from_labels, passes};
use crate::labels::{self, ProcessLabels, Slot};
use crate::reconcile::{
    plan_app, AppPlan, DesiredRelease, Observed, PlanInput, RemoveReason, Verdict,
};
use crate::release_phase::{PhaseState, Phases, WakeHandle, LAST_LINES, RELEASE_PHASE};
use crate::swarm_pass::{is_swarm_task, SwarmImage};
use paas_domain::ProcessSize;
use paas_domain::SchedulerKind;
use paas_router::{AppRoute, Backend, Maintenance, RouteTable, RouteTableHandle};
use paas_runtime::swarm::{SwarmError, SwarmRuntime};
use paas_runtime::{
    ContainerEvent, ContainerEventKind, ContainerInfo, ContainerRuntime, ContainerSpec,
    ContainerState, RuntimeError,
};
use paas_store::{App, Release, ReleaseStatus, Store, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, Mutex, Notify};
use tracing::Instrument;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Swarm(#[from] SwarmError),
    #[error(
        "this platform has no Swarm: start paasd with PAAS_SCHEDULER=swarm on a Swarm manager"
    )]
    NoSwarm,
    #[error("no node {0:?} in the Swarm (see `paas nodes`)")]
    UnknownNode(String),
    #[error("{0}")]
    Unsupported(String),
}

/// One process of an app as `paas ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessView {
    /// `web.1`.
    pub dyno: String,
    pub process: String,
    pub version: Option<i64>,
    /// Running, or stopped (crashed or killed) and about to be replaced.
    pub running: bool,
    /// Not running yet: created and starting (a Swarm task being placed, pulled, started).
    pub starting: bool,
    /// Stopped because the kernel killed it for exceeding its memory limit.
    pub out_of_memory: bool,
    /// Unix seconds.
    pub created: i64,
}

impl ReleaseOutcome {
    /// What to tell the user when release `version` did not deploy; `None` when it did.
    pub fn failure(&self, version: i64) -> Option<String> {
        match self {
            ReleaseOutcome::Succeeded => None,
            ReleaseOutcome::Failed(Some(reason)) => Some(format!(
                "Release v{version} failed to start: {reason}\nThe previous release keeps serving."
            )),
            ReleaseOutcome::Failed(None) => Some(format!(
                "Release v{version} failed to start; the previous release keeps serving."
            )),
            ReleaseOutcome::TimedOut => Some(format!(
                "Release v{version} did not become healthy in time; the previous release keeps serving."
            )),
        }
    }
}

/// How a release's rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Succeeded,
    /// With the reason and the last lines its process printed, when this paasd failed it.
    Failed(Option<String>),
    /// Still pending when the wait ended.
    TimedOut,
}

pub struct Scheduler {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) runtime: Arc<dyn ContainerRuntime>,
    pub(crate) routes: RouteTableHandle,
    pub(crate) config: SchedulerConfig,
    wake: Arc<Notify>,
    /// The release phases run or running, with their output.
    pub(crate) phases: Phases,
    /// Serialises passes; holds the ids of containers that passed their health check.
    healthy: Mutex<HashSet<String>>,
    /// Crash counts and backoff per process slot.
    crashes: std::sync::Mutex<CrashTracker>,
    /// Containers being stopped in the background: no longer observed, routed or counted.
    retiring: Arc<std::sync::Mutex<HashSet<String>>>,
    /// What Docker's events said since the last pass (deaths, kills for memory).
    liveness: std::sync::Mutex<Liveness>,
    /// Releases whose processes all answer, marked succeeded after the next publish.
    deployed: std::sync::Mutex<Vec<(Uuid, i64)>>,
    /// Why releases failed (with the last lines their process printed), for the waiters.
    failures: std::sync::Mutex<HashMap<Uuid, String>>,
    /// The Swarm manager apps on the Swarm backend run on; `None`: this engine only.
    pub(crate) swarm: Option<SwarmRuntime>,
    /// Swarm tasks whose web process answered HTTP.
    pub(crate) swarm_healthy: std::sync::Mutex<HashSet<String>>,
    /// Release images as the Swarm's nodes pull them (pushed once each).
    pub(crate) swarm_images: std::sync::Mutex<HashMap<String, SwarmImage>>,
    /// Nodes being drained (`nodes:drain`): their tasks are left out of the routes.
    pub(crate) draining: std::sync::Mutex<HashSet<String>>,
}

impl Scheduler {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn ContainerRuntime>,
        routes: RouteTableHandle,
        config: SchedulerConfig,
    ) -> Arc<Self> {
        Self::with_swarm(store, runtime, routes, config, None)
    }

    /// A scheduler that can also run apps on the Swarm `swarm` manages (`PAAS_SCHEDULER`,
    /// `paas scheduler:set`).
    pub fn with_swarm(
        store: Arc<dyn Store>,
        runtime: Arc<dyn ContainerRuntime>,
        routes: RouteTableHandle,
        config: SchedulerConfig,
        swarm: Option<SwarmRuntime>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            runtime,
            routes,
            config,
            wake: Arc::new(Notify::new()),
            phases: Phases::default(),
            healthy: Mutex::new(HashSet::new()),
            crashes: std::sync::Mutex::new(CrashTracker::default()),
            retiring: Arc::default(),
            liveness: std::sync::Mutex::default(),
            failures: std::sync::Mutex::default(),
            deployed: std::sync::Mutex::default(),
            swarm,
            swarm_healthy: std::sync::Mutex::default(),
            swarm_images: std::sync::Mutex::default(),
            draining: std::sync::Mutex::default(),
        })
    }

    /// Marks a release deployed once the route table with its processes is published.
    pub(crate) fn record_deployed(&self, release: Uuid, version: i64) {
        self.deployed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((release, version));
    }

    /// The app's process types whose size (`ps:resize`) differs from the platform's default.
    pub(crate) async fn resized_types(
        &self,
        app: &App,
    ) -> Result<BTreeMap<String, ProcessSize>, SchedulerError> {
        let default = self.default_size();
        Ok(self
            .store
            .process_sizes(app.id)
            .await?
            .into_iter()
            .filter(|(_, size)| *size != default)
            .collect())
    }

    /// The size of a process that was never resized.
    pub fn default_size(&self) -> ProcessSize {
        ProcessSize {
            memory_mb: u32::try_from(self.config.memory_bytes / (1024 * 1024)).unwrap_or(u32::MAX),
            cpu_millis: u32::try_from(self.config.nano_cpus / 1_000_000).unwrap_or(u32::MAX),
        }
    }

    /// The app's process containers as they are now, ordered by type and number.
    pub async fn app_processes(&self, app: &str) -> Result<Vec<ProcessView>, SchedulerError> {
        let mut filter = labels::process_filter(&self.config.instance_id);
        filter.insert(labels::APP.to_string(), app.to_string());
        let mut views: Vec<(Slot, (String, ProcessView))> = self
            .runtime
            .list_containers(&filter)
            .await?
            .into_iter()
            .filter(|c| !is_swarm_task(c))
            .filter_map(|c| {
                let l = ProcessLabels::read(&c)?;
                let view = ProcessView {
                    dyno: l.slot.dyno(),
                    process: l.slot.process.clone(),
                    version: c.labels.get(labels::VERSION).and_then(|v| v.parse().ok()),
                    running: c.state == ContainerState::Running,
                    starting: c.state == ContainerState::Created,
                    out_of_memory: false,
                    created: c.created,
                };
                Some((l.slot, (c.id, view)))
            })
            .collect();
        for (_, (id, view)) in views.iter_mut().filter(|(_, (_, v))| !v.running) {
            view.out_of_memory = self.lock_liveness().was_out_of_memory(id)
                || self.runtime.was_oom_killed(id).await.unwrap_or(false);
        }
        let mut views: Vec<(Slot, ProcessView)> =
            views.into_iter().map(|(slot, (_, v))| (slot, v)).collect();
        views.extend(self.swarm_processes(app).await?);
        views.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.version.cmp(&b.1.version)));
        Ok(views.into_iter().map(|(_, v)| v).collect())
    }

    /// Stops the process `dyno` (e.g. `web.1`) of `app`; the next pass starts a new one in its
    /// slot, as Heroku's `ps:stop` does. Returns how many containers were stopped.
    pub async fn stop_process(
        &self,
        app: &str,
        process: &str,
        index: u32,
    ) -> Result<usize, SchedulerError> {
        let mut filter = labels::process_filter(&self.config.instance_id);
        filter.insert(labels::APP.to_string(), app.to_string());
        filter.insert(labels::PROCESS.to_string(), process.to_string());
        filter.insert(labels::INDEX.to_string(), index.to_string());
        let containers: Vec<ContainerInfo> = self
            .runtime
            .list_containers(&filter)
            .await?
            .into_iter()
            .filter(|c| !is_swarm_task(c))
            .collect();
        if containers.is_empty() && !self.swarm_processes(app).await?.is_empty() {
            return Err(SchedulerError::Unsupported(
                "ps:stop of a process on Swarm is not supported: use `paas ps:restart` (Swarm replaces each process, start-first)".to_string(),
            ));
        }
        for c in &containers {
            tracing::info!(app, dyno = %format!("{process}.{index}"), "stopping process on request");
            // Like a retired process: out of the routes first (no pass routes it again while
            // it is in `retiring`), its requests finished, then stopped. It gives up its
            // name, so the next pass starts its replacement meanwhile.
            self.retiring
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(c.id.clone());
            let short = c.id.get(..12).unwrap_or(&c.id);
            if let Err(e) = self
                .runtime
                .rename_container(&c.id, &format!("{}.stopping-{short}", c.name))
                .await
            {
                tracing::warn!("could not rename the stopping process: {e}");
            }
            let addr =
                c.ip.map(|ip| SocketAddr::new(ip, web_port_of(&c.labels, self.config.web_port)));
            if let Some(addr) = addr {
                self.routes.remove_backend(app, addr);
            }
            self.wake();
            if let Some(addr) = addr {
                drain(&self.routes, addr, self.config.stop_grace).await;
            }
            let removed = self
                .runtime
                .remove_container(&c.id, self.config.stop_grace)
                .await;
            if let Some(addr) = addr {
                self.routes.forget_backend(addr);
            }
            self.retiring
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&c.id);
            removed?;
        }
        self.wake();
        Ok(containers.len())
    }

    /// Removes the network of an app that no longer exists (its processes must be gone).
    pub async fn remove_app_network(&self, app: &str) -> Result<(), SchedulerError> {
        self.crashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(app);
        // One-off processes (`paas run`) are on the network too.
        for run in self
            .runtime
            .list_containers(&self.run_filter(Some(app)))
            .await?
        {
            self.runtime
                .remove_container(&run.id, Duration::ZERO)
                .await?;
        }
        Ok(self
            .runtime
            .remove_network(&self.config.app_network(app))
            .await?)
    }

    fn lock_liveness(&self) -> std::sync::MutexGuard<'_, Liveness> {
        self.liveness.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows Docker's events about this instance's processes forever: a process that dies
    /// leaves the route table at once and wakes the loop to replace it. When the engine's
    /// stream breaks it is opened again (what was missed meanwhile, the next pass sees).
    pub async fn follow_events(self: Arc<Self>) {
        let filter = labels::process_filter(&self.config.instance_id);
        loop {
            let (sink, mut events) = mpsc::channel(256);
            let (runtime, filter) = (self.runtime.clone(), filter.clone());
            let watcher = tokio::spawn(async move { runtime.watch_events(&filter, sink).await });
            while let Some(event) = events.recv().await {
                self.on_event(event);
            }
            match watcher.await {
                Ok(Err(e)) => tracing::warn!("following Docker's events failed: {e}"),
                Err(e) => tracing::warn!("following Docker's events failed: {e}"),
                Ok(Ok(())) => {}
            }
            self.wake();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn on_event(&self, event: ContainerEvent) {
        match event.kind {
            ContainerEventKind::Died { exit_code } => {
                {
                    let mut liveness = self.lock_liveness();
                    if let Some((app, addr)) = liveness.died(&event.id) {
                        self.routes.remove_backend(&app, addr);
                        tracing::info!(app = %app, ?exit_code, "a process died; it no longer receives requests");
                    }
                }
                self.wake();
            }
            ContainerEventKind::OutOfMemory => self.lock_liveness().out_of_memory(&event.id),
            ContainerEventKind::Started => {}
        }
    }

    /// Asks the loop for a pass now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_handle(&self) -> WakeHandle {
        self.wake.clone()
    }

    /// Runs passes forever: soon after a wake-up, often while something converges, and every
    /// idle interval otherwise.
    pub async fn run(self: Arc<Self>) {
        tokio::spawn(self.clone().watch_swarm());
        loop {
            let busy = match self.reconcile().await {
                Ok(busy) => busy,
                Err(e) => {
                    tracing::warn!("reconcile pass failed: {e}");
                    true
                }
            };
            let pause = if busy {
                Duration::from_millis(300)
            } else {
                self.config.idle_interval
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Waits until `release_id` succeeds or fails (the loop must be running). A failure this
    /// paasd saw comes with its reason and the last lines the process printed.
    pub async fn await_release(
        &self,
        release_id: Uuid,
        timeout: Duration,
    ) -> Result<ReleaseOutcome, SchedulerError> {
        self.await_release_with_output(release_id, timeout, None)
            .await
    }

    /// `await_release`, sending the release phase's output lines to `out` as they come.
    pub async fn await_release_with_output(
        &self,
        release_id: Uuid,
        timeout: Duration,
        out: Option<&mpsc::Sender<String>>,
    ) -> Result<ReleaseOutcome, SchedulerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = 0;
        loop {
            if let Some(out) = out {
                for line in self.phases.lines_since(release_id, seen) {
                    seen += 1;
                    let _ = out.send(format!("       {line}")).await;
                }
            }
            if let Some(release) = self.store.release_by_id(release_id).await? {
                match release.status {
                    ReleaseStatus::Succeeded => return Ok(ReleaseOutcome::Succeeded),
                    ReleaseStatus::Failed => {
                        let mut reason = self
                            .failures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&release_id);
                        if out.is_some() {
                            // The waiter has seen the release command's lines already.
                            reason = reason.map(|r| match r.split_once(LAST_LINES) {
                                Some((why, _)) => why.to_string(),
                                None => r,
                            });
                        }
                        return Ok(ReleaseOutcome::Failed(reason));
                    }
                    ReleaseStatus::Pending => {}
                }
            } else {
                return Ok(ReleaseOutcome::Failed(None));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(ReleaseOutcome::TimedOut);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One pass over every app. Returns whether something is still converging.
    pub async fn reconcile(&self) -> Result<bool, SchedulerError> {
        let mut healthy = self.healthy.lock().await;
        // A Swarm task's container on this engine is the Swarm's, not the local backend's.
        let containers: Vec<ContainerInfo> = self
            .runtime
            .list_containers(&labels::process_filter(&self.config.instance_id))
            .await?
            .into_iter()
            .filter(|c| !is_swarm_task(c))
            .collect();
        let apps = self.store.list_apps().await?;
        let chosen: HashMap<Uuid, SchedulerKind> =
            self.store.all_app_schedulers().await?.into_iter().collect();
        let (swarm_world, swarm_error) = match &self.swarm {
            Some(swarm) => match self.swarm_world(swarm).await {
                Ok(world) => (Some(world), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let known: HashSet<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        let listed: HashSet<String> = containers.iter().map(|c| c.id.clone()).collect();
        let running: HashMap<String, (String, SocketAddr)> = containers
            .iter()
            .filter(|c| c.state == ContainerState::Running)
            .filter_map(|c| {
                let app = c.labels.get(labels::APP)?.clone();
                let ip = c.ip?;
                Some((
                    c.id.clone(),
                    (
                        app,
                        SocketAddr::new(ip, web_port_of(&c.labels, self.config.web_port)),
                    ),
                ))
            })
            .collect();

        let mut phase_filter = labels::process_filter(&self.config.instance_id);
        phase_filter.insert(labels::ROLE.to_string(), labels::ROLE_RELEASE.to_string());
        let mut phase_containers: HashMap<String, Vec<ContainerInfo>> = HashMap::new();
        for c in self.runtime.list_containers(&phase_filter).await? {
            if let Some(app) = c.labels.get(labels::APP).cloned() {
                phase_containers.entry(app).or_default().push(c);
            }
        }
        let mut by_app: HashMap<String, Vec<(ContainerInfo, ProcessLabels)>> = HashMap::new();
        for container in containers {
            match ProcessLabels::read(&container) {
                Some(l) if known.contains(l.app.as_str()) => by_app
                    .entry(l.app.clone())
                    .or_default()
                    .push((container, l)),
                _ => {
                    tracing::info!(container = %container.name, "removing process of an app that no longer exists");
                    // A failure here must not hold back the other apps' routes: next pass.
                    match self
                        .runtime
                        .remove_container(&container.id, Duration::ZERO)
                        .await
                    {
                        Ok(()) => {
                            healthy.remove(&container.id);
                        }
                        Err(e) => {
                            tracing::warn!(container = %container.name, "could not remove it (next pass retries): {e}")
                        }
                    }
                }
            }
        }

        let mut table = RouteTable::default();
        let names: HashMap<Uuid, &str> = apps.iter().map(|a| (a.id, a.name.as_str())).collect();
        for (host, app_id) in self.store.all_domains().await? {
            if let Some(name) = names.get(&app_id) {
                table.domains.insert(host, name.to_string());
            }
        }
        let maintenance: HashMap<Uuid, Option<String>> =
            self.store.all_maintenance().await?.into_iter().collect();
        let mut busy = false;
        let mut retire: Vec<(String, Slot, Option<SocketAddr>)> = Vec::new();
        for app in &apps {
            let containers = by_app.remove(&app.name).unwrap_or_default();
            let phase = phase_containers.remove(&app.name).unwrap_or_default();
            let span = tracing::info_span!("reconcile", app = %app.name);
            let backend = self.backend_of(app, &chosen);
            let outcome = match (backend, &self.swarm, &swarm_world) {
                (SchedulerKind::Swarm, Some(swarm), Some(world)) => {
                    self.reconcile_swarm_app(swarm, app, world, containers, phase)
                        .instrument(span)
                        .await
                }
                (SchedulerKind::Swarm, _, _) => Err(swarm_error
                    .as_ref()
                    .map(|e| SchedulerError::Unsupported(format!("the Swarm did not answer: {e}")))
                    .unwrap_or(SchedulerError::NoSwarm)),
                _ => {
                    let outcome = self
                        .reconcile_app(app, containers, phase, &mut healthy)
                        .instrument(span)
                        .await;
                    // Services left from when the app ran on Swarm go once it serves here.
                    if let (Ok((route, _, _)), Some(swarm), Some(world)) =
                        (&outcome, &self.swarm, &swarm_world)
                    {
                        let services = world.services.get(&app.name).map(Vec::as_slice);
                        if let Some(services) = services.filter(|s| !s.is_empty()) {
                            if route.backends.len() >= route.web_wanted as usize {
                                if let Err(e) = self.remove_swarm_services(swarm, services).await {
                                    tracing::warn!(app = %app.name, "could not remove its Swarm services (next pass retries): {e}");
                                }
                            }
                        }
                    }
                    outcome
                }
            };
            match outcome {
                Ok((mut route, app_busy, replaced)) => {
                    busy |= app_busy;
                    route.maintenance = maintenance.get(&app.id).map(|page_url| Maintenance {
                        page_url: page_url.clone(),
                    });
                    table.apps.insert(app.name.clone(), route);
                    retire.extend(replaced);
                }
                Err(e) => {
                    busy = true;
                    tracing::warn!(app = %app.name, "reconcile failed: {e}");
                    // Keep serving what was there.
                    if let Some(route) = self.routes.snapshot().apps.get(&app.name) {
                        table.apps.insert(app.name.clone(), route.clone());
                    }
                }
            }
        }
        // Services of apps that no longer exist.
        if let (Some(swarm), Some(world)) = (&self.swarm, &swarm_world) {
            for (app, services) in &world.services {
                if !known.contains(app.as_str()) {
                    tracing::info!(app = %app, "removing the Swarm services of an app that no longer exists");
                    if let Err(e) = self.remove_swarm_services(swarm, services).await {
                        tracing::warn!(app = %app, "could not remove them (next pass retries): {e}");
                    }
                }
            }
        }
        {
            // Under the lock an event takes a dead process out with: one that died after
            // this pass listed it is not routed again.
            let mut liveness = self.lock_liveness();
            liveness.settle(running, &listed, &mut table);
            self.routes.publish(table);
        }
        let deployed =
            std::mem::take(&mut *self.deployed.lock().unwrap_or_else(|p| p.into_inner()));
        for (release, version) in deployed {
            tracing::info!(release = %format!("v{version}"), "release deployed");
            if let Err(e) = self
                .store
                .set_release_status(release, ReleaseStatus::Succeeded)
                .await
            {
                // The next pass finds it ready again and retries.
                tracing::warn!("could not record that v{version} deployed: {e}");
                busy = true;
            }
        }
        // Only now that no route points at them: retire them, each in a task of its own, so
        // that no pass (and no other app) waits out a process's stop grace.
        for (id, slot, addr) in retire {
            if !self
                .retiring
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id.clone())
            {
                continue;
            }
            healthy.remove(&id);
            tracing::info!(dyno = %slot.dyno(), "retiring a process that no route points at any more");
            let (runtime, routes, retiring, grace) = (
                self.runtime.clone(),
                self.routes.clone(),
                self.retiring.clone(),
                self.config.stop_grace,
            );
            tokio::spawn(async move {
                if let Some(addr) = addr {
                    drain(&routes, addr, grace).await;
                }
                if let Err(e) = runtime.remove_container(&id, grace).await {
                    tracing::warn!(dyno = %slot.dyno(), "could not retire the process (next pass retries): {e}");
                }
                if let Some(addr) = addr {
                    routes.forget_backend(addr);
                }
                retiring
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
            });
        }
        Ok(busy)
    }

    async fn reconcile_app(
        &self,
        app: &App,
        containers: Vec<(ContainerInfo, ProcessLabels)>,
        phase_containers: Vec<ContainerInfo>,
        healthy: &mut HashSet<String>,
    ) -> Result<(AppRoute, bool, Vec<(String, Slot, Option<SocketAddr>)>), SchedulerError> {
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
        let containers: Vec<(ContainerInfo, ProcessLabels)> = {
            let retiring = self.retiring.lock().unwrap_or_else(|p| p.into_inner());
            containers
                .into_iter()
                .filter(|(c, _)| !retiring.contains(&c.id))
                .collect()
        };
        let created: HashMap<String, i64> = containers
            .iter()
            .map(|(c, _)| (c.id.clone(), c.created))
            .collect();
        // The check of the current release's web processes (app.json), else the default.
        let check = release.as_ref().and_then(|r| {
            containers
                .iter()
                .filter(|(_, l)| l.release == r.id.to_string() && l.slot.process == "web")
                .find_map(|(c, _)| check_from_labels(&c.labels))
        });
        let observed = self.observe(containers, healthy).await;
        let now = now_ms();
        let (crashes, held) = self
            .crashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(&app.name, &observed, &created, now);
        for crash in crashes {
            let cause = if self.lock_liveness().was_out_of_memory(&crash.id) {
                "killed for exceeding its memory limit"
            } else {
                "stopped"
            };
            tracing::warn!(
                dyno = %crash.slot.dyno(),
                crashes = crash.count,
                "process {cause}; starting it again in {}s",
                crash.restart_in.as_secs()
            );
        }
        // A release without an image (config set before the first deploy) runs nothing.
        let desired = release
            .as_ref()
            .filter(|r| !r.image.is_empty())
            .map(|r| DesiredRelease {
                id: r.id.to_string(),
                pending: r.status == ReleaseStatus::Pending,
                // A release phase's time does not count against the health timeout.
                created_at: r.created_at.max(self.phases.finished_ms(r.id).unwrap_or(0)),
                // The release phase's command runs once per release, never as a process.
                process_types: r
                    .process_types
                    .keys()
                    .filter(|t| *t != RELEASE_PHASE)
                    .cloned()
                    .collect(),
                keys: r
                    .process_types
                    .keys()
                    .filter(|t| sizes.contains_key(*t) || restarts.contains_key(*t))
                    .map(|t| {
                        let size = sizes.get(t).map(ProcessSize::key);
                        let key = labels::deployment_key(
                            &r.id.to_string(),
                            size.as_deref(),
                            restarts.get(t).copied(),
                        );
                        (t.clone(), key)
                    })
                    .collect(),
            });
        let crash_counts: BTreeMap<Slot, u32> = match &desired {
            Some(d) => self
                .crashes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .counts(&app.name)
                .into_iter()
                .filter(|(slot, (key, _))| key == d.key(&slot.process))
                .map(|(slot, (_, count))| (slot, count))
                .collect(),
            None => BTreeMap::new(),
        };
        let plan = plan_app(&PlanInput {
            release: desired.as_ref(),
            formation: &formation,
            observed: &observed,
            now,
            health_timeout: check
                .as_ref()
                .map_or(self.config.health_timeout, |c| c.deadline()),
            held: &held,
            crashes: &crash_counts,
        });
        if !plan.start.is_empty() {
            self.runtime
                .ensure_network(&self.config.app_network(&app.name))
                .await?;
        }
        self.execute(
            app,
            release.as_ref(),
            &plan,
            &observed,
            &sizes,
            &restarts,
            healthy,
        )
        .await?;
        let route = AppRoute {
            backends: plan
                .backends
                .iter()
                .map(|(addr, dyno)| Backend {
                    addr: *addr,
                    dyno: dyno.clone(),
                })
                .collect(),
            web_wanted: match &desired {
                Some(d) if d.process_types.contains("web") => {
                    formation.get("web").copied().unwrap_or(0)
                }
                _ => 0,
            },
            maintenance: None,
        };
        let replaced = plan
            .remove
            .iter()
            .filter(|(_, _, reason)| *reason != RemoveReason::Exited)
            .map(|(id, slot, _)| {
                let addr = observed.iter().find(|o| &o.id == id).and_then(|o| o.addr);
                (id.clone(), slot.clone(), addr)
            })
            .collect();
        Ok((
            route,
            phase_running || plan.in_progress || !plan.start.is_empty(),
            replaced,
        ))
    }

    /// Turns containers into observations, health-checking web processes not yet seen healthy.
    async fn observe(
        &self,
        containers: Vec<(ContainerInfo, ProcessLabels)>,
        healthy: &mut HashSet<String>,
    ) -> Vec<Observed> {
        let mut observed = Vec::with_capacity(containers.len());
        for (c, l) in containers {
            let running =
                c.state == ContainerState::Running && !self.lock_liveness().is_dead(&c.id);
            let addr =
                c.ip.map(|ip| SocketAddr::new(ip, web_port_of(&c.labels, self.config.web_port)));
            let ready = if !running {
                healthy.remove(&c.id);
                false
            } else if l.slot.process != "web" || healthy.contains(&c.id) {
                true
            } else if let Some(addr) = addr {
                let ok = match check_from_labels(&c.labels) {
                    Some(check) => passes(&check, addr, c.created, now_ms()).await,
                    None => answers_http(addr, Duration::from_millis(800)).await,
                };
                if ok {
                    tracing::info!(dyno = %l.slot.dyno(), release = %l.release, "process answers HTTP");
                    healthy.insert(c.id.clone());
                }
                ok
            } else {
                false
            };
            observed.push(Observed {
                id: c.id,
                release_id: l.release,
                slot: l.slot,
                running,
                ready,
                addr,
            });
        }
        observed
    }

    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        app: &App,
        release: Option<&Release>,
        plan: &AppPlan,
        observed: &[Observed],
        sizes: &BTreeMap<String, ProcessSize>,
        restarts: &BTreeMap<String, u64>,
        healthy: &mut HashSet<String>,
    ) -> Result<(), SchedulerError> {
        // Only processes that already stopped go now; the ones still serving (replaced, or no
        // longer in the formation) are retired by `reconcile` after the route table without
        // them is published.
        for (id, slot, reason) in &plan.remove {
            if *reason == RemoveReason::Exited {
                tracing::info!(dyno = %slot.dyno(), "removing the stopped process");
                self.runtime.remove_container(id, Duration::ZERO).await?;
                healthy.remove(id);
            }
        }
        if let Some(release) = release {
            // Started together: the engine takes about half a second per container, so
            // `scale web=10` one after another would take five.
            let starts = plan.start.iter().map(|slot| {
                let restart = restarts.get(&slot.process).copied();
                self.start_process(app, release, slot, sizes.get(&slot.process), restart)
            });
            for started in futures_util::future::join_all(starts).await {
                started?;
            }
            match &plan.verdict {
                Some(Verdict::Succeeded) => {
                    // Recorded once the route table with its processes is published, so a
                    // waiter that hears "deployed" finds the router sending it requests.
                    self.deployed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((release.id, release.version));
                }
                Some(verdict) => {
                    let reason = self.failure_reason(release, verdict, observed).await;
                    self.fail_release(app, release, reason).await?
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Why the release failed, with the last lines printed by the process that shows it.
    async fn failure_reason(
        &self,
        release: &Release,
        verdict: &Verdict,
        observed: &[Observed],
    ) -> String {
        let release_id = release.id.to_string();
        let ours = |o: &&Observed| o.release_id.starts_with(&release_id);
        let (mut reason, witness) = match verdict {
            Verdict::Crashing(slot) => {
                let witness = observed
                    .iter()
                    .filter(ours)
                    .find(|o| &o.slot == slot && !o.running);
                let how = match witness {
                    Some(o) if self.lock_liveness().was_out_of_memory(&o.id) => {
                        " (killed for exceeding its memory limit)"
                    }
                    _ => "",
                };
                (
                    format!(
                        "{} crashed {} times as it started{how}.",
                        slot.dyno(),
                        crate::reconcile::FAIL_FAST_CRASHES
                    ),
                    witness,
                )
            }
            _ => (
                "its web process did not pass its health check in time.".to_string(),
                observed
                    .iter()
                    .filter(ours)
                    .find(|o| o.slot.process == "web" && !o.ready),
            ),
        };
        if let Some(witness) = witness {
            match self.runtime.last_output(&witness.id, 20).await {
                Ok(lines) if !lines.is_empty() => {
                    reason.push_str(&format!(
                        "\nThe last lines {} printed:\n{}",
                        witness.slot.dyno(),
                        lines.join("\n")
                    ));
                }
                Ok(_) => reason.push_str(&format!("\n{} printed nothing.", witness.slot.dyno())),
                Err(e) => tracing::warn!("could not read the process's output: {e}"),
            }
        }
        reason
    }

    /// Marks a release that never became healthy failed and makes the last good one current.
    pub(crate) async fn fail_release(
        &self,
        app: &App,
        release: &Release,
        reason: String,
    ) -> Result<(), SchedulerError> {
        tracing::warn!(release = %format!("v{}", release.version), "release did not become healthy; keeping the previous one");
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(release.id, reason);
        self.store
            .set_release_status(release.id, ReleaseStatus::Failed)
            .await?;
        let previous = self.previous_good(app, release).await?;
        self.store
            .set_current_release(app.id, previous.map(|r| r.id))
            .await?;
        Ok(())
    }

    /// The newest release before `release` that deployed.
    async fn previous_good(
        &self,
        app: &App,
        release: &Release,
    ) -> Result<Option<Release>, SchedulerError> {
        Ok(self
            .store
            .list_releases(app.id)
            .await?
            .into_iter()
            .find(|r| r.version < release.version && r.status == ReleaseStatus::Succeeded))
    }

    /// The release phase before a rollout. Returns the release to plan with: the current one
    /// once its phase succeeded (or when it has none), else the previous good one, which
    /// keeps serving (and healing) while the phase runs; and whether a phase runs. Starts the
    /// phase when it has not started, fails the release when it failed, and removes phase
    /// containers no longer needed (their release is decided).
    pub(crate) async fn gate_release_phase(
        &self,
        app: &App,
        release: Option<Release>,
        phase_containers: &[ContainerInfo],
    ) -> Result<(Option<Release>, bool), SchedulerError> {
        let needing = release.as_ref().filter(|r| {
            r.status == ReleaseStatus::Pending
                && !r.image.is_empty()
                && r.process_types.contains_key(RELEASE_PHASE)
        });
        let needed_id = needing.map(|r| r.id.to_string());
        for c in phase_containers {
            let of = c.labels.get(labels::RELEASE);
            if of.is_some() && of == needed_id.as_ref() {
                continue;
            }
            self.runtime.remove_container(&c.id, Duration::ZERO).await?;
            if let Some(id) = of.and_then(|id| Uuid::parse_str(id).ok()) {
                self.phases.forget(id);
            }
        }
        let Some(current) = needing else {
            return Ok((release, false));
        };
        match self.phases.state(current.id) {
            Some(PhaseState::Succeeded) => Ok((release, false)),
            Some(PhaseState::Failed(reason)) => {
                tracing::warn!(release = %format!("v{}", current.version), "the release command failed");
                self.fail_release(app, current, reason).await?;
                Ok((self.previous_good(app, current).await?, true))
            }
            Some(PhaseState::Running) => Ok((self.previous_good(app, current).await?, true)),
            None => {
                let existing = phase_containers
                    .iter()
                    .find(|c| c.labels.get(labels::RELEASE) == needed_id.as_ref());
                let command = current
                    .process_types
                    .get(RELEASE_PHASE)
                    .map(String::as_str)
                    .unwrap_or_default();
                self.start_release_phase(app, current, command, existing)
                    .await?;
                Ok((self.previous_good(app, current).await?, true))
            }
        }
    }

    async fn start_process(
        &self,
        app: &App,
        release: &Release,
        slot: &Slot,
        size: Option<&ProcessSize>,
        restart: Option<u64>,
    ) -> Result<(), SchedulerError> {
        let Some(command) = release.process_types.get(&slot.process) else {
            return Ok(());
        };
        let spec = self.process_spec(app, release, slot, command, size, restart);
        let id = match self.runtime.create_container(&spec).await {
            Err(RuntimeError::Conflict(_)) => {
                // A leftover with the same name (e.g. from an interrupted pass): replace it.
                if let Some(name) = &spec.name {
                    self.runtime.remove_container(name, Duration::ZERO).await?;
                }
                self.runtime.create_container(&spec).await?
            }
            other => other?,
        };
        self.runtime.start_container(&id).await?;
        tracing::info!(dyno = %slot.dyno(), release = %format!("v{}", release.version), "starting process");
        Ok(())
    }

    /// A one-off process (`paas run`) of `release`: what `process_spec` gives a process
    /// (image, config vars, `PORT`, network, user, limits, dropped capabilities, init), named
    /// `<app>.run.<index>` and labelled with role `run`, so reconcile passes never see it.
    pub fn run_spec(
        &self,
        app: &App,
        release: &Release,
        index: u32,
        command: &str,
        size: Option<&ProcessSize>,
    ) -> ContainerSpec {
        let slot = Slot {
            process: labels::ROLE_RUN.to_string(),
            index,
        };
        let mut spec = self.process_spec(app, release, &slot, command, size, None);
        spec.name = Some(format!("{}.{}", app.name, slot.dyno()));
        spec.labels
            .insert(labels::ROLE.to_string(), labels::ROLE_RUN.to_string());
        spec
    }

    /// Label filter of this instance's one-off processes (of one app when given).
    pub fn run_filter(&self, app: Option<&str>) -> BTreeMap<String, String> {
        let mut filter = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (labels::ROLE.to_string(), labels::ROLE_RUN.to_string()),
        ]);
        if let Some(app) = app {
            filter.insert(labels::APP.to_string(), app.to_string());
        }
        filter
    }

    pub(crate) fn process_spec(
        &self,
        app: &App,
        release: &Release,
        slot: &Slot,
        command: &str,
        size: Option<&ProcessSize>,
        restart: Option<u64>,
    ) -> ContainerSpec {
        let mut env: BTreeMap<String, String> = release.config.clone();
        env.insert("PORT".to_string(), self.config.web_port.to_string());
        env.insert("DYNO".to_string(), slot.dyno());
        let mut labels = BTreeMap::from([
            (
                labels::INSTANCE.to_string(),
                self.config.instance_id.clone(),
            ),
            (labels::ROLE.to_string(), labels::ROLE_PROCESS.to_string()),
            (labels::APP.to_string(), app.name.clone()),
            (labels::RELEASE.to_string(), release.id.to_string()),
            (labels::VERSION.to_string(), release.version.to_string()),
            (labels::PROCESS.to_string(), slot.process.clone()),
            (labels::INDEX.to_string(), slot.index.to_string()),
        ]);
        let mut name = format!("{}.{}.v{}", app.name, slot.dyno(), release.version);
        let (memory_bytes, nano_cpus) = match size {
            Some(size) => {
                labels.insert(labels::SIZE.to_string(), size.key());
                name = format!("{name}-{}", size.key());
                (
                    i64::from(size.memory_mb) * 1024 * 1024,
                    i64::from(size.cpu_millis) * 1_000_000,
                )
            }
            None => (self.config.memory_bytes, self.config.nano_cpus),
        };
        if let Some(generation) = restart {
            labels.insert(labels::RESTART.to_string(), generation.to_string());
            name = format!("{name}-r{generation}");
        }
        ContainerSpec {
            name: Some(name),
            image: release.image.clone(),
            cmd: Some(vec![command.to_string()]),
            env,
            labels,
            network: Some(self.config.app_network(&app.name)),
            user: Some("app".to_string()),
            memory_bytes: Some(memory_bytes),
            nano_cpus: Some(nano_cpus),
            pids_limit: Some(self.config.pids_limit),
            drop_capabilities: true,
            init: true,
            ..Default::default()
        }
    }
}

/// Waits until the router has no request in flight to `addr` (at most `limit`). A request
/// that picked the process from the table just before it was replaced may not have counted
/// itself yet, hence the short pause first.
pub(crate) async fn drain(routes: &RouteTableHandle, addr: SocketAddr, limit: Duration) {
    tokio::time::sleep(Duration::from_millis(250)).await;
    let deadline = tokio::time::Instant::now() + limit;
    while routes.in_flight(addr) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The port a web process listens on: a Dockerfile image that `EXPOSE`s one carries it as
/// `paas.port` (its launcher sets PORT to it; containers inherit the image's labels), every
/// other process the configured `PORT`.
pub(crate) fn web_port_of(labels: &BTreeMap<String, String>, default: u16) -> u16 {
    labels
        .get(paas_domain::PORT_LABEL)
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
