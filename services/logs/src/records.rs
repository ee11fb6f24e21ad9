//! The router's per-request records: each becomes a `router` line in its app's log (the records
//! waiting are written together, one write per app) and each batch is then handed, by
//! reference, to every other `RecordObserver` (request metrics). This is the one fan-out point
//! for router records; paasd's `serve.rs` builds the observer list. A separate router's
//! records, shipped to the control plane, enter the same sink (`POST /api/router/records`).

use crate::LogKeeper;
use paas_router::{RecordBatch, RecordSource, RouterLine};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// After each batch, the keeper waits this long before it takes the next: the serving threads
/// meanwhile fill their buffers and wake no one (a wake-up per request would be a system call
/// and a context switch per request on the router's threads). Lines and metrics lag by at
/// most this much.
const PAUSE: Duration = Duration::from_millis(25);

/// Something that wants every router record (after it is in the app's log). Called on the
/// log keeper's task for every batch: it must not block (count, or `try_send` onward).
pub trait RecordObserver: Send + Sync {
    fn observe(&self, batch: &RecordBatch);
}

/// Reads the router's records until the router is gone: appends each one's line to its
/// app's log, then hands the batch to `observers`. Records the router had to drop (this
/// task fell behind) are reported in paasd's own log at most once a minute.
pub async fn keep_router_records(
    logs: LogKeeper,
    source: RecordSource,
    observers: Vec<Arc<dyn RecordObserver>>,
) {
    keep_router_records_until(logs, source, observers, std::future::pending()).await;
}

/// `keep_router_records`, which also ends once `stop` completes: it then writes every record
/// offered so far (those of every request answered before) without waiting out its pause.
pub async fn keep_router_records_until(
    logs: LogKeeper,
    mut source: RecordSource,
    observers: Vec<Arc<dyn RecordObserver>>,
    stop: impl Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut stopping = false;
    let mut reported_drops = 0;
    let mut last_report = tokio::time::Instant::now();
    let mut batch = RecordBatch::default();
    loop {
        if stopping {
            source.take_into(&mut batch);
        } else {
            tokio::select! {
                biased;
                () = &mut stop => {
                    stopping = true;
                    source.take_into(&mut batch);
                }
                more = source.next_into(&mut batch) => {
                    if !more {
                        return;
                    }
                }
            }
        }
        keep(&logs, &batch, &observers);
        batch.clear();
        if stopping {
            return;
        }
        tokio::select! {
            biased;
            // What came meanwhile is taken at the top of the loop, then the keeper ends.
            () = &mut stop => stopping = true,
            () = tokio::time::sleep(PAUSE) => {}
        }
        if last_report.elapsed() >= Duration::from_secs(60) {
            let dropped = source.dropped();
            if dropped > reported_drops {
                tracing::warn!(
                    "{} router records dropped (the log keeper fell behind)",
                    dropped - reported_drops
                );
                reported_drops = dropped;
            }
            last_report = tokio::time::Instant::now();
        }
    }
}

/// Writes `batch`'s lines to their apps' logs, then hands it to every observer.
fn keep(logs: &LogKeeper, batch: &RecordBatch, observers: &[Arc<dyn RecordObserver>]) {
    if batch.is_empty() {
        return;
    }
    // One write per app instead of one per request.
    let mut per_app: Vec<(&str, Vec<RouterLine<'_>>)> = Vec::new();
    for line in batch.lines() {
        match per_app.iter_mut().find(|(app, _)| *app == line.app) {
            Some((_, lines)) => lines.push(line),
            None => {
                // Sized for the whole batch: most batches are one app's.
                let mut lines = Vec::with_capacity(batch.len());
                lines.push(line);
                per_app.push((line.app, lines));
            }
        }
    }
    for (app, lines) in per_app {
        logs.record_router_lines(app, lines);
    }
    for observer in observers {
        observer.observe(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;
    use paas_router::RequestRecord;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::UNIX_EPOCH;

    struct Count(AtomicUsize);
    impl RecordObserver for Count {
        fn observe(&self, batch: &RecordBatch) {
            self.0.fetch_add(batch.len(), Ordering::Relaxed);
        }
    }

    fn record(app: &str) -> RequestRecord<'_> {
        RequestRecord {
            app,
            at: UNIX_EPOCH + Duration::from_micros(1_795_533_226_677_020),
            method: "GET",
            path: "/",
            host: "shop.example.com",
            request_id: "abc",
            client: "10.0.0.1".parse().unwrap(),
            dyno: Some("web.1"),
            connect_ms: 0,
            service_ms: 3,
            status: 200,
            bytes: Some(5),
            error: None,
        }
    }

    #[tokio::test]
    async fn records_become_router_lines_and_reach_every_observer() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let (sink, source) = paas_router::record_channel(16);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = tokio::spawn(keep_router_records(
            logs.clone(),
            source,
            vec![count.clone()],
        ));
        let thread = sink.for_thread();
        sink.offer(&record("shop"));
        thread.offer(&record("blog"));
        sink.offer(&record("shop"));
        drop(sink);
        drop(thread);
        task.await.unwrap();
        assert_eq!(count.0.load(Ordering::Relaxed), 3);
        let last = logs.last("shop", 10, &Filter::default()).unwrap();
        assert_eq!(last.len(), 2);
        assert_eq!(
            last[0].to_string(),
            "2026-11-24T15:13:46.677020+00:00 router: at=info method=GET path=\"/\" host=shop.example.com request_id=abc fwd=\"10.0.0.1\" dyno=web.1 connect=0ms service=3ms status=200 bytes=5"
        );
        assert_eq!(logs.last("blog", 10, &Filter::default()).unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_writes_what_came_during_the_pause_at_once_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let (sink, source) = paas_router::record_channel(16);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = tokio::spawn(keep_router_records_until(
            logs.clone(),
            source,
            vec![count.clone()],
            async {
                let _ = stopped.await;
            },
        ));
        sink.offer(&record("shop"));
        while count.0.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        // The keeper took the first record and pauses; two more come, then the stop.
        let paused_at = tokio::time::Instant::now();
        sink.offer(&record("shop"));
        sink.for_thread().offer(&record("blog"));
        stop.send(()).unwrap();
        task.await.unwrap();
        assert!(
            paused_at.elapsed() < PAUSE,
            "the keeper waited out its pause"
        );
        assert_eq!(logs.last("shop", 10, &Filter::default()).unwrap().len(), 2);
        assert_eq!(logs.last("blog", 10, &Filter::default()).unwrap().len(), 1);
        assert_eq!(count.0.load(Ordering::Relaxed), 3);
        // The router is still there: it was the stop that ended the keeper.
        drop(sink);
    }

    #[tokio::test]
    async fn a_follower_of_the_live_feed_gets_each_router_line() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let mut live = logs.subscribe();
        let (sink, source) = paas_router::record_channel(16);
        let task = tokio::spawn(keep_router_records(logs.clone(), source, Vec::new()));
        sink.offer(&record("shop"));
        drop(sink);
        task.await.unwrap();
        let line = live.try_recv().unwrap();
        assert_eq!(&*line.app, "shop");
        assert_eq!(line.entry.source, crate::Source::Router);
        assert!(
            line.entry.message.starts_with("at=info method=GET"),
            "{:?}",
            line.entry
        );
        assert!(live.try_recv().is_err());
    }
}
