//! The accept loop with the router's fast path (`PAAS_ROUTER_FAST_PATH`): each connection is
//! served by `Proxy::serve_fast` (plain HTTP/1.1 requests to apps, no buffer held while idle)
//! until a request needs the full path; hyper then serves the rest of the connection, the
//! bytes read so far first, exactly as `dispatch::serve` serves every connection (the same
//! host rule, routing, API runtime, caps and timeouts).

use super::host::request_host;
use super::idle::{self, Activity};
use super::io::{TrackedBody, TrackedIo};
use super::limits::ConnectionLimiter;
use super::FrontDoorConfig;
use crate::dispatch::Dispatch;
use axum::body::Body;
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use paas_api::ApiError;
use paas_router::{classify_host, FastOptions, HostTarget};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Accepts connections forever. A connection over a cap is closed at once.
pub async fn serve(
    listener: TcpListener,
    dispatch: Arc<Dispatch>,
    config: FrontDoorConfig,
    limiter: ConnectionLimiter,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let options = Arc::new(FastOptions {
        domain: dispatch.domain.clone(),
        local_port: dispatch.local_port,
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = match limiter.try_acquire(peer.ip()) {
            Ok(permit) => permit,
            Err(e) => {
                tracing::debug!("closed a connection at once: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let dispatch = dispatch.clone();
        let builder = builder.clone();
        let options = options.clone();
        tokio::spawn(async move {
            let Some(rest) = dispatch.proxy.serve_fast(stream, peer, &options).await else {
                return;
            };
            // The hyper path, from the request the fast path did not take (boxed: an idle
            // connection's task stays as small as the fast path's state).
            Box::pin(async move {
                let activity = Activity::new(Instant::now());
                let io = TrackedIo::new(rest, activity.clone(), Some(permit));
                let requests = activity.clone();
                let service = hyper::service::service_fn(move |req| {
                    let dispatch = dispatch.clone();
                    let in_flight = requests.request_started();
                    async move {
                        let response = handle(&dispatch, req, peer).await;
                        Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, in_flight)))
                    }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
                idle::drive(conn, activity, config.timeouts()).await;
            })
            .await;
        });
    }
}

/// `Dispatch::handle`: the one-Host rule, then an app's router or the platform.
async fn handle(dispatch: &Dispatch, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let host = match request_host(req.headers(), req.uri()) {
        Ok(host) => host,
        Err(e) => {
            tracing::info!("refused a request from {}: {e}", peer.ip());
            return ApiError::BadRequest(e.to_string()).into_response();
        }
    };
    let req = req.map(|b| Body::new(b.map_err(axum::Error::new)));
    let proxy = &dispatch.proxy;
    match classify_host(&host, &dispatch.domain) {
        HostTarget::App(app) => {
            proxy
                .handle(app.as_str(), req, peer, dispatch.local_port)
                .await
        }
        HostTarget::Platform => match proxy.app_for_domain(&host) {
            Some(app) => proxy.handle(&app, req, peer, dispatch.local_port).await,
            None => platform(dispatch, req, peer).await,
        },
    }
}

/// `Dispatch::platform`: a request for the platform itself, on the API's runtime.
async fn platform(dispatch: &Dispatch, mut req: Request<Body>, peer: SocketAddr) -> Response<Body> {
    req.extensions_mut().insert(paas_api::ClientAddr(peer));
    let api = dispatch.api.clone();
    let answer = async move {
        match api.oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    };
    match &dispatch.api_runtime {
        None => answer.await,
        Some(runtime) => match runtime.spawn(answer).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!("a platform request failed: {e}");
                ApiError::Internal(e.to_string()).into_response()
            }
        },
    }
}
