//! The buildpacks an app chose (`paas buildpacks:set`, `buildpacks:add`), in order.

use super::codec::{column, write_error};
use super::SqlStore;
use crate::Result;
use uuid::Uuid;

pub(super) async fn app_buildpacks(db: &SqlStore, app_id: Uuid) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT url FROM app_buildpacks WHERE app_id = $1 ORDER BY position")
        .bind(app_id.to_string())
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| column::<String>(row, "url"))
        .collect()
}

/// Replaces the whole list, in one transaction.
pub(super) async fn set_app_buildpacks(db: &SqlStore, app_id: Uuid, urls: &[String]) -> Result<()> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM app_buildpacks WHERE app_id = $1")
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    for (i, url) in urls.iter().enumerate() {
        insert(&mut tx, &app, i as i64 + 1, url, app_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Appends one buildpack, in one transaction; returns the whole list.
pub(super) async fn add_app_buildpack(
    db: &SqlStore,
    app_id: Uuid,
    url: &str,
) -> Result<Vec<String>> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "SELECT COALESCE(MAX(position), 0) AS last FROM app_buildpacks WHERE app_id = $1",
    )
    .bind(&app)
    .fetch_one(&mut *tx)
    .await?;
    let last: i64 = column(&row, "last")?;
    insert(&mut tx, &app, last + 1, url, app_id).await?;
    tx.commit().await?;
    app_buildpacks(db, app_id).await
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    app: &str,
    position: i64,
    url: &str,
    app_id: Uuid,
) -> Result<()> {
    sqlx::query("INSERT INTO app_buildpacks (app_id, position, url) VALUES ($1, $2, $3)")
        .bind(app)
        .bind(position)
        .bind(url)
        .execute(&mut **tx)
        .await
        .map_err(|e| write_error(e, "buildpack", &format!("app {app_id}")))?;
    Ok(())
}
