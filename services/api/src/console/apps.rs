//! The apps list (each app's state, URL, current release and process counts), creating an app
//! and destroying one (its name typed to confirm), through the API's app handlers.

use super::pages::{error_page, redirect, redirect_with, render, Flash};
use super::session::Session;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use paas_domain::api::CreateApp;
use paas_store::{App, BuildStatus};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The platform's root: the apps (which send to the sign-in page without a session).
pub async fn root() -> Response {
    redirect("/apps")
}

/// One row of the apps list.
#[derive(Serialize)]
struct AppRow {
    name: String,
    state: &'static str,
    web_url: String,
    release: Option<String>,
    processes: String,
}

/// `building` while a build runs; else `crashed` when a process is down, `running` when some
/// run, `idle` when none is asked for (no release, or scaled to zero).
pub async fn app_state(state: &ApiState, app: &App) -> Result<&'static str, ApiError> {
    let builds = state.store.list_builds(app.id).await?;
    if builds
        .first()
        .is_some_and(|b| b.status == BuildStatus::Pending)
    {
        return Ok("building");
    }
    let wanted: u32 = state.store.formation(app.id).await?.values().sum();
    if app.current_release_id.is_none() || wanted == 0 {
        return Ok("idle");
    }
    let processes = state
        .scheduler
        .app_processes(&app.name)
        .await
        .map_err(ApiError::internal)?;
    Ok(if processes.iter().any(|p| !p.running && !p.starting) {
        "crashed"
    } else if processes.iter().any(|p| p.running) {
        "running"
    } else {
        "starting"
    })
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    session: Session,
    headers: HeaderMap,
    flash: Flash,
) -> Response {
    match rows(&state, &session, &headers).await {
        Ok(rows) => {
            let mut context = session.context();
            context.insert("apps", &rows);
            render("apps.html", context, &flash, StatusCode::OK)
        }
        Err(e) => error_page(&e, &flash),
    }
}

async fn rows(
    state: &Arc<ApiState>,
    session: &Session,
    headers: &HeaderMap,
) -> Result<Vec<AppRow>, ApiError> {
    let apps = state.store.list_apps_for_user(session.user.id).await?;
    let infos = routes::apps::list(
        State(state.clone()),
        AuthUser(session.user.clone()),
        headers.clone(),
    )
    .await?
    .0;
    let mut rows = Vec::with_capacity(infos.len());
    for info in infos {
        let Some(app) = apps.iter().find(|a| a.name == info.name) else {
            continue;
        };
        let processes = info
            .formation
            .iter()
            .filter(|(t, _)| t.as_str() != "release")
            .map(|(t, n)| format!("{t}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(AppRow {
            state: app_state(state, app).await?,
            name: info.name,
            web_url: info.web_url,
            release: info.release,
            processes,
        });
    }
    Ok(rows)
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Response {
    let name = form.name.trim().to_string();
    let body = CreateApp {
        name: (!name.is_empty()).then_some(name),
    };
    match routes::apps::create(State(state), AuthUser(session.user), headers, ApiJson(body)).await {
        Ok((_, axum::Json(info))) => redirect_with(
            &format!("/apps/{}", info.name),
            "notice",
            &format!("Created {}.", info.name),
        ),
        Err(e) => redirect_with("/apps", "error", &e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct DestroyForm {
    #[serde(default)]
    confirm: String,
}

pub async fn destroy(
    State(state): State<Arc<ApiState>>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<DestroyForm>,
) -> Response {
    if form.confirm.trim() != name {
        return redirect_with(
            &format!("/apps/{name}/settings"),
            "error",
            "To destroy the app, type its name exactly.",
        );
    }
    match routes::apps::destroy(State(state), AuthUser(session.user), Path(name.clone())).await {
        Ok(_) => redirect_with("/apps", "notice", &format!("Destroyed {name}.")),
        Err(e @ ApiError::NotFound(_)) => error_page(&e, &Flash(None)),
        Err(e) => redirect_with(&format!("/apps/{name}/settings"), "error", &e.to_string()),
    }
}
