//! One app's pages (Overview, Settings, Releases, Builds, Logs, Metrics) and their forms. Each
//! page reads through the JSON API's handlers and each form calls the handler the CLI's
//! request reaches (scale, restart, config vars, domains, buildpacks, maintenance, rollback),
//! in-process as the signed-in user, so the console and `paas` make the same changes.

use super::apps::app_state;
use super::charts;
use super::pages::{error_page, redirect_with, render, Flash};
use super::session::Session;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes;
use crate::state::ApiState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Form;
use futures_util::StreamExt;
use paas_domain::api::{
    AppInfo, DomainInfo, FormationEntry, FormationUpdate, MaintenanceInfo, RollbackRequest,
};
use paas_domain::config_vars::{validate_key, ConfigChange};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tera::Context;

/// Lines the logs page shows before the live tail.
const LOG_LINES: usize = 200;
/// How long the build page waits for a running build's output before showing what it has.
const BUILD_OUTPUT_WAIT: Duration = Duration::from_millis(500);

type Page = Result<Response, ApiError>;

fn page_or_error(page: Page, flash: &Flash) -> Response {
    page.unwrap_or_else(|e| error_page(&e, flash))
}

fn user(session: &Session) -> AuthUser {
    AuthUser(session.user.clone())
}

/// The app (404 if the user may not see it) and the context every tab shares.
async fn app_context(
    state: &Arc<ApiState>,
    session: &Session,
    name: &str,
    headers: &HeaderMap,
    tab: &str,
) -> Result<(AppInfo, Context), ApiError> {
    let app = routes::app_for_user(state, &session.user, name).await?;
    let info = crate::views::app_info(state, &app, headers).await?;
    let mut context = session.context();
    context.insert("app", &info);
    context.insert("tab", tab);
    context.insert("app_state", app_state(state, &app).await?);
    Ok((info, context))
}

fn back(name: &str, tab: &str) -> String {
    match tab {
        "" => format!("/apps/{name}"),
        tab => format!("/apps/{name}/{tab}"),
    }
}

/// Answers a form: back to `tab` with the outcome as a one-shot message; a 404 (an app the
/// user may not see) is an error page, so nothing tells it from an app that does not exist.
fn done(name: &str, tab: &str, outcome: Result<String, ApiError>) -> Response {
    match outcome {
        Ok(message) => redirect_with(&back(name, tab), "notice", &message),
        Err(e @ ApiError::NotFound(_)) => error_page(&e, &Flash(None)),
        Err(e) => redirect_with(&back(name, tab), "error", &e.to_string()),
    }
}

// ---- Overview ----

#[derive(Serialize)]
struct ProcessRow {
    name: String,
    process_type: String,
    state: String,
    release: Option<String>,
    created_at: String,
}

pub async fn overview(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    let page = async {
        let (_, mut context) = app_context(&state, &session, &name, &headers, "").await?;
        let formation: Vec<FormationEntry> =
            routes::formation::list(State(state.clone()), user(&session), Path(name.clone()))
                .await?
                .0;
        let dynos =
            routes::formation::dynos(State(state.clone()), user(&session), Path(name.clone()))
                .await?
                .0;
        let processes: Vec<ProcessRow> = dynos
            .into_iter()
            .map(|d| ProcessRow {
                state: if d.out_of_memory {
                    "crashed (out of memory)".to_string()
                } else {
                    d.state
                },
                name: d.name,
                process_type: d.process_type,
                release: d.release,
                created_at: d.created_at,
            })
            .collect();
        context.insert("formation", &formation);
        context.insert("processes", &processes);
        Ok(render("overview.html", context, &flash, StatusCode::OK))
    };
    page_or_error(page.await, &flash)
}

#[derive(Deserialize)]
pub struct ScaleForm {
    process_type: String,
    quantity: String,
}

pub async fn scale(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<ScaleForm>,
) -> Response {
    let outcome = async {
        let quantity: u32 = form.quantity.trim().parse().map_err(|_| {
            ApiError::Invalid("The number of processes must be a whole number.".to_string())
        })?;
        let update = FormationUpdate {
            updates: vec![FormationEntry {
                process_type: form.process_type.clone(),
                quantity,
                command: None,
            }],
        };
        let _ = routes::formation::update(
            State(state.clone()),
            user(&session),
            Path(name.clone()),
            ApiJson(update),
        )
        .await?;
        Ok(format!("Scaled {} to {quantity}.", form.process_type))
    };
    done(&name, "", outcome.await)
}

