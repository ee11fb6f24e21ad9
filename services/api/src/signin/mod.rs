//! Guarding `/api/login`: failed sign-ins are counted per account and per client address and
//! answered 429 once over the limit (`limiter`), and password hashing runs on a small fixed
//! pool of threads with a short queue, so that a flood of sign-ins costs bounded memory and
//! CPU and everything else keeps answering (`hashing`).

pub mod hashing;
pub mod limiter;

use hashing::PasswordPool;
use limiter::FailureLimiter;
use std::net::IpAddr;
use std::time::Duration;

/// Limits of sign-in, from paasd's configuration.
#[derive(Debug, Clone)]
pub struct SigninConfig {
    /// Failed sign-ins allowed per account, and per client address, within `window`.
    pub max_failures: u32,
    /// How long failures are remembered (from the first failure of a series).
    pub window: Duration,
    /// Threads that hash passwords (password hashing never runs more than this many at once).
    pub hash_workers: usize,
    /// Hash jobs allowed to wait for a thread; more are answered 503 at once.
    pub hash_queue: usize,
}

impl Default for SigninConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(300),
            hash_workers: 2,
            hash_queue: 16,
        }
    }
}

/// Failed sign-ins remembered per map at most; the oldest are dropped beyond that.
const MAX_TRACKED: usize = 10_000;

/// What the sign-in handler shares: the two failure counters and the hashing pool.
pub struct SigninGuard {
    pub accounts: FailureLimiter<String>,
    pub addresses: FailureLimiter<IpAddr>,
    pub pool: PasswordPool,
}

impl SigninGuard {
    pub fn new(config: &SigninConfig) -> Self {
        Self {
            accounts: FailureLimiter::new(config.max_failures, config.window, MAX_TRACKED),
            addresses: FailureLimiter::new(config.max_failures, config.window, MAX_TRACKED),
            pool: PasswordPool::new(config.hash_workers, config.hash_queue),
        }
    }
}
