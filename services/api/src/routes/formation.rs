//! Formation and processes: how many processes of each type run (`paas scale`), and the
//! processes that exist now (`paas ps`). A scale change is stored; the scheduler converges.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use crate::views::rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::api::{Dyno, FormationEntry, FormationUpdate};
use paas_domain::formation::MAX_QUANTITY;
use paas_store::App;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The current release's process types and commands (empty before the first deploy).
/// The current release's process types and commands; the release phase (`release:`) is not
/// one that can be scaled.
async fn commands(state: &ApiState, app: &App) -> Result<BTreeMap<String, String>, ApiError> {
    let mut commands = match app.current_release_id {
        Some(id) => state
            .store
            .release_by_id(id)
            .await?
            .map(|r| r.process_types)
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    commands.remove(paas_scheduler::RELEASE_PHASE);
    Ok(commands)
}

async fn entries(state: &ApiState, app: &App) -> Result<Vec<FormationEntry>, ApiError> {
    let commands = commands(state, app).await?;
    let formation = state.store.formation(app.id).await?;
    let mut types: Vec<&String> = commands.keys().filter(|t| *t != "release").collect();
    types.extend(formation.keys().filter(|t| !commands.contains_key(*t)));
    Ok(types
        .into_iter()
        .map(|t| FormationEntry {
            process_type: t.clone(),
            quantity: formation.get(t).copied().unwrap_or(0),
            command: commands.get(t).cloned(),
        })
        .collect())
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<FormationEntry>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    Ok(Json(entries(&state, &app).await?))
}

pub async fn update(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<FormationUpdate>,
) -> Result<Json<Vec<FormationEntry>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    if body.updates.is_empty() {
        return Err(ApiError::Invalid("No process type to scale.".to_string()));
    }
    let commands = commands(&state, &app).await?;
    let mut formation = state.store.formation(app.id).await?;
    for update in &body.updates {
        if !commands.contains_key(&update.process_type) || update.process_type == "release" {
            return Err(ApiError::Invalid(format!(
                "Couldn't find that process type ({}); the current release declares: {}.",
                update.process_type,
                if commands.is_empty() {
                    "none (deploy first)".to_string()
                } else {
                    commands.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )));
        }
        if update.quantity > MAX_QUANTITY {
            return Err(ApiError::Invalid(format!(
                "{} processes of one type is more than the limit of {MAX_QUANTITY}.",
                update.quantity
            )));
        }
        formation.insert(update.process_type.clone(), update.quantity);
    }
    state.store.set_formation(app.id, &formation).await?;
    tracing::info!(app = %app.name, user = %user.email, formation = ?formation, "scaled");
    let scaled: Vec<String> = body
        .updates
        .iter()
        .map(|u| format!("{}={}", u.process_type, u.quantity))
        .collect();
    state.logs.platform(
        &app.name,
        "api",
        format!("Scaled to {} by user {}", scaled.join(" "), user.email),
    );
    state.scheduler.wake();
    Ok(Json(entries(&state, &app).await?))
}

pub async fn dynos(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<Dyno>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let processes = state
        .scheduler
        .app_processes(&app.name)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(
        processes
            .into_iter()
            .map(|p| Dyno {
                name: p.dyno,
                process_type: p.process,
                state: if p.running {
                    "up"
                } else if p.starting {
                    "starting"
                } else {
                    "crashed"
                }
                .to_string(),
                out_of_memory: p.out_of_memory,
                release: p.version.map(|v| format!("v{v}")),
                created_at: rfc3339(p.created * 1000),
            })
            .collect(),
    ))
}

/// The process types `target` names: every type of the current release when `None`.
async fn restart_types(
    state: &ApiState,
    app: &App,
    target: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let commands = commands(state, app).await?;
    let types: Vec<String> = match target {
        None => commands.into_keys().filter(|t| t != "release").collect(),
        Some(t) if commands.contains_key(t) && t != "release" => vec![t.to_string()],
        Some(t) => {
            return Err(ApiError::NotFound(format!(
                "Couldn't find that process type ({t})."
            )))
        }
    };
    if types.is_empty() {
        return Err(ApiError::Invalid(format!(
            "{} has no processes to restart.",
            app.name
        )));
    }
    Ok(types)
}

/// `DELETE /api/apps/{app}/dynos`: a rolling restart of every process type.
pub async fn restart_all(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let types = restart_types(&state, &app, None).await?;
    state.store.bump_restarts(app.id, &types).await?;
    tracing::info!(app = %app.name, user = %user.email, ?types, "restart");
    state.logs.platform(
        &app.name,
        "api",
        format!("Restarting {} by user {}", types.join(", "), user.email),
    );
    state.scheduler.wake();
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE /api/apps/{app}/dynos/{name}`: `web` restarts the type (rolling), `web.1` stops that
/// process so that a new one replaces it.
pub async fn restart_one(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, target)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    if let Some((process, index)) = parse_dyno(&target) {
        stop(&state, &app, process, index).await?;
        return Ok(StatusCode::ACCEPTED);
    }
    let types = restart_types(&state, &app, Some(&target)).await?;
    state.store.bump_restarts(app.id, &types).await?;
    tracing::info!(app = %app.name, user = %user.email, ?types, "restart");
    state.logs.platform(
        &app.name,
        "api",
        format!("Restarting {} by user {}", types.join(", "), user.email),
    );
    state.scheduler.wake();
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/apps/{app}/dynos/{name}/actions/stop` (`paas ps:stop web.1`).
pub async fn stop_dyno(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, dyno)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let (process, index) = parse_dyno(&dyno)
        .ok_or_else(|| ApiError::Invalid(format!("{dyno:?} is not a process like web.1.")))?;
    stop(&state, &app, process, index).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn stop(state: &ApiState, app: &App, process: &str, index: u32) -> Result<(), ApiError> {
    let stopped = state
        .scheduler
        .stop_process(&app.name, process, index)
        .await
        .map_err(ApiError::internal)?;
    if stopped == 0 {
        return Err(ApiError::NotFound(format!(
            "{} has no process {process}.{index}.",
            app.name
        )));
    }
    Ok(())
}

/// `web.1` -> (`web`, 1).
fn parse_dyno(name: &str) -> Option<(&str, u32)> {
    let (process, index) = name.rsplit_once('.')?;
    let index: u32 = index.parse().ok().filter(|i| *i > 0)?;
    paas_domain::process_size::valid_process_type(process).then_some((process, index))
}

#[cfg(test)]
mod tests {
    use super::parse_dyno;

    #[test]
    fn dyno_names() {
        assert_eq!(parse_dyno("web.1"), Some(("web", 1)));
        assert_eq!(parse_dyno("web-api.12"), Some(("web-api", 12)));
        for bad in ["web", "web.", "web.0", ".1", "web.x", "w b.1"] {
            assert_eq!(parse_dyno(bad), None, "{bad}");
        }
    }
}
