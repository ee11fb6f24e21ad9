//! What the router does for an app beyond its processes: custom domains (`paas domains`,
//! `domains:add`, `domains:remove`) and maintenance mode (`maintenance:on`/`off`). Each change
//! wakes the scheduler and is answered once the published route table shows it.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::api::{DomainInfo, MaintenanceInfo};
use paas_domain::Hostname;
use paas_router::RouteTable;
use std::sync::Arc;
use std::time::Duration;

/// Longest a change waits to be in the router's table before it is answered anyway.
const ROUTED_WITHIN: Duration = Duration::from_secs(10);

/// Wakes the scheduler and waits until the published route table shows the change, so that
/// "done" means the router already acts on it.
async fn until_routed(state: &ApiState, shows_change: impl Fn(&RouteTable) -> bool) {
    state.scheduler.wake();
    let mut changes = state.routes.changes();
    let deadline = tokio::time::Instant::now() + ROUTED_WITHIN;
    while !shows_change(&state.routes.snapshot()) {
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            tracing::warn!("the route table did not show the change in time");
            return;
        }
    }
}

fn domain_infos(hosts: Vec<String>) -> Vec<DomainInfo> {
    hosts
        .into_iter()
        .map(|hostname| DomainInfo { hostname })
        .collect()
}

pub async fn list_domains(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<DomainInfo>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    Ok(Json(domain_infos(state.store.domains(app.id).await?)))
}

pub async fn add_domain(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(domain): ApiJson<DomainInfo>,
) -> Result<(StatusCode, Json<DomainInfo>), ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let host = Hostname::parse(&domain.hostname, &state.config.domain)
        .map_err(|e| ApiError::Invalid(format!("{e}.")))?;
    match state.store.add_domain(app.id, host.as_str()).await {
        Err(paas_store::StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "{host} is already a domain of an app."
            )))
        }
        other => other?,
    }
    tracing::info!(app = %app.name, user = %user.email, domain = %host, "domain added");
    until_routed(&state, |t| t.domains.contains_key(host.as_str())).await;
    Ok((
        StatusCode::CREATED,
        Json(DomainInfo {
            hostname: host.to_string(),
        }),
    ))
}

pub async fn remove_domain(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, hostname)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let host = hostname.trim().trim_end_matches('.').to_ascii_lowercase();
    match state.store.remove_domain(app.id, &host).await {
        Err(paas_store::StoreError::NotFound(_)) => {
            return Err(ApiError::NotFound(format!(
                "{host} is not a domain of {}.",
                app.name
            )))
        }
        other => other?,
    }
    tracing::info!(app = %app.name, user = %user.email, domain = %host, "domain removed");
    until_routed(&state, |t| !t.domains.contains_key(&host)).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn maintenance(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<MaintenanceInfo>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let current = state.store.maintenance(app.id).await?;
    Ok(Json(MaintenanceInfo {
        maintenance: current.is_some(),
        page_url: current.flatten(),
    }))
}

pub async fn set_maintenance(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<MaintenanceInfo>,
) -> Result<Json<MaintenanceInfo>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let page_url = change.page_url.filter(|u| !u.trim().is_empty());
    if let Some(url) = &page_url {
        let plain = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 2048
            && !url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'));
        if !plain {
            return Err(ApiError::Invalid(
                "The maintenance page must be an http:// or https:// URL.".to_string(),
            ));
        }
    }
    let on = change.maintenance.then_some(page_url.as_deref());
    state.store.set_maintenance(app.id, on).await?;
    tracing::info!(app = %app.name, user = %user.email, on = change.maintenance, "maintenance mode changed");
    until_routed(&state, |t| {
        t.apps
            .get(&app.name)
            .is_none_or(|route| route.maintenance.is_some() == change.maintenance)
    })
    .await;
    Ok(Json(MaintenanceInfo {
        maintenance: change.maintenance,
        page_url: if change.maintenance { page_url } else { None },
    }))
}
