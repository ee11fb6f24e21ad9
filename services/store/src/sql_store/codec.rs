//! Translating between Rust values and the portable column types (TEXT uuids, BIGINT 0/1
//! booleans and millisecond times, TEXT JSON maps, TEXT statuses), turning rows into models, and
//! classifying database errors. Anything unexpected read from the database is `Corrupt`.

use crate::{ApiToken, App, Build, BuildStatus, Release, ReleaseStatus, Result, StoreError, User};
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row, Type};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

// Column lists matching the `*_from_row` functions below.

/// Qualified for use in joins, and aliased because SQLite only promises column names for `AS`.
pub(super) const USER_COLUMNS: &str = "users.id AS id, users.email AS email, \
     users.password_hash AS password_hash, users.admin AS admin, users.created_at AS created_at";
/// Aliased with a `token_` prefix so that they can be selected beside `USER_COLUMNS`.
pub(super) const TOKEN_COLUMNS: &str = "api_tokens.id AS token_id, \
     api_tokens.user_id AS token_user_id, api_tokens.description AS token_description, \
     api_tokens.created_at AS token_created_at, api_tokens.expires_at AS token_expires_at, \
     api_tokens.last_used_at AS token_last_used_at";
pub(super) const APP_COLUMNS: &str = "id, name, owner_id, current_release_id, created_at";
pub(super) const BUILD_COLUMNS: &str =
    "id, app_id, user_id, git_commit, status, release_id, created_at, finished_at";
pub(super) const RELEASE_COLUMNS: &str = "id, app_id, version, image, process_types, config, \
                                          description, user_id, status, created_at";

/// Now, in unix milliseconds.
pub(super) fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn bool_to_db(value: bool) -> i64 {
    i64::from(value)
}

pub(super) fn map_to_json(map: &BTreeMap<String, String>) -> String {
    // A map of strings always serializes; the fallback only keeps this free of panics.
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_string())
}

// --- classifying errors

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(super) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// Maps a failed write: unique violation -> `Conflict(conflict)`, foreign-key violation (a
/// referenced row is missing) -> `NotFound(missing)`, anything else -> `Database`.
pub(super) fn write_error(e: sqlx::Error, conflict: &str, missing: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(conflict.to_string())
    } else if is_foreign_key_violation(&e) {
        StoreError::NotFound(missing.to_string())
    } else {
        StoreError::Database(e)
    }
}

// --- reading columns

/// Reads a column; a value of the wrong type (or an unexpected NULL) is `Corrupt`.
pub(super) fn column<'r, T>(row: &'r AnyRow, name: &str) -> Result<T>
where
    T: Decode<'r, Any> + Type<Any>,
{
    row.try_get(name).map_err(|e| match e {
        sqlx::Error::ColumnDecode { .. } => StoreError::Corrupt(format!("column {name}: {e}")),
        other => StoreError::Database(other),
    })
}

pub(super) fn parse_uuid(text: &str, name: &str) -> Result<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| StoreError::Corrupt(format!("column {name}: {text:?} is not a uuid")))
}

pub(super) fn uuid_column(row: &AnyRow, name: &str) -> Result<Uuid> {
    let text: String = column(row, name)?;
    parse_uuid(&text, name)
}

pub(super) fn optional_uuid_column(row: &AnyRow, name: &str) -> Result<Option<Uuid>> {
    let text: Option<String> = column(row, name)?;
    text.map(|t| parse_uuid(&t, name)).transpose()
}

pub(super) fn bool_column(row: &AnyRow, name: &str) -> Result<bool> {
    match column::<i64>(row, name)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt(format!(
            "column {name}: {other} is not 0 or 1"
        ))),
    }
}

pub(super) fn json_map_column(row: &AnyRow, name: &str) -> Result<BTreeMap<String, String>> {
    let text: String = column(row, name)?;
    serde_json::from_str(&text).map_err(|e| {
        StoreError::Corrupt(format!("column {name}: not a JSON object of strings: {e}"))
    })
}

pub(super) fn build_status_column(row: &AnyRow, name: &str) -> Result<BuildStatus> {
    let text: String = column(row, name)?;
    [
        BuildStatus::Pending,
        BuildStatus::Succeeded,
        BuildStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
    .ok_or_else(|| StoreError::Corrupt(format!("column {name}: unknown build status {text:?}")))
}

pub(super) fn release_status_column(row: &AnyRow, name: &str) -> Result<ReleaseStatus> {
    let text: String = column(row, name)?;
    [
        ReleaseStatus::Pending,
        ReleaseStatus::Succeeded,
        ReleaseStatus::Failed,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
    .ok_or_else(|| StoreError::Corrupt(format!("column {name}: unknown release status {text:?}")))
}

/// A formation quantity must fit a `u32`.
pub(super) fn quantity_column(row: &AnyRow, name: &str) -> Result<u32> {
    let value: i64 = column(row, name)?;
    u32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("column {name}: {value} is not a process count")))
}

// --- rows to models

pub(super) fn user_from_row(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: uuid_column(row, "id")?,
        email: column(row, "email")?,
        password_hash: column(row, "password_hash")?,
        admin: bool_column(row, "admin")?,
        created_at: column(row, "created_at")?,
    })
}

pub(super) fn token_from_row(row: &AnyRow) -> Result<ApiToken> {
    let id: Option<String> = column(row, "token_id")?;
    let id = id.ok_or_else(|| StoreError::Corrupt("column token_id: NULL".to_string()))?;
    let expires_at: Option<i64> = column(row, "token_expires_at")?;
    Ok(ApiToken {
        id: parse_uuid(&id, "token_id")?,
        user_id: uuid_column(row, "token_user_id")?,
        description: column(row, "token_description")?,
        created_at: column(row, "token_created_at")?,
        expires_at: expires_at
            .ok_or_else(|| StoreError::Corrupt("column token_expires_at: NULL".to_string()))?,
        last_used_at: column(row, "token_last_used_at")?,
    })
}

pub(super) fn app_from_row(row: &AnyRow) -> Result<App> {
    Ok(App {
        id: uuid_column(row, "id")?,
        name: column(row, "name")?,
        owner_id: uuid_column(row, "owner_id")?,
        current_release_id: optional_uuid_column(row, "current_release_id")?,
        created_at: column(row, "created_at")?,
    })
}

pub(super) fn build_from_row(row: &AnyRow) -> Result<Build> {
    Ok(Build {
        id: uuid_column(row, "id")?,
        app_id: uuid_column(row, "app_id")?,
        user_id: uuid_column(row, "user_id")?,
        commit: column(row, "git_commit")?,
        status: build_status_column(row, "status")?,
        release_id: optional_uuid_column(row, "release_id")?,
        created_at: column(row, "created_at")?,
        finished_at: column(row, "finished_at")?,
    })
}

pub(super) fn release_from_row(row: &AnyRow) -> Result<Release> {
    Ok(Release {
        id: uuid_column(row, "id")?,
        app_id: uuid_column(row, "app_id")?,
        version: column(row, "version")?,
        image: column(row, "image")?,
        process_types: json_map_column(row, "process_types")?,
        config: json_map_column(row, "config")?,
        description: column(row, "description")?,
        user_id: optional_uuid_column(row, "user_id")?,
        status: release_status_column(row, "status")?,
        created_at: column(row, "created_at")?,
    })
}

/// Decodes every row with `f`, stopping at the first corrupt one.
pub(super) fn all<T>(rows: &[AnyRow], f: fn(&AnyRow) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}
