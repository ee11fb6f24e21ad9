//! The reverse proxy: picks one of the app's web processes (fewest in-flight requests of two
//! random choices), forwards the request with the forwarded headers, and streams the answer
//! back. When the app has no process that can take the request right now (a restart of its
//! only process, a crash being replaced, a rollout), the request is held until the route
//! table offers one, up to the hold time, instead of failing at once. A process that refuses
//! connections is set aside for a few seconds and the request tried on another (never a
//! request whose body was already sent). WebSocket upgrades are passed through. Errors are
//! answered with Heroku's codes: H10, H12, H13, H14, H80. A client whose own request body
//! fails (malformed chunked encoding) gets 400, not an app error.

use crate::headers::{add_forwarded, strip_hop_by_hop, ForwardedFor};
use crate::idle::IdleTimeout;
use crate::pages::RouterError;
use crate::records::{RecordError, RecordSink, RequestRecord};
use crate::table::{AppRoute, Backend, RouteTableHandle};
use axum::body::Body;
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::Rng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub connect_timeout: Duration,
    /// Time allowed until the response head arrives (H12 after it).
    pub response_timeout: Duration,
    /// Longest pause between two pieces of a response body before it is cut.
    pub idle_timeout: Duration,
    /// How long a request waits for a web process when the app has none ready.
    pub hold_timeout: Duration,
    /// How long a process that refused a connection is left out.
    pub bench_time: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(55),
            hold_timeout: Duration::from_secs(10),
            bench_time: Duration::from_secs(5),
        }
    }
}

/// Per-process bookkeeping shared by all requests.
#[derive(Default)]
struct BackendStats {
    benched_until: Mutex<HashMap<SocketAddr, Instant>>,
}

impl BackendStats {
    fn is_benched(&self, addr: SocketAddr, now: Instant) -> bool {
        let map = self.benched_until.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&addr).is_some_and(|until| *until > now)
    }

    fn bench(&self, addr: SocketAddr, until: Instant) {
        let mut map = self.benched_until.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, until| *until > Instant::now());
        map.insert(addr, until);
    }
}

#[derive(Clone)]
pub struct Proxy {
    table: RouteTableHandle,
    client: Client<HttpConnector, Body>,
    config: ProxyConfig,
    stats: Arc<BackendStats>,
    records: Option<RecordSink>,
}

/// Decrements a process's in-flight count when the request is over.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a log line says about the request.
struct RequestFacts<'a> {
    app: &'a str,
    method: Method,
    path: String,
    host: String,
    peer: SocketAddr,
    at: SystemTime,
    request_id: String,
}

impl Proxy {
    pub fn new(table: RouteTableHandle, config: ProxyConfig) -> Self {
        Self {
            client: pooled_client(&config),
            table,
            config,
            stats: Arc::default(),
            records: None,
        }
    }

    /// The same proxy with a connection pool of its own, for a serving thread: its pooled
    /// connections to processes are then driven by that thread's runtime only.
    pub fn with_own_pool(&self) -> Self {
        Self {
            client: pooled_client(&self.config),
            ..self.clone()
        }
    }

    /// Hands one record per request to `sink` (the app's log) instead of paasd's own log.
    pub fn with_records(mut self, sink: RecordSink) -> Self {
        self.records = Some(sink);
        self
    }

    /// The app a custom domain (`paas domains:add`) names, if any.
    pub fn app_for_domain(&self, host: &str) -> Option<String> {
        self.table
            .snapshot()
            .app_for_domain(host)
            .map(str::to_string)
    }

