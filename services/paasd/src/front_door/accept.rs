//! What both accept loops share (hyper alone in `dispatch.rs`, the fast path first in
//! `fast.rs`): accepting under the connection caps, and serving a connection on hyper with the
//! front door's timeouts and in-flight tracking.

use super::idle::{self, Activity};
use super::io::{TrackedBody, TrackedIo};
use super::limits::{ConnectionLimiter, ConnectionPermit};
use super::FrontDoorConfig;
use crate::dispatch::Dispatch;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections forever, handing each to `serve` with its permit. A connection over a
/// cap is closed at once; a failed accept (out of descriptors) is retried shortly after.
pub async fn accept_forever(
    listener: &TcpListener,
    limiter: &ConnectionLimiter,
    mut serve: impl FnMut(TcpStream, SocketAddr, ConnectionPermit),
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
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
        serve(stream, peer, permit);
    }
}

/// hyper's server for the front door: HTTP/1 and 2, the header timeout on HTTP/1.
pub fn hyper_builder(config: &FrontDoorConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Serves `io` on hyper until it ends: each request through `dispatch`, the permit held until
/// the socket is dropped, the idle and header timeouts of `config` applied.
pub async fn serve_hyper<T>(
    builder: &auto::Builder<TokioExecutor>,
    dispatch: Arc<Dispatch>,
    io: T,
    peer: SocketAddr,
    permit: ConnectionPermit,
    config: &FrontDoorConfig,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new(Instant::now());
    let io = TrackedIo::new(io, activity.clone(), Some(permit));
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
}
