//! Wiring of metrics, drains and OTLP export into paasd: the router records' observer that
//! feeds the metrics, the task that forwards every app log line from the log keeper's live
//! feed to the app's drains (`Drains::offer` never waits: each drain has its own queue), the
//! process stats sampler, the OTLP metrics export, the drains stored in the database
//! started at boot, and the metrics' last day saved to `<data>/metrics.snapshot` every five
//! minutes and read back at start (so a restart loses at most five minutes of metrics).

use crate::config::Config;
use paas_logs::{AppLine, LogKeeper, RecordObserver};
use paas_router::RecordBatch;
use paas_runtime::ContainerRuntime;
use paas_store::Store;
use paas_telemetry::{Line, MetricsHandle, Telemetry};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Counts every router record in the metrics (on the records' keeper thread).
pub struct MetricsObserver(pub MetricsHandle);

impl RecordObserver for MetricsObserver {
    fn observe(&self, batch: &RecordBatch) {
        self.0.observe(batch);
    }
}

/// A log line as the drains take it.
fn drain_line(line: &AppLine) -> Line {
    Line {
        app: line.app.to_string(),
        at_micros: line.entry.at_micros,
        source: line.entry.source.as_str().to_string(),
        process: line.entry.process.clone(),
        message: line.entry.message.clone(),
    }
}

/// Lines the forwarder missed because it fell behind the live feed (should stay 0).
static FORWARDER_SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Hands every line of every app's log to that app's drains until the log keeper is gone.
/// While no app has a drain it does not follow the live feed at all, so the log keeper,
/// seeing no one listening, builds no live line per request (`LogKeeper::append_batch`).
///
/// It says when it follows the feed (`Drains::set_following`), and the API's `drains:add`
/// waits for that (`Drains::set_followed`): every line logged after an add has answered
/// reaches the new drain.
fn spawn_forwarder(logs: LogKeeper, telemetry: Telemetry) {
    // Said before the task runs, so an add made meanwhile waits for it.
    telemetry.drains.set_following(Some(false));
    tokio::spawn(forward_lines(logs, telemetry));
}

async fn forward_lines(logs: LogKeeper, telemetry: Telemetry) {
    let drains = telemetry.drains.clone();
    // Said gone however this task ends (returned, or aborted with the runtime).
    struct Gone(paas_telemetry::Drains);
    impl Drop for Gone {
        fn drop(&mut self) {
            self.0.set_following(None);
        }
    }
    let _gone = Gone(drains.clone());
    let mut drained = drains.apps_with_drains();
    loop {
        if drained.wait_for(|apps| *apps > 0).await.is_err() {
            return;
        }
        let mut feed = logs.subscribe();
        drains.set_following(Some(true));
        loop {
            tokio::select! {
                line = feed.recv() => match line {
                    Ok(line) => telemetry.drains.offer_with(&line.app, || drain_line(&line)),
                    Err(RecvError::Lagged(n)) => {
                        let total = FORWARDER_SKIPPED.fetch_add(n, Ordering::Relaxed) + n;
                        tracing::warn!("the drains' forwarder skipped {n} log lines ({total} in all)");
                    }
                    Err(RecvError::Closed) => return,
                },
                changed = drained.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Not following from here until the count is read: an add racing with
                    // the last removal then waits for the next subscription rather than
                    // trusting this one, which is about to end.
                    drains.set_following(Some(false));
                    if *drained.borrow_and_update() == 0 {
                        break;
                    }
                    drains.set_following(Some(true));
                }
            }
        }
    }
}

/// How often the metrics are saved.
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);
const SNAPSHOT_FILE: &str = "metrics.snapshot";

/// Reads the saved metrics back, if any.
fn restore_metrics(metrics: &MetricsHandle, path: &Path) {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let now = paas_telemetry::metrics::now_secs();
            let minutes = metrics.lock().restore(&text, now);
            tracing::info!("metrics: {minutes} app-minute(s) restored from the last snapshot");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot read the metrics snapshot {}: {e}", path.display()),
    }
}

/// Writes a snapshot of the metrics every `SNAPSHOT_EVERY` (written aside, then renamed).
async fn save_metrics(metrics: MetricsHandle, path: PathBuf) {
    let mut ticker = tokio::time::interval(SNAPSHOT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let text = metrics.lock().snapshot();
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let aside = target.with_extension("snapshot.tmp");
            std::fs::write(&aside, text)?;
            std::fs::rename(&aside, &target)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot save the metrics snapshot: {e}"),
            Err(e) => tracing::warn!("cannot save the metrics snapshot: {e}"),
        }
    }
}

