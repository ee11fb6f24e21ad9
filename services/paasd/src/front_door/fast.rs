//! The accept loop with the router's fast path (`PAAS_ROUTER_FAST_PATH`): each connection is
//! served by `Proxy::serve_fast` (plain HTTP/1.1 requests to apps, no buffer held while idle)
//! until a request needs the full path; hyper then serves the rest of the connection, the
//! bytes read so far first, exactly as `dispatch::serve` serves every connection (the same
//! host rule, routing, API runtime, caps and timeouts).

use super::idle::{self, Activity};
use super::io::{TrackedBody, TrackedIo};
use super::limits::ConnectionLimiter;
use super::FrontDoorConfig;
use crate::dispatch::Dispatch;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use paas_router::FastOptions;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

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
                        let response = dispatch.handle(req, peer).await;
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
