//! The one supervisor of process output: it knows every process and release-phase container
//! of this paasd instance (a listing every few seconds, and the engine's start/die/oom events
//! at once) and follows each one's stdout and stderr through `ContainerRuntime::follow_logs`
//! from its start to its end, into the app's log as `app[web.1]` lines with the engine's
//! timestamps. Where it got to in each container (the last line's engine timestamp) is
//! appended to `<logs>/cursors.log` right after the line is stored (compacted at start and
//! when it grows), so a restarted paasd resumes after the last line it stored: a container
//! that ran, printed or exited meanwhile loses nothing, and nothing is stored twice (at most
//! the one line being stored when paasd was killed).
//! Deaths, kills for memory and starts become `paas[web.1]` lines.
//!
//! Processes on a Swarm (issue 11) are its tasks, on any node: listed with the containers
//! (`SwarmTasks::list_tasks`, this instance's services), each followed by task id through the
//! manager (`SwarmTasks::follow_task`), as `app[web.<slot>]`, its cursor journalled as
//! `task:<id>`. A task's stream does not end with the task: once it left the listing (or is
//! listed ended), the task is inspected, its end becomes `paas[web.3]` lines and its follower
//! is stopped `TASK_TAIL` later. Their containers on paasd's own engine (`paas.backend=swarm`)
//! are not followed as local processes, so nothing is stored twice.

use crate::entry::{LogEntry, Source};
use crate::swarm_tasks::SwarmTasks;
use crate::LogKeeper;
use paas_runtime::swarm::{SwarmProcess, BACKEND_LABEL, BACKEND_SWARM};
use paas_runtime::{
    ContainerEvent, ContainerEventKind, ContainerInfo, ContainerRuntime, ContainerState,
    RuntimeError,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

const INSTANCE: &str = "paas.instance";
const ROLE: &str = "paas.role";
const APP: &str = "paas.app";
const PROCESS: &str = "paas.process";
const INDEX: &str = "paas.index";
const VERSION: &str = "paas.version";
/// Roles whose output belongs in the app's log: long-running processes and release phases.
const FOLLOWED_ROLES: [&str; 2] = ["process", "release"];
/// Most lines stored with one write.
const BATCH: usize = 256;
/// How often the containers are listed (events cover the time between).
const LIST_EVERY: Duration = Duration::from_secs(5);
/// How long a Swarm task's follower goes on after the task was found ended (its last lines
/// travel from its node through the manager).
const TASK_TAIL: Duration = Duration::from_secs(3);
/// A task still running this long after it left the listing (its node is down) is taken
/// for ended.
const TASK_LEAVE_LIMIT: Duration = Duration::from_secs(60);
/// Cursor keys of Swarm tasks: `task:<task id>` (container ids never hold a colon).
const TASK_KEY: &str = "task:";

fn task_key(task_id: &str) -> String {
    format!("{TASK_KEY}{task_id}")
}

fn is_task_key(key: &str) -> bool {
    key.starts_with(TASK_KEY)
}

/// Which app and process a container is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    app: String,
    dyno: String,
    version: Option<String>,
}

impl Process {
    /// A container on paasd's engine; `None` for other roles and for a Swarm task's
    /// container (followed as a task).
    fn of(labels: &BTreeMap<String, String>) -> Option<Self> {
        if !FOLLOWED_ROLES.contains(&labels.get(ROLE)?.as_str())
            || labels.get(BACKEND_LABEL).map(String::as_str) == Some(BACKEND_SWARM)
        {
            return None;
        }
        Some(Self {
            app: labels.get(APP)?.clone(),
            dyno: format!("{}.{}", labels.get(PROCESS)?, labels.get(INDEX)?),
            version: labels.get(VERSION).cloned(),
        })
    }

    /// A Swarm task: its slot is the index.
    fn of_task(task: &SwarmProcess) -> Option<Self> {
        let labels = &task.labels;
        if labels.get(ROLE)? != "process" {
            return None;
        }
        Some(Self {
            app: labels.get(APP)?.clone(),
            dyno: format!("{}.{}", labels.get(PROCESS)?, task.slot),
            version: labels.get(VERSION).cloned(),
        })
    }

    fn starting(&self) -> String {
        let of = self
            .version
            .as_deref()
            .map(|v| format!(" of v{v}"))
            .unwrap_or_default();
        format!("Starting process{of}")
    }
}