    /// Proxies one request for `app`. `peer` is the client's address, `local_port` the port it
    /// connected to.
    pub async fn handle(
        &self,
        app: &str,
        mut req: Request<Body>,
        peer: SocketAddr,
        local_port: u16,
    ) -> Response<Body> {
        let started = Instant::now();
        let mut facts = RequestFacts {
            app,
            method: req.method().clone(),
            path: req.uri().path().to_string(),
            host: req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string(),
            peer,
            at: SystemTime::now(),
            request_id: String::new(),
        };
        let upgrade = requested_upgrade(&req);
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));

        let (mut parts, body) = req.into_parts();
        let client_body_failed = Arc::new(AtomicBool::new(false));
        let body = watch_body(body, client_body_failed.clone());
        let retryable = has_no_body(&parts);
        strip_hop_by_hop(&mut parts.headers);
        if let Some(protocol) = &upgrade {
            parts
                .headers
                .insert(CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(UPGRADE, protocol.clone());
        }
        let request_start_ms = facts
            .at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        facts.request_id = add_forwarded(
            &mut parts.headers,
            &ForwardedFor {
                peer,
                local_port,
                proto: "http",
                request_start_ms,
            },
        );
        let mut body = Some(body);
        let mut tried: Vec<SocketAddr> = Vec::new();
        let mut last_error: Option<RouterError> = None;
        let hold_until = started + self.config.hold_timeout;
        let mut changes = self.table.changes();

        loop {
            changes.borrow_and_update();
            let table = self.table.snapshot();
            let Some(route) = table.apps.get(app) else {
                return self.fail(RouterError::NoSuchApp, &facts, None);
            };
            if let Some(maintenance) = &route.maintenance {
                return self.fail(
                    RouterError::Maintenance,
                    &facts,
                    maintenance.page_url.as_deref(),
                );
            }
            let Some(backend) = self.pick(&route.backends, &tried) else {
                // Nothing can take it now: hold it for a process, while it can still be sent.
                let can_send = body.is_some() || retryable;
                if can_send && Instant::now() < hold_until {
                    tokio::select! {
                        _ = changes.changed() => {}
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    }
                    // A new table may route the same address to a new process.
                    tried.clear();
                    continue;
                }
                let error = last_error.unwrap_or_else(|| no_process_error(route));
                return self.fail(error, &facts, None);
            };
            let backend = backend.clone();
            tried.push(backend.addr);
            let Some(this_body) = body.take().or_else(|| retryable.then(Body::empty)) else {
                return self.fail(last_error.unwrap_or(RouterError::AppCrashed), &facts, None);
            };
            let mut forward = Request::from_parts(parts.clone(), this_body);
            *forward.uri_mut() = backend_uri(backend.addr, &parts.uri);
            let in_flight = {
                let counter = self.table.counter(backend.addr);
                counter.fetch_add(1, Ordering::Relaxed);
                InFlight(counter)
            };
            let connect_started = Instant::now();
            match tokio::time::timeout(self.config.response_timeout, self.client.request(forward))
                .await
            {
                Ok(Ok(mut response)) => {
                    let service = connect_started.elapsed();
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        if let Some(client_upgrade) = client_upgrade {
                            let backend_upgrade = hyper::upgrade::on(&mut response);
                            tokio::spawn(tunnel(client_upgrade, backend_upgrade, in_flight));
                        }
                        let (head, _) = response.into_parts();
                        self.log_request(
                            &facts,
                            &backend,
                            &head,
                            started,
                            connect_started,
                            service,
                        );
                        return Response::from_parts(head, Body::empty());
                    }
                    let (mut head, incoming) = response.into_parts();
                    strip_hop_by_hop(&mut head.headers);
                    self.log_request(&facts, &backend, &head, started, connect_started, service);
                    let body = IdleTimeout::new(incoming, self.config.idle_timeout);
                    // The in-flight count lasts until the whole body has been sent.
                    let body = body.map_frame(move |frame| {
                        let _keep = &in_flight;
                        frame
                    });
                    return Response::from_parts(head, Body::new(body));
                }
                Ok(Err(err)) if err.is_connect() => {
                    tracing::warn!(target: "router", app, dyno = %backend.dyno, "connection refused, setting process aside: {err}");
                    self.stats
                        .bench(backend.addr, Instant::now() + self.config.bench_time);
                    last_error = Some(RouterError::AppCrashed);
                }
                Ok(Err(err)) if client_body_failed.load(Ordering::Relaxed) => {
                    tracing::info!(target: "router", app, dyno = %backend.dyno, "the client's request body failed: {err}");
                    return self.fail(RouterError::BadRequestBody, &facts, None);
                }
                Ok(Err(err)) => {
                    tracing::warn!(target: "router", app, dyno = %backend.dyno, "connection closed without response: {err}");
                    return self.fail(RouterError::ConnectionClosed, &facts, None);
                }
                Err(_) => return self.fail(RouterError::Timeout, &facts, None),
            }
        }
    }

    fn log_request(
        &self,
        facts: &RequestFacts<'_>,
        backend: &Backend,
        head: &http::response::Parts,
        started: Instant,
        connect_started: Instant,
        service: Duration,
    ) {
        let bytes = head
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        self.record(RequestRecord {
            app: facts.app.to_string(),
            at: facts.at,
            method: facts.method.to_string(),
            path: facts.path.clone(),
            host: facts.host.clone(),
            request_id: facts.request_id.clone(),
            client: facts.peer.ip(),
            dyno: Some(backend.dyno.clone()),
            connect_ms: millis(connect_started.duration_since(started)),
            service_ms: millis(service),
            status: head.status.as_u16(),
            bytes,
            error: None,
        });
    }

    /// Hands the record to the app's log when there is one, else to paasd's own log.
    fn record(&self, record: RequestRecord) {
        match &self.records {
            Some(sink) => sink.offer(record),
            None if record.error.is_some() => {
                tracing::warn!(target: "router", app = record.app, "{record}")
            }
            None => tracing::info!(target: "router", app = record.app, "{record}"),
        }
    }

    /// Two random choices among usable processes, the one with fewer requests in flight wins.
    /// Processes set aside are used only when nothing else is left.
    fn pick<'a>(&self, backends: &'a [Backend], tried: &[SocketAddr]) -> Option<&'a Backend> {
        let now = Instant::now();
        let untried: Vec<&Backend> = backends
            .iter()
            .filter(|b| !tried.contains(&b.addr))
            .collect();
        let healthy: Vec<&Backend> = untried
            .iter()
            .copied()
            .filter(|b| !self.stats.is_benched(b.addr, now))
            .collect();
        let pool = if healthy.is_empty() { untried } else { healthy };
        match pool.len() {
            0 => None,
            1 => Some(pool[0]),
            n => {
                let mut rng = rand::thread_rng();
                let a = pool[rng.gen_range(0..n)];
                let b = pool[rng.gen_range(0..n)];
                let load = |x: &Backend| self.table.in_flight(x.addr);
                Some(if load(b) < load(a) { b } else { a })
            }
        }
    }

    fn fail(
        &self,
        error: RouterError,
        facts: &RequestFacts<'_>,
        page: Option<&str>,
    ) -> Response<Body> {
        let elapsed = facts.at.elapsed().unwrap_or_default();
        self.record(RequestRecord {
            app: facts.app.to_string(),
            at: facts.at,
            method: facts.method.to_string(),
            path: facts.path.clone(),
            host: facts.host.clone(),
            request_id: facts.request_id.clone(),
            client: facts.peer.ip(),
            dyno: None,
            connect_ms: 0,
            service_ms: millis(elapsed),
            status: error.status().as_u16(),
            bytes: None,
            error: Some(RecordError {
                code: error.code(),
                description: error.description(),
            }),
        });
        error.page(page)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A client keeping idle connections to processes for reuse.
fn pooled_client(config: &ProxyConfig) -> Client<HttpConnector, Body> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(config.connect_timeout));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(55))
        .build(connector)
}

