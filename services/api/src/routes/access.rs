//! Access to an app: its owner and collaborators. Any member can list and add; the owner
//! cannot be removed.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::api::{AddCollaborator, Collaborator};
use paas_domain::Email;
use paas_store::StoreError;
use std::sync::Arc;

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Vec<Collaborator>>, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let mut members = Vec::new();
    if let Some(owner) = state.store.user_by_id(app.owner_id).await? {
        members.push(Collaborator {
            email: owner.email,
            role: "owner".to_string(),
        });
    }
    for c in state.store.list_collaborators(app.id).await? {
        members.push(Collaborator {
            email: c.email,
            role: "collaborator".to_string(),
        });
    }
    Ok(Json(members))
}

pub async fn add(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<AddCollaborator>,
) -> Result<(StatusCode, Json<Collaborator>), ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let member = state.store.user_by_email(&email).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "No user {email}; an admin can add it with users:add."
        ))
    })?;
    if member.id == app.owner_id {
        return Err(ApiError::Conflict(format!("{email} owns {}.", app.name)));
    }
    match state.store.add_collaborator(app.id, member.id).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "{email} already has access to {}.",
                app.name
            )))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(app = %app.name, by = %user.email, member = %email, "collaborator added");
    Ok((
        StatusCode::CREATED,
        Json(Collaborator {
            email: email.to_string(),
            role: "collaborator".to_string(),
        }),
    ))
}

pub async fn remove(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path((name, email)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = app_for_user(&state, &user, &name).await?;
    let email = Email::parse(&email).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let not_member =
        || ApiError::NotFound(format!("{email} is not a collaborator on {}.", app.name));
    let member = state
        .store
        .user_by_email(&email)
        .await?
        .ok_or_else(not_member)?;
    if member.id == app.owner_id {
        return Err(ApiError::Invalid(
            "The owner's access cannot be removed.".to_string(),
        ));
    }
    if !state.store.remove_collaborator(app.id, member.id).await? {
        return Err(not_member());
    }
    tracing::info!(app = %app.name, by = %user.email, member = %email, "collaborator removed");
    Ok(StatusCode::NO_CONTENT)
}
