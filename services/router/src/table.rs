//! The route table: app name -> the web processes that may receive its requests. The scheduler
//! publishes a whole new table at once, so readers always see a consistent one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

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

/// Shared handle to the current table; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RouteTableHandle {
    current: Arc<RwLock<Arc<RouteTable>>>,
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

    /// Drops one app's routes at once (e.g. when the app is destroyed).
    pub fn remove_app(&self, app: &str) {
        let mut table = (*self.snapshot()).clone();
        if table.apps.remove(app).is_some() {
            self.publish(table);
        }
    }
}
