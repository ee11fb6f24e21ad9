//! One log per app: build output, router lines, every process's stdout and stderr, and the
//! platform's events, in Heroku's line format, kept durably in append-only segment files under
//! the data directory (`segments.rs`), bounded per app (oldest dropped first).
//!
//! `LogKeeper` is the one way in and out: `append`/`platform` write a line, `last` reads the
//! newest lines, `tail` reads them and follows new ones, and `subscribe` is the live feed of
//! every appended line (of every app) for whoever forwards logs elsewhere (drains, OTLP).
//! `supervisor.rs` follows every process container's output through the runtime boundary,
//! and every Swarm task's through `swarm_tasks.rs`;
//! `records.rs` turns the router's per-request records into `router` lines and hands each
//! record to the other observers (metrics); `builds.rs` keeps each build's output.

mod builds;
mod entry;
mod records;
mod segments;
mod supervisor;
mod swarm_tasks;

pub use builds::{BuildOutput, MAX_BUILD_OUTPUTS, MAX_BUILD_OUTPUT_BYTES};
pub use entry::{Filter, LogEntry, Source, UnknownSource};
pub use records::{keep_router_records, keep_router_records_until, RecordObserver};
pub use supervisor::Supervisor;
pub use swarm_tasks::{BoxFuture, SwarmTasks};

use entry::LineParts;
use segments::AppSegments;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Lines the live feed holds for a subscriber that has not read them yet; one that falls
/// further behind skips lines (`RecvError::Lagged`) and never slows the writers.
pub const LIVE_CAPACITY: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log storage error at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a valid app name for a log: {0:?}")]
    BadApp(String),
}

impl LogError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        LogError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A line appended to an app's log, as the live feed carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLine {
    /// Shared by the lines of one batch.
    pub app: Arc<str>,
    pub entry: LogEntry,
}

thread_local! {
    /// The buffer lines are written into before they go to a segment, and their ends: kept
    /// per thread from one append to the next (a batch of router lines is a few hundred
    /// kilobytes, and a fresh buffer that size each time costs page faults).
    static SCRATCH: RefCell<(String, Vec<usize>)> = RefCell::default();
}

/// Past this capacity the scratch buffer is given back after its append.
const SCRATCH_KEEP: usize = 4 << 20;

/// The app logs. Cheap to clone.
#[derive(Clone)]
pub struct LogKeeper {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    max_bytes: u64,
    apps: Mutex<HashMap<String, Arc<Mutex<AppSegments>>>>,
    live: broadcast::Sender<Arc<AppLine>>,
    failed_appends: AtomicU64,
    /// Builds whose output is still being written (their deploy has not ended).
    open_builds: Mutex<std::collections::HashSet<uuid::Uuid>>,
}

impl std::fmt::Debug for LogKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKeeper")
            .field("dir", &self.inner.dir)
            .field("max_bytes", &self.inner.max_bytes)
            .finish()
    }
}

fn valid_app(app: &str) -> Result<(), LogError> {
    let ok = !app.is_empty()
        && app.len() <= 64
        && app
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(LogError::BadApp(app.to_string()))
    }
}

impl LogKeeper {
    /// The logs under `dir` (`<data>/logs`), each app's bounded to `max_bytes`.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<Self, LogError> {
        let dir = dir.into();
        std::fs::create_dir_all(dir.join("apps")).map_err(|e| LogError::io(&dir, e))?;
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                max_bytes,
                apps: Mutex::default(),
                live,
                failed_appends: AtomicU64::new(0),
                open_builds: Mutex::default(),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn app(&self, app: &str) -> Result<Arc<Mutex<AppSegments>>, LogError> {
        valid_app(app)?;
        let mut apps = self.inner.apps.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = apps.get(app) {
            return Ok(log.clone());
        }
        let log = Arc::new(Mutex::new(AppSegments::open(
            self.inner.dir.join("apps").join(app),
            self.inner.max_bytes,
        )?));
        apps.insert(app.to_string(), log.clone());
        Ok(log)
    }

