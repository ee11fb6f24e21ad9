//! The metrics aggregator, a pure type: per app and per minute, requests by status class,
//! a latency histogram and response bytes (from the router's records), and each process's
//! CPU and memory (from the runtime's stats, sampled every few seconds). Each app keeps at
//! most `retention` minutes (1440 by default: 24 hours), only minutes that saw something,
//! so memory is bounded by apps x retention; apps silent for the whole retention are
//! forgotten by `prune`. `MetricsHandle` shares one aggregator between the router records'
//! task (it is a `RecordObserver`), the stats sampler and the API.

use crate::histogram::Histogram;
use paas_domain::telemetry::{MetricsPoint, MetricsSeries, ProcessPoint};
use paas_router::{RecordBatch, RouterLine};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// 24 hours of one-minute points.
pub const DEFAULT_RETENTION_MINUTES: u32 = 1440;

/// Request totals since paasd started (Prometheus counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// By status class: index 0 is 1xx ... index 4 is 5xx.
    pub requests: [u64; 5],
    pub bytes: u64,
    pub latency_ms_sum: u64,
}

impl Totals {
    pub fn count(&self) -> u64 {
        self.requests.iter().sum()
    }
}

/// A process's latest sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessNow {
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: Option<u64>,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Debug, Clone, Default)]
struct ProcessMinute {
    dyno: String,
    cpu_sum: f64,
    samples: u32,
    memory_max: u64,
}

#[derive(Debug, Clone, Default)]
struct Minute {
    /// Unix minute (seconds / 60).
    minute: i64,
    requests: [u32; 5],
    bytes: u64,
    latency: Histogram,
    processes: Vec<ProcessMinute>,
}

#[derive(Debug, Clone, Default)]
struct AppMetrics {
    /// Ascending by minute, at most `retention` long.
    minutes: VecDeque<Minute>,
    totals: Totals,
    processes: BTreeMap<String, ProcessNow>,
}

impl AppMetrics {
    /// The minute `minute`, created in order when missing; `None` when it is older than the
    /// retention allows.
    fn minute_mut(&mut self, minute: i64, retention: u32) -> Option<&mut Minute> {
        let newest = self.minutes.back().map(|m| m.minute);
        let index = match newest {
            Some(newest) if minute == newest => self.minutes.len() - 1,
            Some(newest) if minute < newest => {
                if minute <= newest - i64::from(retention) {
                    return None;
                }
                match self.minutes.binary_search_by_key(&minute, |m| m.minute) {
                    Ok(i) => i,
                    Err(i) => {
                        self.minutes.insert(
                            i,
                            Minute {
                                minute,
                                ..Minute::default()
                            },
                        );
                        i
                    }
                }
            }
            _ => {
                if let Some(previous) = self.minutes.back_mut() {
                    previous.latency.shrink_to_fit();
                    previous.processes.shrink_to_fit();
                }
                self.minutes.push_back(Minute {
                    minute,
                    ..Minute::default()
                });
                self.trim(minute, retention);
                self.minutes.len() - 1
            }
        };
        self.minutes.get_mut(index)
    }

    fn trim(&mut self, newest: i64, retention: u32) {
        while self
            .minutes
            .front()
            .is_some_and(|m| m.minute <= newest - i64::from(retention))
        {
            self.minutes.pop_front();
        }
    }
}

/// A step being summed up: its point, its merged latencies, and per process the CPU sum,
/// the sample count and the peak memory.
type StepAccumulator = (MetricsPoint, Histogram, BTreeMap<String, (f64, u32, u64)>);

/// Per-app metrics over the last `retention` minutes.
#[derive(Debug, Clone)]
pub struct Metrics {
    apps: HashMap<String, AppMetrics>,
    retention: u32,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_RETENTION_MINUTES)
    }
}

/// Status class index: 0 for 1xx ... 4 for 5xx (anything else counts as 5xx).
fn class_of(status: u16) -> usize {
    match status / 100 {
        1..=5 => usize::from(status / 100) - 1,
        _ => 4,
    }
}

