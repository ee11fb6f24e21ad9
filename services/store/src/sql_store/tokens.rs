//! API tokens: created by hash with an id, description and expiry; found by hash with their
//! user; listed, revoked, touched and pruned. Token hashes are never logged or put into errors.

use super::codec::{
    all, now_ms, token_from_row, user_from_row, write_error, TOKEN_COLUMNS, USER_COLUMNS,
};
use super::SqlStore;
use crate::{ApiToken, NewToken, Result, User};
use uuid::Uuid;

pub(super) async fn create_token(db: &SqlStore, new: NewToken) -> Result<ApiToken> {
    let token = ApiToken {
        id: Uuid::new_v4(),
        user_id: new.user_id,
        description: new.description,
        created_at: now_ms(),
        expires_at: new.expires_at,
        last_used_at: None,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, token_hash, user_id, description, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.id.to_string())
    .bind(&new.token_hash)
    .bind(token.user_id.to_string())
    .bind(&token.description)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(&db.pool)
    .await
    .map_err(|e| {
        write_error(
            e,
            "this API token exists already",
            &format!("user {}", token.user_id),
        )
    })?;
    Ok(token)
}

pub(super) async fn token_by_hash(
    db: &SqlStore,
    token_hash: &str,
) -> Result<Option<(ApiToken, User)>> {
    let row = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS}, {USER_COLUMNS} FROM api_tokens \
         JOIN users ON users.id = api_tokens.user_id \
         WHERE api_tokens.token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((token_from_row(&r)?, user_from_row(&r)?)))
        .transpose()
}

pub(super) async fn list_tokens(db: &SqlStore, user_id: Uuid) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 \
         ORDER BY created_at DESC, id"
    ))
    .bind(user_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    all(&rows, token_from_row)
}

pub(super) async fn delete_token(db: &SqlStore, user_id: Uuid, token_id: Uuid) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(token_id.to_string())
        .bind(user_id.to_string())
        .execute(&db.pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

pub(super) async fn touch_token(db: &SqlStore, token_id: Uuid, at: i64) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(token_id.to_string())
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub(super) async fn delete_expired_tokens(db: &SqlStore, now: i64) -> Result<u64> {
    let deleted = sqlx::query("DELETE FROM api_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(deleted.rows_affected())
}