    /// Appends a line to `app`'s log and offers it to the live feed.
    pub fn append(&self, app: &str, entry: LogEntry) -> Result<(), LogError> {
        let log = self.app(app)?;
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        log.append(&entry.to_string())?;
        // Sent under the app's lock, so `tail` sees each line either in its snapshot or live;
        // with no one following the feed, nothing is built for it.
        if self.inner.live.receiver_count() == 0 {
            return Ok(());
        }
        let _ = self.inner.live.send(Arc::new(AppLine {
            app: Arc::from(app),
            entry,
        }));
        Ok(())
    }

    /// `append`, and a failure goes to paasd's own log (counted, never the line itself).
    pub fn record(&self, app: &str, entry: LogEntry) {
        if let Err(e) = self.append(app, entry) {
            self.failed(app, e);
        }
    }

    /// Appends lines to `app`'s log with one write (per segment), and offers each to the
    /// live feed, in order.
    pub fn append_batch(&self, app: &str, entries: Vec<LogEntry>) -> Result<(), LogError> {
        self.append_lines_of(app, entries)
    }

    /// `append_batch` for the router's lines of one app, written from where they are (no
    /// `LogEntry` is made unless someone follows the live feed).
    pub fn append_router_lines(
        &self,
        app: &str,
        lines: Vec<paas_router::RouterLine<'_>>,
    ) -> Result<(), LogError> {
        self.append_lines_of(app, lines)
    }

    fn append_lines_of<T: LineParts>(&self, app: &str, lines: Vec<T>) -> Result<(), LogError> {
        if lines.is_empty() {
            return Ok(());
        }
        let log = self.app(app)?;
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        // Every line written into one buffer, sized once (the timestamp and prefix are under
        // 64 bytes), and written from it.
        SCRATCH.with_borrow_mut(|(text, ends)| {
            text.clear();
            ends.clear();
            text.reserve(
                lines
                    .iter()
                    .map(|l| 64 + l.parts().message.len())
                    .sum::<usize>(),
            );
            for line in &lines {
                let _ = line.parts().write_to(text);
                text.push('\n');
                ends.push(text.len());
            }
            let written = log.append_joined(text, ends);
            if text.capacity() > SCRATCH_KEEP {
                *text = String::new();
                *ends = Vec::new();
            }
            written
        })?;
        // Under the app's lock, like `append`; nothing for a feed no one follows.
        if self.inner.live.receiver_count() == 0 {
            return Ok(());
        }
        let app: Arc<str> = Arc::from(app);
        for line in lines {
            let _ = self.inner.live.send(Arc::new(AppLine {
                app: app.clone(),
                entry: line.into_entry(),
            }));
        }
        Ok(())
    }

    /// `append_router_lines`, and a failure goes to paasd's own log (counted, never the
    /// lines).
    pub fn record_router_lines(&self, app: &str, lines: Vec<paas_router::RouterLine<'_>>) {
        if let Err(e) = self.append_router_lines(app, lines) {
            self.failed(app, e);
        }
    }

    /// `append_batch`, and a failure goes to paasd's own log (counted, never the lines).
    pub fn record_batch(&self, app: &str, entries: Vec<LogEntry>) {
        if let Err(e) = self.append_batch(app, entries) {
            self.failed(app, e);
        }
    }

    fn failed(&self, app: &str, e: LogError) {
        let n = self.inner.failed_appends.fetch_add(1, Ordering::Relaxed);
        if n.is_power_of_two() {
            tracing::warn!(
                app,
                "could not append to the app's log ({} so far): {e}",
                n + 1
            );
        }
    }

    /// A platform event (`paas[api]: Release v4 created by ...`, `paas[web.1]: Process exited
    /// with status 1`).
    pub fn platform(&self, app: &str, process: &str, message: impl Into<String>) {
        self.record(app, LogEntry::now(Source::Paas, Some(process), message));
    }