/// Keys are container ids and `task:<id>` for Swarm tasks.
#[derive(Default)]
struct State {
    /// Containers and tasks seen.
    known: HashMap<String, Process>,
    /// Containers and tasks whose output is being followed now.
    following: HashSet<String>,
    /// Containers read to their end (stopped; followed again only if started again) and
    /// tasks ended.
    drained: HashSet<String>,
    /// Per container or task, the engine timestamp (ns) of the last line stored.
    cursors: BTreeMap<String, i64>,
    /// Followers of tasks, to stop them (a task's stream does not end by itself).
    task_followers: HashMap<String, AbortHandle>,
    /// Tasks found ended, since when; their followers stop `TASK_TAIL` later.
    ending: HashMap<String, Instant>,
    /// Followed tasks missing from the listing, since when.
    unlisted: HashMap<String, Instant>,
    /// Tasks seen running, and seen before they ran (for their start lines).
    seen_running: HashSet<String>,
    seen_waiting: HashSet<String>,
}

/// The cursor journal: one `<container id> <ns>` line per stored line (or batch of lines).
struct Journal {
    path: PathBuf,
    file: Option<std::fs::File>,
    size: u64,
}

/// The journal is rewritten from the cursors in memory past this size.
const JOURNAL_COMPACT_BYTES: u64 = 1 << 20;

/// The last cursor of each container in a journal's text.
fn read_journal(text: &str) -> BTreeMap<String, i64> {
    let mut cursors = BTreeMap::new();
    for line in text.lines() {
        if let Some((id, at)) = line.split_once(' ') {
            if let Ok(at) = at.trim().parse::<i64>() {
                cursors.insert(id.to_string(), at);
            }
        }
    }
    cursors
}

impl Journal {
    /// Rewrites the journal with `cursors` only, and keeps it open for appending.
    fn compact(&mut self, cursors: &BTreeMap<String, i64>) {
        let text: String = cursors
            .iter()
            .map(|(id, at)| format!("{id} {at}\n"))
            .collect();
        let tmp = self.path.with_extension("log.tmp");
        let written = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            tracing::warn!("log supervisor: cannot write {}: {e}", self.path.display());
        }
        self.size = text.len() as u64;
        self.file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| tracing::warn!("log supervisor: cannot open {}: {e}", self.path.display()))
            .ok();
    }

    /// Journals one cursor; says whether the journal should now be compacted.
    fn append(&mut self, id: &str, at: i64) -> bool {
        use std::io::Write;
        let line = format!("{id} {at}\n");
        if let Some(file) = self.file.as_mut() {
            if file.write_all(line.as_bytes()).is_ok() {
                self.size += line.len() as u64;
            }
        }
        self.size > JOURNAL_COMPACT_BYTES
    }
}

pub struct Supervisor {
    runtime: Arc<dyn ContainerRuntime>,
    swarm: Option<Arc<dyn SwarmTasks>>,
    logs: LogKeeper,
    instance_id: String,
    /// Unix seconds: tasks created since get a start line when first seen running.
    started_at: i64,
    /// `TASK_TAIL`, shorter in tests.
    task_tail: Duration,
    state: Mutex<State>,
    journal: Mutex<Journal>,
}

impl Supervisor {
    /// The supervisor of `instance_id`'s containers; reads the cursors a previous paasd left.
    pub fn new(
        runtime: Arc<dyn ContainerRuntime>,
        logs: LogKeeper,
        instance_id: &str,
    ) -> Arc<Self> {
        Self::with_swarm(runtime, logs, instance_id, None)
    }