#[derive(Deserialize)]
pub struct RestartForm {
    /// One process type; empty or absent: every type.
    #[serde(default)]
    process_type: String,
}

pub async fn restart(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<RestartForm>,
) -> Response {
    let target = form.process_type.trim().to_string();
    let outcome = if target.is_empty() {
        routes::formation::restart_all(State(state.clone()), user(&session), Path(name.clone()))
            .await
            .map(|_| "Restarting every process.".to_string())
    } else {
        routes::formation::restart_one(
            State(state.clone()),
            user(&session),
            Path((name.clone(), target.clone())),
        )
        .await
        .map(|_| format!("Restarting {target}."))
    };
    done(&name, "", outcome)
}

// ---- Settings ----

#[derive(Serialize)]
struct ConfigRow {
    key: String,
    value: String,
}

async fn settings_page(
    state: &Arc<ApiState>,
    session: &Session,
    name: &str,
    headers: &HeaderMap,
    flash: &Flash,
    config_error: Option<(&str, &str, String)>,
) -> Page {
    let (_, mut context) = app_context(state, session, name, headers, "settings").await?;
    let config =
        routes::config_vars::get(State(state.clone()), user(session), Path(name.to_string()))
            .await?
            .0;
    let config: Vec<ConfigRow> = config
        .into_iter()
        .map(|(key, value)| ConfigRow { key, value })
        .collect();
    let domains =
        routes::routing::list_domains(State(state.clone()), user(session), Path(name.to_string()))
            .await?
            .0;
    let buildpacks =
        routes::buildpacks::list(State(state.clone()), user(session), Path(name.to_string()))
            .await?
            .0;
    let maintenance =
        routes::routing::maintenance(State(state.clone()), user(session), Path(name.to_string()))
            .await?
            .0;
    context.insert("config", &config);
    context.insert("domains", &domains);
    context.insert("buildpacks", &buildpacks.join("\n"));
    context.insert("maintenance", &maintenance);
    let status = if let Some((key, value, error)) = config_error {
        context.insert("config_error", &error);
        context.insert("config_key", key);
        context.insert("config_value", value);
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render("settings.html", context, flash, status))
}

pub async fn settings(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    page_or_error(
        settings_page(&state, &session, &name, &headers, &flash, None).await,
        &flash,
    )
}

#[derive(Deserialize)]
pub struct ConfigForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

pub async fn config_set(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ConfigForm>,
) -> Response {
    let key = form.key.trim().to_string();
    // An invalid key is shown next to the form, with what was typed.
    if let Err(e) = validate_key(&key) {
        let flash = Flash(None);
        return page_or_error(
            settings_page(
                &state,
                &session,
                &name,
                &headers,
                &flash,
                Some((&key, &form.value, format!("{e}."))),
            )
            .await,
            &flash,
        );
    }
    let change: ConfigChange = BTreeMap::from([(key.clone(), Some(form.value))]);
    let outcome = routes::config_vars::update(
        State(state.clone()),
        user(&session),
        Path(name.clone()),
        ApiJson(change),
    )
    .await
    .map(|json| format!("Set {key}: {} is current.", json.0.release.version));
    done(&name, "settings", outcome)
}

pub async fn config_remove(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<ConfigForm>,
) -> Response {
    let key = form.key.trim().to_string();
    let change: ConfigChange = BTreeMap::from([(key.clone(), None)]);
    let outcome = routes::config_vars::update(
        State(state.clone()),
        user(&session),
        Path(name.clone()),
        ApiJson(change),
    )
    .await
    .map(|json| format!("Removed {key}: {} is current.", json.0.release.version));
    done(&name, "settings", outcome)
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    hostname: String,
}

pub async fn domain_add(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<DomainForm>,
) -> Response {
    let outcome = routes::routing::add_domain(
        State(state.clone()),
        user(&session),
        Path(name.clone()),
        ApiJson(DomainInfo {
            hostname: form.hostname.trim().to_string(),
        }),
    )
    .await
    .map(|(_, json)| format!("Added {}.", json.0.hostname));
    done(&name, "settings", outcome)
}

