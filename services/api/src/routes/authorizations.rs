//! The account's API tokens, as Heroku's OAuth authorizations: list them (marking the one the
//! request came with) and revoke one by id, or the current one with the id `~` (logout).

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::ApiState;
use crate::views::rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use paas_domain::api::Authorization;
use paas_store::ApiToken;
use std::sync::Arc;
use uuid::Uuid;

/// The id that means "the token of this request".
const CURRENT: &str = "~";

pub async fn list(
    State(state): State<Arc<ApiState>>,
    auth: Authenticated,
) -> Result<Json<Vec<Authorization>>, ApiError> {
    let tokens = state.store.list_tokens(auth.user.id).await?;
    Ok(Json(
        tokens
            .iter()
            .map(|t| view(t, t.id == auth.token.id))
            .collect(),
    ))
}

pub async fn revoke(
    State(state): State<Arc<ApiState>>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = if id == CURRENT {
        auth.token.id
    } else {
        Uuid::parse_str(&id).map_err(|_| not_found())?
    };
    // Another user's token is "not found", like one that does not exist.
    if !state.store.delete_token(auth.user.id, id).await? {
        return Err(not_found());
    }
    tracing::info!(user = %auth.user.email, token = %id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

fn not_found() -> ApiError {
    ApiError::NotFound("Couldn't find that authorization.".to_string())
}

fn view(token: &ApiToken, current: bool) -> Authorization {
    Authorization {
        id: token.id.to_string(),
        description: token.description.clone(),
        created_at: rfc3339(token.created_at),
        expires_at: rfc3339(token.expires_at),
        last_used_at: token.last_used_at.map(rfc3339),
        current,
    }
}
