//! One app's reconcile plan, as a pure function of what is desired and what was observed. The
//! scheduler gathers the inputs, calls `plan_app`, and carries the plan out.

use crate::labels::Slot;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

/// The app's desired release, as far as planning needs it.
#[derive(Debug, Clone)]
pub struct DesiredRelease {
    pub id: String,
    pub pending: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    pub process_types: BTreeSet<String>,
    /// What a process of a type must carry to count as current, where that is not just `id`
    /// (a resized type: `id~1024m500c`). Processes with another key are rolled over.
    pub keys: BTreeMap<String, String>,
}

impl DesiredRelease {
    /// The deployment key a current process of `process_type` carries.
    pub fn key(&self, process_type: &str) -> &str {
        self.keys
            .get(process_type)
            .map_or(self.id.as_str(), String::as_str)
    }
}

/// One observed process container of the app.
#[derive(Debug, Clone)]
pub struct Observed {
    pub id: String,
    pub release_id: String,
    pub slot: Slot,
    pub running: bool,
    /// Web: answered the health check. Other types: running.
    pub ready: bool,
    pub addr: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveReason {
    /// It stopped on its own (crashed, killed, or never started).
    Exited,
    /// Its slot is no longer in the formation, or the app has no release.
    NotWanted,
    /// A process of the current release now serves its slot.
    Replaced,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    /// Not every process became ready within the health timeout.
    TimedOut,
    /// This slot's process of the new release crashed `FAIL_FAST_CRASHES` times without
    /// becoming ready: the release fails at once rather than after the whole timeout.
    Crashing(Slot),
}

/// Crashes in a row of a new release's process, before it ever became ready, that fail the
/// release.
pub const FAIL_FAST_CRASHES: u32 = 3;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppPlan {
    pub start: Vec<Slot>,
    pub remove: Vec<(String, Slot, RemoveReason)>,
    /// Web processes that receive requests: (address, dyno name).
    pub backends: Vec<(SocketAddr, String)>,
    pub verdict: Option<Verdict>,
    /// Something is still converging (a process not yet ready): plan again soon.
    pub in_progress: bool,
}

pub struct PlanInput<'a> {
    pub release: Option<&'a DesiredRelease>,
    pub formation: &'a BTreeMap<String, u32>,
    pub observed: &'a [Observed],
    /// Unix milliseconds.
    pub now: i64,
    pub health_timeout: Duration,
    /// Slots waiting out a crash backoff: not started yet, and their stopped process is kept
    /// until then (so `ps` shows it crashed).
    pub held: &'a BTreeSet<Slot>,
    /// Crashes in a row per slot, counted for the desired release's processes only.
    pub crashes: &'a BTreeMap<Slot, u32>,
}

