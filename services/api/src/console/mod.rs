//! The web console: server-rendered HTML pages (tera templates from `web/templates`, embedded
//! in the binary with the static files of `web/static`) at the platform's root URL. Every
//! change it makes goes through the JSON API's own handlers (the releases service, the store,
//! the scheduler's wake-ups), called in-process with the signed-in user, so a scale or config
//! change from the console is the same as from `paas`. Sessions are API tokens kept in an
//! HttpOnly, SameSite=Lax cookie; every POST carries a CSRF token (`session::require_csrf`).

mod app;
mod apps;
mod charts;
mod pages;
mod session;

use crate::state::ApiState;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// The console's routes (merged into the platform's router).
pub fn router(state: Arc<ApiState>) -> Router<Arc<ApiState>> {
    Router::new()
        .route("/", get(apps::root))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/static/{file}", get(pages::static_file))
        .route("/apps", get(apps::list).post(apps::create))
        .route("/apps/{app}", get(app::overview))
        .route("/apps/{app}/destroy", post(apps::destroy))
        .route("/apps/{app}/scale", post(app::scale))
        .route("/apps/{app}/restart", post(app::restart))
        .route("/apps/{app}/settings", get(app::settings))
        .route("/apps/{app}/config", post(app::config_set))
        .route("/apps/{app}/config/remove", post(app::config_remove))
        .route("/apps/{app}/domains", post(app::domain_add))
        .route("/apps/{app}/domains/remove", post(app::domain_remove))
        .route("/apps/{app}/buildpacks", post(app::buildpacks_set))
        .route("/apps/{app}/maintenance", post(app::maintenance))
        .route("/apps/{app}/releases", get(app::releases))
        .route("/apps/{app}/rollback", post(app::rollback))
        .route("/apps/{app}/builds", get(app::builds))
        .route("/apps/{app}/builds/{id}", get(app::build_output))
        .route("/apps/{app}/logs", get(app::logs))
        .route("/apps/{app}/logs/stream", get(app::logs_stream))
        .route("/apps/{app}/metrics", get(app::metrics))
        .layer(middleware::from_fn_with_state(state, session::require_csrf))
}
