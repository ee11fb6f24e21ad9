//! Signing in for an API token, and the account behind a token. Failed sign-ins are limited
//! per account and per client address, and password checks run on the bounded hashing pool
//! (see `signin`).

use crate::auth::{generate_token, hash_token, verify_password_pooled, AuthUser};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::state::ApiState;
use crate::views::now_ms;
use axum::extract::State;
use axum::Json;
use paas_domain::api::{Account, LoginRequest, LoginResponse};
use paas_domain::Email;
use paas_store::NewToken;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Description of tokens whose client did not say what they are for.
const DEFAULT_DESCRIPTION: &str = "created at sign-in";
const MAX_DESCRIPTION_CHARS: usize = 100;
const MAX_ACCOUNT_KEY_CHARS: usize = 254;
/// A failed sign-in is answered after this much per failure in the window (up to the cap), to
/// slow guessing down further.
const FAILURE_DELAY_STEP: Duration = Duration::from_millis(200);
const FAILURE_DELAY_MAX: Duration = Duration::from_secs(1);

pub async fn login(
    State(state): State<Arc<ApiState>>,
    client: ClientAddr,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let ttl = state.config.token_ttl;
    sign_in(&state, client, body, ttl).await.map(Json)
}

/// Checks the password (within the sign-in limits) and makes a token valid for `ttl`: the
/// CLI's for `token_ttl`, the console's session for less.
pub(crate) async fn sign_in(
    state: &Arc<ApiState>,
    client: ClientAddr,
    body: LoginRequest,
    ttl: Duration,
) -> Result<LoginResponse, ApiError> {
    let guard = &state.signin;
    // Unknown and malformed e-mails count like real ones, so limits tell nothing either; the
    // key is cut to an e-mail's maximum length, so that the counter's memory stays bounded.
    let account: String = body
        .email
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_ACCOUNT_KEY_CHARS)
        .collect();
    let address = client.ip();
    let now = Instant::now();
    if let Some(wait) = guard.addresses.locked_for(&address, now) {
        return Err(too_many("from your address", wait));
    }
    if let Some(wait) = guard.accounts.locked_for(&account, now) {
        return Err(too_many("for this account", wait));
    }

    let user = match Email::parse(&body.email) {
        Ok(email) => state.store.user_by_email(&email).await?,
        Err(_) => None,
    };
    // Verify against a dummy hash when the user is unknown, so timing tells nothing.
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let valid = verify_password_pooled(state, body.password, stored).await?;
    let Some(user) = user.filter(|_| valid) else {
        let now = Instant::now();
        let failures = guard
            .addresses
            .record_failure(address, now)
            .max(guard.accounts.record_failure(account, now));
        tracing::info!(client = %address, "failed sign-in");
        tokio::time::sleep((FAILURE_DELAY_STEP * failures).min(FAILURE_DELAY_MAX)).await;
        return Err(ApiError::Unauthorized);
    };
    guard.accounts.reset(&account);

    let token = generate_token();
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    state
        .store
        .create_token(NewToken {
            user_id: user.id,
            token_hash: hash_token(&token),
            description: description(body.description.as_deref()),
            expires_at: now_ms().saturating_add(ttl_ms),
        })
        .await?;
    tracing::info!(user = %user.email, client = %address, "signed in");
    Ok(LoginResponse {
        email: user.email,
        token,
    })
}

pub async fn account(AuthUser(user): AuthUser) -> Json<Account> {
    Json(Account {
        email: user.email,
        admin: user.admin,
    })
}

fn too_many(whom: &str, wait: Duration) -> ApiError {
    // Whole seconds, rounded up, so that retrying after Retry-After succeeds.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::TooManyRequests {
        message: format!("Too many failed sign-ins {whom}. Try again in {secs} seconds."),
        retry_after_secs: secs,
    }
}

/// The client's description, one line of printable characters, or the default.
fn description(given: Option<&str>) -> String {
    let cleaned: String = given
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DESCRIPTION_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        DEFAULT_DESCRIPTION.to_string()
    } else {
        cleaned.to_string()
    }
}

/// Argon2 hash of a random string nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Cp8n2ZQ6YcY7l0C1jvWm8dJ0X4mWkL0kSxq3n4Hj2Zg";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_one_short_line() {
        assert_eq!(description(None), DEFAULT_DESCRIPTION);
        assert_eq!(description(Some("  ")), DEFAULT_DESCRIPTION);
        assert_eq!(description(Some("a\nb\tc")), "a b c");
        assert_eq!(description(Some(&"x".repeat(500))).len(), 100);
    }

    #[test]
    fn retry_after_rounds_up() {
        match too_many("for this account", Duration::from_millis(1_500)) {
            ApiError::TooManyRequests {
                message,
                retry_after_secs,
            } => {
                assert_eq!(retry_after_secs, 2);
                assert!(message.contains("for this account"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
