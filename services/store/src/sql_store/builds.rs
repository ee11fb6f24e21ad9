//! Builds: one per `git push`, `Pending` until the builder finishes it. Rows carry a per-app
//! `seq` (1, 2, 3, ...) so that "newest first" is exact even within one millisecond.

use super::codec::{all, build_from_row, now_ms, write_error, BUILD_COLUMNS};
use super::numbering::retry_on_unique_violation;
use super::SqlStore;
use crate::{Build, BuildStatus, Result, StoreError};
use uuid::Uuid;

pub(super) async fn create_build(
    db: &SqlStore,
    app_id: Uuid,
    user_id: Uuid,
    commit: &str,
) -> Result<Build> {
    let build = Build {
        id: Uuid::new_v4(),
        app_id,
        user_id,
        commit: commit.to_string(),
        status: BuildStatus::Pending,
        release_id: None,
        created_at: now_ms(),
        finished_at: None,
    };
    retry_on_unique_violation(|| insert_build(db, &build))
        .await
        .map_err(|e| {
            write_error(
                e,
                "build number taken (too many concurrent builds)",
                &format!("app {app_id}"),
            )
        })?;
    Ok(build)
}

async fn insert_build(db: &SqlStore, build: &Build) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO builds (id, app_id, seq, user_id, git_commit, status, created_at) \
         SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6 \
         FROM builds WHERE app_id = $2",
    )
    .bind(build.id.to_string())
    .bind(build.app_id.to_string())
    .bind(build.user_id.to_string())
    .bind(&build.commit)
    .bind(build.status.as_str())
    .bind(build.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Sets the outcome; `finished_at` is now unless the status is (back to) `Pending`.
/// `NotFound` when there is no such build (or no such release).
pub(super) async fn finish_build(
    db: &SqlStore,
    build_id: Uuid,
    status: BuildStatus,
    release_id: Option<Uuid>,
) -> Result<()> {
    let finished_at = (status != BuildStatus::Pending).then(now_ms);
    let updated = sqlx::query(
        "UPDATE builds SET status = $1, release_id = $2, finished_at = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(release_id.map(|id| id.to_string()))
    .bind(finished_at)
    .bind(build_id.to_string())
    .execute(&db.pool)
    .await
    .map_err(|e| {
        let release = release_id.map(|id| id.to_string()).unwrap_or_default();
        write_error(e, "build", &format!("release {release}"))
    })?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("build {build_id}")));
    }
    Ok(())
}

pub(super) async fn fail_pending_builds(db: &SqlStore) -> Result<u64> {
    let updated = sqlx::query("UPDATE builds SET status = $1, finished_at = $2 WHERE status = $3")
        .bind(BuildStatus::Failed.as_str())
        .bind(now_ms())
        .bind(BuildStatus::Pending.as_str())
        .execute(&db.pool)
        .await?;
    Ok(updated.rows_affected())
}

pub(super) async fn list_builds(db: &SqlStore, app_id: Uuid) -> Result<Vec<Build>> {
    let rows = sqlx::query(&format!(
        "SELECT {BUILD_COLUMNS} FROM builds WHERE app_id = $1 ORDER BY seq DESC"
    ))
    .bind(app_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    all(&rows, build_from_row)
}
