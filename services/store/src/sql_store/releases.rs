//! Releases: numbered 1, 2, 3, ... per app (see `numbering`), and which one is current.

use super::codec::{
    all, column, map_to_json, now_ms, release_from_row, write_error, RELEASE_COLUMNS,
};
use super::numbering::retry_on_unique_violation;
use super::SqlStore;
use crate::{NewRelease, Release, ReleaseStatus, Result, StoreError};
use sqlx::Row;
use uuid::Uuid;

pub(super) async fn create_release(db: &SqlStore, new: NewRelease) -> Result<Release> {
    let id = Uuid::new_v4();
    let created_at = now_ms();
    let version = retry_on_unique_violation(|| insert_release(db, id, &new, created_at))
        .await
        .map_err(|e| {
            write_error(
                e,
                &format!(
                    "could not number a release of app {} (too many concurrent releases)",
                    new.app_id
                ),
                &format!("app {} (or the release's user)", new.app_id),
            )
        })?;
    Ok(Release {
        id,
        app_id: new.app_id,
        version,
        image: new.image,
        process_types: new.process_types,
        config: new.config,
        description: new.description,
        user_id: new.user_id,
        status: ReleaseStatus::Pending,
        created_at,
    })
}

/// Inserts the release with the app's next version and returns that version.
async fn insert_release(
    db: &SqlStore,
    id: Uuid,
    new: &NewRelease,
    created_at: i64,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let version = insert_release_row(&mut tx, id, new, created_at).await?;
    tx.commit().await?;
    Ok(version)
}

/// Inserts the release row (status `Pending`) with the app's next version, inside `tx`, and
/// returns that version.
pub(super) async fn insert_release_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: Uuid,
    new: &NewRelease,
    created_at: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO releases (id, app_id, version, image, process_types, config, description, \
                               user_id, status, created_at) \
         SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5, $6, $7, $8, $9 \
         FROM releases WHERE app_id = $2 \
         RETURNING version",
    )
    .bind(id.to_string())
    .bind(new.app_id.to_string())
    .bind(&new.image)
    .bind(map_to_json(&new.process_types))
    .bind(map_to_json(&new.config))
    .bind(&new.description)
    .bind(new.user_id.map(|u| u.to_string()))
    .bind(ReleaseStatus::Pending.as_str())
    .bind(created_at)
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("version")
}

/// `NotFound` when there is no such release.
pub(super) async fn set_release_status(
    db: &SqlStore,
    release_id: Uuid,
    status: ReleaseStatus,
) -> Result<()> {
    let updated = sqlx::query("UPDATE releases SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(release_id.to_string())
        .execute(&db.pool)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("release {release_id}")));
    }
    Ok(())
}

/// `NotFound` when there is no such app, or the release is not one of the app's.
pub(super) async fn set_current_release(
    db: &SqlStore,
    app_id: Uuid,
    release_id: Option<Uuid>,
) -> Result<()> {
    let app = app_id.to_string();
    let release = release_id.map(|id| id.to_string());
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query("UPDATE apps SET current_release_id = $1 WHERE id = $2")
        .bind(&release)
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("app {app_id}")));
    }
    if let Some(release) = &release {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM releases WHERE id = $1 AND app_id = $2")
            .bind(release)
            .bind(&app)
            .fetch_one(&mut *tx)
            .await?;
        if column::<i64>(&row, "n")? == 0 {
            return Err(StoreError::NotFound(format!(
                "release {release} of app {app_id}"
            )));
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn release_by_id(db: &SqlStore, release_id: Uuid) -> Result<Option<Release>> {
    let row = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} FROM releases WHERE id = $1"
    ))
    .bind(release_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(release_from_row).transpose()
}

pub(super) async fn list_releases(db: &SqlStore, app_id: Uuid) -> Result<Vec<Release>> {
    let rows = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 ORDER BY version DESC"
    ))
    .bind(app_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    all(&rows, release_from_row)
}

/// Locks the app's row (a no-op update) and returns its current release id, `None` when the
/// app has none, or `RowNotFound` when there is no such app. On PostgreSQL a concurrent
/// release of the app waits here until this transaction ends and then reads the release it
/// made, so no change is lost; SQLite's `BEGIN IMMEDIATE` already serialises writers.
pub(super) async fn lock_app_current_release(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    app: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("UPDATE apps SET current_release_id = current_release_id WHERE id = $1")
        .bind(app)
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("SELECT current_release_id FROM apps WHERE id = $1")
        .bind(app)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    row.try_get("current_release_id")
}
