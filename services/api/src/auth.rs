//! Authentication: API tokens (sent as `Authorization: Bearer`, or as the password of HTTP
//! basic auth for git), stored only as SHA-256 hashes; passwords hashed with argon2.

use crate::error::ApiError;
use crate::state::ApiState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use paas_store::User;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The user a request is authenticated as.
pub struct AuthUser(pub User);

impl FromRequestParts<Arc<ApiState>> for AuthUser {
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
        let token = token_from_header(header).ok_or(ApiError::Unauthorized)?;
        let user = state
            .store
            .user_by_token_hash(&hash_token(&token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self(user))
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

/// Argon2id hash in PHC format (run it off the async threads: it is slow on purpose).
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

pub async fn hash_password_async(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
}

pub async fn verify_password_async(password: String, stored_hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &stored_hash))
        .await
        .unwrap_or(false)
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
