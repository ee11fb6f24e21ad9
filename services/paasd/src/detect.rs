//! `paasd detect DIR`: which buildpack would build the app in DIR, without building it. The
//! buildpacks DIR's `.buildpacks` file chooses, else the built-in ones in order: their own
//! `bin/detect` runs inside a build container, as the app user, exactly as in a push (never on
//! this host). Line 1 is the name the winning
//! `bin/detect` printed, line 2 why; nothing detected is exit 1 with one line saying what was
//! looked for.

use crate::config::Config;
use anyhow::Context;
use paas_builder::{BuildError, Builder, BuilderConfig};
use paas_runtime::{ContainerRuntime, DockerRuntime};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let config = Config::load()?;
    let runtime: Arc<dyn ContainerRuntime> = Arc::new(
        DockerRuntime::connect()
            .await
            .context("cannot reach the Docker engine (is dockerd running?)")?,
    );
    let stacks = crate::stacks::ensure(runtime.as_ref(), &config).await?;
    let scratch = Scratch(
        std::env::temp_dir().join(format!("paasd-detect-{}", uuid::Uuid::new_v4().simple())),
    );
    std::fs::create_dir_all(&scratch.0).context("cannot create a scratch directory")?;
    let builder = Builder::new(
        runtime,
        BuilderConfig {
            stacks,
            ca_bundle: config.ca_bundle(),
            labels: BTreeMap::from([("paas.instance".to_string(), "detect".to_string())]),
            build_memory_bytes: (config.build_memory as i64) * 1024 * 1024,
            build_nano_cpus: Config::nano_cpus(config.build_cpus),
            build_timeout: Duration::from_secs(config.build_timeout),
            buildpack_cache: scratch.0.join("buildpacks"),
        },
    );
    match builder.detect_dir(dir, &scratch.0).await {
        Ok(detected) => {
            println!("{}", detected.name);
            if !detected.reason.is_empty() {
                println!("{}", detected.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(BuildError::Rejected(message)) => {
            eprintln!("{message}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// Removed when dropped.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
