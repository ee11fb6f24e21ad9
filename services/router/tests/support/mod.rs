//! What the router's tests share: a real HTTP server on a fresh port for a handler (used both
//! as an app process and to serve the router itself).

use axum::body::Body;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves `handler` on a fresh port, one connection task per client.
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req, peer).await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A router for app `app` in front of `proxy` on a fresh port, as paasd's front door serves
/// it: with `fast`, each connection on the fast path until a request needs hyper, which
/// then serves the rest of it (the bytes already read first); else hyper alone.
#[allow(dead_code)] // not every test binary uses it
pub async fn serve_router(proxy: paas_router::Proxy, app: &'static str, fast: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = paas_router::FastOptions {
        domain: "localhost".to_string(),
        local_port: 8080,
        header_timeout: std::time::Duration::from_secs(5),
        idle_timeout: std::time::Duration::from_secs(30),
        park_after: None,
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let proxy = proxy.clone();
            let options = options.clone();
            tokio::spawn(async move {
                let service = {
                    let proxy = proxy.clone();
                    hyper::service::service_fn(move |req: Request<Incoming>| {
                        let proxy = proxy.clone();
                        async move {
                            let req = req.map(|b| {
                                Body::new(http_body_util::BodyExt::map_err(b, axum::Error::new))
                            });
                            Ok::<_, Infallible>(proxy.handle(app, req, peer, 8080).await)
                        }
                    })
                };
                let builder = auto::Builder::new(TokioExecutor::new());
                if fast {
                    let resume = paas_router::Resume::accepted(std::time::Instant::now(), &options);
                    if let paas_router::FastEnd::Fallback(rest) =
                        proxy.serve_fast(stream, peer, &options, resume).await
                    {
                        let _ = builder
                            .serve_connection_with_upgrades(TokioIo::new(rest), service)
                            .await;
                    }
                } else {
                    let _ = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await;
                }
            });
        }
    });
    addr
}
