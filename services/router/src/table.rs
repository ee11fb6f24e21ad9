//! The route table: app name -> the web processes that may receive its requests (with the app's
//! maintenance mode and how many web processes it wants), and custom domain -> app. The
//! scheduler publishes a whole new table at once, so readers always see a consistent one;
//! requests waiting for a process wake on each publication.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// One web process of an app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backend {
    pub addr: SocketAddr,
    /// The process name shown in router log lines, e.g. `web.1`.
    pub dyno: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppRoute {
    pub backends: Vec<Backend>,
    /// How many web processes the formation asks for: with none wanted, a request that
    /// finds no process is H14; with some wanted, H10 (the app crashed or is restarting).
    pub web_wanted: u32,
    /// Maintenance mode (`paas maintenance:on`): every request gets H80.
    pub maintenance: Option<Maintenance>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Maintenance {
    /// A page of the app's own shown inside the maintenance page, when set.
    pub page_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteTable {
    pub apps: HashMap<String, AppRoute>,
    /// Custom domains (`paas domains:add`): lower-case host -> app. A wildcard is stored as
    /// `*.example.com` and matches one more label or more on the left.
    pub domains: HashMap<String, String>,
}

impl RouteTable {
    /// The app a custom domain names: the exact host first, then the closest wildcard.
    pub fn app_for_domain(&self, host: &str) -> Option<&str> {
        if self.domains.is_empty() {
            return None;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(app) = self.domains.get(&host) {
            return Some(app);
        }
        let mut rest = host.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(app) = self.domains.get(&format!("*.{parent}")) {
                return Some(app);
            }
            rest = parent;
        }
        None
    }
}

/// How long a separate router's report of its requests in flight counts.
const REMOTE_REPORT_LIFETIME: Duration = Duration::from_secs(3);

/// What a separate router (`paasd router`) last said about its requests in flight.
#[derive(Debug, Clone)]
struct RemoteInFlight {
    at: Instant,
    /// The control plane's table version that router was serving.
    version: u64,
    counts: HashMap<SocketAddr, usize>,
}

/// Shared handle to the current table and to the count of requests in flight per process;
/// cheap to clone. The scheduler reads the counts to let a retired process finish its
/// requests before it is stopped; they include what separate routers report.
#[derive(Debug, Clone)]
pub struct RouteTableHandle {
    current: Arc<RwLock<Arc<RouteTable>>>,
    in_flight: Arc<Mutex<HashMap<SocketAddr, Arc<AtomicUsize>>>>,
    /// Separate routers' last reports, by router id.
    remote: Arc<Mutex<HashMap<String, RemoteInFlight>>>,
    /// Counts publications, so requests held for a process wake when the table changes.
    published: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for RouteTableHandle {
    fn default() -> Self {
        Self {
            current: Arc::default(),
            in_flight: Arc::default(),
            remote: Arc::default(),
            published: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
}

impl RouteTableHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// The table in force now.
    pub fn snapshot(&self) -> Arc<RouteTable> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the whole table atomically.
    pub fn publish(&self, table: RouteTable) {
        let table = Arc::new(table);
        match self.current.write() {
            Ok(mut guard) => *guard = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
        self.published.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many tables were published so far (a router fed from another process asks for
    /// the table after the version it has).
    pub fn version(&self) -> u64 {
        *self.published.borrow()
    }

    /// A receiver that sees every publication from now on.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// The shared in-flight counter of the process at `addr`.
    pub(crate) fn counter(&self, addr: SocketAddr) -> Arc<AtomicUsize> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(addr).or_default().clone()
    }

    /// Requests in flight to the process at `addr` now: this process's router's, plus what
    /// every separate router reported in the last few seconds. A router whose report is
    /// older than the table in force may still send to a process just retired, so it counts
    /// as one request in flight until it reports the new table.
    pub fn in_flight(&self, addr: SocketAddr) -> usize {
        let local = {
            let map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&addr).map_or(0, |c| c.load(Ordering::Relaxed))
        };
        let version = self.version();
        let now = Instant::now();
        let remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        local
            + remote
                .values()
                .filter(|r| now.duration_since(r.at) < REMOTE_REPORT_LIFETIME)
                .map(|r| {
                    r.counts.get(&addr).copied().unwrap_or(0) + usize::from(r.version < version)
                })
                .sum::<usize>()
    }

    /// The processes this router has requests in flight to, with their counts.
    pub fn in_flight_counts(&self) -> HashMap<SocketAddr, usize> {
        let map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(addr, c)| (*addr, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// A separate router's report: serving table `version`, with `counts` in flight.
    pub fn report_remote(&self, router: &str, version: u64, counts: HashMap<SocketAddr, usize>) {
        let mut remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        remote.retain(|_, r| now.duration_since(r.at) < REMOTE_REPORT_LIFETIME);
        remote.insert(
            router.to_string(),
            RemoteInFlight {
                at: now,
                version,
                counts,
            },
        );
    }

    /// Forgets the counter of a process that is gone (once nothing is in flight to it).
    pub fn forget_backend(&self, addr: SocketAddr) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if map
            .get(&addr)
            .is_some_and(|c| c.load(Ordering::Relaxed) == 0)
        {
            map.remove(&addr);
        }
    }

    /// Takes one process out of an app's routes at once (e.g. it just died).
    pub fn remove_backend(&self, app: &str, addr: SocketAddr) {
        let mut table = (*self.snapshot()).clone();
        let Some(route) = table.apps.get_mut(app) else {
            return;
        };
        let before = route.backends.len();
        route.backends.retain(|b| b.addr != addr);
        if route.backends.len() != before {
            self.publish(table);
        }
    }

    /// Drops one app's routes at once (e.g. when the app is destroyed).
    pub fn remove_app(&self, app: &str) {
        let mut table = (*self.snapshot()).clone();
        if table.apps.remove(app).is_some() {
            self.publish(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_domains_match_exactly_then_by_the_closest_wildcard() {
        let mut t = RouteTable::default();
        for (host, app) in [
            ("www.example.com", "site"),
            ("*.example.com", "catchall"),
            ("*.api.example.com", "api"),
        ] {
            t.domains.insert(host.to_string(), app.to_string());
        }
        assert_eq!(t.app_for_domain("WWW.Example.com."), Some("site"));
        assert_eq!(t.app_for_domain("shop.example.com"), Some("catchall"));
        assert_eq!(t.app_for_domain("v1.api.example.com"), Some("api"));
        assert_eq!(t.app_for_domain("a.b.example.com"), Some("catchall"));
        assert_eq!(t.app_for_domain("example.com"), None);
        assert_eq!(t.app_for_domain("example.org"), None);
    }

    #[test]
    fn a_separate_routers_requests_count_until_it_serves_the_new_table() {
        let handle = RouteTableHandle::new();
        let addr: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        handle.publish(RouteTable::default());
        let version = handle.version();
        handle.report_remote("r1", version, HashMap::from([(addr, 2)]));
        assert_eq!(handle.in_flight(addr), 2);
        // A new table (the process retired): the router has not said it serves it yet.
        handle.publish(RouteTable::default());
        handle.report_remote("r1", version, HashMap::new());
        assert_eq!(
            handle.in_flight(addr),
            1,
            "it may still send to the process"
        );
        handle.report_remote("r1", handle.version(), HashMap::new());
        assert_eq!(handle.in_flight(addr), 0);
        handle.report_remote("r2", handle.version(), HashMap::from([(addr, 1)]));
        assert_eq!(handle.in_flight(addr), 1);
    }

    #[tokio::test]
    async fn a_publication_wakes_waiters() {
        let handle = RouteTableHandle::new();
        let mut changes = handle.changes();
        handle.publish(RouteTable::default());
        tokio::time::timeout(std::time::Duration::from_secs(1), changes.changed())
            .await
            .expect("woken")
            .expect("sender alive");
    }
}
