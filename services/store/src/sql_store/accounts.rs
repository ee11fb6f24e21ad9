//! Settings and users. Password hashes are stored but never logged or put into error messages
//! (API tokens live in `tokens`).

use super::codec::{
    all, bool_to_db, column, is_foreign_key_violation, now_ms, user_from_row, write_error,
    USER_COLUMNS,
};
use super::SqlStore;
use crate::{Result, StoreError, User};
use paas_domain::Email;
use uuid::Uuid;

pub(super) async fn setting(db: &SqlStore, key: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| column(&r, "value")).transpose()
}

pub(super) async fn put_setting(db: &SqlStore, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub(super) async fn count_users(db: &SqlStore) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&db.pool)
        .await?;
    column(&row, "n")
}

pub(super) async fn create_user(
    db: &SqlStore,
    email: &Email,
    password_hash: &str,
    admin: bool,
) -> Result<User> {
    let user = User {
        id: Uuid::new_v4(),
        email: email.as_str().to_string(),
        password_hash: password_hash.to_string(),
        admin,
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, admin, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(&user.password_hash)
    .bind(bool_to_db(user.admin))
    .bind(user.created_at)
    .execute(&db.pool)
    .await
    .map_err(|e| write_error(e, &format!("user {}", user.email), "user"))?;
    Ok(user)
}

pub(super) async fn user_by_email(db: &SqlStore, email: &Email) -> Result<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub(super) async fn user_by_id(db: &SqlStore, id: Uuid) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub(super) async fn list_users(db: &SqlStore) -> Result<Vec<User>> {
    let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))
        .fetch_all(&db.pool)
        .await?;
    all(&rows, user_from_row)
}

/// Removes the user's tokens and collaborations, unlinks them from the releases they made, and
/// deletes the user, all or nothing. Builds keep the id of the user who pushed them.
pub(super) async fn delete_user(db: &SqlStore, id: Uuid) -> Result<()> {
    let id = id.to_string();
    let mut tx = db.begin_write().await?;

    let owned = sqlx::query("SELECT COUNT(*) AS n FROM apps WHERE owner_id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    let owned: i64 = column(&owned, "n")?;
    if owned > 0 {
        return Err(StoreError::Conflict(format!(
            "user {id} still owns {owned} app(s)"
        )));
    }

    for statement in [
        "DELETE FROM api_tokens WHERE user_id = $1",
        "DELETE FROM collaborators WHERE user_id = $1",
        "UPDATE releases SET user_id = NULL WHERE user_id = $1",
    ] {
        sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
    }
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            // An app created for the user meanwhile (PostgreSQL notices only at this point).
            if is_foreign_key_violation(&e) {
                StoreError::Conflict(format!("user {id} still owns apps"))
            } else {
                StoreError::Database(e)
            }
        })?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    tx.commit().await?;
    Ok(())
}
