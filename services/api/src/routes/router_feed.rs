//! The route table for a router that runs as a process of its own (`paasd router`): `GET
//! /api/router/table?after=N` answers the table with its version as soon as the version is
//! not N (at once when it differs, else at the next publication, or after 25 s). It takes the
//! router's secret, not a user's token.

use crate::error::ApiError;
use crate::state::ApiState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use paas_router::RouteTable;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Longest a request waits for a new table.
const LONG_POLL: Duration = Duration::from_secs(25);

#[derive(Debug, Deserialize)]
pub struct After {
    after: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VersionedTable {
    pub version: u64,
    pub table: RouteTable,
}

pub async fn table(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    Query(after): Query<After>,
) -> Result<Json<VersionedTable>, ApiError> {
    require_router_secret(&state, &headers)?;
    let mut changes = state.routes.changes();
    if after.after == Some(*changes.borrow_and_update()) {
        let _ = tokio::time::timeout(LONG_POLL, changes.changed()).await;
    }
    let version = state.routes.version();
    Ok(Json(VersionedTable {
        version,
        table: (*state.routes.snapshot()).clone(),
    }))
}

/// Refuses a request that does not carry the routers' secret (`<data>/router.token`).
pub(crate) fn require_router_secret(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
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
    Ok(())
}

/// A separate router's requests in flight, per process, and the table version it serves.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InFlightReport {
    /// The router's id, made when it starts.
    pub router: String,
    pub version: u64,
    pub counts: Vec<(std::net::SocketAddr, usize)>,
}

/// `POST /api/router/in-flight`: what a separate router has in flight, so the scheduler's
/// drain waits for its requests to a retired process too.
pub async fn in_flight(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    crate::json::ApiJson(report): crate::json::ApiJson<InFlightReport>,
) -> Result<axum::http::StatusCode, ApiError> {
    require_router_secret(&state, &headers)?;
    if report.router.is_empty() || report.router.len() > 64 || report.counts.len() > 100_000 {
        return Err(ApiError::BadRequest("not an in-flight report".to_string()));
    }
    state.routes.report_remote(
        &report.router,
        report.version,
        report.counts.into_iter().collect(),
    );
    Ok(axum::http::StatusCode::NO_CONTENT)
}