/// Starts the stored drains and the telemetry tasks.
pub async fn start(
    telemetry: &Telemetry,
    store: &dyn Store,
    runtime: Arc<dyn ContainerRuntime>,
    logs: &LogKeeper,
    config: &Config,
    instance_id: &str,
) -> anyhow::Result<()> {
    telemetry
        .drains
        .set_ca_bundle(config.ca_bundle().as_deref().map(Path::new));
    let started = paas_api::start_drains(store, &telemetry.drains).await?;
    if started > 0 {
        tracing::info!("{started} log drain(s) and OTLP export(s) started");
    }
    let snapshot = config.data_dir.join(SNAPSHOT_FILE);
    restore_metrics(&telemetry.metrics, &snapshot);
    tokio::spawn(save_metrics(telemetry.metrics.clone(), snapshot));
    spawn_forwarder(logs.clone(), telemetry.clone());
    tokio::spawn(paas_telemetry::sampler::sample_processes(
        runtime,
        instance_id.to_string(),
        telemetry.metrics.clone(),
        Duration::from_secs(config.stats_interval_secs),
    ));
    tokio::spawn(paas_telemetry::otlp::export_metrics(
        telemetry.metrics.clone(),
        telemetry.drains.clone(),
        Duration::from_secs(config.otlp_interval_secs),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use paas_logs::{LogEntry, Source};
    use paas_telemetry::DrainClass;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// Accepts the drain's next connection and reads it until `want` has arrived.
    async fn receive(listener: &TcpListener, want: &str) {
        let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
            .await
            .expect("the drain connects")
            .unwrap();
        let mut received = String::new();
        let mut buffer = [0u8; 4096];
        while !received.contains(want) {
            let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
                .await
                .unwrap_or_else(|_| panic!("{want:?} never reached the drain: {received:?}"))
                .unwrap();
            assert!(n > 0, "{want:?} never reached the drain: {received:?}");
            received.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }

    /// A log keeper with its forwarder running, and a syslog drain's listener and URL.
    async fn forwarding() -> (
        tempfile::TempDir,
        LogKeeper,
        Telemetry,
        TcpListener,
        Vec<String>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let telemetry = Telemetry::default();
        spawn_forwarder(logs.clone(), telemetry.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = vec![format!("syslog+tcp://127.0.0.1:{port}")];
        (dir, logs, telemetry, listener, url)
    }

    // One thread: nothing but this test's awaits lets the forwarder run, so a line logged
    // right after an add is lost unless the add waited for the forwarder to follow.
    #[tokio::test(flavor = "current_thread")]
    async fn a_line_logged_once_a_drain_is_added_reaches_it() {
        let (_dir, logs, telemetry, listener, url) = forwarding().await;
        let (drains, logs, url, listener) = (&telemetry.drains, &logs, &url, &listener);
        // As `drains:add` does, then a line logged at once: it must reach the drain.
        let add_then_log = |message: &'static str| async move {
            let wait = Duration::from_secs(5);
            assert!(
                drains
                    .set_followed("shop", DrainClass::Log, url, wait)
                    .await
            );
            let line = LogEntry::now(Source::App, Some("web.1"), message);
            logs.append("shop", line).unwrap();
            receive(listener, message).await;
        };

        // The first drain of all: the forwarder starts following the feed.
        add_then_log("first").await;

        // The last drain removed and one added before the forwarder looked: it keeps its
        // subscription (it reads the count after saying it may stop, and finds a drain).
        drains.set("shop", DrainClass::Log, &[]);
        add_then_log("second").await;

        // The last drain removed, and the forwarder lets the feed go before the next add.
        drains.set("shop", DrainClass::Log, &[]);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        add_then_log("third").await;
    }

    // Several threads: removals and adds race with the forwarder's reading of the count, and
    // every line logged after an add must still arrive. (The forwarder's order, saying it may
    // stop before it reads the count, closes a window too narrow for this test to hit
    // reliably; see `forward_lines`.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lines_logged_after_adds_racing_with_removals_reach_the_drain() {
        let (_dir, logs, telemetry, listener, url) = forwarding().await;
        let drains = &telemetry.drains;
        for n in 0..50 {
            drains.set("shop", DrainClass::Log, &[]);
            // Every few rounds, let the forwarder see the removal first.
            if n % 3 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let wait = Duration::from_secs(5);
            assert!(
                drains
                    .set_followed("shop", DrainClass::Log, &url, wait)
                    .await
            );
            let message = format!("round {n} ");
            logs.append("shop", LogEntry::now(Source::App, None, message.clone()))
                .unwrap();
            receive(&listener, &message).await;
        }
    }

    #[tokio::test]
    async fn an_add_does_not_wait_when_no_forwarder_runs() {
        let drains = paas_telemetry::Drains::default();
        let url = vec!["syslog+tcp://127.0.0.1:9".to_string()];
        let started = std::time::Instant::now();
        assert!(
            drains
                .set_followed("shop", DrainClass::Log, &url, Duration::from_secs(30))
                .await
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
