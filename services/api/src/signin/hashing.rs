//! A fixed pool of threads for password hashing (argon2 takes ~19 MiB and tens of milliseconds
//! per hash, on purpose). At most `workers` hashes run at once, at most `queue` wait; a job
//! beyond that is refused at once (`PoolBusy`), so a flood of sign-ins cannot grow memory or
//! delay the rest of the server. Dedicated threads (rather than tokio's blocking pool, which
//! grows to hundreds of threads) also keep the allocator's per-thread arenas few.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The pool is at capacity (or has no thread): answer "try again later".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is at capacity")]
pub struct PoolBusy;

pub struct PasswordPool {
    jobs: SyncSender<Job>,
    workers: usize,
    stats: Arc<Stats>,
}

/// Running-job counts, so tests can see the bound hold.
#[derive(Default)]
struct Stats {
    running: AtomicUsize,
    max_running: AtomicUsize,
}

impl PasswordPool {
    /// Starts `workers` threads (at least one) sharing a queue of `queue` waiting jobs.
    pub fn new(workers: usize, queue: usize) -> Self {
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let stats = Arc::new(Stats::default());
        let mut started = 0;
        for i in 0..workers.max(1) {
            let receiver = receiver.clone();
            let stats = stats.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("paas-hash-{i}"))
                .spawn(move || work(&receiver, &stats));
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!("cannot start a password hashing thread: {e}"),
            }
        }
        Self {
            jobs,
            workers: started,
            stats,
        }
    }

    /// Runs `f` on a pool thread and waits for its result; `PoolBusy` at once when the queue
    /// is full. A job whose caller went away before it started is skipped.
    pub async fn run<T, F>(&self, f: F) -> Result<T, PoolBusy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if self.workers == 0 {
            return Err(PoolBusy);
        }
        let (sender, receiver) = oneshot::channel();
        let job: Job = Box::new(move || {
            if !sender.is_closed() {
                let _ = sender.send(f());
            }
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(PoolBusy)
            }
        }
        // Dropped unanswered only when the job panicked.
        receiver.await.map_err(|_| PoolBusy)
    }

    /// The most jobs that ever ran at once.
    pub fn max_running(&self) -> usize {
        self.stats.max_running.load(Ordering::SeqCst)
    }
}

fn work(receiver: &Mutex<Receiver<Job>>, stats: &Stats) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
            receiver.recv()
        };
        let Ok(job) = job else {
            return; // the pool is gone
        };
        let running = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_running.fetch_max(running, Ordering::SeqCst);
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a password hashing job panicked");
        }
        stats.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_runs_more_than_its_workers_and_refuses_beyond_the_queue() {
        let pool = Arc::new(PasswordPool::new(2, 4));
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                pool.run(|| std::thread::sleep(Duration::from_millis(50)))
                    .await
            }));
        }
        let mut done = 0;
        let mut busy = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => done += 1,
                Err(PoolBusy) => busy += 1,
            }
        }
        assert!(pool.max_running() <= 2, "{} at once", pool.max_running());
        // At most 2 running + 4 queued when the 40 arrive together; the rest are refused.
        assert!((4..40).contains(&done), "done {done}");
        assert_eq!(done + busy, 40);
        // Once idle it takes work again.
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_kill_the_pool() {
        let pool = PasswordPool::new(1, 1);
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, Err(PoolBusy));
        assert_eq!(pool.run(|| 1).await, Ok(1));
    }
}
