//! Builds: `GET /api/apps/{app}/builds` lists them newest first (status, commit, duration);
//! `GET /api/apps/{app}/builds/{id}/output` is one build's output as plain text (`latest`
//! for the newest), streamed while its push still runs (the build, then the rollout) and
//! ended when it has.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::routes::app_for_user;
use crate::state::ApiState;
use crate::views::rfc3339;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::Json;
use paas_domain::builds::BuildInfo;
use paas_store::{App, Build, BuildStatus};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

/// How often a running build's output file is read for new lines.
const POLL: Duration = Duration::from_millis(200);

fn status(status: BuildStatus) -> &'static str {
    match status {
        BuildStatus::Pending => "pending",
        BuildStatus::Succeeded => "succeeded",
        BuildStatus::Failed => "failed",
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<BuildInfo>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let builds = state.store.list_builds(app.id).await?;
    let versions: HashMap<Uuid, i64> = state
        .store
        .list_releases(app.id)
        .await?
        .into_iter()
        .map(|r| (r.id, r.version))
        .collect();
    let now = now_ms();
    Ok(Json(
        builds
            .iter()
            .map(|b| BuildInfo {
                id: b.id.to_string(),
                status: status(b.status).to_string(),
                commit: b.commit.clone(),
                created_at: rfc3339(b.created_at),
                duration_secs: (b.finished_at.unwrap_or(now) - b.created_at).max(0) as f64 / 1000.0,
                release_version: b.release_id.and_then(|id| versions.get(&id).copied()),
            })
            .collect(),
    ))
}

async fn find(state: &ApiState, app: &App, id: &str) -> Result<Build, ApiError> {
    let builds = state.store.list_builds(app.id).await?;
    let found = if id == "latest" {
        builds.into_iter().next()
    } else {
        let id = id.to_ascii_lowercase();
        let matching: Vec<Build> = builds
            .into_iter()
            .filter(|b| {
                b.id.to_string().starts_with(&id) || b.id.simple().to_string().starts_with(&id)
            })
            .collect();
        if matching.len() > 1 {
            return Err(ApiError::Invalid(format!(
                "Several builds start with {id}; give more of the ID."
            )));
        }
        matching.into_iter().next()
    };
    found.ok_or_else(|| ApiError::NotFound("Couldn't find that build.".to_string()))
}

pub async fn output(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let build = find(&state, &app, &id).await?;
    let app_name = app.name.to_string();
    let kept = state
        .logs
        .read_build_output(&app_name, build.id, 0)
        .map_err(ApiError::internal)?;
    if kept.is_none() && build.status != BuildStatus::Pending {
        return Err(ApiError::NotFound(
            "No output was kept for that build (older builds' output is deleted).".to_string(),
        ));
    }
    let (first, offset) = kept.unwrap_or_default();
    let body = if build.status == BuildStatus::Pending || state.logs.build_output_open(build.id) {
        let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(16);
        tokio::spawn(follow(
            state.clone(),
            app.id,
            app_name,
            build.id,
            first,
            offset,
            tx,
        ));
        Body::from_stream(ReceiverStream::new(rx))
    } else {
        Body::from(first)
    };
    Response::builder()
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .map_err(ApiError::internal)
}

/// Sends a running build's output as it grows, until the build has ended and all of its
/// output is sent, or the client goes.
async fn follow(
    state: Arc<ApiState>,
    app_id: Uuid,
    app: String,
    build: Uuid,
    first: Vec<u8>,
    mut offset: u64,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
) {
    if !first.is_empty() && tx.send(Ok(Bytes::from(first))).await.is_err() {
        return;
    }
    loop {
        let status = match state.store.list_builds(app_id).await {
            Ok(builds) => builds.into_iter().find(|b| b.id == build).map(|b| b.status),
            Err(_) => Some(BuildStatus::Pending),
        };
        // The rollout after a build still writes to its output (launching, deployed).
        let ended = status != Some(BuildStatus::Pending) && !state.logs.build_output_open(build);
        if let Ok(Some((bytes, next))) = state.logs.read_build_output(&app, build, offset) {
            offset = next;
            if !bytes.is_empty() && tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tx.closed() => return,
        }
    }
}
