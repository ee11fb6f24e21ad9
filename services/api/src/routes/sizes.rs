//! Process sizes (`ps:resize`): the memory and CPU limits of each process type. A change is
//! stored and the scheduler rolls the resized types over to processes with the new limits.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::Json;
use paas_domain::api::ProcessSizeInfo;
use paas_domain::process_size::valid_process_type;
use paas_domain::ProcessSize;
use paas_store::App;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Every process type the app knows (current release, formation, resized) with its size.
async fn sizes_of(state: &ApiState, app: &App) -> Result<Vec<ProcessSizeInfo>, ApiError> {
    let default = state.scheduler.default_size();
    let stored = state.store.process_sizes(app.id).await?;
    let mut types: BTreeSet<String> = state.store.formation(app.id).await?.into_keys().collect();
    if let Some(id) = app.current_release_id {
        if let Some(release) = state.store.release_by_id(id).await? {
            types.extend(release.process_types.into_keys());
        }
    }
    types.extend(stored.keys().cloned());
    Ok(types
        .into_iter()
        .map(|process_type| {
            let size = stored.get(&process_type).copied().unwrap_or(default);
            ProcessSizeInfo {
                process_type,
                memory_mb: size.memory_mb,
                cpu_millis: size.cpu_millis,
            }
        })
        .collect())
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<ProcessSizeInfo>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    Ok(Json(sizes_of(&state, &app).await?))
}

pub async fn update(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(updates): ApiJson<Vec<ProcessSizeInfo>>,
) -> Result<Json<Vec<ProcessSizeInfo>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    if updates.is_empty() {
        return Err(ApiError::Invalid("No process type to resize.".to_string()));
    }
    let mut sizes = BTreeMap::new();
    for update in updates {
        if !valid_process_type(&update.process_type) {
            return Err(ApiError::Invalid(format!(
                "{:?} is not a process type.",
                update.process_type
            )));
        }
        let size = ProcessSize {
            memory_mb: update.memory_mb,
            cpu_millis: update.cpu_millis,
        };
        size.validate()
            .map_err(|e| ApiError::Invalid(format!("{}: {e}.", update.process_type)))?;
        sizes.insert(update.process_type, size);
    }
    state.store.set_process_sizes(app.id, &sizes).await?;
    tracing::info!(app = %app.name, user = %user.email, types = ?sizes.keys().collect::<Vec<_>>(), "process sizes changed");
    state.scheduler.wake();
    Ok(Json(sizes_of(&state, &app).await?))
}
