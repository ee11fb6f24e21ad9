//! Signing in for an API token, and the account behind a token.

use crate::auth::{generate_token, hash_token, verify_password_async, AuthUser};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;
use axum::extract::State;
use axum::Json;
use paas_domain::api::{Account, LoginRequest, LoginResponse};
use paas_domain::Email;
use std::sync::Arc;

pub async fn login(
    State(state): State<Arc<ApiState>>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let email = Email::parse(&body.email).map_err(|_| ApiError::Unauthorized)?;
    let user = state.store.user_by_email(&email).await?;
    // Verify against a dummy hash when the user is unknown, so timing tells nothing.
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let valid = verify_password_async(body.password, stored).await;
    let Some(user) = user.filter(|_| valid) else {
        tracing::info!("failed sign-in");
        return Err(ApiError::Unauthorized);
    };
    let token = generate_token();
    state
        .store
        .insert_token(user.id, &hash_token(&token))
        .await?;
    tracing::info!(user = %user.email, "signed in");
    Ok(Json(LoginResponse {
        email: user.email,
        token,
    }))
}

pub async fn account(AuthUser(user): AuthUser) -> Json<Account> {
    Json(Account {
        email: user.email,
        admin: user.admin,
    })
}

/// Argon2 hash of a random string nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cp8n2ZQ6YcY7l0C1jvWm8dJ0X4mWkL0kSxq3n4Hj2Zg";
