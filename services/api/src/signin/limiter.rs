//! Counting failures per key (an account, a client address) in a fixed window that starts at
//! the first failure. Memory is bounded: expired windows are pruned when the map is full, and
//! if it is still full the oldest window is dropped.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureLimiter<K> {
    max_failures: u32,
    window: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<K, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

impl<K: Hash + Eq + Clone> FailureLimiter<K> {
    pub fn new(max_failures: u32, window: Duration, max_entries: usize) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            max_entries: max_entries.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long until `key` may try again, when it has used up its failures.
    pub fn locked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let entries = self.lock();
        let failures = entries.get(key)?;
        let elapsed = now.saturating_duration_since(failures.since);
        (failures.count >= self.max_failures && elapsed < self.window)
            .then(|| self.window - elapsed)
    }

    /// Counts a failure for `key`; returns its failures in the current window.
    pub fn record_failure(&self, key: K, now: Instant) -> u32 {
        let mut entries = self.lock();
        if !entries.contains_key(&key) && entries.len() >= self.max_entries {
            self.make_room(&mut entries, now);
        }
        let failures = entries.entry(key).or_insert(Failures {
            since: now,
            count: 0,
        });
        if now.saturating_duration_since(failures.since) >= self.window {
            *failures = Failures {
                since: now,
                count: 0,
            };
        }
        failures.count = failures.count.saturating_add(1);
        failures.count
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub fn reset(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Keys tracked right now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_room(&self, entries: &mut HashMap<K, Failures>, now: Instant) {
        entries.retain(|_, f| now.saturating_duration_since(f.since) < self.window);
        if entries.len() >= self.max_entries {
            let oldest = entries
                .iter()
                .min_by_key(|(_, f)| f.since)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Failures>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn locks_after_the_limit_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, WINDOW, 100);
        let start = Instant::now();
        for n in 1..=2 {
            assert_eq!(limiter.record_failure("a", start), n);
            assert_eq!(limiter.locked_for(&"a", start), None);
        }
        limiter.record_failure("a", start);
        let later = start + Duration::from_secs(20);
        assert_eq!(
            limiter.locked_for(&"a", later),
            Some(Duration::from_secs(40))
        );
        assert_eq!(limiter.locked_for(&"b", later), None, "other keys are free");
        assert_eq!(limiter.locked_for(&"a", start + WINDOW), None);
        // A failure after the window starts a new one.
        assert_eq!(limiter.record_failure("a", start + WINDOW), 1);
    }

    #[test]
    fn reset_forgets_a_key() {
        let limiter = FailureLimiter::new(2, WINDOW, 100);
        let now = Instant::now();
        limiter.record_failure("a", now);
        limiter.record_failure("a", now);
        assert!(limiter.locked_for(&"a", now).is_some());
        limiter.reset(&"a");
        assert_eq!(limiter.locked_for(&"a", now), None);
        assert_eq!(limiter.record_failure("a", now), 1);
    }

    #[test]
    fn memory_is_bounded() {
        let limiter = FailureLimiter::new(5, WINDOW, 100);
        let start = Instant::now();
        for i in 0..1_000u32 {
            limiter.record_failure(i, start + Duration::from_millis(u64::from(i)));
            assert!(limiter.len() <= 100);
        }
        // The newest keys are kept, the oldest dropped.
        assert_eq!(
            limiter.record_failure(999, start + Duration::from_secs(1)),
            2
        );
        assert!(!limiter.lock().contains_key(&0));
        // Expired windows are pruned first.
        let much_later = start + WINDOW * 2;
        limiter.record_failure(5_000, much_later);
        assert_eq!(limiter.len(), 1);
    }
}
