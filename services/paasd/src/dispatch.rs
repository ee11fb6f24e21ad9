//! The front door on the HTTP port: app hosts go to the router's proxy, every other host to the
//! platform's API. Connections are served by hyper directly (TCP_NODELAY, HTTP/1 and 2).

use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use paas_router::{classify_host, HostTarget, Proxy};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;

pub struct Dispatch {
    pub domain: String,
    pub proxy: Proxy,
    pub api: axum::Router,
    pub local_port: u16,
}

impl Dispatch {
    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let host = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()))
            .unwrap_or("")
            .to_string();
        let mut req = req.map(|b| Body::new(b.map_err(axum::Error::new)));
        req.extensions_mut().insert(paas_api::ClientAddr(peer));
        match classify_host(&host, &self.domain) {
            HostTarget::App(app) => self.proxy.handle(&app, req, peer, self.local_port).await,
            HostTarget::Platform => match self.api.clone().oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
        }
    }
}

/// Accepts connections forever.
pub async fn serve(listener: TcpListener, dispatch: Arc<Dispatch>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let dispatch = dispatch.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let dispatch = dispatch.clone();
                async move { Ok::<_, Infallible>(dispatch.handle(req, peer).await) }
            });
            if let Err(e) = auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}