    /// The same, also following the tasks of `instance_id`'s Swarm services when there is a
    /// Swarm.
    pub fn with_swarm(
        runtime: Arc<dyn ContainerRuntime>,
        logs: LogKeeper,
        instance_id: &str,
        swarm: Option<Arc<dyn SwarmTasks>>,
    ) -> Arc<Self> {
        let path = logs.dir().join("cursors.log");
        let cursors = read_journal(&std::fs::read_to_string(&path).unwrap_or_default());
        let mut journal = Journal {
            path,
            file: None,
            size: 0,
        };
        journal.compact(&cursors);
        Arc::new(Self {
            runtime,
            swarm,
            logs,
            instance_id: instance_id.to_string(),
            started_at: crate::entry::now_micros() / 1_000_000,
            task_tail: TASK_TAIL,
            state: Mutex::new(State {
                cursors,
                ..State::default()
            }),
            journal: Mutex::new(journal),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn filter(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(INSTANCE.to_string(), self.instance_id.clone())])
    }

    /// Follows every container forever: lists them now and every few seconds, and acts on
    /// the engine's events as they come.
    pub async fn run(self: Arc<Self>) {
        loop {
            let (sink, mut events) = mpsc::channel(256);
            let (runtime, filter) = (self.runtime.clone(), self.filter());
            let watcher = tokio::spawn(async move { runtime.watch_events(&filter, sink).await });
            self.list().await;
            let mut ticker = tokio::time::interval(LIST_EVERY);
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(event) => self.on_event(event).await,
                        None => break,
                    },
                    _ = ticker.tick() => self.list().await,
                }
            }
            if let Ok(Err(e)) = watcher.await {
                tracing::warn!("log supervisor: following Docker's events failed: {e}");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Lists the containers and the Swarm tasks.
    async fn list(self: &Arc<Self>) {
        self.list_containers().await;
        if let Some(swarm) = self.swarm.clone() {
            self.list_tasks(swarm.as_ref()).await;
        }
    }

    /// Lists the containers: follows every one not followed yet (a stopped one is read to
    /// its end once), and forgets the cursors of containers that no longer exist.
    async fn list_containers(self: &Arc<Self>) {
        let containers = match self.runtime.list_containers(&self.filter()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("log supervisor: cannot list containers: {e}");
                return;
            }
        };
        let ids: HashSet<&str> = containers.iter().map(|c| c.id.as_str()).collect();
        {
            let mut state = self.lock();
            let keep = |id: &String| is_task_key(id) || ids.contains(id.as_str());
            state.cursors.retain(|id, _| keep(id));
            state.known.retain(|id, _| keep(id));
            state.drained.retain(keep);
        }
        for container in &containers {
            self.consider(container);
        }
    }

    /// Lists this instance's Swarm tasks: follows every one not followed yet, says when one
    /// started, finds the followed ones that ended (says how, stops their followers a little
    /// later), and forgets what it knew of tasks gone.
    async fn list_tasks(self: &Arc<Self>, swarm: &dyn SwarmTasks) {
        let filter = BTreeMap::from([
            (INSTANCE.to_string(), self.instance_id.clone()),
            (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
        ]);
        let tasks = match swarm.list_tasks(&filter).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("log supervisor: cannot list the Swarm's tasks: {e}");
                return;
            }
        };
        let listed: HashMap<String, &SwarmProcess> =
            tasks.iter().map(|t| (task_key(&t.task_id), t)).collect();
        {
            let mut state = self.lock();
            let following = state.following.clone();
            let keep = |key: &String| {
                !is_task_key(key) || listed.contains_key(key) || following.contains(key)
            };
            state.cursors.retain(|k, _| keep(k));
            state.known.retain(|k, _| keep(k));
            state.drained.retain(keep);
            state.seen_running.retain(keep);
            state.seen_waiting.retain(keep);
            state
                .unlisted
                .retain(|k, _| following.contains(k) && !listed.contains_key(k));
        }
        for task in &tasks {
            self.consider_task(task);
        }

        // Followed tasks that may have ended: gone from the listing, or listed ended.
        let now = Instant::now();
        let candidates: Vec<(String, Option<SwarmProcess>, bool)> = {
            let mut state = self.lock();
            let State {
                following,
                ending,
                unlisted,
                ..
            } = &mut *state;
            following
                .iter()
                .filter(|k| is_task_key(k) && !ending.contains_key(*k))
                .filter_map(|k| match listed.get(k) {
                    Some(t) if task_ended(t) => Some((k.clone(), Some((*t).clone()), false)),
                    Some(_) => None,
                    None => {
                        let since = *unlisted.entry(k.clone()).or_insert(now);
                        Some((k.clone(), None, now - since >= TASK_LEAVE_LIMIT))
                    }
                })
                .collect()
        };
        for (key, listed, overdue) in candidates {
            let task = match listed {
                Some(task) => Some(task),
                None => match swarm.inspect_task(&key[TASK_KEY.len()..]).await {
                    Ok(task) => task,
                    Err(e) => {
                        tracing::warn!("log supervisor: cannot inspect a Swarm task: {e}");
                        continue;
                    }
                },
            };
            if task
                .as_ref()
                .is_some_and(|task| !task_ended(task) && !overdue)
            {
                continue; // still stopping: look again at the next listing
            }
            let (process, ran) = {
                let state = self.lock();
                (
                    state.known.get(&key).cloned(),
                    state.seen_running.contains(&key),
                )
            };
            let lines = match &task {
                Some(task) => task_end_lines(task),
                // Swarm deletes the tasks a scale-down stopped.
                None if ran => vec!["State changed from up to down".to_string()],
                None => Vec::new(),
            };
            if let Some(process) = process {
                for line in lines {
                    self.logs.platform(&process.app, &process.dyno, line);
                }
            }
            self.lock().ending.insert(key, Instant::now());
        }

