//! Errors of the container runtime.

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot reach the Docker engine: {0}")]
    Unavailable(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("stack bootstrap failed: {0}")]
    Stack(String),
    /// A Dockerfile build failed: the engine's message.
    #[error("{0}")]
    Build(String),
    #[error("docker: {0}")]
    Docker(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
