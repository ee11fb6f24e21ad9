//! JSON API handlers, one module per resource.

pub mod access;
pub mod apps;
pub mod authorizations;
pub mod builder;
pub mod buildpacks;
pub mod builds;
pub mod config_vars;
pub mod drains;
pub mod formation;
pub mod health;
pub mod logs;
pub mod metrics;
pub mod nodes;
pub mod releases;
pub mod router_feed;
pub mod router_records;
pub mod routing;
pub mod run;
pub mod scheduler;
pub mod session;
pub mod sizes;
pub mod users;

use crate::error::ApiError;
use crate::state::ApiState;
use paas_domain::AppName;
use paas_store::{App, User};

pub async fn not_found() -> ApiError {
    ApiError::NotFound("No such resource.".to_string())
}

/// The app named `name` if `user` owns it or collaborates on it; otherwise "not found", so
/// that apps a user may not see are indistinguishable from apps that do not exist.
pub async fn app_for_user(state: &ApiState, user: &User, name: &str) -> Result<App, ApiError> {
    let name = AppName::parse(name).map_err(|_| ApiError::app_not_found())?;
    let app = state
        .store
        .app_by_name(&name)
        .await?
        .ok_or_else(ApiError::app_not_found)?;
    if app.owner_id == user.id || state.store.is_collaborator(app.id, user.id).await? {
        Ok(app)
    } else {
        Err(ApiError::app_not_found())
    }
}
