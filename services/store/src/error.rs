//! Errors of the store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The change asked for is not possible (e.g. a rollback to a release without a build).
    #[error("{0}")]
    Invalid(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