fn unix_secs(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Metrics {
    pub fn new(retention_minutes: u32) -> Self {
        Self {
            apps: HashMap::new(),
            retention: retention_minutes.max(1),
        }
    }

    /// One router record: its status class, latency (connect + service) and bytes.
    pub fn record(&mut self, line: &RouterLine<'_>) {
        self.record_request(
            line.app,
            line.at_micros.div_euclid(1_000_000),
            line.status,
            line.latency_ms,
            line.bytes,
        );
    }

    /// One request of `app` at unix second `at`.
    pub fn record_request(&mut self, app: &str, at: i64, status: u16, latency_ms: u64, bytes: u64) {
        let retention = self.retention;
        let metrics = match self.apps.get_mut(app) {
            Some(m) => m,
            None => self.apps.entry(app.to_string()).or_default(),
        };
        let class = class_of(status);
        metrics.totals.requests[class] += 1;
        metrics.totals.bytes = metrics.totals.bytes.saturating_add(bytes);
        metrics.totals.latency_ms_sum = metrics.totals.latency_ms_sum.saturating_add(latency_ms);
        if let Some(minute) = metrics.minute_mut(at.div_euclid(60), retention) {
            minute.requests[class] = minute.requests[class].saturating_add(1);
            minute.bytes = minute.bytes.saturating_add(bytes);
            minute.latency.record(latency_ms);
        }
    }

    /// One sample of a process: CPU in percent of one core since its previous sample, and
    /// memory in use.
    pub fn sample_process(&mut self, app: &str, dyno: &str, at: i64, now: ProcessNow) {
        let retention = self.retention;
        let metrics = self.apps.entry(app.to_string()).or_default();
        metrics.processes.insert(dyno.to_string(), now);
        if let Some(minute) = metrics.minute_mut(at.div_euclid(60), retention) {
            let process = match minute.processes.iter().position(|p| p.dyno == dyno) {
                Some(i) => &mut minute.processes[i],
                None => {
                    minute.processes.push(ProcessMinute {
                        dyno: dyno.to_string(),
                        ..ProcessMinute::default()
                    });
                    minute.processes.sort_by(|a, b| a.dyno.cmp(&b.dyno));
                    let i = minute
                        .processes
                        .iter()
                        .position(|p| p.dyno == dyno)
                        .unwrap_or(0);
                    &mut minute.processes[i]
                }
            };
            process.cpu_sum += now.cpu_percent;
            process.samples += 1;
            process.memory_max = process.memory_max.max(now.memory_bytes);
        }
    }

    /// Keeps the latest samples only of the processes in `running` (app, dyno): the others
    /// are gone.
    pub fn retain_processes(&mut self, running: &std::collections::HashSet<(String, String)>) {
        for (app, metrics) in &mut self.apps {
            metrics
                .processes
                .retain(|dyno, _| running.contains(&(app.clone(), dyno.clone())));
        }
    }

    /// Drops minutes older than the retention as of unix second `now`, and apps left with
    /// nothing.
    pub fn prune(&mut self, now: i64) {
        let newest = now.div_euclid(60);
        let retention = self.retention;
        self.apps.retain(|_, metrics| {
            metrics.trim(newest, retention);
            !metrics.minutes.is_empty() || !metrics.processes.is_empty()
        });
    }

    /// Forgets an app (destroyed).
    pub fn forget(&mut self, app: &str) {
        self.apps.remove(app);
    }

    /// Apps with metrics, sorted.
    pub fn apps(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.apps.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub fn totals(&self, app: &str) -> Totals {
        self.apps.get(app).map(|m| m.totals).unwrap_or_default()
    }

    /// Latest sample of each live process, sorted by name.
    pub fn processes(&self, app: &str) -> Vec<(String, ProcessNow)> {
        self.apps
            .get(app)
            .map(|m| m.processes.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// The latency histogram of the minutes from unix second `since` on.
    pub fn latency_since(&self, app: &str, since: i64) -> Histogram {
        let mut merged = Histogram::default();
        if let Some(metrics) = self.apps.get(app) {
            let first = since.div_euclid(60);
            for minute in metrics.minutes.iter().rev() {
                if minute.minute < first {
                    break;
                }
                merged.merge(&minute.latency);
            }
        }
        merged
    }

    /// The app's series over the `window_secs` up to unix second `now` (the current step
    /// included), one point per `step_secs` (a multiple of 60), oldest first; steps without
    /// data are points of zeros.
    pub fn series(&self, app: &str, now: i64, window_secs: u64, step_secs: u64) -> MetricsSeries {
        let step = (step_secs.max(60) / 60 * 60) as i64;
        let window = (window_secs.max(step as u64)) as i64;
        let steps = (window + step - 1) / step;
        let end = now.div_euclid(step) * step + step;
        let start = end - steps * step;
        let mut points: Vec<StepAccumulator> = (0..steps)
            .map(|i| {
                (
                    MetricsPoint {
                        time: start + i * step,
                        ..MetricsPoint::default()
                    },
                    Histogram::default(),
                    BTreeMap::new(),
                )
            })
            .collect();
        if let Some(metrics) = self.apps.get(app) {
            for minute in &metrics.minutes {
                let at = minute.minute * 60;
                if at < start || at >= end {
                    continue;
                }
                let (point, histogram, processes) = &mut points[((at - start) / step) as usize];
                let counts = &mut point.requests;
                counts.s1xx += u64::from(minute.requests[0]);
                counts.s2xx += u64::from(minute.requests[1]);
                counts.s3xx += u64::from(minute.requests[2]);
                counts.s4xx += u64::from(minute.requests[3]);
                counts.s5xx += u64::from(minute.requests[4]);
                point.bytes += minute.bytes;
                histogram.merge(&minute.latency);
                for p in &minute.processes {
                    let entry = processes.entry(p.dyno.clone()).or_insert((0.0, 0, 0));
                    entry.0 += p.cpu_sum;
                    entry.1 += p.samples;
                    entry.2 = entry.2.max(p.memory_max);
                }
            }
        }
        MetricsSeries {
            app: app.to_string(),
            step_secs: step as u64,
            points: points
                .into_iter()
                .map(|(mut point, histogram, processes)| {
                    point.p50_ms = histogram.quantile(0.50);
                    point.p95_ms = histogram.quantile(0.95);
                    point.p99_ms = histogram.quantile(0.99);
                    point.processes = processes
                        .into_iter()
                        .map(|(dyno, (cpu, samples, memory))| ProcessPoint {
                            dyno,
                            cpu_percent: if samples == 0 {
                                0.0
                            } else {
                                (cpu / f64::from(samples) * 10.0).round() / 10.0
                            },
                            memory_bytes: memory,
                        })
                        .collect();
                    point
                })
                .collect(),
        }
    }

    /// Every kept minute as text, one line per app and minute (`SNAPSHOT_HEADER` first), so
    /// a restarted paasd can `restore` its last day:
    /// `<app> <minute> <1xx> <2xx> <3xx> <4xx> <5xx> <bytes> <bucket:count,...|-> <dyno:cpu_sum:samples:memory,...|->`.
    pub fn snapshot(&self) -> String {
        use std::fmt::Write;
        let mut out = String::from(SNAPSHOT_HEADER);
        out.push('\n');
        for app in self.apps() {
            for m in &self.apps[app].minutes {
                let r = m.requests;
                let _ = write!(
                    out,
                    "{app} {} {} {} {} {} {} {} ",
                    m.minute, r[0], r[1], r[2], r[3], r[4], m.bytes
                );
                let buckets: Vec<String> =
                    m.latency.raw().map(|(b, n)| format!("{b}:{n}")).collect();
                out.push_str(if buckets.is_empty() { "-" } else { "" });
                out.push_str(&buckets.join(","));
                out.push(' ');
                let processes: Vec<String> = m
                    .processes
                    .iter()
                    .map(|p| format!("{}:{}:{}:{}", p.dyno, p.cpu_sum, p.samples, p.memory_max))
                    .collect();
                out.push_str(if processes.is_empty() { "-" } else { "" });
                out.push_str(&processes.join(","));
                out.push('\n');
            }
        }
        out
    }

    /// Adds the minutes of a `snapshot` (lines that do not parse are skipped; minutes older
    /// than the retention as of unix second `now` are dropped). Returns the minutes restored.
    pub fn restore(&mut self, text: &str, now: i64) -> usize {
        let mut lines = text.lines();
        if lines.next() != Some(SNAPSHOT_HEADER) {
            return 0;
        }
        let retention = self.retention;
        let oldest = now.div_euclid(60) - i64::from(retention);
        let mut restored = 0;
        for line in lines {
            let Some(parsed) = parse_minute(line) else {
                continue;
            };
            let (app, minute) = parsed;
            if minute.minute <= oldest {
                continue;
            }
            let metrics = self.apps.entry(app.to_string()).or_default();
            let Some(slot) = metrics.minute_mut(minute.minute, retention) else {
                continue;
            };
            for (i, n) in minute.requests.iter().enumerate() {
                slot.requests[i] = slot.requests[i].saturating_add(*n);
            }
            slot.bytes = slot.bytes.saturating_add(minute.bytes);
            slot.latency.merge(&minute.latency);
            for p in minute.processes {
                match slot.processes.iter_mut().find(|q| q.dyno == p.dyno) {
                    Some(q) => {
                        q.cpu_sum += p.cpu_sum;
                        q.samples += p.samples;
                        q.memory_max = q.memory_max.max(p.memory_max);
                    }
                    None => slot.processes.push(p),
                }
            }
            slot.processes.sort_by(|a, b| a.dyno.cmp(&b.dyno));
            restored += 1;
        }
        restored
    }

    /// An estimate of the memory the aggregator holds, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.apps
            .iter()
            .map(|(name, m)| {
                name.len()
                    + std::mem::size_of::<AppMetrics>()
                    + m.minutes.capacity() * std::mem::size_of::<Minute>()
                    + m.minutes
                        .iter()
                        .map(|minute| {
                            minute.latency.heap_bytes()
                                + minute.processes.capacity() * std::mem::size_of::<ProcessMinute>()
                                + minute.processes.iter().map(|p| p.dyno.len()).sum::<usize>()
                        })
                        .sum::<usize>()
                    + m.processes.len() * (std::mem::size_of::<ProcessNow>() + 32)
            })
            .sum()
    }
}

/// The first line of a snapshot (its format's version).
pub const SNAPSHOT_HEADER: &str = "paas-metrics 1";

/// One line of a snapshot: the app and its minute.
fn parse_minute(line: &str) -> Option<(&str, Minute)> {
    let fields: Vec<&str> = line.split(' ').collect();
    let [app, minute, r1, r2, r3, r4, r5, bytes, buckets, processes] = fields[..] else {
        return None;
    };
    if app.is_empty() || !app.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    let mut parsed = Minute {
        minute: minute.parse().ok()?,
        requests: [
            r1.parse().ok()?,
            r2.parse().ok()?,
            r3.parse().ok()?,
            r4.parse().ok()?,
            r5.parse().ok()?,
        ],
        bytes: bytes.parse().ok()?,
        ..Minute::default()
    };
    if buckets != "-" {
        for pair in buckets.split(',') {
            let (bucket, count) = pair.split_once(':')?;
            parsed
                .latency
                .add_raw(bucket.parse().ok()?, count.parse().ok()?);
        }
    }
    if processes != "-" {
        for process in processes.split(',') {
            let mut parts = process.split(':');
            let (Some(dyno), Some(cpu), Some(samples), Some(memory), None) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return None;
            };
            let cpu_sum: f64 = cpu.parse().ok()?;
            if dyno.is_empty() || !cpu_sum.is_finite() {
                return None;
            }
            parsed.processes.push(ProcessMinute {
                dyno: dyno.to_string(),
                cpu_sum,
                samples: samples.parse().ok()?,
                memory_max: memory.parse().ok()?,
            });
        }
    }
    Some((app, parsed))
}

/// One aggregator shared by the router records' task, the sampler and the API.
#[derive(Debug, Clone, Default)]
pub struct MetricsHandle(Arc<Mutex<Metrics>>);

impl MetricsHandle {
    pub fn new(metrics: Metrics) -> Self {
        Self(Arc::new(Mutex::new(metrics)))
    }

    pub fn lock(&self) -> MutexGuard<'_, Metrics> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MetricsHandle {
    /// Counts a batch of router records (called on the router records' task), with one lock.
    pub fn observe(&self, batch: &RecordBatch) {
        let mut metrics = self.lock();
        for line in batch.lines() {
            metrics.record(&line);
        }
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    unix_secs(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(app: &str, at: i64, status: u16, service_ms: u64) -> RouterLine<'_> {
        RouterLine {
            app,
            at_micros: at * 1_000_000,
            status,
            latency_ms: 1 + service_ms,
            bytes: 100,
            line: "",
        }
    }

    const T0: i64 = 1_795_000_020; // a minute boundary

    #[test]
    fn counts_by_status_class_per_minute_with_bytes_and_percentiles() {
        let mut m = Metrics::default();
        for i in 0..100u64 {
            m.record(&record("shop", T0 + 5, 200, i)); // latencies 1..=100 ms
        }
        for _ in 0..3 {
            m.record(&record("shop", T0 + 65, 404, 0));
        }
        m.record(&record("shop", T0 + 70, 503, 0));
        m.record(&record("shop", T0 + 70, 302, 0));
        m.record(&record("other", T0 + 70, 200, 0));

        let series = m.series("shop", T0 + 70, 300, 60);
        assert_eq!(series.step_secs, 60);
        assert_eq!(series.points.len(), 5);
        let first = &series.points[3];
        assert_eq!(first.time, T0);
        assert_eq!(first.requests.s2xx, 100);
        assert_eq!(first.requests.total(), 100);
        assert_eq!(first.bytes, 100 * 100);
        let p50 = first.p50_ms.unwrap();
        assert!((50..=53).contains(&p50), "{p50}");
        let second = &series.points[4];
        assert_eq!(
            (
                second.requests.s3xx,
                second.requests.s4xx,
                second.requests.s5xx
            ),
            (1, 3, 1)
        );
        assert_eq!(series.points[0].requests.total(), 0);
        assert_eq!(series.points[0].p50_ms, None);
        let totals = m.totals("shop");
        assert_eq!(totals.count(), 105);
        assert_eq!(totals.requests, [0, 100, 1, 3, 1]);
        assert_eq!(m.apps(), ["other", "shop"]);

        // Five-minute steps merge the minutes.
        let coarse = m.series("shop", T0 + 70, 3600, 300);
        assert_eq!(coarse.points.len(), 12);
        assert_eq!(
            coarse
                .points
                .iter()
                .map(|p| p.requests.total())
                .sum::<u64>(),
            105
        );
    }

    #[test]
    fn keeps_at_most_the_retention_per_app() {
        let mut m = Metrics::new(1440);
        // Two days of one request a minute.
        for minute in 0..2880 {
            m.record(&record("shop", T0 + minute * 60, 200, 5));
        }
        assert_eq!(m.apps["shop"].minutes.len(), 1440);
        let day = m.series("shop", T0 + 2879 * 60, 86_400, 60);
        assert_eq!(day.points.len(), 1440);
        assert!(day.points.iter().all(|p| p.requests.s2xx == 1));
        // A record older than the retention is counted in the totals only.
        m.record(&record("shop", T0, 200, 5));
        assert_eq!(m.apps["shop"].minutes.len(), 1440);
        assert_eq!(m.totals("shop").count(), 2881);
        // Memory for a full day of one busy app stays small.
        assert!(m.heap_bytes() < 1440 * 200, "{}", m.heap_bytes());
        // A day later with nothing new, the app is forgotten.
        m.prune(T0 + 2880 * 60 + 86_400);
        assert!(m.apps().is_empty());
    }

    /// A hundred busy apps for a whole day (every minute 20 requests over 20 latency
    /// buckets, two processes sampled four times): the aggregator's memory, reported.
    #[test]
    fn a_hundred_busy_apps_for_a_day_stay_bounded() {
        let mut m = Metrics::default();
        for app in 0..100 {
            let name = format!("app-{app}");
            for minute in 0..1440i64 {
                let at = T0 + minute * 60;
                for i in 0..20u64 {
                    m.record_request(&name, at, 200, 40 + i * 3, 1000);
                }
                for dyno in ["web.1", "web.2"] {
                    for s in 0..4 {
                        let now = ProcessNow {
                            cpu_percent: 1.0,
                            memory_bytes: 1 << 26,
                            memory_limit_bytes: None,
                            at: at + s * 15,
                        };
                        m.sample_process(&name, dyno, at + s * 15, now);
                    }
                }
            }
        }
        let bytes = m.heap_bytes();
        eprintln!("100 apps x 1440 busy minutes: {} MiB", bytes >> 20);
        assert!(bytes < 64 << 20, "{bytes}");
        // Another day on top costs nothing more: the oldest minutes go.
        for minute in 1440..1500i64 {
            m.record_request("app-0", T0 + minute * 60, 200, 5, 1);
        }
        assert_eq!(m.apps["app-0"].minutes.len(), 1440);
    }

    #[test]
    fn a_snapshot_restores_every_minute_and_skips_what_it_cannot_read() {
        let mut m = Metrics::default();
        for i in 0..50u64 {
            m.record(&record(
                "shop",
                T0 + 5,
                if i < 45 { 200 } else { 503 },
                i * 7,
            ));
        }
        m.record(&record("blog", T0 + 65, 404, 2));
        m.sample_process(
            "shop",
            "web.1",
            T0 + 10,
            ProcessNow {
                cpu_percent: 12.5,
                memory_bytes: 1 << 20,
                memory_limit_bytes: None,
                at: T0 + 10,
            },
        );
        let text = m.snapshot();
        let mut restored = Metrics::default();
        let garbage = format!("{text}not a line\nshop x 1 2 3 4 5 6 - -\n");
        assert_eq!(restored.restore(&garbage, T0 + 120), 2);
        for app in ["shop", "blog"] {
            assert_eq!(
                restored.series(app, T0 + 120, 600, 60),
                m.series(app, T0 + 120, 600, 60)
            );
        }
        // A day later nothing of it is kept; a snapshot of another format is ignored.
        assert_eq!(Metrics::default().restore(&text, T0 + 2 * 86_400), 0);
        assert_eq!(Metrics::default().restore("v0\nshop 1", T0), 0);
    }

    /// The aggregator's cost per router record, through the shared handle as paasd uses it
    /// (run with `--ignored --nocapture`; debug build figures in ARCHITECTURE.md).
    #[test]
    #[ignore]
    fn records_per_second() {
        let handle = MetricsHandle::default();
        let apps: Vec<String> = (0..10).map(|i| format!("app-{i}")).collect();
        let mut batch = RecordBatch::default();
        for i in 0..100 {
            let r = record(&apps[i % 10], T0 + i as i64, 200, i as u64 % 50);
            batch.push_line(&r);
        }
        for round in 0..3 {
            let started = std::time::Instant::now();
            for _ in 0..10_000 {
                handle.observe(&batch);
            }
            let per = started.elapsed() / 1_000_000;
            eprintln!("round {round}: {per:?} per record");
        }
    }

    #[test]
    fn a_late_record_lands_in_its_own_minute() {
        let mut m = Metrics::default();
        m.record(&record("shop", T0 + 120, 200, 5));
        m.record(&record("shop", T0 + 10, 500, 5));
        let series = m.series("shop", T0 + 120, 180, 60);
        let totals: Vec<u64> = series.points.iter().map(|p| p.requests.total()).collect();
        assert_eq!(totals, [1, 0, 1]);
        assert_eq!(series.points[0].requests.s5xx, 1);
    }

    #[test]
    fn process_samples_average_cpu_and_keep_peak_memory_per_step() {
        let mut m = Metrics::default();
        for (i, cpu) in [10.0, 30.0, 20.0].into_iter().enumerate() {
            m.sample_process(
                "shop",
                "web.1",
                T0 + i as i64 * 15,
                ProcessNow {
                    cpu_percent: cpu,
                    memory_bytes: 1000 * (i as u64 + 1),
                    memory_limit_bytes: Some(1 << 29),
                    at: T0 + i as i64 * 15,
                },
            );
        }
        m.sample_process(
            "shop",
            "worker.1",
            T0,
            ProcessNow {
                cpu_percent: 1.0,
                memory_bytes: 5,
                memory_limit_bytes: None,
                at: T0,
            },
        );
        let series = m.series("shop", T0, 60, 60);
        let processes = &series.points[0].processes;
        assert_eq!(processes.len(), 2);
        assert_eq!(processes[0].dyno, "web.1");
        assert_eq!(processes[0].cpu_percent, 20.0);
        assert_eq!(processes[0].memory_bytes, 3000);
        assert_eq!(m.processes("shop").len(), 2);
        let running = [("shop".to_string(), "web.1".to_string())].into();
        m.retain_processes(&running);
        assert_eq!(m.processes("shop")[0].0, "web.1");
        assert_eq!(m.processes("shop").len(), 1);
    }
}
