//! The thread that keeps the router's request records (`paas_logs::keep_router_records`):
//! every 25 ms it takes every serving thread's record buffer and writes the lines to the apps'
//! logs and metrics. It runs under `SCHED_BATCH`: it keeps its fair share of the CPU (so it
//! keeps up, and a full buffer still only drops and counts), but waking it never preempts a
//! serving thread. On a CPU shared with one (one serving thread per CPU), its batch otherwise
//! cut into requests under way every time it woke, and showed in the router's p99. When
//! paasd stops, `RecordKeeper::finish` has it write what is left at once: the router line of
//! every request answered before the stop is in its app's log.

use paas_logs::{keep_router_records_until, LogKeeper, RecordObserver};
use paas_router::RecordSource;
use std::sync::Arc;
use std::time::Duration;

/// The keeper thread's name.
pub const THREAD_NAME: &str = "paas-records";

/// The running keeper: `finish` has it write what is left before paasd exits.
pub struct RecordKeeper {
    thread: std::thread::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts the keeper on a thread of its own; it ends once every record sink is gone, or
/// when told to `finish`.
pub fn spawn(
    logs: LogKeeper,
    source: RecordSource,
    observers: Vec<Arc<dyn RecordObserver>>,
) -> std::io::Result<RecordKeeper> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // A keeper whose handle is dropped without `finish` goes on until the router is gone.
    let stop_asked = async {
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let thread = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            if let Err(e) = yield_to_others_on_waking() {
                tracing::warn!("the router records' keeper runs at the normal policy: {e}");
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    tracing::error!("router records will not reach the app logs: {e}");
                    return;
                }
            };
            runtime.block_on(keep_router_records_until(
                logs, source, observers, stop_asked,
            ));
        })?;
    Ok(RecordKeeper { thread, stop })
}

impl RecordKeeper {
    /// Has the keeper write every record offered so far (the router lines of the requests
    /// answered until now) and end; waits for that up to `within`. `false` if it did not
    /// end in time.
    pub async fn finish(self, within: Duration) -> bool {
        let _ = self.stop.send(());
        let deadline = tokio::time::Instant::now() + within;
        while !self.thread.is_finished() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.thread.join().is_ok()
    }
}

/// Puts the calling thread under `SCHED_BATCH` (same share, no wake-up preemption).
fn yield_to_others_on_waking() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` outlives the call.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paas_logs::Filter;
    use paas_router::{record_channel, RouterLine};

    /// The scheduling policy of this process's thread named `name`.
    fn policy_of(name: &str) -> Option<i32> {
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let task = task.ok()?;
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if comm.trim_end() == name {
                let tid: libc::pid_t = task.file_name().to_str()?.parse().ok()?;
                // SAFETY: a plain query of a thread of this process.
                return Some(unsafe { libc::sched_getscheduler(tid) });
            }
        }
        None
    }

    #[test]
    fn the_keeper_runs_under_sched_batch_and_keeps_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let (sink, source) = record_channel(1024);
        let keeper = spawn(logs.clone(), source, Vec::new()).unwrap();
        let line = "at=info method=GET path=\"/\" host=shop.example.com status=200";
        sink.offer_line(&RouterLine {
            app: "shop",
            at_micros: 1_795_619_626_677_020,
            status: 200,
            latency_ms: 1,
            bytes: 5,
            line,
        });
        // The line reaches the app's log through the keeper's thread...
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let lines = logs.last("shop", 10, &Filter::default()).unwrap();
            if lines
                .iter()
                .any(|l| l.message.contains("host=shop.example.com"))
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the line never reached the log"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // ...which is under SCHED_BATCH while it runs.
        assert_eq!(policy_of(THREAD_NAME), Some(libc::SCHED_BATCH));
        // And ends once every sink is gone.
        drop(sink);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !keeper.thread.is_finished() {
            assert!(
                std::time::Instant::now() < deadline,
                "the keeper never ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(keeper.finish(Duration::from_secs(1))));
    }

    #[tokio::test]
    async fn finish_writes_what_the_router_left_and_ends_the_keeper() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let (sink, source) = record_channel(1024);
        let keeper = spawn(logs.clone(), source, Vec::new()).unwrap();
        let offer = |n: i64| {
            let line = format!("at=info method=GET path=\"/{n}\" status=200");
            sink.offer_line(&RouterLine {
                app: "shop",
                at_micros: 1_795_619_626_677_020 + n,
                status: 200,
                latency_ms: 1,
                bytes: 5,
                line: &line,
            });
        };
        offer(0);
        // Once the first line is written, the keeper pauses before its next take...
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while logs
            .last("shop", 10, &Filter::default())
            .unwrap()
            .is_empty()
        {
            assert!(tokio::time::Instant::now() < deadline, "no first line");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // ...and these come during the pause.
        for n in 1..=100 {
            offer(n);
        }
        assert!(keeper.finish(Duration::from_secs(10)).await);
        let lines = logs.last("shop", 200, &Filter::default()).unwrap();
        assert_eq!(lines.len(), 101);
        assert!(lines[100].message.contains("path=\"/100\""));
        // The router (its sink) is still there: the keeper ended because it was told to.
        drop(sink);
    }
}
