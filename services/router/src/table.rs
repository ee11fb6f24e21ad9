//! The route table: app name -> the web processes that may receive its requests. The scheduler
//! publishes a whole new table at once, so readers always see a consistent one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// One web process of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub addr: SocketAddr,
    /// The process name shown in router log lines, e.g. `web.1`.
    pub dyno: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppRoute {
    pub backends: Vec<Backend>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    pub apps: HashMap<String, AppRoute>,
}

/// Shared handle to the current table and to the count of requests in flight per process;
/// cheap to clone. The scheduler reads the counts to let a retired process finish its
/// requests before it is stopped.
#[derive(Debug, Clone, Default)]
pub struct RouteTableHandle {
    current: Arc<RwLock<Arc<RouteTable>>>,
    in_flight: Arc<Mutex<HashMap<SocketAddr, Arc<AtomicUsize>>>>,
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
    }

    /// The shared in-flight counter of the process at `addr`.
    pub(crate) fn counter(&self, addr: SocketAddr) -> Arc<AtomicUsize> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(addr).or_default().clone()
    }

    /// Requests the router has in flight to the process at `addr` now.
    pub fn in_flight(&self, addr: SocketAddr) -> usize {
        let map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&addr).map_or(0, |c| c.load(Ordering::Relaxed))
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