pub async fn domain_remove(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<DomainForm>,
) -> Response {
    let hostname = form.hostname.trim().to_string();
    let outcome = routes::routing::remove_domain(
        State(state.clone()),
        user(&session),
        Path((name.clone(), hostname.clone())),
    )
    .await
    .map(|_| format!("Removed {hostname}."));
    done(&name, "settings", outcome)
}

#[derive(Deserialize)]
pub struct BuildpacksForm {
    #[serde(default)]
    buildpacks: String,
}

pub async fn buildpacks_set(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<BuildpacksForm>,
) -> Response {
    let list: Vec<String> = form
        .buildpacks
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let empty = list.is_empty();
    let outcome = routes::buildpacks::replace(
        State(state.clone()),
        user(&session),
        Path(name.clone()),
        ApiJson(list),
    )
    .await
    .map(|_| {
        if empty {
            "Buildpacks cleared: the next push detects them.".to_string()
        } else {
            "Buildpacks set for the next push.".to_string()
        }
    });
    done(&name, "settings", outcome)
}

#[derive(Deserialize)]
pub struct MaintenanceForm {
    #[serde(default)]
    maintenance: String,
}

pub async fn maintenance(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<MaintenanceForm>,
) -> Response {
    let on = form.maintenance == "on";
    let outcome = routes::routing::set_maintenance(
        State(state.clone()),
        user(&session),
        Path(name.clone()),
        ApiJson(MaintenanceInfo {
            maintenance: on,
            page_url: None,
        }),
    )
    .await
    .map(|_| format!("Maintenance mode is {}.", if on { "on" } else { "off" }));
    done(&name, "settings", outcome)
}

// ---- Releases ----

pub async fn releases(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    let page = async {
        let (_, mut context) = app_context(&state, &session, &name, &headers, "releases").await?;
        let releases =
            routes::releases::list(State(state.clone()), user(&session), Path(name.clone()))
                .await?
                .0;
        context.insert("releases", &releases);
        Ok(render("releases.html", context, &flash, StatusCode::OK))
    };
    page_or_error(page.await, &flash)
}

#[derive(Deserialize)]
pub struct RollbackForm {
    release: String,
}

pub async fn rollback(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<RollbackForm>,
) -> Response {
    let outcome = routes::releases::rollback(
        State(state.clone()),
        user(&session),
        Path(name.clone()),
        ApiJson(RollbackRequest {
            release: Some(form.release.clone()),
        }),
    )
    .await
    .map(|(_, json)| {
        format!(
            "Rolled back to {}: {} is current.",
            form.release, json.0.version
        )
    });
    done(&name, "releases", outcome)
}

// ---- Builds ----

pub async fn builds(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    let page = async {
        let (_, mut context) = app_context(&state, &session, &name, &headers, "builds").await?;
        let builds = routes::builds::list(State(state.clone()), user(&session), Path(name.clone()))
            .await?
            .0;
        context.insert("builds", &builds);
        Ok(render("builds.html", context, &flash, StatusCode::OK))
    };
    page_or_error(page.await, &flash)
}

pub async fn build_output(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    let page = async {
        let (_, mut context) = app_context(&state, &session, &name, &headers, "builds").await?;
        let builds = routes::builds::list(State(state.clone()), user(&session), Path(name.clone()))
            .await?
            .0;
        let build = builds
            .into_iter()
            .find(|b| b.id == id)
            .ok_or_else(|| ApiError::NotFound("Couldn't find that build.".to_string()))?;
        let response = routes::builds::output(
            State(state.clone()),
            user(&session),
            Path((name.clone(), build.id.clone())),
        )
        .await?;
        let (text, complete) = read_body(response.into_body(), BUILD_OUTPUT_WAIT).await;
        context.insert("build", &build);
        context.insert("output", &text);
        context.insert("complete", &complete);
        Ok(render("build.html", context, &flash, StatusCode::OK))
    };
    page_or_error(page.await, &flash)
}

/// A text body as far as it comes within `wait` (a running build's output keeps coming), and
/// whether it ended.
async fn read_body(body: Body, wait: Duration) -> (String, bool) {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => bytes.extend_from_slice(&chunk),
            Ok(Some(Err(_))) | Ok(None) => return (String::from_utf8_lossy(&bytes).into(), true),
            Err(_) => return (String::from_utf8_lossy(&bytes).into(), false),
        }
    }
}

// ---- Logs ----

#[derive(Deserialize, Serialize, Default)]
pub struct LogFilter {
    #[serde(default)]
    process: String,
    #[serde(default)]
    source: String,
}

