//! Authentication: API tokens (sent as `Authorization: Bearer`, or as the password of HTTP
//! basic auth for git), stored only as SHA-256 hashes, refused once expired; passwords hashed
//! with argon2 (on the sign-in hashing pool, see `signin::hashing`).

use crate::error::ApiError;
use crate::state::ApiState;
use crate::views::{now_ms, rfc3339};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use paas_store::{ApiToken, User};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The last use of a token is recorded when the previous record is older than this.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The user a request is authenticated as.
pub struct AuthUser(pub User);

/// The user a request is authenticated as, and the token it came with.
pub struct Authenticated {
    pub user: User,
    pub token: ApiToken,
}

impl FromRequestParts<Arc<ApiState>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let secret = token_from_header(header).ok_or(ApiError::Unauthorized)?;
        authenticate(state, &secret).await
    }
}

/// The user and token behind a token's secret (from a header, or the console's session
/// cookie): refused when unknown or expired; its last use recorded now and then.
pub async fn authenticate(state: &ApiState, secret: &str) -> Result<Authenticated, ApiError> {
    let (token, user) = state
        .store
        .token_by_hash(&hash_token(secret))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let now = now_ms();
    if token.is_expired(now) {
        return Err(ApiError::TokenExpired {
            expired_at: rfc3339(token.expires_at),
        });
    }
    if token
        .last_used_at
        .is_none_or(|used| now - used >= TOUCH_EVERY_MS)
    {
        if let Err(e) = state.store.touch_token(token.id, now).await {
            tracing::warn!("cannot record the use of token {}: {e}", token.id);
        }
    }
    Ok(Authenticated { user, token })
}

impl FromRequestParts<Arc<ApiState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Self, Self::Rejection> {
        Authenticated::from_request_parts(parts, state)
            .await
            .map(|a| Self(a.user))
    }
}

/// The token in `Bearer <token>` or in the password of `Basic base64(login:token)`.
pub fn token_from_header(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!value.is_empty()).then(|| value.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (_, password) = decoded.split_once(':')?;
        return (!password.is_empty()).then(|| password.to_string());
    }
    None
}

/// Tokens carry 256 random bits, so a plain SHA-256 is enough to store them safely.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    hex::encode(bytes)
}

pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Argon2id hash in PHC format (run it off the async threads, on the hashing pool: it is slow
/// and memory-hungry on purpose).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes off the async threads without the pool (for the admin account at first start, before
/// the API state exists).
pub async fn hash_password_async(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
}

/// Hashes on the sign-in hashing pool; `ApiError::Busy` when it is at capacity.
pub async fn hash_password_pooled(state: &ApiState, password: String) -> Result<String, ApiError> {
    state
        .signin
        .pool
        .run(move || hash_password(&password))
        .await
        .map_err(|_| ApiError::Busy)?
}

/// Verifies on the sign-in hashing pool; `ApiError::Busy` when it is at capacity.
pub async fn verify_password_pooled(
    state: &ApiState,
    password: String,
    stored_hash: String,
) -> Result<bool, ApiError> {
    state
        .signin
        .pool
        .run(move || verify_password(&password, &stored_hash))
        .await
        .map_err(|_| ApiError::Busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_and_basic() {
        assert_eq!(token_from_header("Bearer abc").as_deref(), Some("abc"));
        let basic = base64::engine::general_purpose::STANDARD.encode("me@x.io:tok");
        assert_eq!(
            token_from_header(&format!("Basic {basic}")).as_deref(),
            Some("tok")
        );
        assert_eq!(token_from_header("Bearer "), None);
        assert_eq!(token_from_header("Basic !!!"), None);
        assert_eq!(token_from_header("Digest x"), None);
    }

    #[test]
    fn password_hash_round_trip() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("s3cret", "not-a-hash"));
    }

    #[test]
    fn token_hash_is_stable_and_hides_token() {
        let token = generate_token();
        assert_eq!(token.len(), 64);
        assert_eq!(hash_token(&token), hash_token(&token));
        assert_ne!(hash_token(&token), token);
    }
}