    /// The last `num` lines of `app`'s log passing `filter`, oldest first.
    pub fn last(&self, app: &str, num: usize, filter: &Filter) -> Result<Vec<LogEntry>, LogError> {
        let snapshot = {
            let log = self.app(app)?;
            let log = log.lock().unwrap_or_else(|p| p.into_inner());
            log.snapshot()?
        };
        snapshot.last(num, filter, &self.inner.dir)
    }

    /// `last`, and the live feed from just after those lines: no line is in both, none is
    /// missed (unless the subscriber lags more than `LIVE_CAPACITY` lines).
    pub fn tail(
        &self,
        app: &str,
        num: usize,
        filter: &Filter,
    ) -> Result<(Vec<LogEntry>, broadcast::Receiver<Arc<AppLine>>), LogError> {
        let (snapshot, live) = {
            let log = self.app(app)?;
            let log = log.lock().unwrap_or_else(|p| p.into_inner());
            (log.snapshot()?, self.inner.live.subscribe())
        };
        Ok((snapshot.last(num, filter, &self.inner.dir)?, live))
    }

    /// Every line appended from now on, of every app (for drains and exporters). A slow
    /// subscriber skips lines (`RecvError::Lagged(n)`: count them) and never slows a writer.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AppLine>> {
        self.inner.live.subscribe()
    }

    /// Whether build `build`'s output is still being written (its push has not ended: the
    /// rollout after the build writes to it too).
    pub fn build_output_open(&self, build: uuid::Uuid) -> bool {
        self.inner
            .open_builds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&build)
    }

    pub(crate) fn set_build_open(&self, build: uuid::Uuid, open: bool) {
        let mut builds = self
            .inner
            .open_builds
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if open {
            builds.insert(build);
        } else {
            builds.remove(&build);
        }
    }

    /// Bytes `app`'s log holds on disk.
    pub fn size(&self, app: &str) -> Result<u64, LogError> {
        let log = self.app(app)?;
        let log = log.lock().unwrap_or_else(|p| p.into_inner());
        Ok(log.total_bytes())
    }

    /// Deletes `app`'s log and build outputs (the app was destroyed).
    pub fn forget(&self, app: &str) -> Result<(), LogError> {
        valid_app(app)?;
        let mut apps = self.inner.apps.lock().unwrap_or_else(|p| p.into_inner());
        apps.remove(app);
        for dir in [
            self.inner.dir.join("apps").join(app),
            self.inner.dir.join("builds").join(app),
        ] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(&dir, e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(process: &str, message: &str) -> LogEntry {
        LogEntry::now(Source::App, Some(process), message)
    }

    #[tokio::test]
    async fn tail_gives_the_last_lines_then_each_new_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        for n in 0..5 {
            logs.append("shop", line("web.1", &format!("old {n}")))
                .unwrap();
        }
        logs.append("other", line("web.1", "elsewhere")).unwrap();
        let (last, mut live) = logs.tail("shop", 2, &Filter::default()).unwrap();
        let messages: Vec<_> = last.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, vec!["old 3", "old 4"]);
        logs.append("shop", line("web.2", "new")).unwrap();
        let next = live.recv().await.unwrap();
        assert_eq!((&*next.app, next.entry.message.as_str()), ("shop", "new"));
        assert!(live.try_recv().is_err());
    }

    #[test]
    fn a_log_survives_reopening_and_forget_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        LogKeeper::open(dir.path(), 1 << 20)
            .unwrap()
            .append("shop", line("web.1", "kept"))
            .unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let last = logs.last("shop", 10, &Filter::default()).unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].message, "kept");
        logs.forget("shop").unwrap();
        assert!(logs
            .last("shop", 10, &Filter::default())
            .unwrap()
            .is_empty());
        assert!(matches!(
            logs.append("../etc", line("web.1", "x")),
            Err(LogError::BadApp(_))
        ));
    }
}
