//! Releases made without a build: config changes and rollbacks. The new release is computed
//! from the current one (read in the same transaction) and made current in that transaction;
//! a concurrent change that computed the same version retries from a fresh read, so no change
//! is lost.

use super::codec::{is_unique_violation, now_ms, release_from_row, RELEASE_COLUMNS};
use super::releases::insert_release_row;
use super::SqlStore;
use crate::{NewRelease, Release, ReleaseChange, ReleaseStatus, Result, StoreError};
use paas_domain::config_vars::apply_config_change;
use sqlx::{Any, Transaction};
use uuid::Uuid;

pub(super) async fn change_release(
    db: &SqlStore,
    app_id: Uuid,
    user_id: Option<Uuid>,
    change: ReleaseChange,
) -> Result<Release> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_change(db, app_id, user_id, &change).await {
            Err(Attempt::Sql(e)) if attempt < 25 && is_unique_violation(&e) => {
                // Another release took this version: read the new current one and retry.
                tokio::time::sleep(std::time::Duration::from_millis(2 * attempt)).await;
            }
            Err(Attempt::Sql(e)) => return Err(e.into()),
            Err(Attempt::Store(e)) => return Err(e),
            Ok(release) => return Ok(release),
        }
    }
}

enum Attempt {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Attempt {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

async fn release_by_id(
    tx: &mut Transaction<'static, Any>,
    app: &str,
    id: &str,
) -> std::result::Result<Option<Release>, Attempt> {
    let row = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 AND id = $2"
    ))
    .bind(app)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(release_from_row).transpose()?)
}

async fn try_change(
    db: &SqlStore,
    app_id: Uuid,
    user_id: Option<Uuid>,
    change: &ReleaseChange,
) -> std::result::Result<Release, Attempt> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    let current_id = match super::releases::lock_app_current_release(&mut tx, &app).await {
        Err(sqlx::Error::RowNotFound) => {
            return Err(StoreError::NotFound(format!("app {app_id}")).into())
        }
        other => other?,
    };
    let current = match &current_id {
        Some(id) => release_by_id(&mut tx, &app, id).await?,
        None => None,
    };
    let new = match change {
        ReleaseChange::Config(change) => {
            let empty = Default::default();
            let (config, description) =
                apply_config_change(current.as_ref().map_or(&empty, |r| &r.config), change)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
            NewRelease {
                app_id,
                image: current
                    .as_ref()
                    .map(|r| r.image.clone())
                    .unwrap_or_default(),
                process_types: current
                    .as_ref()
                    .map(|r| r.process_types.clone())
                    .unwrap_or_default(),
                config,
                description,
                user_id,
            }
        }
        ReleaseChange::Rollback { version } => {
            let row = sqlx::query(&format!(
                "SELECT {RELEASE_COLUMNS} FROM releases WHERE app_id = $1 AND version = $2"
            ))
            .bind(&app)
            .bind(*version)
            .fetch_optional(&mut *tx)
            .await?;
            let target = row
                .as_ref()
                .map(release_from_row)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(format!("release v{version}")))?;
            if target.image.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "v{version} has no build to roll back to"
                ))
                .into());
            }
            NewRelease {
                app_id,
                image: target.image,
                process_types: target.process_types,
                config: target.config,
                description: format!("Rollback to v{version}"),
                user_id,
            }
        }
    };
    let id = Uuid::new_v4();
    let created_at = now_ms();
    let version = insert_release_row(&mut tx, id, &new, created_at).await?;
    let status = if new.image.is_empty() {
        ReleaseStatus::Succeeded
    } else {
        ReleaseStatus::Pending
    };
    if status != ReleaseStatus::Pending {
        sqlx::query("UPDATE releases SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE apps SET current_release_id = $1 WHERE id = $2")
        .bind(id.to_string())
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Release {
        id,
        app_id,
        version,
        image: new.image,
        process_types: new.process_types,
        config: new.config,
        description: new.description,
        user_id,
        status,
        created_at,
    })
}