/// The API's log request for this filter (the API checks it).
fn log_query(
    filter: &LogFilter,
    num: usize,
    tail: bool,
) -> Result<routes::logs::LogQuery, ApiError> {
    serde_json::from_value(serde_json::json!({
        "num": num,
        "tail": tail,
        "process": filter.process.trim(),
        "source": filter.source.trim(),
    }))
    .map_err(ApiError::internal)
}

pub async fn logs(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(filter): Query<LogFilter>,
    flash: Flash,
) -> Response {
    let page = async {
        let (_, mut context) = app_context(&state, &session, &name, &headers, "logs").await?;
        let shown = routes::logs::show(
            State(state.clone()),
            user(&session),
            Path(name.clone()),
            Query(log_query(&filter, LOG_LINES, false)?),
        )
        .await;
        match shown {
            Ok(response) => {
                let (text, _) = read_body(response.into_body(), Duration::from_secs(5)).await;
                context.insert("lines", &text.lines().collect::<Vec<_>>());
            }
            Err(e @ ApiError::Invalid(_)) => {
                context.insert("filter_error", &e.to_string());
                context.insert("lines", &Vec::<String>::new());
            }
            Err(e) => return Err(e),
        }
        context.insert("filter", &filter);
        let query = serde_urlencoded::to_string(&filter).unwrap_or_default();
        context.insert("stream_url", &format!("/apps/{name}/logs/stream?{query}"));
        Ok(render("logs.html", context, &flash, StatusCode::OK))
    };
    page_or_error(page.await, &flash)
}

/// The app's new log lines as Server-Sent Events (one `data:` line per log line), through the
/// API's `logs?tail=true`.
pub async fn logs_stream(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Query(filter): Query<LogFilter>,
) -> Response {
    let query = match log_query(&filter, 0, true) {
        Ok(query) => query,
        Err(e) => return e.into_response(),
    };
    let response =
        match routes::logs::show(State(state), user(&session), Path(name), Query(query)).await {
            Ok(response) => response,
            Err(e) => return e.into_response(),
        };
    let mut partial = String::new();
    let events = response
        .into_body()
        .into_data_stream()
        .map(move |chunk| {
            let Ok(chunk) = chunk else {
                return Vec::new();
            };
            partial.push_str(&String::from_utf8_lossy(&chunk));
            let mut events = Vec::new();
            while let Some(end) = partial.find('\n') {
                let line: String = partial.drain(..=end).collect();
                events.push(Ok::<_, Infallible>(
                    Event::default().data(line.trim_end_matches('\n')),
                ));
            }
            events
        })
        .flat_map(futures_util::stream::iter);
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

// ---- Metrics ----

/// The windows the metrics page offers: (hours, seconds per point).
const METRICS_WINDOWS: &[(u64, u64)] = &[(1, 60), (6, 300), (24, 900)];

#[derive(Deserialize)]
pub struct MetricsWindow {
    /// Anything but an offered window shows the first.
    hours: Option<String>,
}

pub async fn metrics(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(window): Query<MetricsWindow>,
    flash: Flash,
) -> Response {
    let page = async {
        let (_, mut context) = app_context(&state, &session, &name, &headers, "metrics").await?;
        let (hours, step) = METRICS_WINDOWS
            .iter()
            .copied()
            .find(|(h, _)| window.hours.as_deref() == Some(h.to_string().as_str()))
            .unwrap_or(METRICS_WINDOWS[0]);
        context.insert("hours", &hours);
        context.insert(
            "windows",
            &METRICS_WINDOWS.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        );
        let query =
            serde_json::from_value(serde_json::json!({"window": hours * 3600, "step": step}))
                .map_err(ApiError::internal)?;
        let series = routes::metrics::series(
            State(state.clone()),
            user(&session),
            Path(name.clone()),
            Query(query),
        )
        .await?
        .0;
        context.insert("requests_chart", &charts::requests(&series));
        context.insert("latency_chart", &charts::latency(&series));
        context.insert("memory_chart", &charts::memory(&series));
        context.insert(
            "total_requests",
            &series
                .points
                .iter()
                .map(|p| p.requests.total())
                .sum::<u64>(),
        );
        Ok(render("metrics.html", context, &flash, StatusCode::OK))
    };
    page_or_error(page.await, &flash)
}
