//! `POST /internal/hooks/pre-receive`: called by the app repository's `pre-receive` hook with
//! its push grant; streams the build and deploy output back as plain text lines, ending with
//! a result line. The deploy is attached to the grant, so the end of the receive-pack run
//! settles it.

use crate::error::ApiError;
use crate::git::{deploy, HookRequest};
use crate::json::ApiJson;
use crate::state::ApiState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

pub async fn pre_receive(
    State(state): State<Arc<ApiState>>,
    ApiJson(request): ApiJson<HookRequest>,
) -> Result<Response, ApiError> {
    let token = request.token.clone();
    let grant = state.pushes.get(&token).ok_or(ApiError::Unauthorized)?;
    let (tx, rx) = mpsc::channel::<String>(256);
    let deploy = tokio::spawn(deploy::run(state.clone(), grant, request, tx));
    if let Err(deploy) = state.pushes.attach(&token, deploy) {
        deploy.abort();
        return Err(ApiError::Unauthorized);
    }
    let stream = ReceiverStream::new(rx)
        .map(|line| Ok::<Bytes, std::convert::Infallible>(Bytes::from(line + "\n")));
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}
