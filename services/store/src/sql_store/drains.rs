//! Log drains and OTLP exports per app: a URL belongs to an app's drains of one kind at most
//! once (the primary key), listed in the order they were added.

use super::codec::{column, now_ms, write_error};
use super::SqlStore;
use crate::{DrainKind, Result, StoreError};
use uuid::Uuid;

fn kind_of(text: &str) -> Result<DrainKind> {
    match text {
        "log" => Ok(DrainKind::Log),
        "otlp" => Ok(DrainKind::Otlp),
        other => Err(StoreError::Corrupt(format!(
            "column kind: {other:?} is not a drain kind"
        ))),
    }
}

pub(super) async fn drains(db: &SqlStore, app_id: Uuid, kind: DrainKind) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT url FROM drains WHERE app_id = $1 AND kind = $2 ORDER BY created_at, url",
    )
    .bind(app_id.to_string())
    .bind(kind.as_str())
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|row| column(row, "url")).collect()
}

pub(super) async fn all_drains(db: &SqlStore) -> Result<Vec<(String, DrainKind, String)>> {
    let rows = sqlx::query(
        "SELECT apps.name AS app, drains.kind AS kind, drains.url AS url FROM drains \
         JOIN apps ON apps.id = drains.app_id ORDER BY apps.name, drains.kind, drains.created_at, drains.url",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = column(row, "kind")?;
            Ok((column(row, "app")?, kind_of(&kind)?, column(row, "url")?))
        })
        .collect()
}

pub(super) async fn add_drain(
    db: &SqlStore,
    app_id: Uuid,
    kind: DrainKind,
    url: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO drains (app_id, kind, url, created_at) VALUES ($1, $2, $3, $4)")
        .bind(app_id.to_string())
        .bind(kind.as_str())
        .bind(url)
        .bind(now_ms())
        .execute(&db.pool)
        .await
        .map_err(|e| write_error(e, "drain", &format!("app {app_id}")))?;
    Ok(())
}

pub(super) async fn remove_drain(
    db: &SqlStore,
    app_id: Uuid,
    kind: DrainKind,
    url: &str,
) -> Result<()> {
    let done = sqlx::query("DELETE FROM drains WHERE app_id = $1 AND kind = $2 AND url = $3")
        .bind(app_id.to_string())
        .bind(kind.as_str())
        .bind(url)
        .execute(&db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("drain".to_string()));
    }
    Ok(())
}
