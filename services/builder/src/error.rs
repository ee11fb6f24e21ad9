//! Errors of a build. Each one reads as one clear sentence for the pushing user.

use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read the pushed commit: {0}")]
    Checkout(String),
    #[error("the pushed tree holds an unsafe path {0:?} (a name that is `.`, `..` or `.git`, or holds `/`, `\\` or NUL); nothing was written")]
    UnsafePath(String),
    #[error("the build took longer than its limit of {minutes} min and was stopped")]
    TimedOut { minutes: u64 },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the build failed (exit code {code})")]
    Compile { code: i64 },
    /// A message for the user from the build driver or buildpack selection: no buildpack
    /// matches (and what was looked for), a compile that failed, a buildpack that cannot be
    /// fetched or is not one.
    #[error("{0}")]
    Rejected(String),
    #[error("the build ran out of memory ({limit_mib} MiB); the build was stopped")]
    OutOfMemory { limit_mib: i64 },
    #[error("the buildpack's bin/release printed invalid YAML: {0}")]
    ReleaseYaml(String),
    #[error("no process types: add a Procfile declaring e.g. `web: <command>`")]
    NoProcessTypes,
    #[error("container engine: {0}")]
    Runtime(#[from] paas_runtime::RuntimeError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
