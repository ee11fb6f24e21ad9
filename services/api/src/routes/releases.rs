//! Releases: list (newest first), one by version, and rollback (a new release copying an
//! older one's image and config; nothing is deleted).

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::releases;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::api::{ReleaseInfo, RollbackRequest};
use paas_domain::ReleaseVersion;
use paas_store::ReleaseChange;
use std::sync::Arc;

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<ReleaseInfo>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let all = state.store.list_releases(app.id).await?;
    Ok(Json(releases::infos(&state, &app, &all).await?))
}

pub async fn info(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<ReleaseInfo>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let version: ReleaseVersion = version
        .parse()
        .map_err(|e: paas_domain::ReleaseVersionError| ApiError::Invalid(format!("{e}.")))?;
    let all = state.store.list_releases(app.id).await?;
    let release: Vec<_> = all.into_iter().filter(|r| r.version == version.0).collect();
    releases::infos(&state, &app, &release)
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("{name} has no release {version}.")))
}

/// `POST /api/apps/{app}/releases`: rolls back to `release`, or to the release before the
/// current one.
pub async fn rollback(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<RollbackRequest>,
) -> Result<(StatusCode, Json<ReleaseInfo>), ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let version = match body.release {
        Some(raw) => {
            raw.parse::<ReleaseVersion>()
                .map_err(|e| ApiError::Invalid(format!("{e}.")))?
                .0
        }
        None => {
            let current = app
                .current_release_id
                .ok_or_else(|| ApiError::Invalid(format!("{name} has no release yet.")))?;
            let all = state.store.list_releases(app.id).await?;
            let current_version = all
                .iter()
                .find(|r| r.id == current)
                .map(|r| r.version)
                .unwrap_or_default();
            all.iter()
                .find(|r| r.version < current_version && !r.image.is_empty())
                .map(|r| r.version)
                .ok_or_else(|| {
                    ApiError::Invalid(format!("{name} has no earlier release to roll back to."))
                })?
        }
    };
    let release =
        releases::change(&state, &app, &user, ReleaseChange::Rollback { version }).await?;
    let app = app_for_user(&state, &user, &name).await?;
    let info = releases::infos(&state, &app, &[release])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("release view missing"))?;
    Ok((StatusCode::CREATED, Json(info)))
}
