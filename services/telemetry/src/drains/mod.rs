//! Log drains and OTLP exports of app logs. `Drains::offer` is called for every line of
//! every app's log: for each of the app's drains it hands the line to the drain's own
//! bounded queue with `try_send` and never waits; a full queue (the drain is slow, down or
//! blackholed) counts the line as lost. Each drain's task takes batches off its queue and
//! delivers them (`syslog.rs` over TCP, `http.rs` over HTTP(S)); a failed delivery counts its
//! batch as lost and the task waits (1 s, doubling up to 30 s) before the next one. Which
//! drains exist comes from the store through `set` (at start and on every change); the
//! counters live in memory since paasd started.

pub mod http;
pub mod syslog;
pub mod target;

pub use target::{redacted, DrainClass, Target};

use paas_domain::telemetry::DrainInfo;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Lines a drain holds while it cannot keep up; beyond that they are lost (and counted).
pub const QUEUE_LINES: usize = 4096;
/// Lines per delivery at most.
const BATCH: usize = 500;
/// How long an HTTP drain waits for more lines to fill a batch.
const LINGER: Duration = Duration::from_millis(200);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One line of an app's log, as the drains get it from the log pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub app: String,
    /// Microseconds since the Unix epoch.
    pub at_micros: i64,
    /// `app`, `router` or `paas`.
    pub source: String,
    /// `web.1`, `api`, `build`; none for router lines.
    pub process: Option<String>,
    pub message: String,
}

/// Delivery counters of one drain.
#[derive(Debug, Default)]
pub struct DrainStats {
    delivered: AtomicU64,
    lost: AtomicU64,
    error: Mutex<Option<String>>,
}

impl DrainStats {
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    pub fn add_delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Ordering::Relaxed);
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn add_lost(&self, n: u64, error: Option<String>) {
        self.lost.fetch_add(n, Ordering::Relaxed);
        if error.is_some() {
            *self.error.lock().unwrap_or_else(|p| p.into_inner()) = error;
        }
    }

    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

struct Drain {
    class: DrainClass,
    url: String,
    target: Target,
    queue: mpsc::Sender<Arc<Line>>,
    stats: Arc<DrainStats>,
    task: tokio::task::AbortHandle,
}

