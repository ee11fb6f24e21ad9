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
use crate::pool::{Pool, RawPool, Returner, Sent};
use crate::records::{RecordSink, RequestRecord};
use crate::table::{AppRoute, Backend, RouteTableHandle};
use axum::body::Body;
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use rand::Rng;
use std::collections::{HashMap, HashSet};
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
pub(crate) struct BackendStats {
    benched_until: Mutex<HashMap<SocketAddr, Instant>>,
    /// How many entries `benched_until` holds, so the common case (none) takes no lock.
    benched: AtomicUsize,
}

impl BackendStats {
    fn is_benched(&self, addr: SocketAddr, now: Instant) -> bool {
        if self.benched.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let map = self.benched_until.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&addr).is_some_and(|until| *until > now)
    }

    pub(crate) fn bench(&self, addr: SocketAddr, until: Instant) {
        let mut map = self.benched_until.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, until| *until > now);
        map.insert(addr, until);
        self.benched.store(map.len(), Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub struct Proxy {
    pub(crate) table: RouteTableHandle,
    pool: Arc<Pool>,
    /// Raw keep-alive connections for the fast path (`fast/`), per serving thread too.
    pub(crate) raw: Arc<RawPool>,
    pub(crate) config: ProxyConfig,
    pub(crate) stats: Arc<BackendStats>,
    pub(crate) records: Option<RecordSink>,
}

/// Decrements a process's in-flight count when the request is over.
pub(crate) struct InFlight(pub(crate) Arc<AtomicUsize>);

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
            pool: Arc::default(),
            raw: Arc::default(),
            table,
            config,
            stats: Arc::default(),
            records: None,
        }
    }

    /// The same proxy for a serving thread: a connection pool of its own (its pooled
    /// connections to processes are then driven by that thread's runtime only) and a record
    /// buffer of its own (its lock is never contended by another serving thread).
    pub fn for_thread(&self) -> Self {
        Self {
            pool: Arc::default(),
            raw: Arc::default(),
            records: self.records.as_ref().map(RecordSink::for_thread),
            ..self.clone()
        }
    }

    /// Hands one record per request to `sink` (the app's log) instead of paasd's own log.
    pub fn with_records(mut self, sink: RecordSink) -> Self {
        self.records = Some(sink);
        self
    }

    /// Closes pooled connections to processes as soon as a publication leaves them out of
    /// the table, for as long as the runtime it is spawned on runs.
    pub fn spawn_pool_pruner(&self) {
        let table = self.table.clone();
        let pool = Arc::downgrade(&self.pool);
        let raw = Arc::downgrade(&self.raw);
        tokio::spawn(async move {
            let mut changes = table.changes();
            while changes.changed().await.is_ok() {
                let Some(pool) = pool.upgrade() else { return };
                let raw = raw.upgrade();
                let live: HashSet<SocketAddr> = table
                    .snapshot()
                    .apps
                    .values()
                    .flat_map(|route| route.backends.iter().map(|b| b.addr))
                    .collect();
                pool.retain(&live);
                if let Some(raw) = raw {
                    raw.retain(&live);
                }
            }
        });
    }

    /// Idle pooled connections to the process at `addr` (diagnostics and tests).
    pub fn idle_connections(&self, addr: SocketAddr) -> usize {
        self.pool.idle_count(addr) + self.raw.idle_count(addr)
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
        // The request's path and host are copied only when a record will be made of them.
        let recorded =
            self.records.is_some() || tracing::enabled!(target: "router", tracing::Level::DEBUG);
        let mut facts = RequestFacts {
            app,
            method: req.method().clone(),
            path: if recorded {
                req.uri().path().to_string()
            } else {
                String::new()
            },
            host: if recorded {
                req.headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            } else {
                String::new()
            },
            peer,
            at: SystemTime::now(),
            request_id: String::new(),
        };
        let upgrade = requested_upgrade(&req);
        let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));

        let (mut parts, body) = req.into_parts();
        let retryable = has_no_body(&parts);
        let client_body_failed = Arc::new(AtomicBool::new(false));
        let body = if retryable {
            body
        } else {
            watch_body(body, client_body_failed.clone())
        };
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
        if parts.uri.authority().is_some() {
            // An absolute-form or HTTP/2 target: the process gets the origin form, and the
            // Host it named.
            if !parts.headers.contains_key(http::header::HOST) {
                if let Some(host) = parts
                    .uri
                    .authority()
                    .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
                {
                    parts.headers.insert(http::header::HOST, host);
                }
            }
            parts.uri = origin_form(&parts.uri);
        }
        let mut body = Some(body);
        let mut tried: Vec<SocketAddr> = Vec::new();
        let mut last_error: Option<RouterError> = None;
        let hold_until = started + self.config.hold_timeout;
        let mut changes = self.table.changes();

        loop {
            changes.borrow_and_update();
            let table = self.table.snapshot();
            let Some(route) = table.apps.get(app) else {
                return self.fail(RouterError::NoSuchApp, facts, None);
            };
            if let Some(maintenance) = &route.maintenance {
                return self.fail(
                    RouterError::Maintenance,
                    facts,
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
                return self.fail(error, facts, None);
            };
            tried.push(backend.addr);
            let Some(this_body) = body.take().or_else(|| retryable.then(Body::empty)) else {
                return self.fail(last_error.unwrap_or(RouterError::AppCrashed), facts, None);
            };
            let in_flight = {
                let counter = self.table.counter(backend.addr);
                counter.fetch_add(1, Ordering::Relaxed);
                InFlight(counter)
            };
            let connect_started = Instant::now();
            let connection = match self
                .pool
                .checkout(backend.addr, self.config.connect_timeout)
                .await
            {
                Ok(connection) => connection,
                Err(err) => {
                    tracing::warn!(target: "router", app, dyno = %backend.dyno, "{err}; setting the process aside");
                    self.stats
                        .bench(backend.addr, Instant::now() + self.config.bench_time);
                    last_error = Some(RouterError::AppCrashed);
                    // Nothing was sent: the request, body and all, can go to another process.
                    body = Some(this_body);
                    continue;
                }
            };
            let fresh = connection.fresh;
            let sent_at = Instant::now();
            let connect = sent_at.duration_since(connect_started);
            let forward = Request::from_parts(parts, this_body);
            match tokio::time::timeout(self.config.response_timeout, connection.send(forward)).await
            {
                Ok(Sent::Answered(mut response, mut returner)) => {
                    let service = sent_at.elapsed();
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        returner.discard();
                        if let Some(client_upgrade) = client_upgrade {
                            let backend_upgrade = hyper::upgrade::on(&mut response);
                            tokio::spawn(tunnel(client_upgrade, backend_upgrade, in_flight));
                        }
                        let (head, _) = response.into_parts();
                        self.log_request(facts, backend, &head, connect, service);
                        return Response::from_parts(head, Body::empty());
                    }
                    let (mut head, incoming) = response.into_parts();
                    strip_hop_by_hop(&mut head.headers);
                    self.log_request(facts, backend, &head, connect, service);
                    let body = ProxiedBody {
                        inner: IdleTimeout::new(incoming, self.config.idle_timeout),
                        returner,
                        _in_flight: in_flight,
                    };
                    return Response::from_parts(head, Body::new(body));
                }
                Ok(Sent::Unsent(request)) => {
                    // The pooled connection had been closed by the process; nothing left.
                    let (head, unsent) = request.into_parts();
                    parts = head;
                    body = Some(unsent);
                    if fresh {
                        self.stats
                            .bench(backend.addr, Instant::now() + self.config.bench_time);
                        last_error = Some(RouterError::AppCrashed);
                    } else {
                        tried.pop();
                    }
                }
                Ok(Sent::Failed(_)) if client_body_failed.load(Ordering::Relaxed) => {
                    return self.fail(RouterError::BadRequestBody, facts, None);
                }
                Ok(Sent::Failed(err)) => {
                    tracing::warn!(target: "router", app, dyno = %backend.dyno, "connection closed without response: {err}");
                    return self.fail(RouterError::ConnectionClosed, facts, None);
                }
                Err(_) => return self.fail(RouterError::Timeout, facts, None),
            }
        }
    }

    fn log_request(
        &self,
        facts: RequestFacts<'_>,
        backend: &Backend,
        head: &http::response::Parts,
        connect: Duration,
        service: Duration,
    ) {
        if self.records.is_none() && !tracing::enabled!(target: "router", tracing::Level::DEBUG) {
            return;
        }
        let bytes = head
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        self.record(&RequestRecord {
            app: facts.app,
            at: facts.at,
            method: facts.method.as_str(),
            path: &facts.path,
            host: &facts.host,
            request_id: &facts.request_id,
            client: facts.peer.ip(),
            dyno: Some(&backend.dyno),
            connect_ms: millis(connect),
            service_ms: millis(service),
            status: head.status.as_u16(),
            bytes,
            error: None,
        });
    }

    /// Hands the record to the app's log when there is one; else it is only a debug line of
    /// paasd's own log (never one line per request there by default).
    pub(crate) fn record(&self, record: &RequestRecord<'_>) {
        match &self.records {
            Some(sink) => sink.offer(record),
            None => tracing::debug!(target: "router", app = record.app, "{record}"),
        }
    }

    /// Two random choices among usable processes, the one with fewer requests in flight wins.
    /// Processes set aside are used only when nothing else is left.
    pub(crate) fn pick<'a>(
        &self,
        backends: &'a [Backend],
        tried: &[SocketAddr],
    ) -> Option<&'a Backend> {
        let now = Instant::now();
        let untried = |b: &&Backend| !tried.contains(&b.addr);
        let usable = |b: &&Backend| untried(b) && !self.stats.is_benched(b.addr, now);
        let count = backends.iter().filter(usable).count();
        let choose = |n: usize, keep: &dyn Fn(&&Backend) -> bool| -> Option<&'a Backend> {
            match n {
                0 => None,
                1 => backends.iter().find(|b| keep(b)),
                n => {
                    let mut rng = rand::thread_rng();
                    let a = backends
                        .iter()
                        .filter(|b| keep(b))
                        .nth(rng.gen_range(0..n))?;
                    let b = backends
                        .iter()
                        .filter(|b| keep(b))
                        .nth(rng.gen_range(0..n))?;
                    let load = |x: &Backend| self.table.in_flight(x.addr);
                    Some(if load(b) < load(a) { b } else { a })
                }
            }
        };
        if count > 0 {
            return choose(count, &usable);
        }
        choose(backends.iter().filter(untried).count(), &untried)
    }

    fn fail(
        &self,
        error: RouterError,
        facts: RequestFacts<'_>,
        page: Option<&str>,
    ) -> Response<Body> {
        if self.records.is_none() && !tracing::enabled!(target: "router", tracing::Level::DEBUG) {
            return error.page(page);
        }
        self.record(&RequestRecord::router_error(
            facts.app,
            facts.at,
            facts.method.as_str(),
            &facts.path,
            &facts.host,
            &facts.request_id,
            facts.peer.ip(),
            error,
        ));
        error.page(page)
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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

/// The path and query of `uri`, as an origin-form target.
fn origin_form(uri: &Uri) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.path_and_query = Some(
        uri.path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"))
}

/// A response body from a process: cut when idle too long; it keeps the process counted as
/// busy until it has been sent, and gives the connection back to the pool at its end.
struct ProxiedBody {
    inner: IdleTimeout<hyper::body::Incoming>,
    returner: Returner,
    _in_flight: InFlight,
}

impl hyper::body::Body for ProxiedBody {
    type Data = bytes::Bytes;
    type Error = crate::idle::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            std::task::Poll::Ready(None) => this.returner.release(),
            std::task::Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => {
                this.returner.release()
            }
            std::task::Poll::Ready(Some(Err(_))) => this.returner.discard(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
