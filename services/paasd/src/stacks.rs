//! The stack images paasd builds on: which Debian packages go in the run and build stacks, and
//! making sure they exist (with progress on stderr).

use crate::config::Config;
use anyhow::Context;
use paas_runtime::{ContainerRuntime, DockerRuntime, StackConfig, StackImages};
use tokio::sync::mpsc;

/// Runtimes only: what release images run on.
const RUN_PACKAGES: &[&str] = &["ca-certificates", "python3", "netbase", "tzdata"];
/// Compilers, headers and package tools, on top of the run stack.
const BUILD_PACKAGES: &[&str] = &[
    "python3-pip",
    "python3-venv",
    "python3-dev",
    "build-essential",
    "git",
    "curl",
];

pub fn stack_config(config: &Config) -> StackConfig {
    StackConfig {
        pull_base: config.pull_base.clone(),
        mirror: config.debian_mirror.clone(),
        suite: "bookworm".to_string(),
        ca_bundle: config.ca_bundle(),
        run_packages: RUN_PACKAGES.iter().map(|p| p.to_string()).collect(),
        build_packages: BUILD_PACKAGES.iter().map(|p| p.to_string()).collect(),
        lock_path: std::env::temp_dir().join("paas-stacks.lock"),
    }
}

/// Makes sure the stacks exist, printing progress lines to stderr.
pub async fn ensure(
    runtime: &dyn ContainerRuntime,
    config: &Config,
) -> anyhow::Result<StackImages> {
    let (tx, mut rx) = mpsc::channel::<String>(64);
    let printer = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            eprintln!("{line}");
        }
    });
    let result = runtime.ensure_stacks(&stack_config(config), tx).await;
    let _ = printer.await;
    result.context("cannot prepare the stack images")
}

/// `paasd stacks`.
pub async fn run() -> anyhow::Result<()> {
    let config = Config::load()?;
    let runtime = DockerRuntime::connect()
        .await
        .context("cannot reach the Docker engine")?;
    let stacks = ensure(&runtime, &config).await?;
    println!(
        "base:  {}\nrun:   {}\nbuild: {}",
        stacks.base, stacks.run, stacks.build
    );
    Ok(())
}
