//! How an app is built (`paas builder`, `builder:set dockerfile|buildpacks`, `builder:clear`):
//! forced to its Dockerfile, forced to buildpacks, or (unset) detection decides, where a
//! Dockerfile comes after every language buildpack. `{"builder": "dockerfile" | "buildpacks"
//! | null}` both ways.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::Json;
use paas_domain::BuildMethod;
use std::sync::Arc;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct BuilderBody {
    pub builder: Option<String>,
}

fn body(method: Option<BuildMethod>) -> Json<BuilderBody> {
    Json(BuilderBody {
        builder: method.map(|m| m.as_str().to_string()),
    })
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<BuilderBody>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    Ok(body(state.store.app_build_method(app.id).await?))
}

/// Sets it (`builder:set`); `null` leaves it to detection again (`builder:clear`).
pub async fn set(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<BuilderBody>,
) -> Result<Json<BuilderBody>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let method = request
        .builder
        .as_deref()
        .map(BuildMethod::parse)
        .transpose()
        .map_err(|e| ApiError::Invalid(format!("{}.", capitalized(&e.to_string()))))?;
    state.store.set_app_build_method(app.id, method).await?;
    tracing::info!(app = %app.name, user = %user.email, builder = ?method.map(BuildMethod::as_str), "builder set");
    Ok(body(method))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
