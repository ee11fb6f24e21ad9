//! Crash backoff: a process that stops on its own is replaced at once the first time, then
//! after 1, 2, 4, ... seconds (at most a minute) while it keeps crashing. A new release (or
//! size) of its type, or a process that ran for two minutes before it stopped, starts the count
//! again. Pure bookkeeping over observations and a clock, tested as data.

use crate::labels::Slot;
use crate::reconcile::Observed;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

/// Longest wait before a crashed process is started again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A process that ran this long before stopping was healthy: its count starts again.
pub const STABLE_AFTER: Duration = Duration::from_secs(120);

/// The wait before the start that follows the `crashes`-th crash in a row.
pub fn backoff(crashes: u32) -> Duration {
    match crashes {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 2).min(6)).min(MAX_BACKOFF),
    }
}

#[derive(Debug, Default)]
struct SlotCrashes {
    /// The deployment key the count is about.
    key: String,
    count: u32,
    /// Unix ms before which the slot is not started again.
    hold_until: i64,
    /// Containers already counted.
    counted: HashSet<String>,
}

/// A crash the tracker saw for the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// The stopped container.
    pub id: String,
    pub slot: Slot,
    /// How many times in a row.
    pub count: u32,
    pub restart_in: Duration,
}

#[derive(Debug, Default)]
pub struct CrashTracker {
    slots: HashMap<(String, Slot), SlotCrashes>,
}

impl CrashTracker {
    /// Counts the stopped processes of `app` not counted before, and returns the crashes it
    /// just counted and the slots still waiting out their backoff at `now_ms`. `created` gives
    /// each container's creation time (unix seconds) by id.
    pub fn observe(
        &mut self,
        app: &str,
        observed: &[Observed],
        created: &HashMap<String, i64>,
        now_ms: i64,
    ) -> (Vec<Crash>, BTreeSet<Slot>) {
        let mut crashes = Vec::new();
        for c in observed.iter().filter(|c| !c.running) {
            let entry = self
                .slots
                .entry((app.to_string(), c.slot.clone()))
                .or_default();
            if entry.counted.contains(&c.id) {
                continue;
            }
            let ran_ms = created
                .get(&c.id)
                .map_or(0, |secs| now_ms.saturating_sub(secs.saturating_mul(1000)));
            if entry.key != c.release_id || ran_ms >= STABLE_AFTER.as_millis() as i64 {
                entry.key = c.release_id.clone();
                entry.count = 0;
                entry.counted.clear();
            }
            entry.counted.insert(c.id.clone());
            entry.count += 1;
            let wait = backoff(entry.count);
            entry.hold_until = now_ms + wait.as_millis() as i64;
            crashes.push(Crash {
                id: c.id.clone(),
                slot: c.slot.clone(),
                count: entry.count,
                restart_in: wait,
            });
        }
        let held = self
            .slots
            .iter()
            .filter(|((a, _), s)| a == app && s.hold_until > now_ms)
            .map(|((_, slot), _)| slot.clone())
            .collect();
        (crashes, held)
    }

    /// How many times in a row each slot of `app` crashed, with the deployment key the count
    /// is about.
    pub fn counts(&self, app: &str) -> BTreeMap<Slot, (String, u32)> {
        self.slots
            .iter()
            .filter(|((a, _), _)| a == app)
            .map(|((_, slot), s)| (slot.clone(), (s.key.clone(), s.count)))
            .collect()
    }

    /// Forgets an app (destroyed).
    pub fn forget(&mut self, app: &str) {
        self.slots.retain(|(a, _), _| a != app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(id: &str, release: &str) -> Observed {
        Observed {
            id: id.into(),
            release_id: release.into(),
            slot: Slot {
                process: "worker".into(),
                index: 1,
            },
            running: false,
            ready: false,
            addr: None,
        }
    }

    #[test]
    fn waits_grow_and_are_capped() {
        let waits: Vec<u64> = (1..=10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_crash_loop_is_held_back_and_a_new_release_starts_again() {
        let mut t = CrashTracker::default();
        let created = HashMap::new();
        let (crashes, held) = t.observe("a", &[exited("c1", "r1")], &created, 1_000);
        assert_eq!(crashes[0].count, 1);
        assert!(held.is_empty(), "the first crash restarts at once");
        // Seen again in the next pass: not counted twice.
        let (crashes, _) = t.observe("a", &[exited("c1", "r1")], &created, 1_100);
        assert!(crashes.is_empty());
        let (crashes, held) = t.observe("a", &[exited("c2", "r1")], &created, 2_000);
        assert_eq!(
            (crashes[0].count, crashes[0].restart_in),
            (2, Duration::from_secs(1))
        );
        assert_eq!(held.len(), 1);
        let (_, held) = t.observe("a", &[], &created, 3_001);
        assert!(held.is_empty(), "the wait is over");
        let (crashes, _) = t.observe("a", &[exited("c3", "r1")], &created, 3_100);
        assert_eq!(crashes[0].count, 3);
        // Another app is not held.
        let (_, held) = t.observe("b", &[], &created, 3_200);
        assert!(held.is_empty());
        // A new release of the type starts the count again.
        let (crashes, held) = t.observe("a", &[exited("c4", "r2")], &created, 3_300);
        assert_eq!(crashes[0].count, 1);
        assert!(held.is_empty());
    }

    #[test]
    fn a_process_that_ran_for_a_while_starts_the_count_again() {
        let mut t = CrashTracker::default();
        let none = HashMap::new();
        t.observe("a", &[exited("c1", "r1")], &none, 1_000);
        t.observe("a", &[exited("c2", "r1")], &none, 2_000);
        let created = HashMap::from([("c3".to_string(), 10)]);
        let (crashes, held) = t.observe("a", &[exited("c3", "r1")], &created, 10_000 + 200_000);
        assert_eq!(crashes[0].count, 1);
        assert!(held.is_empty());
    }
}
