//! How an app is built (`paas builder:set dockerfile|buildpacks`): one row per app that
//! forced it; none when detection decides.

use super::codec::{column, write_error};
use super::SqlStore;
use crate::{Result, StoreError};
use paas_domain::BuildMethod;
use uuid::Uuid;

pub(super) async fn app_build_method(db: &SqlStore, app_id: Uuid) -> Result<Option<BuildMethod>> {
    let row = sqlx::query("SELECT method FROM app_builders WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let method: String = column(&row, "method")?;
    BuildMethod::parse(&method)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("app_builders.method: {e}")))
}

/// Sets (or, with `None`, clears) the app's build method, in one transaction.
pub(super) async fn set_app_build_method(
    db: &SqlStore,
    app_id: Uuid,
    method: Option<BuildMethod>,
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
    sqlx::query("DELETE FROM app_builders WHERE app_id = $1")
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    if let Some(method) = method {
        sqlx::query("INSERT INTO app_builders (app_id, method) VALUES ($1, $2)")
            .bind(&app)
            .bind(method.as_str())
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "builder", &format!("app {app_id}")))?;
    }
    tx.commit().await?;
    Ok(())
}
