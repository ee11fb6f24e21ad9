//! Git smart HTTP: ref advertisement and the receive-pack / upload-pack exchanges, served by
//! running the real `git` in stateless-RPC mode on the app's bare repository.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::git::pushes::PushGrant;
use crate::git::settle::{settle_pushes, Settled};
use crate::routes::app_for_user;
use crate::state::ApiState;
use async_compression::tokio::bufread::GzipDecoder;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio_util::io::{ReaderStream, StreamReader};

#[derive(serde::Deserialize)]
pub struct ServiceQuery {
    service: Option<String>,
}

/// `receive-pack` or `upload-pack`.
fn git_service(name: &str) -> Result<&'static str, ApiError> {
    match name {
        "git-receive-pack" => Ok("receive-pack"),
        "git-upload-pack" => Ok("upload-pack"),
        _ => Err(ApiError::Forbidden(
            "Only git's smart HTTP protocol is supported.".to_string(),
        )),
    }
}

fn app_from_repo(repo: &str) -> &str {
    repo.strip_suffix(".git").unwrap_or(repo)
}

fn pkt_line(text: &str) -> String {
    format!("{:04x}{text}", text.len() + 4)
}

pub async fn info_refs(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(repo): Path<String>,
    Query(query): Query<ServiceQuery>,
) -> Result<Response, ApiError> {
    let app = app_for_user(&state, &user, app_from_repo(&repo)).await?;
    let service_name = query.service.unwrap_or_default();
    let service = git_service(&service_name)?;
    let output = Command::new("git")
        .args([service, "--stateless-rpc", "--advertise-refs"])
        .arg(state.config.repo_path(&app.name))
        .output()
        .await
        .map_err(ApiError::internal)?;
    if !output.status.success() {
        return Err(ApiError::internal(format!(
            "git {service} --advertise-refs failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let mut body = pkt_line(&format!("# service={service_name}\n")).into_bytes();
    body.extend_from_slice(b"0000");
    body.extend_from_slice(&output.stdout);
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                format!("application/x-{service_name}-advertisement"),
            ),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        body,
    )
        .into_response())
}

pub async fn receive_pack(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(repo): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app = app_for_user(&state, &user, app_from_repo(&repo)).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > state.config.max_push_bytes) {
        return Err(ApiError::PayloadTooLarge(format!(
            "This push is larger than the limit of {} MiB.",
            state.config.max_push_bytes / (1024 * 1024)
        )));
    }
    let token = state.pushes.grant(PushGrant {
        app: app.name.clone(),
        user_id: user.id,
        user_email: user.email.clone(),
    });
    let mut command = Command::new("git");
    command
        .arg("-c")
        .arg(format!(
            "receive.maxInputSize={}",
            state.config.max_push_bytes
        ))
        .args(["receive-pack", "--stateless-rpc"])
        .arg(state.config.repo_path(&app.name))
        .env("PAAS_HOOK_URL", &state.config.hook_url)
        .env("PAAS_HOOK_TOKEN", &token)
        .env("PAAS_HOOK_BIN", &state.config.hook_bin);
    let result = stateless_rpc(command, &headers, body, "git-receive-pack").await;
    match result {
        Ok((response, child)) => {
            let state = state.clone();
            tokio::spawn(async move {
                let _ = child.await;
                finish_push(&state, app.id, &token).await;
            });
            Ok(response)
        }
        Err(e) => {
            finish_push(&state, app.id, &token).await;
            Err(e)
        }
    }
}

/// After receive-pack has exited: waits for the deploys its hook started (they hand back the
/// app's push lock), then settles their pushes against where git left the branch, and only
/// then lets the next push of the app in.
async fn finish_push(state: &ApiState, app_id: uuid::Uuid, token: &str) {
    let mut locks = Vec::new();
    for deploy in state.pushes.revoke(token) {
        match deploy.await {
            Ok(done) => locks.push(done.push_lock),
            Err(e) => tracing::warn!("deploy task ended abnormally: {e}"),
        }
    }
    if locks.is_empty() {
        return;
    }
    match settle_pushes(state.store.as_ref(), &state.config, Some(app_id)).await {
        Ok(settled) if settled.iter().any(|(_, s)| *s == Settled::Undone) => state.scheduler.wake(),
        Ok(_) => {}
        Err(e) => {
            tracing::error!("could not settle the push (paasd settles it at its next start): {e}")
        }
    }
    drop(locks);
}

pub async fn upload_pack(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(repo): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let app = app_for_user(&state, &user, app_from_repo(&repo)).await?;
    let mut command = Command::new("git");
    command
        .args(["upload-pack", "--stateless-rpc"])
        .arg(state.config.repo_path(&app.name));
    let (response, child) = stateless_rpc(command, &headers, body, "git-upload-pack").await?;
    tokio::spawn(child);
    Ok(response)
}

/// Runs `command` with the request body (gunzipped when needed) on stdin and streams its
/// stdout back. The returned future ends when the process has exited.
async fn stateless_rpc(
    mut command: Command,
    headers: &HeaderMap,
    body: Body,
    service_name: &str,
) -> Result<
    (
        Response,
        impl std::future::Future<Output = ()> + Send + 'static,
    ),
    ApiError,
> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(ApiError::internal)?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(ApiError::internal("git's pipes are missing"));
    };
    let gzipped = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let raw = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let mut input: Box<dyn AsyncRead + Send + Unpin> = if gzipped {
        Box::new(GzipDecoder::new(BufReader::new(raw)))
    } else {
        Box::new(raw)
    };
    tokio::spawn(async move {
        if let Err(e) = tokio::io::copy(&mut input, &mut stdin).await {
            tracing::warn!("push body ended early: {e}");
        }
        let _ = stdin.shutdown().await;
    });
    let mut response = Response::new(Body::from_stream(ReaderStream::new(stdout)));
    if let Ok(value) = HeaderValue::from_str(&format!("application/x-{service_name}-result")) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let done = async move {
        let _ = child.wait().await;
    };
    Ok((response, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkt_lines() {
        assert_eq!(
            pkt_line("# service=git-receive-pack\n"),
            "001f# service=git-receive-pack\n"
        );
        assert_eq!(app_from_repo("hello.git"), "hello");
        assert!(git_service("git-receive-pack").is_ok());
        assert!(git_service("other").is_err());
    }
}