        // Followers of tasks ended a while ago stop.
        let expired: Vec<AbortHandle> = {
            let mut state = self.lock();
            let State {
                following,
                ending,
                drained,
                task_followers,
                ..
            } = &mut *state;
            // A follower that stopped meanwhile has nothing left to stop.
            ending.retain(|key, _| {
                following.contains(key) || {
                    drained.insert(key.clone());
                    false
                }
            });
            ending
                .iter()
                .filter(|(_, at)| at.elapsed() >= self.task_tail)
                .filter_map(|(key, _)| task_followers.get(key).cloned())
                .collect()
        };
        for follower in expired {
            follower.abort();
        }
    }

    fn consider_task(self: &Arc<Self>, task: &SwarmProcess) {
        let Some(process) = Process::of_task(task) else {
            return;
        };
        let key = task_key(&task.task_id);
        let (start, announce) = {
            let mut state = self.lock();
            state.known.insert(key.clone(), process.clone());
            let announce = match task.state {
                ContainerState::Running => {
                    state.seen_running.insert(key.clone())
                        && (state.seen_waiting.contains(&key) || task.created >= self.started_at)
                }
                ContainerState::Created => {
                    state.seen_waiting.insert(key.clone());
                    false
                }
                _ => false,
            };
            let start = !state.following.contains(&key)
                && !state.drained.contains(&key)
                && !state.ending.contains_key(&key);
            (start, announce)
        };
        if announce {
            self.logs
                .platform(&process.app, &process.dyno, process.starting());
        }
        if start {
            self.start_following(key, process);
        }
    }

    fn consider(self: &Arc<Self>, container: &ContainerInfo) {
        let Some(process) = Process::of(&container.labels) else {
            return;
        };
        let running = container.state == ContainerState::Running;
        let start = {
            let mut state = self.lock();
            state.known.insert(container.id.clone(), process.clone());
            if running {
                state.drained.remove(&container.id);
            }
            !state.following.contains(&container.id) && !state.drained.contains(&container.id)
        };
        if start {
            self.start_following(container.id.clone(), process);
        }
    }

    /// Follows container `id` or task `task:<id>` from its cursor on.
    fn start_following(self: &Arc<Self>, id: String, process: Process) {
        let mut state = self.lock();
        if !state.following.insert(id.clone()) {
            return;
        }
        let since = state.cursors.get(&id).copied();
        let (sink, mut lines) = mpsc::channel(1024);
        let reader = match (id.strip_prefix(TASK_KEY), self.swarm.clone()) {
            (Some(task), Some(swarm)) => {
                let task = task.to_string();
                let reader = tokio::spawn(async move {
                    swarm
                        .follow_task(&task, since, sink)
                        .await
                        .map_err(RuntimeError::from)
                });
                state
                    .task_followers
                    .insert(id.clone(), reader.abort_handle());
                reader
            }
            _ => {
                let runtime = self.runtime.clone();
                let container = id.clone();
                tokio::spawn(async move { runtime.follow_logs(&container, since, sink).await })
            }
        };
        drop(state);
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(first) = lines.recv().await {
                // What else has arrived is stored with it (one write), then the cursor
                // journalled once.
                let mut at = first.at_nanos;
                let mut batch = Vec::new();
                let mut next = Some(first);
                while let Some(line) = next {
                    at = line.at_nanos;
                    batch.push(LogEntry {
                        at_micros: line.at_nanos.div_euclid(1000),
                        source: Source::App,
                        process: Some(process.dyno.clone()),
                        message: line.text,
                    });
                    next = if batch.len() < BATCH {
                        lines.try_recv().ok()
                    } else {
                        None
                    };
                }
                this.logs.record_batch(&process.app, batch);
                this.advance(&id, at);
            }
            match reader.await {
                Ok(Ok(())) | Ok(Err(RuntimeError::NotFound(_))) => {}
                Ok(Err(e)) => {
                    tracing::warn!(app = %process.app, dyno = %process.dyno, "log supervisor: following a process's output failed: {e}")
                }
                Err(e) if e.is_cancelled() => {}
                Err(e) => tracing::warn!("log supervisor: {e}"),
            }
            let mut state = this.lock();
            state.following.remove(&id);
            state.task_followers.remove(&id);
            // A task's follower that stopped before its task ended is started again by the
            // next listing, from its cursor.
            let ended = state.ending.remove(&id).is_some();
            if ended || !is_task_key(&id) {
                state.drained.insert(id);
            }
        });
    }

    async fn process_of(&self, id: &str) -> Option<(Process, Option<ContainerInfo>)> {
        if let Some(process) = self.lock().known.get(id).cloned() {
            return Some((process, None));
        }
        let info = self.runtime.inspect_container(id).await.ok()??;
        let process = Process::of(&info.labels)?;
        self.lock().known.insert(id.to_string(), process.clone());
        Some((process, Some(info)))
    }

    async fn on_event(self: &Arc<Self>, event: ContainerEvent) {
        let Some((process, _)) = self.process_of(&event.id).await else {
            return;
        };
        let (app, dyno) = (&process.app, &process.dyno);
        match event.kind {
            ContainerEventKind::Started => {
                self.logs.platform(app, dyno, process.starting());
                self.lock().drained.remove(&event.id);
                self.start_following(event.id.clone(), process.clone());
            }
            ContainerEventKind::Died { exit_code } => {
                let status = exit_code.map_or("unknown".to_string(), |c| c.to_string());
                self.logs
                    .platform(app, dyno, format!("Process exited with status {status}"));
                self.logs.platform(app, dyno, state_change(exit_code).to_string());
            }
            ContainerEventKind::OutOfMemory => self.logs.platform(
                app,
                dyno,
                "Error R15 (Memory quota exceeded): the process was killed for exceeding its memory limit",
            ),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// Container `id`'s lines up to engine time `at` are stored.
    fn advance(&self, id: &str, at: i64) {
        self.lock().cursors.insert(id.to_string(), at);
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        if journal.append(id, at) {
            let cursors = self.lock().cursors.clone();
            journal.compact(&cursors);
        }
    }
}

/// Whether a listed or inspected task is over: exited, or no longer wanted and not running
/// (it will never run).
fn task_ended(task: &SwarmProcess) -> bool {
    task.state == ContainerState::Exited
        || (!task.desired_running && task.state != ContainerState::Running)
}

/// The platform's lines about a task that ended: its exit status when its process ran, and
/// down when Swarm stopped it (a rollover, a scale-down, a drain), crashed otherwise.
fn task_end_lines(task: &SwarmProcess) -> Vec<String> {
    if task.state != ContainerState::Exited || task.container_id.is_none() {
        return Vec::new();
    }
    let status = task
        .exit_code
        .map_or("unknown".to_string(), |c| c.to_string());
    let state = if task.task_state == "shutdown" {
        "State changed from up to down"
    } else {
        "State changed from up to crashed"
    };
    vec![
        format!("Process exited with status {status}"),
        state.to_string(),
    ]
}

/// Heroku's state line after a process ends: ended by a signal paas sends when it stops a
/// process (SIGTERM, 143; SIGKILL after the grace, 137) it went down; any other end, whatever
/// its status, is a crash.
fn state_change(exit_code: Option<i64>) -> &'static str {
    match exit_code {
        Some(143) | Some(137) => "State changed from up to down",
        _ => "State changed from up to crashed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_paas_did_not_ask_for_is_a_crash() {
        assert_eq!(state_change(Some(3)), "State changed from up to crashed");
        assert_eq!(state_change(Some(0)), "State changed from up to crashed");
        assert_eq!(state_change(None), "State changed from up to crashed");
        assert_eq!(state_change(Some(143)), "State changed from up to down");
        assert_eq!(state_change(Some(137)), "State changed from up to down");
    }

    #[test]
    fn the_journal_keeps_each_containers_last_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursors.log");
        let mut journal = Journal {
            path: path.clone(),
            file: None,
            size: 0,
        };
        journal.compact(&BTreeMap::new());
        let mut cursors = BTreeMap::new();
        for (id, at) in [("a", 1), ("b", 5), ("a", 7)] {
            cursors.insert(id.to_string(), at);
            assert!(!journal.append(id, at));
        }
        let read = read_journal(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(
            read,
            BTreeMap::from([("a".to_string(), 7), ("b".to_string(), 5)])
        );
        journal.compact(&read);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 7\nb 5\n");
    }

    #[test]
    fn only_process_and_release_containers_are_followed() {
        let labels = |role: &str| {
            BTreeMap::from([
                (ROLE.to_string(), role.to_string()),
                (APP.to_string(), "shop".to_string()),
                (PROCESS.to_string(), "web".to_string()),
                (INDEX.to_string(), "2".to_string()),
                (VERSION.to_string(), "7".to_string()),
            ])
        };
        assert_eq!(
            Process::of(&labels("process")),
            Some(Process {
                app: "shop".into(),
                dyno: "web.2".into(),
                version: Some("7".into())
            })
        );
        assert!(Process::of(&labels("release")).is_some());
        assert_eq!(Process::of(&labels("run")), None);
        assert_eq!(Process::of(&labels("build")), None);
    }

    // The Swarm task source, with a fake Swarm.

    use crate::swarm_tasks::BoxFuture;
    use crate::Filter;
    use paas_runtime::memory::MemoryRuntime;
    use paas_runtime::swarm::SwarmError;
    use paas_runtime::{ContainerSpec, LogLine, LogStream};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    const T0: i64 = 1_700_000_000_000_000_000;

    /// A Swarm whose task streams, like the manager's, never end (unless `end_streams`).
    #[derive(Default)]
    struct FakeSwarm {
        listed: Mutex<Vec<SwarmProcess>>,
        inspected: Mutex<HashMap<String, SwarmProcess>>,
        output: Mutex<HashMap<String, Vec<LogLine>>>,
        /// Every follow asked for: (task, since).
        follows: Mutex<Vec<(String, Option<i64>)>>,
        /// Followers running now.
        open: AtomicUsize,
        end_streams: AtomicBool,
    }

    struct Open<'a>(&'a AtomicUsize);

    impl Drop for Open<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl SwarmTasks for FakeSwarm {
        fn list_tasks<'a>(
            &'a self,
            labels: &'a BTreeMap<String, String>,
        ) -> BoxFuture<'a, Result<Vec<SwarmProcess>, SwarmError>> {
            Box::pin(async move {
                assert_eq!(labels.get(BACKEND_LABEL).map(String::as_str), Some("swarm"));
                Ok(self.listed.lock().unwrap().clone())
            })
        }

        fn inspect_task<'a>(
            &'a self,
            task_id: &'a str,
        ) -> BoxFuture<'a, Result<Option<SwarmProcess>, SwarmError>> {
            Box::pin(async move { Ok(self.inspected.lock().unwrap().get(task_id).cloned()) })
        }

        fn follow_task<'a>(
            &'a self,
            task_id: &'a str,
            since_nanos: Option<i64>,
            sink: mpsc::Sender<LogLine>,
        ) -> BoxFuture<'a, Result<(), SwarmError>> {
            Box::pin(async move {
                self.follows
                    .lock()
                    .unwrap()
                    .push((task_id.to_string(), since_nanos));
                self.open.fetch_add(1, Ordering::SeqCst);
                let _open = Open(&self.open);
                let lines = self
                    .output
                    .lock()
                    .unwrap()
                    .get(task_id)
                    .cloned()
                    .unwrap_or_default();
                for line in lines
                    .into_iter()
                    .filter(|l| since_nanos.is_none_or(|s| l.at_nanos > s))
                {
                    if sink.send(line).await.is_err() {
                        return Ok(());
                    }
                }
                if !self.end_streams.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                Ok(())
            })
        }
    }

    fn task(id: &str, slot: u64, state: ContainerState) -> SwarmProcess {
        SwarmProcess {
            task_id: id.into(),
            service_id: "svc".into(),
            slot,
            node_id: "n2".into(),
            node: Some("paas-sw-2".into()),
            node_addr: None,
            published_port: None,
            state,
            task_state: if state == ContainerState::Running {
                "running".into()
            } else {
                "preparing".into()
            },
            desired_running: true,
            container_id: Some(format!("c-{id}")),
            exit_code: None,
            error: None,
            labels: BTreeMap::from([
                (INSTANCE.to_string(), "inst".to_string()),
                (ROLE.to_string(), "process".to_string()),
                (APP.to_string(), "shop".to_string()),
                (PROCESS.to_string(), "web".to_string()),
                (VERSION.to_string(), "3".to_string()),
                (BACKEND_LABEL.to_string(), BACKEND_SWARM.to_string()),
            ]),
            // Long before the supervisor started: its start line needs it seen waiting.
            created: 1_000,
        }
    }

    fn line(at_nanos: i64, text: &str) -> LogLine {
        LogLine {
            at_nanos,
            stream: LogStream::Stdout,
            text: text.into(),
        }
    }

    fn supervisor(logs: &LogKeeper, swarm: &Arc<FakeSwarm>) -> Arc<Supervisor> {
        let mut sup = Supervisor::with_swarm(
            Arc::new(MemoryRuntime::new()),
            logs.clone(),
            "inst",
            Some(swarm.clone() as Arc<dyn SwarmTasks>),
        );
        Arc::get_mut(&mut sup).expect("only reference").task_tail = Duration::ZERO;
        sup
    }

    fn log_lines(logs: &LogKeeper) -> Vec<String> {
        logs.last("shop", 100, &Filter::default())
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    async fn eventually(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check() {
            assert!(Instant::now() < deadline, "not within 5 s: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn count(lines: &[String], part: &str) -> usize {
        lines.iter().filter(|l| l.contains(part)).count()
    }

    #[tokio::test]
    async fn swarm_tasks_reach_the_app_log_by_slot_and_resume_from_their_own_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let swarm = Arc::new(FakeSwarm::default());
        swarm.output.lock().unwrap().insert(
            "t1".into(),
            vec![line(T0 + 1_000, "one"), line(T0 + 2_000, "two")],
        );
        *swarm.listed.lock().unwrap() = vec![task("t1", 3, ContainerState::Created)];
        let sup = supervisor(&logs, &swarm);
        sup.list().await;
        eventually("two app lines", || {
            count(&log_lines(&logs), " app[web.3]: ") == 2
        })
        .await;
        let lines = log_lines(&logs);
        assert!(lines[0].ends_with(" app[web.3]: one"), "{lines:?}");
        let newest = logs.last("shop", 1, &Filter::default()).unwrap();
        assert_eq!(
            newest[0].at_micros,
            (T0 + 2_000) / 1000,
            "the engine's time"
        );
        assert_eq!(
            *swarm.follows.lock().unwrap(),
            vec![("t1".to_string(), None)]
        );
        eventually("the task's cursor journalled", || {
            std::fs::read_to_string(dir.path().join("cursors.log"))
                .unwrap_or_default()
                .contains(&format!("task:t1 {}\n", T0 + 2_000))
        })
        .await;

        // Seen waiting, now running: one start line; listing again says nothing more.
        *swarm.listed.lock().unwrap() = vec![task("t1", 3, ContainerState::Running)];
        sup.list().await;
        sup.list().await;
        let lines = log_lines(&logs);
        assert_eq!(
            count(&lines, " paas[web.3]: Starting process of v3"),
            1,
            "{lines:?}"
        );
        assert_eq!(swarm.follows.lock().unwrap().len(), 1, "followed once");

        // paasd restarts: the task, running since before, is followed from its cursor.
        swarm
            .output
            .lock()
            .unwrap()
            .get_mut("t1")
            .unwrap()
            .push(line(T0 + 3_000, "three"));
        let swarm2 = Arc::new(FakeSwarm::default());
        *swarm2.output.lock().unwrap() = swarm.output.lock().unwrap().clone();
        *swarm2.listed.lock().unwrap() = vec![task("t1", 3, ContainerState::Running)];
        let sup2 = supervisor(&logs, &swarm2);
        sup2.list().await;
        eventually("the new line", || count(&log_lines(&logs), ": three") == 1).await;
        assert_eq!(
            *swarm2.follows.lock().unwrap(),
            vec![("t1".to_string(), Some(T0 + 2_000))]
        );
        let lines = log_lines(&logs);
        assert_eq!(count(&lines, ": one"), 1, "{lines:?}");
        assert_eq!(count(&lines, ": two"), 1, "{lines:?}");
        assert_eq!(
            count(&lines, "Starting process"),
            1,
            "no second start line: {lines:?}"
        );
    }

    #[tokio::test]
    async fn an_ended_task_says_how_its_follower_stops_and_it_is_not_followed_again() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let swarm = Arc::new(FakeSwarm::default());
        *swarm.listed.lock().unwrap() = vec![
            task("t1", 1, ContainerState::Running),
            task("t2", 2, ContainerState::Running),
            task("t3", 3, ContainerState::Running),
        ];
        let sup = supervisor(&logs, &swarm);
        sup.list().await;
        eventually("three followers", || swarm.open.load(Ordering::SeqCst) == 3).await;

        // t1 scaled away (Swarm stopped it, still stopping at first); t2 crashed.
        let mut stopping = task("t1", 1, ContainerState::Running);
        stopping.desired_running = false;
        swarm
            .inspected
            .lock()
            .unwrap()
            .insert("t1".into(), stopping.clone());
        let mut crashed = task("t2", 2, ContainerState::Exited);
        crashed.task_state = "failed".into();
        crashed.exit_code = Some(3);
        *swarm.listed.lock().unwrap() = vec![crashed];
        sup.list().await;
        let lines = log_lines(&logs);
        assert_eq!(
            count(&lines, "paas[web.1]"),
            0,
            "t1 still stopping: {lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("paas[web.3]: State changed from up to down")),
            "t3 scaled away and deleted by Swarm: {lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("paas[web.2]: Process exited with status 3")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("paas[web.2]: State changed from up to crashed")),
            "{lines:?}"
        );

        let mut stopped = stopping;
        stopped.state = ContainerState::Exited;
        stopped.task_state = "shutdown".into();
        stopped.exit_code = Some(143);
        swarm.inspected.lock().unwrap().insert("t1".into(), stopped);
        *swarm.listed.lock().unwrap() = Vec::new();
        sup.list().await;
        let lines = log_lines(&logs);
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("paas[web.1]: Process exited with status 143")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("paas[web.1]: State changed from up to down")),
            "{lines:?}"
        );
        sup.list().await;
        eventually("every follower stopped", || {
            swarm.open.load(Ordering::SeqCst) == 0
        })
        .await;
        eventually("nothing followed", || sup.lock().following.is_empty()).await;

        // Listed again (an ended task never runs again): not followed again, said once.
        *swarm.listed.lock().unwrap() = vec![task("t1", 1, ContainerState::Exited)];
        sup.list().await;
        sup.list().await;
        assert_eq!(swarm.follows.lock().unwrap().len(), 3);
        assert_eq!(count(&log_lines(&logs), "with status 143"), 1);
    }

    #[tokio::test]
    async fn a_task_stream_that_stops_early_is_followed_again_from_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let swarm = Arc::new(FakeSwarm::default());
        swarm.end_streams.store(true, Ordering::SeqCst);
        swarm
            .output
            .lock()
            .unwrap()
            .insert("t1".into(), vec![line(T0 + 1_000, "one")]);
        *swarm.listed.lock().unwrap() = vec![task("t1", 1, ContainerState::Running)];
        let sup = supervisor(&logs, &swarm);
        sup.list().await;
        eventually("the stream ended", || {
            swarm.open.load(Ordering::SeqCst) == 0 && sup.lock().following.is_empty()
        })
        .await;
        sup.list().await;
        eventually("followed again", || {
            swarm.follows.lock().unwrap().len() == 2
        })
        .await;
        assert_eq!(
            swarm.follows.lock().unwrap()[1],
            ("t1".to_string(), Some(T0 + 1_000))
        );
        assert_eq!(count(&log_lines(&logs), ": one"), 1);
    }

    #[tokio::test]
    async fn a_swarm_tasks_container_on_paasds_engine_is_not_followed_as_a_local_process() {
        let mut labels = task("t1", 1, ContainerState::Running).labels;
        labels.insert(INDEX.to_string(), "1".to_string());
        assert_eq!(Process::of(&labels), None);
        let runtime = Arc::new(MemoryRuntime::new());
        runtime.add_image("img");
        let swarm_container = runtime
            .create_container(&ContainerSpec {
                image: "img".into(),
                labels: labels.clone(),
                ..ContainerSpec::default()
            })
            .await
            .unwrap();
        labels.remove(BACKEND_LABEL);
        let local = runtime
            .create_container(&ContainerSpec {
                image: "img".into(),
                labels,
                ..ContainerSpec::default()
            })
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let sup = Supervisor::new(runtime, logs, "inst");
        sup.list().await;
        {
            let state = sup.lock();
            assert!(state.known.contains_key(&local));
            assert!(!state.known.contains_key(&swarm_container));
            assert!(!state.following.contains(&swarm_container));
        }
        assert_eq!(sup.process_of(&swarm_container).await, None);
    }

    #[test]
    fn a_task_stopped_by_swarm_went_down_any_other_end_crashed() {
        let mut t = task("t1", 1, ContainerState::Exited);
        t.task_state = "shutdown".into();
        t.exit_code = Some(0);
        assert_eq!(
            task_end_lines(&t),
            [
                "Process exited with status 0",
                "State changed from up to down"
            ]
        );
        t.task_state = "complete".into();
        assert_eq!(task_end_lines(&t)[1], "State changed from up to crashed");
        t.container_id = None;
        assert!(task_end_lines(&t).is_empty(), "never ran");
        let mut waiting = task("t2", 1, ContainerState::Created);
        assert!(!task_ended(&waiting));
        waiting.desired_running = false;
        assert!(task_ended(&waiting));
    }
}
