//! Everything request handlers share.

use crate::config::ApiConfig;
use crate::git::pushes::PushGrants;
use crate::signin::SigninGuard;
use paas_builder::Builder;
use paas_logs::LogKeeper;
use paas_router::RouteTableHandle;
use paas_runtime::ContainerRuntime;
use paas_scheduler::Scheduler;
use paas_store::Store;
use paas_telemetry::Telemetry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub runtime: Arc<dyn ContainerRuntime>,
    pub builder: Arc<Builder>,
    pub scheduler: Arc<Scheduler>,
    pub routes: RouteTableHandle,
    pub config: ApiConfig,
    /// The app logs (build output, platform events, `paas logs`).
    pub logs: LogKeeper,
    /// Metrics, log drains and OTLP exports (paasd starts their tasks).
    pub telemetry: Telemetry,
    pub pushes: PushGrants,
    /// Where a separate router's shipped request records go: the same channel as this
    /// process's own router records (set by paasd once the record keeper runs).
    pub router_records: std::sync::OnceLock<paas_router::RecordSink>,
    /// Sign-in failure limits and the password hashing pool.
    pub signin: SigninGuard,
    /// One push at a time per app, from its build until its branch moved (or did not).
    push_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ApiState {
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Arc<dyn ContainerRuntime>,
        builder: Arc<Builder>,
        scheduler: Arc<Scheduler>,
        routes: RouteTableHandle,
        config: ApiConfig,
        logs: LogKeeper,
    ) -> Arc<Self> {
        Arc::new(Self {
            signin: SigninGuard::new(&config.signin),
            store,
            runtime,
            builder,
            scheduler,
            routes,
            config,
            logs,
            telemetry: Telemetry::default(),
            pushes: PushGrants::default(),
            router_records: std::sync::OnceLock::new(),
            push_locks: Mutex::new(HashMap::new()),
        })
    }

    pub fn push_lock(&self, app: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.push_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(app.to_string()).or_default().clone()
    }
}