pub fn plan_app(input: &PlanInput<'_>) -> AppPlan {
    let mut plan = AppPlan::default();
    let desired: BTreeSet<Slot> = match input.release {
        Some(release) => input
            .formation
            .iter()
            .filter(|(process, _)| release.process_types.contains(*process))
            .flat_map(|(process, qty)| {
                (1..=*qty).map(|index| Slot {
                    process: process.clone(),
                    index,
                })
            })
            .collect(),
        None => BTreeSet::new(),
    };
    let current_key = |process: &str| input.release.map(|r| r.key(process));

    let mut current: BTreeMap<&Slot, &Observed> = BTreeMap::new();
    let mut old: Vec<&Observed> = Vec::new();
    for c in input.observed {
        if !c.running {
            if !(input.held.contains(&c.slot) && desired.contains(&c.slot)) {
                plan.remove
                    .push((c.id.clone(), c.slot.clone(), RemoveReason::Exited));
            }
        } else if !desired.contains(&c.slot) {
            plan.remove
                .push((c.id.clone(), c.slot.clone(), RemoveReason::NotWanted));
        } else if Some(c.release_id.as_str()) == current_key(&c.slot.process) {
            if current.contains_key(&c.slot) {
                // A duplicate (e.g. from an interrupted pass): keep one.
                plan.remove
                    .push((c.id.clone(), c.slot.clone(), RemoveReason::NotWanted));
            } else {
                current.insert(&c.slot, c);
            }
        } else {
            old.push(c);
        }
    }

    for slot in &desired {
        match current.get(slot) {
            None if input.held.contains(slot) => plan.in_progress = true,
            None => {
                plan.start.push(slot.clone());
                plan.in_progress = true;
            }
            Some(c) if !c.ready => plan.in_progress = true,
            Some(_) => {}
        }
    }
    for c in old {
        if current.get(&c.slot).is_some_and(|n| n.ready) {
            plan.remove
                .push((c.id.clone(), c.slot.clone(), RemoveReason::Replaced));
        } else {
            plan.in_progress = true;
        }
    }

    let serving = |c: &Observed| c.slot.process == "web" && c.ready && c.running;
    // The new processes that answer, and every older one that still serves (its slot's new
    // process not ready yet): during a rollout, never fewer than before.
    let mut backends: Vec<(SocketAddr, String)> = current
        .values()
        .copied()
        .filter(|c| serving(c))
        .chain(
            input
                .observed
                .iter()
                .filter(|c| Some(c.release_id.as_str()) != current_key(&c.slot.process))
                .filter(|c| serving(c))
                .filter(|c| !plan.remove.iter().any(|(id, _, _)| *id == c.id)),
        )
        .filter_map(|c| c.addr.map(|a| (a, c.slot.dyno())))
        .collect();
    backends.sort();
    plan.backends = backends;

    if let Some(release) = input.release.filter(|r| r.pending) {
        let all_ready = desired
            .iter()
            .all(|slot| current.get(slot).is_some_and(|c| c.ready));
        let waited =
            Duration::from_millis(input.now.saturating_sub(release.created_at).max(0) as u64);
        let crashing = desired
            .iter()
            .filter(|slot| !current.get(slot).is_some_and(|c| c.ready))
            .find(|slot| input.crashes.get(*slot).copied().unwrap_or(0) >= FAIL_FAST_CRASHES);
        if all_ready {
            plan.verdict = Some(Verdict::Succeeded);
        } else if let Some(slot) = crashing {
            plan.verdict = Some(Verdict::Crashing(slot.clone()));
        } else if waited > input.health_timeout {
            plan.verdict = Some(Verdict::TimedOut);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(p: &str, i: u32) -> Slot {
        Slot {
            process: p.into(),
            index: i,
        }
    }

    fn release(id: &str, pending: bool) -> DesiredRelease {
        DesiredRelease {
            id: id.into(),
            pending,
            created_at: 0,
            process_types: ["web".to_string(), "worker".to_string()].into(),
            keys: BTreeMap::new(),
        }
    }

    fn web(id: &str, rel: &str, i: u32, running: bool, ready: bool) -> Observed {
        Observed {
            id: id.into(),
            release_id: rel.into(),
            slot: slot("web", i),
            running,
            ready,
            addr: Some(format!("10.0.0.{i}:5000").parse().unwrap()),
        }
    }

    fn run(
        release: Option<&DesiredRelease>,
        formation: &[(&str, u32)],
        observed: &[Observed],
        now: i64,
    ) -> AppPlan {
        let formation: BTreeMap<String, u32> =
            formation.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        plan_app(&PlanInput {
            release,
            formation: &formation,
            observed,
            now,
            health_timeout: Duration::from_secs(60),
            held: &BTreeSet::new(),
            crashes: &BTreeMap::new(),
        })
    }

    #[test]
    fn starts_missing_slots() {
        let r = release("r1", true);
        let plan = run(Some(&r), &[("web", 2), ("worker", 1)], &[], 0);
        assert_eq!(
            plan.start,
            vec![slot("web", 1), slot("web", 2), slot("worker", 1)]
        );
        assert!(plan.in_progress);
        assert_eq!(plan.verdict, None);
    }

    #[test]
    fn old_release_serves_until_new_is_ready() {
        let r = release("r2", true);
        let observed = [
            web("old", "r1", 1, true, true),
            web("new", "r2", 1, true, false),
        ];
        let plan = run(Some(&r), &[("web", 1)], &observed, 1000);
        assert!(plan.remove.is_empty());
        assert_eq!(
            plan.backends,
            vec![("10.0.0.1:5000".parse().unwrap(), "web.1".into())]
        );
        assert_eq!(plan.verdict, None);

        let observed = [
            web("old", "r1", 1, true, true),
            web("new", "r2", 1, true, true),
        ];
        let plan = run(Some(&r), &[("web", 1)], &observed, 1000);
        assert_eq!(
            plan.remove,
            vec![("old".into(), slot("web", 1), RemoveReason::Replaced)]
        );
        assert_eq!(plan.verdict, Some(Verdict::Succeeded));
        assert_eq!(plan.backends.len(), 1);
    }

    #[test]
    fn release_that_never_answers_fails_and_old_keeps_serving() {
        let r = release("r2", true);
        let observed = [
            web("old", "r1", 1, true, true),
            web("new", "r2", 1, true, false),
        ];
        let plan = run(Some(&r), &[("web", 1)], &observed, 61_000);
        assert_eq!(plan.verdict, Some(Verdict::TimedOut));
        assert!(plan.remove.is_empty());
        assert_eq!(plan.backends[0].1, "web.1");
    }

    #[test]
    fn crashed_and_unwanted_are_removed() {
        let r = release("r1", false);
        let observed = [
            web("dead", "r1", 1, false, false),
            web("extra", "r1", 3, true, true),
        ];
        let plan = run(Some(&r), &[("web", 1)], &observed, 0);
        assert_eq!(plan.start, vec![slot("web", 1)]);
        assert!(plan
            .remove
            .contains(&("dead".into(), slot("web", 1), RemoveReason::Exited)));
        assert!(plan
            .remove
            .contains(&("extra".into(), slot("web", 3), RemoveReason::NotWanted)));
    }

    #[test]
    fn no_release_means_nothing_runs() {
        let observed = [web("a", "r1", 1, true, true)];
        let plan = run(None, &[("web", 1)], &observed, 0);
        assert!(plan.start.is_empty());
        assert_eq!(plan.remove.len(), 1);
        assert!(plan.backends.is_empty());
    }

    #[test]
    fn duplicates_of_a_slot_are_trimmed() {
        let r = release("r1", false);
        let observed = [web("a", "r1", 1, true, true), web("b", "r1", 1, true, true)];
        let plan = run(Some(&r), &[("web", 1)], &observed, 0);
        assert!(plan.start.is_empty());
        assert_eq!(
            plan.remove,
            vec![("b".into(), slot("web", 1), RemoveReason::NotWanted)]
        );
    }

    #[test]
    fn a_resized_type_rolls_over_and_the_old_process_serves_until_the_new_one_answers() {
        let mut r = release("r1", false);
        r.keys.insert("web".into(), "r1~1024m500c".into());
        // The process of the old size keeps serving while the resized one starts.
        let observed = [web("old", "r1", 1, true, true)];
        let plan = run(Some(&r), &[("web", 1)], &observed, 0);
        assert_eq!(plan.start, vec![slot("web", 1)]);
        assert!(plan.remove.is_empty());
        assert_eq!(plan.backends.len(), 1);
        // Once the resized process answers, the old one is retired.
        let observed = [
            web("old", "r1", 1, true, true),
            web("new", "r1~1024m500c", 1, true, true),
        ];
        let plan = run(Some(&r), &[("web", 1)], &observed, 0);
        assert!(plan.start.is_empty());
        assert_eq!(
            plan.remove,
            vec![("old".into(), slot("web", 1), RemoveReason::Replaced)]
        );
        // A type without a key of its own keeps the release id.
        assert_eq!(r.key("worker"), "r1");
    }

    #[test]
    fn a_held_slot_is_not_started_and_its_stopped_process_is_kept() {
        let r = release("r1", false);
        let observed = [web("dead", "r1", 1, false, false)];
        let formation: BTreeMap<String, u32> = [("web".to_string(), 1)].into();
        let held = BTreeSet::from([slot("web", 1)]);
        let plan = plan_app(&PlanInput {
            release: Some(&r),
            formation: &formation,
            observed: &observed,
            now: 0,
            health_timeout: Duration::from_secs(60),
            held: &held,
            crashes: &BTreeMap::new(),
        });
        assert!(plan.start.is_empty());
        assert!(plan.remove.is_empty());
        assert!(plan.in_progress);
    }

    #[test]
    fn a_rollout_of_three_keeps_three_routed() {
        let r = release("r2", true);
        let at = |mut o: Observed, last: u8| {
            o.addr = Some(format!("10.0.1.{last}:5000").parse().unwrap());
            o
        };
        let observed = [
            at(web("old1", "r1", 1, true, true), 1),
            at(web("old2", "r1", 2, true, true), 2),
            at(web("old3", "r1", 3, true, true), 3),
            at(web("new1", "r2", 1, true, true), 11),
            at(web("new2", "r2", 2, true, false), 12),
        ];
        let plan = run(Some(&r), &[("web", 3)], &observed, 1000);
        assert_eq!(
            plan.remove,
            vec![("old1".into(), slot("web", 1), RemoveReason::Replaced)]
        );
        let routed: Vec<String> = plan.backends.iter().map(|(a, _)| a.to_string()).collect();
        assert_eq!(
            routed,
            ["10.0.1.2:5000", "10.0.1.3:5000", "10.0.1.11:5000"],
            "new web.1 and the old web.2 and web.3"
        );
    }

    #[test]
    fn a_new_release_crashing_on_start_fails_fast_and_the_old_one_keeps_serving() {
        let r = release("r2", true);
        let observed = [
            web("old", "r1", 1, true, true),
            web("new", "r2", 1, false, false),
        ];
        let formation = BTreeMap::from([("web".to_string(), 1)]);
        let plan_with = |count: u32| {
            plan_app(&PlanInput {
                release: Some(&r),
                formation: &formation,
                observed: &observed,
                now: 1000,
                health_timeout: Duration::from_secs(60),
                held: &BTreeSet::from([slot("web", 1)]),
                crashes: &BTreeMap::from([(slot("web", 1), count)]),
            })
        };
        assert_eq!(plan_with(FAIL_FAST_CRASHES - 1).verdict, None);
        let plan = plan_with(FAIL_FAST_CRASHES);
        assert_eq!(plan.verdict, Some(Verdict::Crashing(slot("web", 1))));
        assert_eq!(
            plan.backends,
            vec![("10.0.0.1:5000".parse().unwrap(), "web.1".into())]
        );
    }
}
