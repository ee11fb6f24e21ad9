//! Where an app's processes run (`paas scheduler:set docker|swarm`): one row per app that
//! chose it; none when the platform's default applies.

use super::codec::{all, column, uuid_column, write_error};
use super::SqlStore;
use crate::{Result, StoreError};
use paas_domain::SchedulerKind;
use sqlx::any::AnyRow;
use uuid::Uuid;

fn kind_from_row(row: &AnyRow) -> Result<SchedulerKind> {
    let kind: String = column(row, "scheduler")?;
    SchedulerKind::parse(&kind)
        .map_err(|e| StoreError::Corrupt(format!("app_schedulers.scheduler: {e}")))
}

pub(super) async fn app_scheduler(db: &SqlStore, app_id: Uuid) -> Result<Option<SchedulerKind>> {
    let row = sqlx::query("SELECT scheduler FROM app_schedulers WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(kind_from_row).transpose()
}

/// Every app that chose its scheduler, by app id.
pub(super) async fn all_app_schedulers(db: &SqlStore) -> Result<Vec<(Uuid, SchedulerKind)>> {
    let rows = sqlx::query("SELECT app_id, scheduler FROM app_schedulers ORDER BY app_id")
        .fetch_all(&db.pool)
        .await?;
    all(&rows, |row| {
        Ok((uuid_column(row, "app_id")?, kind_from_row(row)?))
    })
}

/// Sets (or, with `None`, clears) the app's scheduler, in one transaction.
pub(super) async fn set_app_scheduler(
    db: &SqlStore,
    app_id: Uuid,
    kind: Option<SchedulerKind>,
) -> Result<()> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM apps WHERE id = $1")
        .bind(&app)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("app {app_id}")));
    }
    sqlx::query("DELETE FROM app_schedulers WHERE app_id = $1")
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    if let Some(kind) = kind {
        sqlx::query("INSERT INTO app_schedulers (app_id, scheduler) VALUES ($1, $2)")
            .bind(&app)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "scheduler", &format!("app {app_id}")))?;
    }
    tx.commit().await?;
    Ok(())
}
