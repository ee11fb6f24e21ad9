//! Config vars: read them (from the current release), and change them with a PATCH where a
//! `null` value unsets (Heroku's shape). Every change is a new release through the releases
//! service. Values are never logged; only keys are.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::releases;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::Json;
use paas_domain::api::ConfigVarsChanged;
use paas_domain::config_vars::{validate_key, ConfigChange};
use paas_store::ReleaseChange;
use std::collections::BTreeMap;
use std::sync::Arc;

pub async fn get(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let config = match app.current_release_id {
        Some(id) => state
            .store
            .release_by_id(id)
            .await?
            .map(|r| r.config)
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Json(config))
}

pub async fn update(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<ConfigChange>,
) -> Result<Json<ConfigVarsChanged>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    if change.is_empty() {
        return Err(ApiError::Invalid("No config vars to change.".to_string()));
    }
    for key in change.keys() {
        validate_key(key).map_err(|e| ApiError::Invalid(format!("{e}.")))?;
    }
    let release = releases::change(&state, &app, &user, ReleaseChange::Config(change)).await?;
    let app = app_for_user(&state, &user, &name).await?;
    let config = release.config.clone();
    let info = releases::infos(&state, &app, &[release])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("release view missing"))?;
    Ok(Json(ConfigVarsChanged {
        config,
        release: info,
    }))
}
