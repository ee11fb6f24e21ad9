//! One optional setting per app, kept in its own table of `(app_id, <column>)` rows: a row when
//! the app chose a value, none when the platform decides. The SQL shape shared by `builders` and
//! `schedulers`; table and column names are `&'static str` constants, never input.

use super::codec::{column, uuid_column, write_error};
use super::SqlStore;
use crate::{Result, StoreError};
use sqlx::any::AnyRow;
use std::fmt::Display;
use uuid::Uuid;

/// A table holding one optional setting per app.
pub(super) struct AppSetting {
    /// The table, e.g. `app_schedulers`; its rows are `(app_id, <column>)`.
    pub(super) table: &'static str,
    /// The column holding the setting's text.
    pub(super) column: &'static str,
    /// Names the setting in a write conflict (`StoreError::Conflict`).
    pub(super) noun: &'static str,
}

impl AppSetting {
    /// Reads the setting's column from a row; text that `parse` rejects is `Corrupt`.
    fn value_from_row<T, E: Display>(
        &self,
        row: &AnyRow,
        parse: fn(&str) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let text: String = column(row, self.column)?;
        parse(&text)
            .map_err(|e| StoreError::Corrupt(format!("{}.{}: {e}", self.table, self.column)))
    }

    /// The app's setting, or `None` when it chose none.
    pub(super) async fn get<T, E: Display>(
        &self,
        db: &SqlStore,
        app_id: Uuid,
        parse: fn(&str) -> std::result::Result<T, E>,
    ) -> Result<Option<T>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE app_id = $1",
            self.column, self.table
        );
        let row = sqlx::query(&sql)
            .bind(app_id.to_string())
            .fetch_optional(&db.pool)
            .await?;
        row.as_ref()
            .map(|row| self.value_from_row(row, parse))
            .transpose()
    }

    /// Every app that chose a setting, by app id.
    pub(super) async fn all<T, E: Display>(
        &self,
        db: &SqlStore,
        parse: fn(&str) -> std::result::Result<T, E>,
    ) -> Result<Vec<(Uuid, T)>> {
        let sql = format!(
            "SELECT app_id, {} FROM {} ORDER BY app_id",
            self.column, self.table
        );
        let rows = sqlx::query(&sql).fetch_all(&db.pool).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    uuid_column(row, "app_id")?,
                    self.value_from_row(row, parse)?,
                ))
            })
            .collect()
    }

    /// Sets (or, with `None`, clears) the app's setting, in one transaction; an unknown app is
    /// `NotFound`.
    pub(super) async fn set(&self, db: &SqlStore, app_id: Uuid, value: Option<&str>) -> Result<()> {
        let app = app_id.to_string();
        let mut tx = db.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM apps WHERE id = $1")
            .bind(&app)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("app {app_id}")));
        }
        sqlx::query(&format!("DELETE FROM {} WHERE app_id = $1", self.table))
            .bind(&app)
            .execute(&mut *tx)
            .await?;
        if let Some(value) = value {
            let sql = format!(
                "INSERT INTO {} (app_id, {}) VALUES ($1, $2)",
                self.table, self.column
            );
            sqlx::query(&sql)
                .bind(&app)
                .bind(value)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, self.noun, &format!("app {app_id}")))?;
        }
        tx.commit().await?;
        Ok(())
    }
}
