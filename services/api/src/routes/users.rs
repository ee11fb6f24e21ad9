//! Users, managed by admins: list, add (with a given or generated password), remove.

use crate::auth::{generate_password, hash_password_pooled, AuthUser};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;
use crate::views::rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::api::{CreateUser, CreatedUser, UserInfo};
use paas_domain::Email;
use paas_store::{StoreError, User};
use std::sync::Arc;

fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only an admin can manage users.".to_string(),
        ))
    }
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<UserInfo>>, ApiError> {
    require_admin(&user)?;
    let users = state.store.list_users().await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| UserInfo {
                email: u.email,
                admin: u.admin,
                created_at: rfc3339(u.created_at),
            })
            .collect(),
    ))
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    require_admin(&user)?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let (password, generated) = match body.password.filter(|p| !p.is_empty()) {
        Some(p) if p.chars().count() < 8 => {
            return Err(ApiError::Invalid(
                "Password must be at least 8 characters.".to_string(),
            ))
        }
        Some(p) => (p, None),
        None => {
            let p = generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password_pooled(&state, password).await?;
    match state.store.create_user(&email, &hash, false).await {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!("User {email} already exists.")))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(admin = %user.email, user = %email, "user added");
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            email: email.to_string(),
            generated_password: generated,
        }),
    ))
}

pub async fn remove(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(email): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&user)?;
    let email = Email::parse(&email).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let target = state
        .store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No user {email}.")))?;
    if target.id == user.id {
        return Err(ApiError::Invalid(
            "You cannot remove your own account.".to_string(),
        ));
    }
    match state.store.delete_user(target.id).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "{email} still owns apps; destroy them first."
            )))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(admin = %user.email, user = %email, "user removed");
    Ok(StatusCode::NO_CONTENT)
}
