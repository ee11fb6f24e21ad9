//! What the router needs beyond processes: custom domains (a host belongs to one app at
//! most, enforced by the primary key) and maintenance mode per app.

use super::codec::{column, now_ms, parse_uuid, write_error};
use super::SqlStore;
use crate::{Result, StoreError};
use uuid::Uuid;

pub(super) async fn domains(db: &SqlStore, app_id: Uuid) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT hostname FROM domains WHERE app_id = $1 ORDER BY hostname")
        .bind(app_id.to_string())
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|row| column(row, "hostname")).collect()
}

pub(super) async fn all_domains(db: &SqlStore) -> Result<Vec<(String, Uuid)>> {
    let rows = sqlx::query("SELECT hostname, app_id FROM domains ORDER BY hostname")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            let app: String = column(row, "app_id")?;
            Ok((column(row, "hostname")?, parse_uuid(&app, "app_id")?))
        })
        .collect()
}

pub(super) async fn add_domain(db: &SqlStore, app_id: Uuid, hostname: &str) -> Result<()> {
    sqlx::query("INSERT INTO domains (hostname, app_id, created_at) VALUES ($1, $2, $3)")
        .bind(hostname)
        .bind(app_id.to_string())
        .bind(now_ms())
        .execute(&db.pool)
        .await
        .map_err(|e| write_error(e, &format!("domain {hostname}"), &format!("app {app_id}")))?;
    Ok(())
}

pub(super) async fn remove_domain(db: &SqlStore, app_id: Uuid, hostname: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM domains WHERE app_id = $1 AND hostname = $2")
        .bind(app_id.to_string())
        .bind(hostname)
        .execute(&db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("domain {hostname}")));
    }
    Ok(())
}

pub(super) async fn maintenance(db: &SqlStore, app_id: Uuid) -> Result<Option<Option<String>>> {
    let row = sqlx::query("SELECT page_url FROM maintenance WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.map(|row| column::<Option<String>>(&row, "page_url"))
        .transpose()
}

pub(super) async fn all_maintenance(db: &SqlStore) -> Result<Vec<(Uuid, Option<String>)>> {
    let rows = sqlx::query("SELECT app_id, page_url FROM maintenance")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            let app: String = column(row, "app_id")?;
            Ok((parse_uuid(&app, "app_id")?, column(row, "page_url")?))
        })
        .collect()
}

pub(super) async fn set_maintenance(
    db: &SqlStore,
    app_id: Uuid,
    on: Option<Option<&str>>,
) -> Result<()> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM maintenance WHERE app_id = $1")
        .bind(&app)
        .execute(&mut *tx)
        .await?;
    if let Some(page_url) = on {
        sqlx::query("INSERT INTO maintenance (app_id, page_url) VALUES ($1, $2)")
            .bind(&app)
            .bind(page_url)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "maintenance", &format!("app {app_id}")))?;
    }
    tx.commit().await?;
    Ok(())
}
