//! Where an app's processes run (`paas scheduler`, `scheduler:set docker|swarm`,
//! `scheduler:clear`): on paasd's own Docker engine or as Swarm services over the Swarm's
//! nodes; unset, the platform's default (`PAAS_SCHEDULER`). `GET` answers
//! `{"scheduler": "docker" | "swarm", "default": bool}`; `PATCH` takes
//! `{"scheduler": "docker" | "swarm" | null}` (null: the default again). Choosing `swarm` on a
//! platform without a Swarm is refused; a change wakes the scheduler, which moves the app's
//! processes at once.

use crate::auth::AuthUser;
use crate::error::{sentence, ApiError};
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::Json;
use paas_domain::api::{SchedulerInfo, SetScheduler};
use paas_domain::SchedulerKind;
use paas_scheduler::SchedulerError;
use std::sync::Arc;

fn body(state: &ApiState, chosen: Option<SchedulerKind>) -> Json<SchedulerInfo> {
    let scheduler = chosen.unwrap_or_else(|| state.scheduler.default_backend());
    Json(SchedulerInfo {
        scheduler: scheduler.as_str().to_string(),
        default: chosen.is_none(),
    })
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<SchedulerInfo>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let chosen = state.store.app_scheduler(app.id).await?;
    Ok(body(&state, chosen))
}

/// Chooses it (`scheduler:set`); `null` leaves it to the platform's default
/// (`scheduler:clear`).
pub async fn set(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<SetScheduler>,
) -> Result<Json<SchedulerInfo>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let kind = request
        .scheduler
        .as_deref()
        .map(SchedulerKind::parse)
        .transpose()
        .map_err(|e| ApiError::Invalid(sentence(&e.to_string())))?;
    if kind == Some(SchedulerKind::Swarm) && !state.scheduler.swarm_available() {
        return Err(SchedulerError::NoSwarm.into());
    }
    state.store.set_app_scheduler(app.id, kind).await?;
    tracing::info!(app = %app.name, user = %user.email, scheduler = ?kind.map(SchedulerKind::as_str), "scheduler set");
    state.scheduler.wake();
    Ok(body(&state, kind))
}
