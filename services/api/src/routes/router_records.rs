//! `POST /api/router/records`: a router running as a process of its own (`paasd router`)
//! ships its per-request records here in batches (a JSON array of `RouterLine`s: app, time, status,
//! latency, bytes and the line as the router wrote it). They join
//! the control plane's own router records, so they become `router` lines in their apps' logs
//! and count in the apps' metrics alike. It takes the router's secret, like the table feed,
//! not a user's token.

use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use paas_router::RecordBatch;
use std::sync::Arc;

pub async fn receive(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<RecordBatch>,
) -> Result<StatusCode, ApiError> {
    super::router_feed::require_router_secret(&state, &headers)?;
    match state.router_records.get() {
        Some(sink) => batch.lines().for_each(|line| sink.offer_line(&line)),
        // No record keeper (tests building the API alone): the lines still reach the log.
        None => {
            for line in batch.lines() {
                state.logs.record_router_lines(line.app, vec![line]);
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
