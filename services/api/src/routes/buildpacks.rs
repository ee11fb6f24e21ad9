//! An app's buildpacks (`paas buildpacks`, `buildpacks:set`, `buildpacks:add`,
//! `buildpacks:clear`): the list that overrides `BUILDPACK_URL`, a `.buildpacks` file and
//! detection at the next push; and `buildpacks:detect`, which says what a push of the deploy
//! branch's head would build with, as the push decides it (`paas builder:set`, the app's
//! buildpacks, `BUILDPACK_URL`, `.buildpacks`, else the built-in buildpacks' own `bin/detect`,
//! in a build container).

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::Json;
use paas_builder::BuildError;
use std::collections::BTreeMap;
use std::sync::Arc;

fn validate(urls: &[String]) -> Result<(), ApiError> {
    for url in urls {
        paas_builder::valid_buildpack_spec(url).map_err(|e| ApiError::Invalid(format!("{e}.")))?;
    }
    Ok(())
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    Ok(Json(state.store.app_buildpacks(app.id).await?))
}

/// Replaces the whole list (`buildpacks:set`; an empty list is `buildpacks:clear`).
pub async fn replace(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(urls): ApiJson<Vec<String>>,
) -> Result<Json<Vec<String>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    validate(&urls)?;
    state.store.set_app_buildpacks(app.id, &urls).await?;
    tracing::info!(app = %app.name, user = %user.email, count = urls.len(), "buildpacks set");
    Ok(Json(state.store.app_buildpacks(app.id).await?))
}

/// Appends buildpacks (`buildpacks:add`).
pub async fn add(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(urls): ApiJson<Vec<String>>,
) -> Result<Json<Vec<String>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    if urls.is_empty() {
        return Err(ApiError::Invalid("No buildpack to add.".to_string()));
    }
    validate(&urls)?;
    let mut list = Vec::new();
    for url in &urls {
        list = state.store.add_app_buildpack(app.id, url).await?;
    }
    tracing::info!(app = %app.name, user = %user.email, "buildpack added");
    Ok(Json(list))
}

pub async fn clear(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    state.store.set_app_buildpacks(app.id, &[]).await?;
    tracing::info!(app = %app.name, user = %user.email, "buildpacks cleared");
    Ok(Json(Vec::new()))
}

/// `{"name": ..., "reason": ..., "commit": ...}` of what would build the deploy branch's head;
/// 422 with one line when nothing would (what was looked for, a buildpack that cannot be
/// fetched or does not apply, a forced Dockerfile that is missing).
pub async fn detect(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let repo = state.config.repo_path(&app.name);
    let head = {
        let repo = repo.clone();
        tokio::task::spawn_blocking(move || paas_builder::head_commit(&repo))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let Some(commit) = head else {
        return Err(ApiError::Invalid(
            "Nothing pushed yet: push the app first (git push paas main).".to_string(),
        ));
    };
    let work_dir = state
        .config
        .builds_dir
        .join(format!("detect-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work_dir).map_err(|e| ApiError::Internal(e.to_string()))?;
    let app_name =
        paas_domain::AppName::parse(&app.name).map_err(|e| ApiError::Internal(e.to_string()))?;
    // What chooses the build, read as a push reads it.
    let config = match app.current_release_id {
        Some(id) => state
            .store
            .release_by_id(id)
            .await?
            .map(|release| release.config)
            .unwrap_or_default(),
        None => Default::default(),
    };
    let buildpacks = state.store.app_buildpacks(app.id).await?;
    let method = state.store.app_build_method(app.id).await?;
    let detected = state
        .builder
        .detect_commit(&paas_builder::DetectRequest {
            app: &app_name,
            repo: &repo,
            commit: &commit,
            work_dir: &work_dir,
            config: &config,
            buildpacks: &buildpacks,
            method,
        })
        .await;
    let _ = std::fs::remove_dir_all(&work_dir);
    match detected {
        Ok(d) => Ok(Json(BTreeMap::from([
            ("name".to_string(), d.name),
            ("reason".to_string(), d.reason),
            ("commit".to_string(), commit),
        ]))),
        Err(BuildError::Rejected(message)) => Err(ApiError::Invalid(message)),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