/// H14 when the app wants no web process, H10 when it wants some and none took the request.
fn no_process_error(route: &AppRoute) -> RouterError {
    if route.web_wanted == 0 {
        RouterError::NoWebProcesses
    } else {
        RouterError::AppCrashed
    }
}

/// The protocol a client asks to switch to (`Connection: upgrade` with `Upgrade: ...`).
fn requested_upgrade(req: &Request<Body>) -> Option<HeaderValue> {
    let connection_upgrade = req
        .headers()
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if !connection_upgrade {
        return None;
    }
    req.headers().get(UPGRADE).cloned()
}

/// Copies bytes both ways between the upgraded client and process connections until either
/// side closes; the process counts as busy meanwhile.
async fn tunnel(
    client: hyper::upgrade::OnUpgrade,
    backend: hyper::upgrade::OnUpgrade,
    _in_flight: InFlight,
) {
    let (client, backend) = match tokio::try_join!(client, backend) {
        Ok(both) => both,
        Err(e) => {
            tracing::info!(target: "router", "upgrade failed: {e}");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut backend = TokioIo::new(backend);
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut backend).await {
        tracing::debug!(target: "router", "upgraded connection ended: {e}");
    }
}

/// Sets `failed` when reading the client's body fails (malformed chunked encoding, a
/// connection that breaks off), so that error is told apart from the app's.
fn watch_body(body: Body, failed: Arc<AtomicBool>) -> Body {
    Body::new(body.map_err(move |e| {
        failed.store(true, Ordering::Relaxed);
        e
    }))
}

fn has_no_body(parts: &http::request::Parts) -> bool {
    let no_length = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == "0");
    no_length && !parts.headers.contains_key(http::header::TRANSFER_ENCODING)
}

fn backend_uri(addr: SocketAddr, original: &Uri) -> Uri {
    let path_and_query = original
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    format!("http://{addr}{path_and_query}")
        .parse()
        .unwrap_or_else(|_| Uri::from_static("/"))
}
