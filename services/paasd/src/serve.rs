//! `paasd serve`: makes the data directory and database private, opens the store, prunes
//! expired tokens, creates the admin on first start, makes sure the stacks exist, starts the
//! scheduler loop, and serves the HTTP port.

use crate::config::Config;
use crate::dispatch::Dispatch;
use crate::front_door;
use crate::private_files;
use crate::stacks;
use anyhow::Context;
use paas_api::{ensure_admin, AdminBootstrap, ApiConfig, ApiState, SigninConfig};
use paas_builder::{Builder, BuilderConfig};
use paas_logs::{LogKeeper, RecordObserver, Supervisor};
use paas_router::{record_channel, Proxy, ProxyConfig, RouteTableHandle};
use paas_runtime::{ContainerRuntime, DockerRuntime};
use paas_scheduler::{Scheduler, SchedulerConfig};
use paas_store::{SqlStore, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long paasd waits, when it stops, for the router records' keeper to write what is left.
const RECORD_KEEPER_FINISH: Duration = Duration::from_secs(3);

/// Router records waiting for the log keeper; beyond this the router drops (and counts) them.
const ROUTER_RECORD_BACKLOG: usize = 16_384;

pub async fn run() -> anyhow::Result<()> {
    let config = Config::load()?;
    crate::own_log::init(
        &config.log,
        config.log_file.as_deref(),
        config.log_file_max_bytes,
    );
    match front_door::raise_open_file_limit() {
        Ok(limit) => tracing::debug!("open file limit: {limit}"),
        Err(e) => tracing::warn!("cannot raise the open file limit: {e}"),
    }

    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    private_files::restrict_dir(&config.data_dir)?;
    let data_dir = config.data_dir.canonicalize()?;
    let sqlite_path = config.sqlite_path();
    if let Some(path) = &sqlite_path {
        private_files::create_private(path)?;
    }
    let router_token = router_secret(&data_dir)?;
    let repos_dir = data_dir.join("repos");
    let builds_dir = data_dir.join("builds");
    std::fs::create_dir_all(&repos_dir)?;
    std::fs::create_dir_all(&builds_dir)?;

    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect(&config.database_url())
            .await
            .context("cannot open the database")?,
    );
    if let Some(path) = &sqlite_path {
        private_files::restrict_database(path)?;
    }
    match ensure_admin(
        store.as_ref(),
        &config.admin_email,
        config.admin_password.clone(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot create the admin account: {e}"))?
    {
        AdminBootstrap::Existing => {}
        AdminBootstrap::Created { email } => eprintln!("-----> Created admin account {email}"),
        AdminBootstrap::Generated { email, password } => {
            eprintln!("-----> Created admin account {email}");
            eprintln!("       password: {password}");
            eprintln!("       (shown once; sign in with `paas login`)");
        }
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let pruned = store.delete_expired_tokens(now_ms).await?;
    if pruned > 0 {
        tracing::info!("deleted {pruned} expired API token(s)");
    }
    let instance_id = match store.setting("instance_id").await? {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            store.put_setting("instance_id", &id).await?;
            id
        }
    };

    let runtime: Arc<dyn ContainerRuntime> = Arc::new(
        DockerRuntime::connect()
            .await
            .context("cannot reach the Docker engine (is dockerd running?)")?
            .with_subnet_pool(config.subnet_pool()?),
    );
    if let Some(registry) = &config.registry {
        crate::swarm_check::check_registry(registry).await?;
    }
    let swarm = crate::swarm_check::connect(config.scheduler).await?;
    let stack_images = stacks::ensure(runtime.as_ref(), &config).await?;
    let logs = LogKeeper::open(data_dir.join("logs"), config.app_log_max_bytes)
        .context("cannot open the app logs")?;

    let routes = RouteTableHandle::new();
    let scheduler = Scheduler::with_swarm(
        store.clone(),
        runtime.clone(),
        routes.clone(),
        SchedulerConfig {
            instance_id: instance_id.clone(),
            network: config.network.clone(),
            health_timeout: Duration::from_secs(config.health_timeout_secs),
            stop_grace: Duration::from_secs(config.stop_grace_secs),
            idle_interval: Duration::from_secs(config.reconcile_interval_secs),
            nano_cpus: Config::nano_cpus(config.process_cpus),
            default_backend: match config.scheduler {
                crate::config::SchedulerKind::Docker => paas_domain::SchedulerKind::Docker,
                crate::config::SchedulerKind::Swarm => paas_domain::SchedulerKind::Swarm,
            },
            registry: config.registry.clone(),
            ..SchedulerConfig::default()
        },
        swarm.clone(),
    );
    let builder = Arc::new(Builder::new(
        runtime.clone(),
        BuilderConfig {
            stacks: stack_images,
            ca_bundle: config.ca_bundle(),
            labels: BTreeMap::from([("paas.instance".to_string(), instance_id.clone())]),
            build_memory_bytes: (config.build_memory as i64) * 1024 * 1024,
            build_nano_cpus: Config::nano_cpus(config.build_cpus),
            build_timeout: Duration::from_secs(config.build_timeout),
            buildpack_cache: data_dir.join("buildpacks"),
        },
    ));

    let front_door = config.front_door();
    let listeners = front_door::threads::bind(
        config.http_addr,
        front_door::threads::thread_count(front_door.threads),
    )
    .with_context(|| format!("cannot listen on {}", config.http_addr))?;
    let local = listeners.local;
    let hook_host = if local.ip().is_unspecified() {
        format!("127.0.0.1:{}", local.port())
    } else {
        local.to_string()
    };
    let api_state = ApiState::new(
        store.clone(),
        runtime.clone(),
        builder,
        scheduler.clone(),
        routes.clone(),
        ApiConfig {
            domain: config.domain.clone(),
            http_port: local.port(),
            public_url: config.public_url.clone(),
            repos_dir,
            builds_dir,
            hook_url: format!("http://{hook_host}/internal/hooks/pre-receive"),
            hook_bin: std::env::current_exe().context("cannot locate the paasd executable")?,
            image_prefix: format!("paas-{instance_id}"),
            max_push_bytes: config.max_push * 1024 * 1024,
            // An app.json check may give a release longer than the default timeout.
            deploy_timeout: Duration::from_secs(config.health_timeout_secs.max(3600) + 30),
            token_ttl: Duration::from_secs(config.token_ttl_secs),
            router_token: Some(router_token),
            signin: SigninConfig {
                max_failures: config.login_max_failures,
                window: Duration::from_secs(config.login_window_secs),
                ..SigninConfig::default()
            },
        },
        logs.clone(),
    );

    crate::interrupted::recover(
        store.as_ref(),
        runtime.as_ref(),
        &api_state.config,
        &instance_id,
    )
    .await
    .context("cannot finish what an interrupted paasd left half done")?;

    // One pass before serving, so running apps answer as soon as the port is open.
    if let Err(e) = scheduler.reconcile().await {
        tracing::warn!("first reconcile pass failed: {e}");
    }
    tokio::spawn(scheduler.clone().run());
    tokio::spawn(scheduler.clone().follow_events());
    // One supervisor follows every process's output into its app's log (Swarm tasks too).
    let swarm_tasks = swarm.map(|s| Arc::new(s) as Arc<dyn paas_logs::SwarmTasks>);
    tokio::spawn(
        Supervisor::with_swarm(runtime.clone(), logs.clone(), &instance_id, swarm_tasks).run(),
    );

    // The router's per-request records. FAN-OUT POINT: the log keeper's task appends each
    // record's `router` line to its app's log, then hands each batch (`&RecordBatch`) to every
    // observer in this list, in order (request metrics add theirs here). Observers must not
    // block; the router never waits for any of this (a full buffer drops and counts).
    let (record_sink, record_source) = record_channel(ROUTER_RECORD_BACKLOG);
    // A separate router's records (`POST /api/router/records`) join these records.
    let _ = api_state.router_records.set(record_sink.clone());
    let telemetry = api_state.telemetry.clone();
    let record_observers: Vec<Arc<dyn RecordObserver>> = vec![Arc::new(
        crate::telemetry::MetricsObserver(telemetry.metrics.clone()),
    )];
    crate::telemetry::start(
        &telemetry,
        store.as_ref(),
        runtime.clone(),
        &logs,
        &config,
        &instance_id,
    )
    .await
    .context("cannot start the log drains and metrics")?;
    // On a thread of its own, which never preempts a serving thread when it wakes.
    let record_keeper = crate::record_keeper::spawn(logs.clone(), record_source, record_observers)
        .context("cannot start the router records' keeper")?;

    let dispatch = Dispatch {
        domain: config.domain.clone(),
        proxy: with_records_if(
            Proxy::new(routes, proxy_config(&config)),
            config.router_log,
            record_sink,
        ),
        api: paas_api::router(api_state),
        local_port: local.port(),
        api_runtime: Some(tokio::runtime::Handle::current()),
    };
    eprintln!(
        "-----> paasd ready on http://{local} (apps at http://<app>.{}:{}, instance {instance_id})",
        config.domain,
        local.port()
    );
    let served = tokio::select! {
        result = front_door::threads::serve(listeners, dispatch, front_door) => Some(result),
        _ = shutdown_signal() => None,
    };
    if served.is_none() {
        eprintln!("-----> paasd stopping; app processes keep running");
    }
    // The router lines of the requests answered so far reach their apps' logs before exit.
    if !record_keeper.finish(RECORD_KEEPER_FINISH).await {
        tracing::warn!("the router records' keeper did not finish in time: the last router lines may be missing");
    }
    if let Some(result) = served {
        result.context("HTTP server stopped")?;
    }
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// paasd's own log on stderr (see `own_log`).
pub(crate) fn init_tracing(filter: &str) {
    crate::own_log::init(filter, None, 0);
}

/// The proxy handing its request records to `sink`, unless the router's log is off
/// (`PAAS_ROUTER_LOG=off`).
pub(crate) fn with_records_if(proxy: Proxy, on: bool, sink: paas_router::RecordSink) -> Proxy {
    if on {
        proxy.with_records(sink)
    } else {
        proxy
    }
}

/// The router's settings from paasd's configuration (shared with `paasd router`).
pub(crate) fn proxy_config(config: &Config) -> ProxyConfig {
    ProxyConfig {
        connect_timeout: Duration::from_secs(config.router_connect_timeout_secs),
        response_timeout: Duration::from_secs(config.router_timeout_secs),
        idle_timeout: Duration::from_secs(config.router_idle_timeout_secs),
        hold_timeout: Duration::from_secs(config.router_hold_secs),
        ..ProxyConfig::default()
    }
}

/// The secret a separate router (`paasd router`) reads the route table with: made once, kept
/// in the data directory with mode 0600.
fn router_secret(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join(crate::router_process::TOKEN_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.trim().is_empty() {
            return Ok(existing.trim().to_string());
        }
    }
    private_files::create_private(&path)?;
    let token = paas_api::generate_secret();
    std::fs::write(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}
