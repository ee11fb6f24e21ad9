//! `POST /api/router/records`: a router running as a process of its own (`paasd router`)
//! ships its per-request records here in batches (a JSON array of `ShippedRecord`), and they
//! become `router` lines in their apps' logs. It takes the router's secret, like the table
//! feed, not a user's token.

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use paas_logs::{keep_shipped_records, ShippedRecord};
use std::sync::Arc;

pub async fn receive(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    ApiJson(records): ApiJson<Vec<ShippedRecord>>,
) -> Result<StatusCode, ApiError> {
    let expected = state
        .config
        .router_token
        .as_deref()
        .ok_or(ApiError::Unauthorized)?;
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as hashes: the time taken says nothing about the secret's bytes.
    if crate::auth::hash_token(given) != crate::auth::hash_token(expected) {
        return Err(ApiError::Unauthorized);
    }
    keep_shipped_records(&state.logs, &records);
    Ok(StatusCode::NO_CONTENT)
}