impl Drop for Drain {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct Inner {
    /// App -> its drains (log drains and OTLP exports).
    drains: RwLock<HashMap<String, Vec<Drain>>>,
    client: OnceLock<reqwest::Client>,
    ca_bundle: OnceLock<Option<std::path::PathBuf>>,
    /// How many apps have a drain (watched by the forwarder, which follows the live log
    /// feed only while some app has one).
    apps_with_drains: tokio::sync::watch::Sender<usize>,
    /// Whether the forwarder follows the live feed now; `None` while no forwarder runs.
    following: tokio::sync::watch::Sender<Option<bool>>,
}

/// Every app's drains. Cheap to clone.
#[derive(Clone, Default)]
pub struct Drains {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Drains {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Drains")
    }
}

/// An HTTP client that trusts the platform's roots plus, when given, a CA bundle (the host's,
/// for networks that intercept TLS).
pub fn http_client(ca_bundle: Option<&Path>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent("paas-drain");
    if let Some(path) = ca_bundle {
        match std::fs::read(path).map(|pem| reqwest::Certificate::from_pem_bundle(&pem)) {
            Ok(Ok(certs)) => {
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
            Ok(Err(e)) => tracing::warn!("cannot read the CA bundle {}: {e}", path.display()),
            Err(e) => tracing::warn!("cannot read the CA bundle {}: {e}", path.display()),
        }
    }
    builder.build().unwrap_or_default()
}

impl Drains {
    /// Trust this CA bundle too for HTTPS drains (call before the first drain starts).
    pub fn set_ca_bundle(&self, path: Option<&Path>) {
        let _ = self.inner.ca_bundle.set(path.map(Path::to_path_buf));
    }

    pub fn client(&self) -> reqwest::Client {
        self.inner
            .client
            .get_or_init(|| {
                let bundle = self.inner.ca_bundle.get().cloned().flatten();
                http_client(bundle.as_deref())
            })
            .clone()
    }

    /// Hands a line to each of its app's drains (of both classes) without waiting.
    pub fn offer(&self, line: Line) {
        let app = line.app.clone();
        self.offer_with(&app, || line);
    }

    /// Like `offer`, but the line is made only when `app` has drains (most apps have none,
    /// and every line of every app passes here).
    pub fn offer_with(&self, app: &str, line: impl FnOnce() -> Line) {
        let drains = self.inner.drains.read().unwrap_or_else(|p| p.into_inner());
        let Some(list) = drains.get(app) else {
            return;
        };
        let line = Arc::new(line());
        for drain in list {
            if drain.queue.try_send(line.clone()).is_err() {
                drain.stats.add_lost(1, None);
            }
        }
    }

    /// Whether any app has a drain (the log pipeline can skip the work otherwise).
    pub fn any(&self) -> bool {
        !self
            .inner
            .drains
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Makes the app's drains of `class` exactly `urls`: new ones start, removed ones stop,
    /// the others keep their queue and counters. URLs that do not parse are skipped (the API
    /// refuses them before they are stored).
    pub fn set(&self, app: &str, class: DrainClass, urls: &[String]) {
        let mut drains = self.inner.drains.write().unwrap_or_else(|p| p.into_inner());
        let all = drains.remove(app).unwrap_or_default();
        let (mut current, mut next): (Vec<Drain>, Vec<Drain>) =
            all.into_iter().partition(|d| d.class == class);
        for url in urls {
            if let Some(i) = current.iter().position(|d| &d.url == url) {
                next.push(current.swap_remove(i));
                continue;
            }
            match Target::parse(class, url) {
                Ok(target) => next.push(self.start(app, class, url, target)),
                Err(e) => tracing::warn!(app, "skipping a drain ({}): {e}", redacted(url)),
            }
        }
        drop(current); // aborts the removed drains' tasks
        if !next.is_empty() {
            drains.insert(app.to_string(), next);
        }
        self.inner.apps_with_drains.send_replace(drains.len());
    }

    /// Stops every drain of the app.
    pub fn forget_app(&self, app: &str) {
        let mut drains = self.inner.drains.write().unwrap_or_else(|p| p.into_inner());
        drains.remove(app);
        self.inner.apps_with_drains.send_replace(drains.len());
    }

    /// How many apps have a drain, now and as it changes.
    pub fn apps_with_drains(&self) -> tokio::sync::watch::Receiver<usize> {
        self.inner.apps_with_drains.subscribe()
    }

    /// Said by the forwarder (the task that hands the live log feed's lines to `offer`):
    /// `Some(true)` once it follows the feed, `Some(false)` before it may stop following,
    /// `None` when it is gone.
    pub fn set_following(&self, following: Option<bool>) {
        self.inner.following.send_replace(following);
    }

    /// `set`, then waits (at most `within`) until a forwarder follows the live feed, so that
    /// every line logged after this returns reaches the drains just started (the API's
    /// `drains:add`). `false` when it waited in vain (the drains run all the same).
    pub async fn set_followed(
        &self,
        app: &str,
        class: DrainClass,
        urls: &[String],
        within: Duration,
    ) -> bool {
        self.set(app, class, urls);
        self.until_followed(within).await
    }

    /// Waits (at most `within`) until a forwarder follows the live feed. Returns at once when
    /// no forwarder runs or no app has a drain; `false` when it waited in vain.
    async fn until_followed(&self, within: Duration) -> bool {
        if *self.inner.apps_with_drains.borrow() == 0 {
            return true;
        }
        let mut following = self.inner.following.subscribe();
        let waited =
            tokio::time::timeout(within, following.wait_for(|state| *state != Some(false))).await;
        matches!(waited, Ok(Ok(_)))
    }

    /// The app's drains of `class` with their counters, URLs redacted.
    pub fn status(&self, app: &str, class: DrainClass) -> Vec<DrainInfo> {
        let drains = self.inner.drains.read().unwrap_or_else(|p| p.into_inner());
        drains
            .get(app)
            .map(|list| {
                list.iter()
                    .filter(|d| d.class == class)
                    .map(|d| DrainInfo {
                        url: redacted(&d.url),
                        delivered: d.stats.delivered(),
                        lost: d.stats.lost(),
                        error: d.stats.error(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The stats of one drain by URL (for the OTLP metrics export's counters).
    pub fn stats_of(&self, app: &str, class: DrainClass, url: &str) -> Option<Arc<DrainStats>> {
        let drains = self.inner.drains.read().unwrap_or_else(|p| p.into_inner());
        drains
            .get(app)?
            .iter()
            .find(|d| d.class == class && d.url == url)
            .map(|d| d.stats.clone())
    }

    /// Every app's OTLP exports: (app, collector base URL, stats).
    pub fn otlp_targets(&self) -> Vec<(String, String, Arc<DrainStats>)> {
        let drains = self.inner.drains.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (app, list) in drains.iter() {
            for drain in list {
                if let Target::Otlp { base } = &drain.target {
                    out.push((app.clone(), base.clone(), drain.stats.clone()));
                }
            }
        }
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    fn start(&self, app: &str, class: DrainClass, url: &str, target: Target) -> Drain {
        let (queue, rx) = mpsc::channel(QUEUE_LINES);
        let stats = Arc::new(DrainStats::default());
        let task = tokio::spawn(run(target.clone(), rx, stats.clone(), self.client()));
        tracing::info!(app, drain = %redacted(url), "log drain started");
        Drain {
            class,
            url: url.to_string(),
            target,
            queue,
            stats,
            task: task.abort_handle(),
        }
    }
}

/// One drain's task: batches off its queue, delivered one at a time.
async fn run(
    target: Target,
    mut rx: mpsc::Receiver<Arc<Line>>,
    stats: Arc<DrainStats>,
    client: reqwest::Client,
) {
    let mut tcp = match &target {
        Target::SyslogTcp { host, port } => Some(syslog::SyslogTcp::new(host.clone(), *port)),
        _ => None,
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut backoff = Duration::from_secs(1);
    loop {
        batch.clear();
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        if tcp.is_none() && batch.len() < BATCH {
            // HTTP: a short wait fills the batch, so a busy app costs few requests.
            tokio::time::sleep(LINGER).await;
            let room = BATCH - batch.len();
            if room > 0 && !rx.is_empty() {
                rx.recv_many(&mut batch, room).await;
            }
        }
        let result = match (&target, tcp.as_mut()) {
            (Target::SyslogTcp { .. }, Some(tcp)) => tcp.send(&batch).await,
            (Target::Https { url }, _) => http::send_logplex(&client, url, &batch).await,
            (Target::Otlp { base }, _) => http::send_otlp_logs(&client, base, &batch).await,
            (Target::SyslogTcp { .. }, None) => Err("no connection".to_string()),
        };
        match result {
            Ok(()) => {
                stats.add_delivered(batch.len() as u64);
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                stats.add_lost(batch.len() as u64, Some(e));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::AsyncReadExt;

    fn line(app: &str, n: usize) -> Line {
        Line {
            app: app.into(),
            at_micros: 1_795_619_626_677_020,
            source: "app".into(),
            process: Some("web.1".into()),
            message: format!("line {n}"),
        }
    }

    #[tokio::test]
    async fn the_count_of_apps_with_drains_follows_adds_and_removals() {
        let drains = Drains::default();
        let count = drains.apps_with_drains();
        assert_eq!(*count.borrow(), 0);
        let url = vec!["syslog+tcp://127.0.0.1:9".to_string()];
        drains.set("shop", DrainClass::Log, &url);
        drains.set(
            "cart",
            DrainClass::Otlp,
            &["http://127.0.0.1:9".to_string()],
        );
        assert_eq!(*count.borrow(), 2);
        drains.set("shop", DrainClass::Log, &[]);
        assert_eq!(*count.borrow(), 1, "an app whose last drain went");
        drains.forget_app("cart");
        assert_eq!(*count.borrow(), 0);
    }

    #[tokio::test]
    async fn a_syslog_drain_delivers_framed_lines_in_order() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let drains = Drains::default();
        drains.set(
            "shop",
            DrainClass::Log,
            &[format!("syslog+tcp://127.0.0.1:{port}")],
        );
        for n in 0..100 {
            drains.offer(line("shop", n));
            drains.offer(line("other", n)); // no drains: ignored
        }
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut received = String::new();
        let mut buffer = [0u8; 4096];
        while !received.contains("line 99") {
            let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0);
            received.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
        // Octet counting: `LEN SP MSG`, one after another.
        let mut numbers = Vec::new();
        let mut rest = received.as_str();
        while let Some((len, tail)) = rest.split_once(' ') {
            let len: usize = len.parse().unwrap();
            let (message, next) = tail.split_at(len);
            numbers.push(
                message
                    .rsplit(' ')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap(),
            );
            rest = next;
        }
        assert_eq!(numbers, (0..100).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let status = drains.status("shop", DrainClass::Log);
        assert_eq!((status[0].delivered, status[0].lost), (100, 0));
        assert!(drains.status("other", DrainClass::Log).is_empty());
    }

    #[tokio::test]
    async fn a_blackholed_or_dead_drain_never_makes_offer_wait_and_counts_its_losses() {
        // Accepts and never reads.
        let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hole_port = hole.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = hole.accept().await {
                held.push(socket);
            }
        });
        // Refuses.
        let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let drains = Drains::default();
        let hole_url = format!("syslog+tcp://127.0.0.1:{hole_port}");
        let dead_url = format!("syslog+tcp://127.0.0.1:{dead_port}");
        drains.set(
            "shop",
            DrainClass::Log,
            &[hole_url.clone(), dead_url.clone()],
        );
        let started = Instant::now();
        const LINES: usize = 200_000;
        for n in 0..LINES {
            drains.offer(line("shop", n));
        }
        // 200,000 offers to two stuck drains take no longer than plain work would.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = |url: &str| drains.stats_of("shop", DrainClass::Log, url).unwrap();
        let dead = stats(&dead_url);
        assert_eq!(dead.delivered(), 0);
        // Everything beyond what its queue holds (and the batch in hand) is counted lost.
        assert!(
            dead.lost() as usize >= LINES - QUEUE_LINES - BATCH,
            "{}",
            dead.lost()
        );
        assert!(dead.error().is_some());
        let hole = stats(&hole_url);
        assert!(
            (hole.delivered() + hole.lost()) as usize >= LINES - QUEUE_LINES - BATCH,
            "{} {}",
            hole.delivered(),
            hole.lost()
        );
        // Removing them stops their tasks; the app then has no drains.
        drains.set("shop", DrainClass::Log, &[]);
        assert!(!drains.any());
    }
}
