//! The reverse proxy: picks one of the app's web processes (fewest in-flight requests of two
//! random choices), forwards the request with the forwarded headers, and answers with a router
//! error page when no process can take it. A process that refuses connections is set aside for
//! a few seconds and, when the request has no body, the request is retried on another one. A
//! client whose own request body fails (malformed chunked encoding) gets 400, not an app error.

use crate::headers::{add_forwarded, strip_hop_by_hop, ForwardedFor};
use crate::pages::RouterError;
use crate::table::{Backend, RouteTableHandle};
use axum::body::Body;
use http::{Method, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::Rng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub connect_timeout: Duration,
    /// Time allowed until the response head arrives.
    pub response_timeout: Duration,
    /// How long a process that refused a connection is left out.
    pub bench_time: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
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
        map.insert(addr, until);
    }
}

#[derive(Clone)]
pub struct Proxy {
    table: RouteTableHandle,
    client: Client<HttpConnector, Body>,
    config: ProxyConfig,
    stats: Arc<BackendStats>,
}

/// Decrements a process's in-flight count when the request is over.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Proxy {
    pub fn new(table: RouteTableHandle, config: ProxyConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(55))
            .build(connector);
        Self {
            table,
            client,
            config,
            stats: Arc::default(),
        }
    }

    /// Proxies one request for `app`. `peer` is the client's address, `local_port` the port it
    /// connected to.
    pub async fn handle(
        &self,
        app: &str,
        req: Request<Body>,
        peer: SocketAddr,
        local_port: u16,
    ) -> Response<Body> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let table = self.table.snapshot();
        let Some(route) = table.apps.get(app) else {
            return self.fail(RouterError::NoSuchApp, app, &method, &path, &host, peer);
        };
        if route.backends.is_empty() {
            return self.fail(
                RouterError::NoWebProcesses,
                app,
                &method,
                &path,
                &host,
                peer,
            );
        }

        let (mut parts, body) = req.into_parts();
        let client_body_failed = Arc::new(AtomicBool::new(false));
        let body = watch_body(body, client_body_failed.clone());
        let retryable = has_no_body(&parts);
        strip_hop_by_hop(&mut parts.headers);
        let request_start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let request_id = add_forwarded(
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
        let mut last_error = RouterError::BackendUnreachable;

        while let Some(backend) = self.pick(&route.backends, &tried) {
            tried.push(backend.addr);
            let Some(this_body) = body.take().or_else(|| retryable.then(Body::empty)) else {
                break;
            };
            let mut forward = Request::from_parts(parts.clone(), this_body);
            *forward.uri_mut() = backend_uri(backend.addr, &parts.uri);
            let _in_flight = {
                let counter = self.table.counter(backend.addr);
                counter.fetch_add(1, Ordering::Relaxed);
                InFlight(counter)
            };
            let connect_started = Instant::now();
            match tokio::time::timeout(self.config.response_timeout, self.client.request(forward))
                .await
            {
                Ok(Ok(response)) => {
                    let service = connect_started.elapsed();
                    let (mut head, incoming) = response.into_parts();
                    strip_hop_by_hop(&mut head.headers);
                    let bytes = head
                        .headers
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_string();
                    tracing::info!(
                        target: "router",
                        app,
                        "at=info method={method} path=\"{path}\" host={host} request_id={request_id} fwd=\"{ip}\" dyno={dyno} connect={connect}ms service={service}ms status={status} bytes={bytes}",
                        ip = peer.ip(),
                        dyno = backend.dyno,
                        connect = connect_started.duration_since(started).as_millis(),
                        service = service.as_millis(),
                        status = head.status.as_u16(),
                    );
                    return Response::from_parts(head, Body::new(incoming));
                }
                Ok(Err(err)) if err.is_connect() => {
                    tracing::warn!(target: "router", app, dyno = %backend.dyno, "connection refused, setting process aside: {err}");
                    self.stats
                        .bench(backend.addr, Instant::now() + self.config.bench_time);
                    last_error = RouterError::BackendUnreachable;
                }
                Ok(Err(err)) if client_body_failed.load(Ordering::Relaxed) => {
                    tracing::info!(target: "router", app, dyno = %backend.dyno, "the client's request body failed: {err}");
                    return self.fail(
                        RouterError::BadRequestBody,
                        app,
                        &method,
                        &path,
                        &host,
                        peer,
                    );
                }
                Ok(Err(err)) => {
                    tracing::warn!(target: "router", app, dyno = %backend.dyno, "connection closed without response: {err}");
                    return self.fail(
                        RouterError::BackendUnreachable,
                        app,
                        &method,
                        &path,
                        &host,
                        peer,
                    );
                }
                Err(_) => {
                    return self.fail(RouterError::Timeout, app, &method, &path, &host, peer);
                }
            }
            if !retryable {
                break;
            }
        }
        self.fail(last_error, app, &method, &path, &host, peer)
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
        app: &str,
        method: &Method,
        path: &str,
        host: &str,
        peer: SocketAddr,
    ) -> Response<Body> {
        tracing::warn!(
            target: "router",
            app,
            "at=error code={code} desc=\"{desc}\" method={method} path=\"{path}\" host={host} fwd=\"{ip}\" status={status}",
            code = error.code(),
            desc = error.status().canonical_reason().unwrap_or(""),
            ip = peer.ip(),
            status = error.status().as_u16(),
        );
        error.response()
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
