//! `GET /api/apps/{app}/logs?num=100&tail=true&process=web&source=app`: the app's log as
//! plain text, one line per entry in Heroku's format. The last `num` lines (default 100,
//! at most 10,000) passing the filters; with `tail`, the response stays open and every new
//! line is written as it is appended (a streaming body, no polling). A client that reads too
//! slowly skips lines and is told how many.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use paas_logs::{Filter, Source};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// The most lines one request may ask for.
pub const MAX_NUM: usize = 10_000;

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    num: Option<usize>,
    #[serde(default)]
    tail: bool,
    process: Option<String>,
    source: Option<String>,
}

fn filter(query: &LogQuery) -> Result<Filter, ApiError> {
    let source = match query.source.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse::<Source>()
                .map_err(|e| ApiError::Invalid(format!("{e}.")))?,
        ),
        None => None,
    };
    let process = match query.process.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            let valid = p.len() <= 64
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
            if !valid {
                return Err(ApiError::Invalid(format!(
                    "Invalid process {p:?}: give a type (web) or a process (web.1)."
                )));
            }
            Some(p.to_string())
        }
        None => None,
    };
    Ok(Filter { source, process })
}

pub async fn show(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let filter = filter(&query)?;
    let num = query.num.unwrap_or(100).min(MAX_NUM);
    let app_name = app.name.to_string();
    let logs = state.logs.clone();
    let (last, live) = if query.tail {
        let (last, live) = logs
            .tail(&app_name, num, &filter)
            .map_err(ApiError::internal)?;
        (last, Some(live))
    } else {
        (
            logs.last(&app_name, num, &filter)
                .map_err(ApiError::internal)?,
            None,
        )
    };
    let mut text = String::new();
    for entry in &last {
        text.push_str(&entry.to_string());
        text.push('\n');
    }
    let body = match live {
        None => Body::from(text),
        Some(live) => {
            let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
            tokio::spawn(follow(app_name, filter, text, live, tx));
            Body::from_stream(ReceiverStream::new(rx))
        }
    };
    Response::builder()
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("x-accel-buffering", "no")
        .body(body)
        .map_err(ApiError::internal)
}

/// Writes `first`, then every new line of `app` passing `filter`, until the client goes.
async fn follow(
    app: String,
    filter: Filter,
    first: String,
    mut live: broadcast::Receiver<Arc<paas_logs::AppLine>>,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
) {
    if tx.send(Ok(Bytes::from(first))).await.is_err() {
        return;
    }
    loop {
        let line = tokio::select! {
            line = live.recv() => line,
            _ = tx.closed() => return,
        };
        let text = match line {
            Ok(line) if *line.app == *app && line.entry.matches(&filter) => {
                format!("{}\n", line.entry)
            }
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                format!("-----> {n} log lines skipped (this client read too slowly)\n")
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if tx.send(Ok(Bytes::from(text))).await.is_err() {
            return;
        }
    }
}
