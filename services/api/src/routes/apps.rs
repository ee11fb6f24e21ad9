//! Apps: list, create (with a random readable name when none is given), info, destroy.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use crate::views::app_info;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use paas_domain::api::{AppInfo, CreateApp};
use paas_domain::AppName;
use paas_store::{App, StoreError, User};
use rand::Rng;
use std::sync::Arc;

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
) -> Result<Json<Vec<AppInfo>>, ApiError> {
    let apps = state.store.list_apps_for_user(user.id).await?;
    let mut infos = Vec::with_capacity(apps.len());
    for app in &apps {
        infos.push(app_info(&state, app, &headers).await?);
    }
    Ok(Json(infos))
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateApp>,
) -> Result<(StatusCode, Json<AppInfo>), ApiError> {
    let app = match body.name.filter(|n| !n.is_empty()) {
        Some(raw) => {
            let name = AppName::parse(&raw)
                .map_err(|e| ApiError::Invalid(format!("Invalid app name {raw:?}: {e}.")))?;
            create_named(&state, &user, &name)
                .await?
                .ok_or_else(|| ApiError::Conflict(format!("Name {name} is already taken.")))?
        }
        None => create_random(&state, &user).await?,
    };
    let repo = state.config.repo_path(&app.name);
    let init = tokio::task::spawn_blocking(move || paas_builder::init_app_repo(&repo))
        .await
        .map_err(ApiError::internal)
        .and_then(|r| r.map_err(ApiError::internal));
    if let Err(e) = init {
        // Keep stored state consistent: no app without its repository.
        let _ = state.store.delete_app(app.id).await;
        return Err(e);
    }
    tracing::info!(app = %app.name, user = %user.email, "app created");
    Ok((
        StatusCode::CREATED,
        Json(app_info(&state, &app, &headers).await?),
    ))
}

/// `Ok(None)` when the name is taken.
async fn create_named(
    state: &ApiState,
    user: &User,
    name: &AppName,
) -> Result<Option<App>, ApiError> {
    match state.store.create_app(name, user.id).await {
        Ok(app) => Ok(Some(app)),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn create_random(state: &ApiState, user: &User) -> Result<App, ApiError> {
    for _ in 0..20 {
        let words = petname::petname(2, "-").unwrap_or_else(|| "quiet-river".to_string());
        let number: u16 = rand::thread_rng().gen_range(10..10_000);
        let Ok(name) = AppName::parse(&format!("{words}-{number}")) else {
            continue;
        };
        if let Some(app) = create_named(state, user, &name).await? {
            return Ok(app);
        }
    }
    Err(ApiError::internal("could not find a free app name"))
}

pub async fn info(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AppInfo>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    Ok(Json(app_info(&state, &app, &headers).await?))
}

/// Removes the app's records, its processes (the host answers 404 at once), its images, its
/// build cache and its repository.
pub async fn destroy(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    if app.owner_id != user.id {
        return Err(ApiError::Forbidden(
            "Only the app's owner can destroy it.".to_string(),
        ));
    }
    let lock = state.push_lock(&app.name);
    let _pushing = lock.lock().await;
    let images: Vec<String> = state
        .store
        .list_releases(app.id)
        .await?
        .into_iter()
        .map(|r| r.image)
        .collect();
    state.store.delete_app(app.id).await?;
    state.routes.remove_app(&app.name);
    if let Err(e) = state.scheduler.reconcile().await {
        tracing::warn!(app = %app.name, "processes will be removed by the next pass: {e}");
    }
    if let Err(e) = state.scheduler.remove_app_network(&app.name).await {
        tracing::warn!(app = %app.name, "could not remove the app's network: {e}");
    }
    if let Err(e) = state.logs.forget(&app.name) {
        tracing::warn!(app = %app.name, "could not delete the app's log: {e}");
    }
    state.telemetry.drains.forget_app(&app.name);
    state.telemetry.metrics.lock().forget(&app.name);
    for image in images {
        if let Err(e) = state.runtime.remove_image(&image).await {
            tracing::warn!(app = %app.name, "could not remove image {image}: {e}");
        }
    }
    if let Err(e) = state
        .runtime
        .remove_volume(&state.config.cache_volume(&app.name))
        .await
    {
        tracing::warn!(app = %app.name, "could not remove build cache: {e}");
    }
    let repo = state.config.repo_path(&app.name);
    if let Err(e) = tokio::fs::remove_dir_all(&repo).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(app = %app.name, "could not remove repository: {e}");
        }
    }
    tracing::info!(app = %app.name, user = %user.email, "app destroyed");
    Ok(StatusCode::NO_CONTENT)
}
