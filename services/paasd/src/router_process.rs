//! `paasd router`: the router as a process of its own. It serves app hosts and custom domains
//! from a route table it reads from the control plane (`GET /api/router/table`, long-polled,
//! with the secret in `<data>/router.token`), forwards every other host to the control plane,
//! and keeps each table it receives in `<data>/router-table.json`. So it keeps serving its
//! last table while the control plane is down or restarting, and starts from that copy.

use crate::config::Config;
use crate::dispatch::Dispatch;
use anyhow::Context;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use paas_api::{InFlightReport, VersionedTable};
use paas_router::{Proxy, RouteTable, RouteTableHandle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Name of the file holding the secret the router reads the table with.
pub const TOKEN_FILE: &str = "router.token";
/// Name of the file holding the last table the router received.
const TABLE_FILE: &str = "router-table.json";

pub struct RouterOptions {
    pub listen: String,
    pub control: String,
    pub data: Option<PathBuf>,
}

pub async fn run(options: RouterOptions) -> anyhow::Result<()> {
    let config = Config::load()?;
    crate::serve::init_tracing(&config.log);
    if let Err(e) = crate::front_door::raise_open_file_limit() {
        tracing::warn!("cannot raise the open file limit: {e}");
    }
    let data = options.data.unwrap_or_else(|| config.data_dir.clone());
    let token = std::fs::read_to_string(data.join(TOKEN_FILE))
        .with_context(|| {
            format!(
                "cannot read the router's secret {} (start paasd once with this data directory)",
                data.join(TOKEN_FILE).display()
            )
        })?
        .trim()
        .to_string();
    let control = options.control.trim_end_matches('/').to_string();
    let routes = RouteTableHandle::new();
    let table_file = data.join(TABLE_FILE);
    match load_table(&table_file) {
        Ok(Some(table)) => {
            tracing::info!(
                apps = table.apps.len(),
                "serving the last route table received"
            );
            routes.publish(table);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("ignoring the saved route table: {e:#}"),
    }
    let served = Arc::new(AtomicU64::new(0));
    tokio::spawn(follow_control_plane(
        routes.clone(),
        control.clone(),
        token.clone(),
        table_file,
        served.clone(),
    ));
    tokio::spawn(report_in_flight(
        routes.clone(),
        control.clone(),
        token.clone(),
        served,
    ));
    // Its request records go to the control plane, which keeps them in the apps' logs.
    let (record_sink, record_source) = paas_router::record_channel(crate::router_records::BACKLOG);
    let (stop_shipping, shipping_stopped) = tokio::sync::oneshot::channel::<()>();
    let shipper = tokio::spawn(crate::router_records::ship(
        control.clone(),
        token,
        record_source,
        async {
            if shipping_stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        },
    ));

    let listen_addr = tokio::net::lookup_host(&options.listen)
        .await
        .with_context(|| format!("cannot resolve {}", options.listen))?
        .next()
        .with_context(|| format!("{} names no address", options.listen))?;
    let front_door = config.front_door();
    let listeners = crate::front_door::threads::bind(
        listen_addr,
        crate::front_door::threads::thread_count(front_door.threads),
    )
    .with_context(|| format!("cannot listen on {}", options.listen))?;
    let local = listeners.local;
    let forward = Forward::new(&control)?;
    let api = axum::Router::new().fallback(move |req: Request| {
        let forward = forward.clone();
        async move { forward.send(req).await }
    });
    let dispatch = Dispatch {
        domain: config.domain.clone(),
        proxy: crate::serve::with_records_if(
            Proxy::new(routes, crate::serve::proxy_config(&config)),
            config.router_log,
            record_sink,
        ),
        api,
        local_port: local.port(),
        api_runtime: Some(tokio::runtime::Handle::current()),
    };
    eprintln!("-----> paasd router ready on http://{local} (control plane {control})");
    let served = tokio::select! {
        result = crate::front_door::threads::serve(listeners, dispatch, front_door) => Some(result),
        () = crate::serve::shutdown_signal() => None,
    };
    if served.is_none() {
        eprintln!("-----> paasd router stopping");
    }
    // The records of the requests answered so far go to the control plane before exit.
    let _ = stop_shipping.send(());
    if tokio::time::timeout(SHIPPER_FINISH, shipper).await.is_err() {
        tracing::warn!("the router records' shipper did not finish in time");
    }
    if let Some(result) = served {
        result?;
    }
    Ok(())
}

/// How long the router waits, when it stops, for its last records to be shipped: the
/// shipper's own bound on everything after the stop (`Limits::final_flush`), and a second.
const SHIPPER_FINISH: Duration =
    Duration::from_secs(crate::router_records::Limits::DEFAULT.final_flush.as_secs() + 1);

/// Reads tables from the control plane forever; while it cannot, the last one keeps serving.
async fn follow_control_plane(
    routes: RouteTableHandle,
    control: String,
    token: String,
    table_file: PathBuf,
    served: Arc<AtomicU64>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("cannot make an HTTP client: {e}");
            return;
        }
    };
    let mut after: Option<u64> = None;
    let mut failing = false;
    loop {
        let mut request = client
            .get(format!("{control}/api/router/table"))
            .bearer_auth(&token);
        if let Some(version) = after {
            request = request.query(&[("after", version)]);
        }
        let answer = async {
            request
                .send()
                .await?
                .error_for_status()?
                .json::<VersionedTable>()
                .await
        }
        .await;
        match answer {
            Ok(versioned) => {
                if failing {
                    tracing::info!("the control plane answers again");
                    failing = false;
                }
                if after != Some(versioned.version) {
                    if let Err(e) = save_table(&table_file, &versioned.table) {
                        tracing::warn!("cannot save the route table: {e:#}");
                    }
                    routes.publish(versioned.table);
                    after = Some(versioned.version);
                    served.store(versioned.version, Ordering::Relaxed);
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("cannot read the route table from the control plane (serving the last one): {e}");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// How often the router tells the control plane what it has in flight.
const REPORT_EVERY: Duration = Duration::from_millis(200);
/// Longest silence between two reports (the control plane forgets a router after 3 s).
const REPORT_AT_LEAST: Duration = Duration::from_secs(1);

/// Tells the control plane, every 200 ms while anything changes and every second otherwise,
/// which processes this router has requests in flight to and which table it serves, so the
/// scheduler's drain waits for them before it stops a retired process.
async fn report_in_flight(
    routes: RouteTableHandle,
    control: String,
    token: String,
    served: Arc<AtomicU64>,
) {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    else {
        return;
    };
    let router = uuid::Uuid::new_v4().simple().to_string();
    let url = format!("{control}/api/router/in-flight");
    let mut last: Option<(u64, Vec<(std::net::SocketAddr, usize)>)> = None;
    let mut last_sent = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(REPORT_EVERY).await;
        let mut counts: Vec<_> = routes.in_flight_counts().into_iter().collect();
        counts.sort();
        let now = (served.load(Ordering::Relaxed), counts);
        if last.as_ref() == Some(&now) && last_sent.elapsed() < REPORT_AT_LEAST {
            continue;
        }
        let report = InFlightReport {
            router: router.clone(),
            version: now.0,
            counts: now.1.clone(),
        };
        let sent = client
            .post(&url)
            .bearer_auth(&token)
            .json(&report)
            .send()
            .await;
        if matches!(&sent, Ok(r) if r.status().is_success()) {
            last = Some(now);
            last_sent = tokio::time::Instant::now();
        }
    }
}

fn load_table(path: &Path) -> anyhow::Result<Option<RouteTable>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes the table beside its file and renames it over, so a crash never leaves half a file.
fn save_table(path: &Path, table: &RouteTable) -> anyhow::Result<()> {
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec(table)?)?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

/// Sends platform requests (API, git) on to the control plane, streamed both ways.
#[derive(Clone)]
struct Forward {
    client: Client<HttpConnector, Body>,
    base: http::Uri,
}

impl Forward {
    fn new(control: &str) -> anyhow::Result<Self> {
        let base: http::Uri = control
            .parse()
            .with_context(|| format!("{control:?} is not a URL"))?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            base,
        })
    }

    async fn send(&self, mut req: Request) -> Response {
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let Ok(uri) = format!("{}{path}", self.base.to_string().trim_end_matches('/')).parse()
        else {
            return paas_api::ApiError::BadRequest("bad request target".into()).into_response();
        };
        *req.uri_mut() = uri;
        match self.client.request(req).await {
            Ok(response) => response.map(Body::new),
            Err(e) => {
                tracing::warn!("the control plane did not answer: {e}");
                (
                    http::StatusCode::BAD_GATEWAY,
                    "The platform's control plane is not answering; apps keep being served.\n",
                )
                    .into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_table_is_read_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TABLE_FILE);
        assert!(load_table(&path).unwrap().is_none());
        let mut table = RouteTable::default();
        table.domains.insert("www.example.com".into(), "web".into());
        save_table(&path, &table).unwrap();
        assert_eq!(load_table(&path).unwrap(), Some(table));
    }
}
