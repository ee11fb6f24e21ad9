//! Errors of a build. Each one reads as one clear sentence for the pushing user.

use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read the pushed commit: {0}")]
    Checkout(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("failed to compile {buildpack} app (exit code {code})")]
    Compile { buildpack: &'static str, code: i64 },
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
