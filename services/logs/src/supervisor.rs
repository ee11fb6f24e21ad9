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

use crate::entry::{LogEntry, Source};
use crate::LogKeeper;
use paas_runtime::{
    ContainerEvent, ContainerEventKind, ContainerInfo, ContainerRuntime, ContainerState,
    RuntimeError,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

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

/// Which app and process a container is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    app: String,
    dyno: String,
    version: Option<String>,
}

impl Process {
    fn of(labels: &BTreeMap<String, String>) -> Option<Self> {
        if !FOLLOWED_ROLES.contains(&labels.get(ROLE)?.as_str()) {
            return None;
        }
        Some(Self {
            app: labels.get(APP)?.clone(),
            dyno: format!("{}.{}", labels.get(PROCESS)?, labels.get(INDEX)?),
            version: labels.get(VERSION).cloned(),
        })
    }
}

#[derive(Default)]
struct State {
    /// Containers seen, by id.
    known: HashMap<String, Process>,
    /// Containers whose output is being followed now.
    following: HashSet<String>,
    /// Containers read to their end (stopped); followed again only if started again.
    drained: HashSet<String>,
    /// Per container, the engine timestamp (ns) of the last line stored.
    cursors: BTreeMap<String, i64>,
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
    logs: LogKeeper,
    instance_id: String,
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
            logs,
            instance_id: instance_id.to_string(),
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

    /// Lists the containers: follows every one not followed yet (a stopped one is read to
    /// its end once), and forgets the cursors of containers that no longer exist.
    async fn list(self: &Arc<Self>) {
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
            state.cursors.retain(|id, _| ids.contains(id.as_str()));
            state.known.retain(|id, _| ids.contains(id.as_str()));
            state.drained.retain(|id| ids.contains(id.as_str()));
        }
        for container in &containers {
            self.consider(container);
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

    fn start_following(self: &Arc<Self>, id: String, process: Process) {
        let since = {
            let mut state = self.lock();
            if !state.following.insert(id.clone()) {
                return;
            }
            state.cursors.get(&id).copied()
        };
        let this = self.clone();
        tokio::spawn(async move {
            let (sink, mut lines) = mpsc::channel(1024);
            let runtime = this.runtime.clone();
            let container = id.clone();
            let reader =
                tokio::spawn(async move { runtime.follow_logs(&container, since, sink).await });
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
                Err(e) => tracing::warn!("log supervisor: {e}"),
            }
            let mut state = this.lock();
            state.following.remove(&id);
            state.drained.insert(id);
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
                let of = process
                    .version
                    .as_deref()
                    .map(|v| format!(" of v{v}"))
                    .unwrap_or_default();
                self.logs.platform(app, dyno, format!("Starting process{of}"));
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
}
