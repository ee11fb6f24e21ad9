//! An app's metrics as a JSON time series (`GET /api/apps/{app}/metrics?window=SECS&step=SECS`,
//! for `paas metrics` and the console's charts), and `GET /metrics`: Prometheus text of
//! every app the token's user may see (all apps for an admin), refused without a token like
//! every other API route.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use paas_domain::telemetry::MetricsSeries;
use paas_telemetry::metrics::now_secs;
use serde::Deserialize;
use std::sync::Arc;

/// Longest window served: the retention (24 h).
const MAX_WINDOW_SECS: u64 = 24 * 3600;

#[derive(Debug, Deserialize)]
pub struct SeriesQuery {
    /// Seconds back from now (default an hour, at most a day).
    window: Option<u64>,
    /// Seconds per point, a multiple of 60 (default 60).
    step: Option<u64>,
}

pub async fn series(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    Query(query): Query<SeriesQuery>,
) -> Result<Json<MetricsSeries>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let window = query.window.unwrap_or(3600).clamp(60, MAX_WINDOW_SECS);
    let step = query.step.unwrap_or(60).clamp(60, MAX_WINDOW_SECS);
    if step % 60 != 0 {
        return Err(ApiError::Invalid(
            "The step must be a whole number of minutes (in seconds: 60, 300, ...).".to_string(),
        ));
    }
    let series = state
        .telemetry
        .metrics
        .lock()
        .series(app.name.as_str(), now_secs(), window, step);
    Ok(Json(series))
}

pub async fn prometheus(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    let apps = if user.admin {
        state.store.list_apps().await?
    } else {
        state.store.list_apps_for_user(user.id).await?
    };
    let names: Vec<String> = apps.into_iter().map(|a| a.name).collect();
    let text = paas_telemetry::prometheus::render_now(&state.telemetry.metrics.lock(), &names);
    Ok((
        [(
            header::CONTENT_TYPE,
            paas_telemetry::prometheus::CONTENT_TYPE,
        )],
        text,
    ))
}
