//! The stack images paasd builds on: the runtime's default stacks with paasd's mirror, pull
//! base and CA bundle, made sure to exist (with progress on stderr).

use crate::config::Config;
use anyhow::Context;
use paas_runtime::{ContainerRuntime, DockerRuntime, StackConfig, StackImages};
use tokio::sync::mpsc;

pub fn stack_config(config: &Config) -> StackConfig {
    // Package lists and the lock file are the runtime's defaults, shared by every process on
    // the host, so the stacks are built once per machine.
    StackConfig {
        pull_base: config.pull_base.clone(),
        mirror: config.debian_mirror.clone(),
        ca_bundle: config.ca_bundle(),
        ..StackConfig::default()
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
