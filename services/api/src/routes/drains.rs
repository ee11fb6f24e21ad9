//! Log drains (`paas drains`, `drains:add`, `drains:remove`) and OTLP exports (`paas
//! telemetry`, `telemetry:add`, `telemetry:remove`) of an app: stored in the database, then
//! the app's running drains are made to match (`paas_telemetry::Drains::set`). Listings
//! carry each drain's delivered and lost counts; URLs are shown and logged only redacted.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::telemetry::{DrainInfo, DrainRequest};
use paas_store::{DrainKind, Store};
use paas_telemetry::{redacted, DrainClass, Drains, Target};
use std::sync::Arc;

fn class_of(kind: DrainKind) -> DrainClass {
    match kind {
        DrainKind::Log => DrainClass::Log,
        DrainKind::Otlp => DrainClass::Otlp,
    }
}

fn what(kind: DrainKind) -> &'static str {
    match kind {
        DrainKind::Log => "drain",
        DrainKind::Otlp => "telemetry export",
    }
}

/// How long `drains:add` waits for the log forwarder to follow the live feed.
const FOLLOW_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts every stored drain (at paasd's start).
pub async fn start_all(
    store: &dyn Store,
    drains: &Drains,
) -> Result<usize, paas_store::StoreError> {
    let all = store.all_drains().await?;
    let mut by_app: std::collections::BTreeMap<(String, &'static str), (DrainKind, Vec<String>)> =
        Default::default();
    for (app, kind, url) in all {
        by_app
            .entry((app, kind.as_str()))
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push(url);
    }
    let count = by_app.values().map(|(_, urls)| urls.len()).sum();
    for ((app, _), (kind, urls)) in by_app {
        drains.set(&app, class_of(kind), &urls);
    }
    Ok(count)
}

async fn list(
    state: &ApiState,
    user: &paas_store::User,
    name: &str,
    kind: DrainKind,
) -> Result<Json<Vec<DrainInfo>>, ApiError> {
    let app = app_for_user(state, user, name).await?;
    let urls = state.store.drains(app.id, kind).await?;
    let drains = &state.telemetry.drains;
    Ok(Json(
        urls.iter()
            .map(
                |url| match drains.stats_of(&app.name, class_of(kind), url) {
                    Some(stats) => DrainInfo {
                        url: redacted(url),
                        delivered: stats.delivered(),
                        lost: stats.lost(),
                        error: stats.error(),
                    },
                    None => DrainInfo {
                        url: redacted(url),
                        ..DrainInfo::default()
                    },
                },
            )
            .collect(),
    ))
}

async fn add(
    state: &ApiState,
    user: &paas_store::User,
    name: &str,
    kind: DrainKind,
    url: &str,
) -> Result<(StatusCode, Json<DrainInfo>), ApiError> {
    let app = app_for_user(state, user, name).await?;
    let url = url.trim();
    Target::parse(class_of(kind), url).map_err(|e| ApiError::Invalid(e.to_string()))?;
    match state.store.add_drain(app.id, kind, url).await {
        Err(paas_store::StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "{} already has this {}.",
                app.name,
                what(kind)
            )))
        }
        other => other?,
    }
    let urls = state.store.drains(app.id, kind).await?;
    // Answered once the live feed is followed: every line logged after this reaches it.
    let drains = &state.telemetry.drains;
    if !drains
        .set_followed(&app.name, class_of(kind), &urls, FOLLOW_WAIT)
        .await
    {
        tracing::warn!(app = %app.name, "the log forwarder did not follow the live feed within {FOLLOW_WAIT:?}");
    }
    tracing::info!(app = %app.name, user = %user.email, url = %redacted(url), "{} added", what(kind));
    Ok((
        StatusCode::CREATED,
        Json(DrainInfo {
            url: redacted(url),
            ..DrainInfo::default()
        }),
    ))
}

async fn remove(
    state: &ApiState,
    user: &paas_store::User,
    name: &str,
    kind: DrainKind,
    url: &str,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(state, user, name).await?;
    let stored = state.store.drains(app.id, kind).await?;
    // The URL as added, or as listed (its password hidden).
    let url = stored
        .iter()
        .find(|s| s.as_str() == url)
        .or_else(|| stored.iter().find(|s| redacted(s) == url))
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("{} has no such {}.", app.name, what(kind))))?;
    match state.store.remove_drain(app.id, kind, &url).await {
        Err(paas_store::StoreError::NotFound(_)) => {
            return Err(ApiError::NotFound(format!(
                "{} has no such {}.",
                app.name,
                what(kind)
            )))
        }
        other => other?,
    }
    let urls = state.store.drains(app.id, kind).await?;
    state.telemetry.drains.set(&app.name, class_of(kind), &urls);
    tracing::info!(app = %app.name, user = %user.email, url = %redacted(&url), "{} removed", what(kind));
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_drains(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<DrainInfo>>, ApiError> {
    list(&state, &user, &name, DrainKind::Log).await
}

pub async fn add_drain(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<DrainRequest>,
) -> Result<(StatusCode, Json<DrainInfo>), ApiError> {
    add(&state, &user, &name, DrainKind::Log, &body.url).await
}

pub async fn remove_drain(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, url)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(&state, &user, &name, DrainKind::Log, &url).await
}

pub async fn list_telemetry(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<DrainInfo>>, ApiError> {
    list(&state, &user, &name, DrainKind::Otlp).await
}

pub async fn add_telemetry(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<DrainRequest>,
) -> Result<(StatusCode, Json<DrainInfo>), ApiError> {
    add(&state, &user, &name, DrainKind::Otlp, &body.url).await
}

pub async fn remove_telemetry(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, url)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(&state, &user, &name, DrainKind::Otlp, &url).await
}
