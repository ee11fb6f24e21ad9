//! Pushes between "release recorded" and "branch moved": `record_push_release` records the
//! release, finishes the build, sets a first formation, makes the release current and remembers
//! the push, all in one transaction; `settle_push` later finishes it (git moved the branch) or
//! undoes it (it did not), also in one transaction.

use super::codec::{all, column, now_ms, optional_uuid_column, uuid_column};
use super::numbering::retry_on_unique_violation;
use super::SqlStore;
use crate::{
    BuildStatus, NewRelease, PendingPush, PushRelease, Release, ReleaseStatus, Result, StoreError,
};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

pub(super) async fn record_push_release(db: &SqlStore, push: PushRelease) -> Result<Release> {
    let id = Uuid::new_v4();
    let created_at = now_ms();
    let (version, config) = retry_on_unique_violation(|| insert_all(db, id, &push, created_at))
        .await
        .map_err(|e| {
            if matches!(e, sqlx::Error::RowNotFound) {
                return StoreError::NotFound(format!(
                    "app {} or build {}",
                    push.release.app_id, push.build_id
                ));
            }
            super::codec::write_error(
                e,
                &format!(
                    "could not number a release of app {} (too many concurrent releases)",
                    push.release.app_id
                ),
                &format!("app {} (or its build or user)", push.release.app_id),
            )
        })?;
    let NewRelease {
        app_id,
        image,
        process_types,
        description,
        user_id,
        ..
    } = push.release;
    Ok(Release {
        id,
        app_id,
        version,
        image,
        process_types,
        config,
        description,
        user_id,
        status: ReleaseStatus::Pending,
        created_at,
    })
}

async fn insert_all(
    db: &SqlStore,
    id: Uuid,
    push: &PushRelease,
    created_at: i64,
) -> Result<(i64, std::collections::BTreeMap<String, String>), sqlx::Error> {
    let new = &push.release;
    let app = new.app_id.to_string();
    let mut tx = db.begin_write().await?;
    let previous = super::releases::lock_app_current_release(&mut tx, &app).await?;
    let mut new = new.clone();
    new.config = match &previous {
        Some(id) => {
            let row = sqlx::query("SELECT config FROM releases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                Some(row) => super::codec::json_map_column(&row, "config")
                    .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
                None => Default::default(),
            }
        }
        None => Default::default(),
    };
    let new = &new;
    let version = super::releases::insert_release_row(&mut tx, id, new, created_at).await?;
    let build = sqlx::query(
        "UPDATE builds SET status = $1, release_id = $2, finished_at = $3 \
         WHERE id = $4 AND app_id = $5",
    )
    .bind(BuildStatus::Succeeded.as_str())
    .bind(id.to_string())
    .bind(created_at)
    .bind(push.build_id.to_string())
    .bind(&app)
    .execute(&mut *tx)
    .await?;
    if build.rows_affected() == 0 {
        return Err(sqlx::Error::RowNotFound);
    }
    let formation_rows = sqlx::query("SELECT COUNT(*) AS n FROM formation WHERE app_id = $1")
        .bind(&app)
        .fetch_one(&mut *tx)
        .await?;
    if formation_rows.try_get::<i64, _>("n")? == 0 {
        for (process_type, quantity) in &push.initial_formation {
            sqlx::query(
                "INSERT INTO formation (app_id, process_type, quantity) VALUES ($1, $2, $3)",
            )
            .bind(&app)
            .bind(process_type)
            .bind(i64::from(*quantity))
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query("UPDATE apps SET current_release_id = $1 WHERE id = $2")
        .bind(id.to_string())
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO pending_pushes (build_id, app_id, ref_name, new_commit, release_id, \
                                     previous_release_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(push.build_id.to_string())
    .bind(&app)
    .bind(&push.ref_name)
    .bind(&push.new_commit)
    .bind(id.to_string())
    .bind(previous)
    .bind(created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((version, new.config.clone()))
}

const PENDING_COLUMNS: &str =
    "build_id, app_id, ref_name, new_commit, release_id, previous_release_id";

fn pending_from_row(row: &AnyRow) -> Result<PendingPush> {
    Ok(PendingPush {
        build_id: uuid_column(row, "build_id")?,
        app_id: uuid_column(row, "app_id")?,
        ref_name: column(row, "ref_name")?,
        new_commit: column(row, "new_commit")?,
        release_id: uuid_column(row, "release_id")?,
        previous_release_id: optional_uuid_column(row, "previous_release_id")?,
    })
}

pub(super) async fn pending_pushes(db: &SqlStore) -> Result<Vec<PendingPush>> {
    let rows = sqlx::query(&format!(
        "SELECT {PENDING_COLUMNS} FROM pending_pushes ORDER BY created_at"
    ))
    .fetch_all(&db.pool)
    .await?;
    all(&rows, pending_from_row)
}

pub(super) async fn pending_push(db: &SqlStore, build_id: Uuid) -> Result<Option<PendingPush>> {
    let row = sqlx::query(&format!(
        "SELECT {PENDING_COLUMNS} FROM pending_pushes WHERE build_id = $1"
    ))
    .bind(build_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(pending_from_row).transpose()
}

/// Finishes (`ref_moved`) or undoes the push. `NotFound` when it is not pending.
pub(super) async fn settle_push(db: &SqlStore, build_id: Uuid, ref_moved: bool) -> Result<()> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!(
        "SELECT {PENDING_COLUMNS} FROM pending_pushes WHERE build_id = $1"
    ))
    .bind(build_id.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("pending push of build {build_id}")))?;
    let push = pending_from_row(&row)?;
    if !ref_moved {
        let release = push.release_id.to_string();
        sqlx::query("UPDATE releases SET status = $1 WHERE id = $2")
            .bind(ReleaseStatus::Failed.as_str())
            .bind(&release)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE builds SET status = $1 WHERE id = $2")
            .bind(BuildStatus::Failed.as_str())
            .bind(build_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE apps SET current_release_id = $1 WHERE id = $2 AND current_release_id = $3",
        )
        .bind(push.previous_release_id.map(|id| id.to_string()))
        .bind(push.app_id.to_string())
        .bind(&release)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM pending_pushes WHERE build_id = $1")
        .bind(build_id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
