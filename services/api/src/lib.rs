//! The platform's HTTP surface: the JSON API (sessions, authorizations, users, apps, access),
//! git smart HTTP
//! for `git push`, the internal endpoint the `pre-receive` hook calls to build and deploy, and
//! the web console (`console`: HTML pages at the platform's root URL).
//! API errors map to HTTP statuses in one place (`error.rs`).

mod auth;
mod bootstrap;
mod client_addr;
mod config;
mod console;
mod error;
mod git;
mod json;
mod releases;
mod routes;
mod signin;
mod state;
mod views;

pub use bootstrap::{ensure_admin, AdminBootstrap};
pub use client_addr::ClientAddr;
pub use config::ApiConfig;
pub use error::ApiError;
pub use git::settle::{settle_pushes, Settled};
pub use git::{HookRequest, HOOK_RESULT_PREFIX};
pub use json::JSON_BODY_LIMIT;
pub use routes::drains::start_all as start_drains;
pub use routes::router_feed::{InFlightReport, VersionedTable};
pub use routes::run::ATTACHED_LABEL as RUN_ATTACHED_LABEL;
pub use signin::SigninConfig;
pub use state::ApiState;

/// A new random secret (e.g. for a separate router process).
pub fn generate_secret() -> String {
    auth::generate_token()
}

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;

/// All routes of the platform host (the JSON API, git, and the web console at `/`).
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .merge(console::router(state.clone()))
        .route("/healthz", get(routes::health::healthz))
        .route("/api/login", post(routes::session::login))
        .route("/api/account", get(routes::session::account))
        .route(
            "/api/oauth/authorizations",
            get(routes::authorizations::list),
        )
        .route(
            "/api/oauth/authorizations/{id}",
            delete(routes::authorizations::revoke),
        )
        .route(
            "/api/users",
            get(routes::users::list).post(routes::users::create),
        )
        .route("/api/users/{email}", delete(routes::users::remove))
        .route("/api/nodes", get(routes::nodes::list))
        .route("/api/nodes/join", get(routes::nodes::join))
        .route("/api/nodes/{node}/drain", post(routes::nodes::drain))
        .route("/api/nodes/{node}/activate", post(routes::nodes::activate))
        .route(
            "/api/apps",
            get(routes::apps::list).post(routes::apps::create),
        )
        .route(
            "/api/apps/{app}",
            get(routes::apps::info).delete(routes::apps::destroy),
        )
        .route(
            "/api/apps/{app}/releases",
            get(routes::releases::list).post(routes::releases::rollback),
        )
        .route(
            "/api/apps/{app}/releases/{version}",
            get(routes::releases::info),
        )
        .route(
            "/api/apps/{app}/config-vars",
            get(routes::config_vars::get).patch(routes::config_vars::update),
        )
        .route(
            "/api/apps/{app}/formation",
            get(routes::formation::list).patch(routes::formation::update),
        )
        .route(
            "/api/apps/{app}/dynos",
            get(routes::formation::dynos)
                .post(routes::run::create)
                .delete(routes::formation::restart_all),
        )
        .route(
            "/api/apps/{app}/dynos/{dyno}",
            delete(routes::formation::restart_one),
        )
        .route(
            "/api/apps/{app}/dynos/{dyno}/actions/stop",
            post(routes::formation::stop_dyno),
        )
        .route(
            "/api/apps/{app}/buildpacks",
            get(routes::buildpacks::list)
                .post(routes::buildpacks::add)
                .patch(routes::buildpacks::replace)
                .delete(routes::buildpacks::clear),
        )
        .route(
            "/api/apps/{app}/buildpacks/detect",
            get(routes::buildpacks::detect),
        )
        .route("/api/apps/{app}/logs", get(routes::logs::show))
        .route("/api/apps/{app}/builds", get(routes::builds::list))
        .route(
            "/api/apps/{app}/builds/{id}/output",
            get(routes::builds::output),
        )
        .route(
            "/api/apps/{app}/builder",
            get(routes::builder::show).patch(routes::builder::set),
        )
        .route(
            "/api/apps/{app}/scheduler",
            get(routes::scheduler::show).patch(routes::scheduler::set),
        )
        .route(
            "/api/apps/{app}/domains",
            get(routes::routing::list_domains).post(routes::routing::add_domain),
        )
        .route(
            "/api/apps/{app}/domains/{hostname}",
            delete(routes::routing::remove_domain),
        )
        .route("/api/router/table", get(routes::router_feed::table))
        .route("/api/router/records", post(routes::router_records::receive))
        .route(
            "/api/router/in-flight",
            post(routes::router_feed::in_flight),
        )
        .route("/metrics", get(routes::metrics::prometheus))
        .route("/api/apps/{app}/metrics", get(routes::metrics::series))
        .route(
            "/api/apps/{app}/drains",
            get(routes::drains::list_drains).post(routes::drains::add_drain),
        )
        .route(
            "/api/apps/{app}/drains/{url}",
            delete(routes::drains::remove_drain),
        )
        .route(
            "/api/apps/{app}/telemetry",
            get(routes::drains::list_telemetry).post(routes::drains::add_telemetry),
        )
        .route(
            "/api/apps/{app}/telemetry/{url}",
            delete(routes::drains::remove_telemetry),
        )
        .route(
            "/api/apps/{app}/maintenance",
            get(routes::routing::maintenance).patch(routes::routing::set_maintenance),
        )
        .route(
            "/api/apps/{app}/sizes",
            get(routes::sizes::list).patch(routes::sizes::update),
        )
        .route(
            "/api/apps/{app}/collaborators",
            get(routes::access::list).post(routes::access::add),
        )
        .route(
            "/api/apps/{app}/collaborators/{email}",
            delete(routes::access::remove),
        )
        .route("/{repo}/info/refs", get(git::smart_http::info_refs))
        .route(
            "/{repo}/git-receive-pack",
            post(git::smart_http::receive_pack),
        )
        .route(
            "/{repo}/git-upload-pack",
            post(git::smart_http::upload_pack),
        )
        .route("/internal/hooks/pre-receive", post(git::hook::pre_receive))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(json::JSON_BODY_LIMIT))
        .with_state(state)
}
