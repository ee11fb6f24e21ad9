//! Apps, who may use them (owner and collaborators), and their formation.

use super::codec::{
    all, app_from_row, column, now_ms, quantity_column, user_from_row, write_error, APP_COLUMNS,
    USER_COLUMNS,
};
use super::SqlStore;
use crate::{App, Result, StoreError, User};
use paas_domain::{AppName, Formation};
use uuid::Uuid;

pub(super) async fn create_app(db: &SqlStore, name: &AppName, owner_id: Uuid) -> Result<App> {
    let app = App {
        id: Uuid::new_v4(),
        name: name.as_str().to_string(),
        owner_id,
        current_release_id: None,
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO apps (id, name, owner_id, current_release_id, created_at) \
         VALUES ($1, $2, $3, NULL, $4)",
    )
    .bind(app.id.to_string())
    .bind(&app.name)
    .bind(owner_id.to_string())
    .bind(app.created_at)
    .execute(&db.pool)
    .await
    .map_err(|e| write_error(e, &format!("app {}", app.name), &format!("user {owner_id}")))?;
    Ok(app)
}

pub(super) async fn app_by_name(db: &SqlStore, name: &AppName) -> Result<Option<App>> {
    let row = sqlx::query(&format!("SELECT {APP_COLUMNS} FROM apps WHERE name = $1"))
        .bind(name.as_str())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(app_from_row).transpose()
}

pub(super) async fn list_apps(db: &SqlStore) -> Result<Vec<App>> {
    let rows = sqlx::query(&format!("SELECT {APP_COLUMNS} FROM apps ORDER BY name"))
        .fetch_all(&db.pool)
        .await?;
    all(&rows, app_from_row)
}

pub(super) async fn list_apps_for_user(db: &SqlStore, user_id: Uuid) -> Result<Vec<App>> {
    let rows = sqlx::query(&format!(
        "SELECT {APP_COLUMNS} FROM apps \
         WHERE owner_id = $1 \
            OR id IN (SELECT app_id FROM collaborators WHERE user_id = $1) \
         ORDER BY name"
    ))
    .bind(user_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    all(&rows, app_from_row)
}

/// Deletes the app's rows in the child tables and then the app, in one transaction, rather than
/// relying on `ON DELETE CASCADE` (which SQLite only honours with foreign keys switched on).
pub(super) async fn delete_app(db: &SqlStore, app_id: Uuid) -> Result<()> {
    let id = app_id.to_string();
    let mut tx = db.begin_write().await?;
    for statement in [
        "DELETE FROM collaborators WHERE app_id = $1",
        "DELETE FROM formation WHERE app_id = $1",
        "DELETE FROM pending_pushes WHERE app_id = $1",
        "DELETE FROM process_sizes WHERE app_id = $1",
        "DELETE FROM restarts WHERE app_id = $1",
        "DELETE FROM app_buildpacks WHERE app_id = $1",
        "DELETE FROM app_builders WHERE app_id = $1",
        "DELETE FROM app_schedulers WHERE app_id = $1",
        "DELETE FROM domains WHERE app_id = $1",
        "DELETE FROM maintenance WHERE app_id = $1",
        "DELETE FROM builds WHERE app_id = $1",
        "DELETE FROM releases WHERE app_id = $1",
    ] {
        sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
    }
    let deleted = sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("app {app_id}")));
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn add_collaborator(db: &SqlStore, app_id: Uuid, user_id: Uuid) -> Result<()> {
    sqlx::query("INSERT INTO collaborators (app_id, user_id, created_at) VALUES ($1, $2, $3)")
        .bind(app_id.to_string())
        .bind(user_id.to_string())
        .bind(now_ms())
        .execute(&db.pool)
        .await
        .map_err(|e| {
            write_error(
                e,
                &format!("user {user_id} is already a collaborator on app {app_id}"),
                &format!("app {app_id} or user {user_id}"),
            )
        })?;
    Ok(())
}

pub(super) async fn remove_collaborator(
    db: &SqlStore,
    app_id: Uuid,
    user_id: Uuid,
) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM collaborators WHERE app_id = $1 AND user_id = $2")
        .bind(app_id.to_string())
        .bind(user_id.to_string())
        .execute(&db.pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

pub(super) async fn list_collaborators(db: &SqlStore, app_id: Uuid) -> Result<Vec<User>> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users \
         JOIN collaborators ON collaborators.user_id = users.id \
         WHERE collaborators.app_id = $1 \
         ORDER BY users.email"
    ))
    .bind(app_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    all(&rows, user_from_row)
}

pub(super) async fn is_collaborator(db: &SqlStore, app_id: Uuid, user_id: Uuid) -> Result<bool> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM collaborators WHERE app_id = $1 AND user_id = $2")
            .bind(app_id.to_string())
            .bind(user_id.to_string())
            .fetch_one(&db.pool)
            .await?;
    Ok(column::<i64>(&row, "n")? > 0)
}

pub(super) async fn formation(db: &SqlStore, app_id: Uuid) -> Result<Formation> {
    let rows = sqlx::query(
        "SELECT process_type, quantity FROM formation WHERE app_id = $1 ORDER BY process_type",
    )
    .bind(app_id.to_string())
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                column(row, "process_type")?,
                quantity_column(row, "quantity")?,
            ))
        })
        .collect()
}

/// Replaces the formation in one transaction. `NotFound` when there is no such app.
pub(super) async fn set_formation(
    db: &SqlStore,
    app_id: Uuid,
    formation: &Formation,
) -> Result<()> {
    let id = app_id.to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM formation WHERE app_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let exists = sqlx::query("SELECT COUNT(*) AS n FROM apps WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    if column::<i64>(&exists, "n")? == 0 {
        return Err(StoreError::NotFound(format!("app {app_id}")));
    }
    for (process_type, quantity) in formation {
        sqlx::query("INSERT INTO formation (app_id, process_type, quantity) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(process_type)
            .bind(i64::from(*quantity))
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "formation entry", &format!("app {app_id}")))?;
    }
    tx.commit().await?;
    Ok(())
}
