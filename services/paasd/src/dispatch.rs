//! The front door on the HTTP port: app hosts go to the router's proxy, every other host to the
//! platform's API. Connections are served by hyper directly (TCP_NODELAY, HTTP/1 and 2), within
//! the caps and timeouts of `front_door`; a request that names its host ambiguously gets 400.

use crate::front_door::accept;
use crate::front_door::host::request_host;
use crate::front_door::limits::ConnectionLimiter;
use crate::front_door::FrontDoorConfig;
use axum::body::Body;
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use paas_api::ApiError;
use paas_router::{classify_host, HostTarget, Proxy};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;

#[derive(Clone)]
pub struct Dispatch {
    pub domain: String,
    pub proxy: Proxy,
    pub api: axum::Router,
    pub local_port: u16,
    /// The runtime platform requests run on, when connections are served on threads of
    /// their own (`front_door::threads`): the API's tasks, database pools and one-off
    /// sessions stay on the main runtime.
    pub api_runtime: Option<tokio::runtime::Handle>,
}

impl Dispatch {
    /// The one-Host rule, then an app's router or the platform (both accept loops).
    pub(crate) async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let host = match request_host(req.headers(), req.uri()) {
            Ok(host) => host,
            Err(e) => {
                tracing::info!("refused a request from {}: {e}", peer.ip());
                return ApiError::BadRequest(e.to_string()).into_response();
            }
        };
        let req = req.map(|b| Body::new(b.map_err(axum::Error::new)));
        match classify_host(&host, &self.domain) {
            HostTarget::App(app) => {
                self.proxy
                    .handle(app.as_str(), req, peer, self.local_port)
                    .await
            }
            HostTarget::Platform => match self.proxy.app_for_domain(&host) {
                // A custom domain (`paas domains:add`) goes to its app.
                Some(app) => self.proxy.handle(&app, req, peer, self.local_port).await,
                None => self.platform(req, peer).await,
            },
        }
    }
}

impl Dispatch {
    /// A request for the platform itself, on the API's runtime.
    async fn platform(&self, mut req: Request<Body>, peer: SocketAddr) -> Response<Body> {
        req.extensions_mut().insert(paas_api::ClientAddr(peer));
        let api = self.api.clone();
        let answer = async move {
            match api.oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        };
        match &self.api_runtime {
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
}

/// Accepts connections forever, each served by hyper alone. A connection over a cap is
/// closed at once.
pub async fn serve(
    listener: TcpListener,
    dispatch: Arc<Dispatch>,
    config: FrontDoorConfig,
    limiter: ConnectionLimiter,
) -> std::io::Result<()> {
    let builder = Arc::new(accept::hyper_builder(&config));
    accept::accept_forever(&listener, &limiter, |stream, peer, permit| {
        let dispatch = dispatch.clone();
        let builder = builder.clone();
        tokio::spawn(async move {
            accept::serve_hyper(&builder, dispatch, stream, peer, permit, &config).await;
        });
    })
    .await;
    Ok(())
}
