//! Per process type settings that roll a type over: the memory and CPU limits that
//! `ps:resize` sets, and the restart generation that `paas restart` raises.

use super::codec::{column, write_error};
use super::SqlStore;
use crate::{Result, StoreError};
use paas_domain::ProcessSize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub(super) async fn process_sizes(
    db: &SqlStore,
    app_id: Uuid,
) -> Result<BTreeMap<String, ProcessSize>> {
    let rows = sqlx::query(
        "SELECT process_type, memory_mb, cpu_millis FROM process_sizes WHERE app_id = $1",
    )
    .bind(app_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    let mut sizes = BTreeMap::new();
    for row in &rows {
        let number = |name: &str| -> Result<u32> {
            let value: i64 = column(row, name)?;
            u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{name} = {value}")))
        };
        sizes.insert(
            column::<String>(row, "process_type")?,
            ProcessSize {
                memory_mb: number("memory_mb")?,
                cpu_millis: number("cpu_millis")?,
            },
        );
    }
    Ok(sizes)
}

/// Sets the sizes of the given process types (others keep theirs), in one transaction.
pub(super) async fn set_process_sizes(
    db: &SqlStore,
    app_id: Uuid,
    sizes: &BTreeMap<String, ProcessSize>,
) -> Result<()> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    for (process_type, size) in sizes {
        sqlx::query("DELETE FROM process_sizes WHERE app_id = $1 AND process_type = $2")
            .bind(&app)
            .bind(process_type)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO process_sizes (app_id, process_type, memory_mb, cpu_millis) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&app)
        .bind(process_type)
        .bind(i64::from(size.memory_mb))
        .bind(i64::from(size.cpu_millis))
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error(e, "process size", &format!("app {app_id}")))?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn restart_generations(
    db: &SqlStore,
    app_id: Uuid,
) -> Result<BTreeMap<String, u64>> {
    let rows = sqlx::query("SELECT process_type, generation FROM restarts WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_all(&db.pool)
        .await?;
    let mut generations = BTreeMap::new();
    for row in &rows {
        let generation: i64 = column(row, "generation")?;
        generations.insert(
            column::<String>(row, "process_type")?,
            u64::try_from(generation)
                .map_err(|_| StoreError::Corrupt(format!("generation = {generation}")))?,
        );
    }
    Ok(generations)
}

/// Adds one to the restart generation of each type, in one transaction.
pub(super) async fn bump_restarts(db: &SqlStore, app_id: Uuid, types: &[String]) -> Result<()> {
    let app = app_id.to_string();
    let mut tx = db.begin_write().await?;
    for process_type in types {
        let row =
            sqlx::query("SELECT generation FROM restarts WHERE app_id = $1 AND process_type = $2")
                .bind(&app)
                .bind(process_type)
                .fetch_optional(&mut *tx)
                .await?;
        let next = match &row {
            Some(row) => column::<i64>(row, "generation")? + 1,
            None => 1,
        };
        sqlx::query("DELETE FROM restarts WHERE app_id = $1 AND process_type = $2")
            .bind(&app)
            .bind(process_type)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO restarts (app_id, process_type, generation) VALUES ($1, $2, $3)")
            .bind(&app)
            .bind(process_type)
            .bind(next)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "restart generation", &format!("app {app_id}")))?;
    }
    tx.commit().await?;
    Ok(())
}
