//! The router's per-request records: each becomes a `router` line in its app's log (the records
//! waiting are written together, one write per app) and is then handed, by reference, to every
//! other `RecordObserver` (request metrics). This is the one fan-out point for router records;
//! paasd's `serve.rs` builds the observer list. A separate router's records, shipped to the
//! control plane, enter the same channel (`POST /api/router/records`).

use crate::entry::{LogEntry, Source};
use crate::LogKeeper;
use paas_router::{RecordSource, RequestRecord};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// Most records stored with one write per app.
const BATCH: usize = 256;
/// After a batch that emptied the channel, the keeper waits this long before it reads again:
/// meanwhile nobody waits on the channel, so the router's `try_send` wakes no one (a wake-up
/// per request would be a system call and a context switch per request on the router's
/// threads). Lines and metrics lag by at most this much.
const PAUSE: Duration = Duration::from_millis(25);

/// Something that wants every router record (after it is in the app's log). Called on the
/// log keeper's task for every request: it must not block (count, or `try_send` onward).
pub trait RecordObserver: Send + Sync {
    fn observe(&self, record: &RequestRecord);
}

/// The `router` line of a record.
pub fn router_entry(record: &RequestRecord) -> LogEntry {
    let at_micros = record
        .at
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    LogEntry {
        at_micros,
        source: Source::Router,
        process: None,
        message: {
            // Sized once: the line is about 150 bytes plus the path and host.
            let mut line = String::with_capacity(192 + record.path.len() + record.host.len());
            let _ = write!(line, "{record}");
            line
        },
    }
}

/// Reads the router's records until the router is gone: appends each one's line to its
/// app's log, then hands it to `observers`. Records the router had to drop (this task fell
/// behind) are reported in paasd's own log at most once a minute.
pub async fn keep_router_records(
    logs: LogKeeper,
    mut source: RecordSource,
    observers: Vec<Arc<dyn RecordObserver>>,
) {
    let mut reported_drops = 0;
    let mut last_report = tokio::time::Instant::now();
    let mut batch: Vec<RequestRecord> = Vec::with_capacity(BATCH);
    while let Some(first) = source.rx.recv().await {
        // What else is waiting goes with it: one write per app instead of one per request.
        batch.push(first);
        while batch.len() < BATCH {
            match source.rx.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        let mut per_app: Vec<(&str, Vec<LogEntry>)> = Vec::new();
        for record in &batch {
            let entry = router_entry(record);
            match per_app.iter_mut().find(|(app, _)| *app == record.app) {
                Some((_, entries)) => entries.push(entry),
                None => {
                    // Sized for the whole batch: most batches are one app's.
                    let mut entries = Vec::with_capacity(batch.len());
                    entries.push(entry);
                    per_app.push((&record.app, entries));
                }
            }
        }
        for (app, entries) in per_app {
            logs.record_batch(app, entries);
        }
        for record in &batch {
            for observer in &observers {
                observer.observe(record);
            }
        }
        let emptied = batch.len() < BATCH;
        batch.clear();
        if emptied {
            tokio::time::sleep(PAUSE).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);
    impl RecordObserver for Count {
        fn observe(&self, _: &RequestRecord) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn record(app: &str) -> RequestRecord {
        RequestRecord {
            app: app.into(),
            at: UNIX_EPOCH + Duration::from_micros(1_795_533_226_677_020),
            method: "GET".into(),
            path: "/".into(),
            host: format!("{app}.example.com"),
            request_id: "abc".into(),
            client: "10.0.0.1".parse().unwrap(),
            dyno: Some("web.1".into()),
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
        sink.offer(record("shop"));
        sink.offer(record("shop"));
        drop(sink);
        task.await.unwrap();
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
        let last = logs.last("shop", 10, &Filter::default()).unwrap();
        assert_eq!(
            last[0].to_string(),
            "2026-11-24T15:13:46.677020+00:00 router: at=info method=GET path=\"/\" host=shop.example.com request_id=abc fwd=\"10.0.0.1\" dyno=web.1 connect=0ms service=3ms status=200 bytes=5"
        );
    }
}
