//! Opening a `SqlStore`: parsing the URL, per-connection SQLite settings (foreign keys, busy
//! timeout), WAL mode, and running the embedded migrations from `/migrations`.

use super::{Backend, SqlStore};
use crate::{Result, StoreError};
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use std::path::Path;
use std::time::Duration;

/// How long a SQLite connection waits for another writer before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u64 = 15_000;
const SQLITE_MAX_CONNECTIONS: u32 = 8;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

impl SqlStore {
    /// Connects to `sqlite://path/to/file.db` (the file is created when missing) or
    /// `postgres://user:password@host/database`, and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "the database URL must start with sqlite: or postgres:".into(),
            )));
        };
        let (url, max_connections) = match backend {
            Backend::Sqlite => (sqlite_url_creating_file(url), SQLITE_MAX_CONNECTIONS),
            Backend::Postgres => (url.to_string(), POSTGRES_MAX_CONNECTIONS),
        };

        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // sqlx turns foreign keys on by default; say so anyway, it is load-bearing.
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;

        let store = SqlStore { pool, backend };
        if backend == Backend::Sqlite {
            store.enable_wal().await?;
        }
        MIGRATOR.run(&store.pool).await?;
        tracing::debug!(?backend, "store connected and migrated");
        Ok(store)
    }

    /// Opens (creating when missing) the SQLite database file at `path`.
    pub async fn connect_sqlite_file(path: &Path) -> Result<SqlStore> {
        // Building the URL through sqlx percent-encodes characters such as `?`, `#` and spaces.
        let url = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .to_url_lossy();
        Self::connect(url.as_str()).await
    }

    /// Switches the database file to write-ahead logging, which lets readers proceed while one
    /// connection writes. The mode is stored in the file, so this is done once per connect rather
    /// than per connection; switching needs a moment of exclusive access, hence the retries.
    async fn enable_wal(&self) -> Result<()> {
        let mut attempt = 0;
        loop {
            match sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&self.pool)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if attempt < 20 && is_sqlite_busy(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Adds `mode=rwc` (create the file if missing) unless the URL already picks a mode.
fn sqlite_url_creating_file(url: &str) -> String {
    match url.split_once('?') {
        Some((_, query)) if query.split('&').any(|pair| pair.starts_with("mode=")) => {
            url.to_string()
        }
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    }
}

fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    // SQLITE_BUSY is 5; extended codes keep it in the low byte (e.g. 517 BUSY_SNAPSHOT).
    matches!(e, sqlx::Error::Database(db)
        if db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5))
}

#[cfg(test)]
mod tests {
    use super::sqlite_url_creating_file;

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
