//! Per-app sequence numbers (release versions, build order). Each insert computes
//! `MAX(number) + 1` for the app inside its own transaction; the `UNIQUE (app_id, number)`
//! constraint rejects a concurrent writer that computed the same number, and that writer retries.
//! (On SQLite `BEGIN IMMEDIATE` already serializes writers; PostgreSQL needs the retry.)

use super::codec::is_unique_violation;
use std::future::Future;
use std::time::Duration;

const ATTEMPTS: u32 = 25;

/// Runs `attempt` until it does not fail with a unique violation, at most `ATTEMPTS` times,
/// sleeping a little (growing, with jitter) in between. Returns the last error otherwise.
pub(super) async fn retry_on_unique_violation<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < ATTEMPTS && is_unique_violation(&e) => {
                tracing::debug!(
                    tries,
                    "per-app number taken by a concurrent writer; retrying"
                );
                tokio::time::sleep(backoff(tries)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

fn backoff(tries: u32) -> Duration {
    // Random enough to spread writers that collided, without another dependency.
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    Duration::from_millis(u64::from(tries.min(10)) * 2 + jitter)
}
