//! Building the stack images when missing: a Debian base (registry pull, else `debootstrap` and
//! the import API), then the run and build stacks, each made by running an apt script in a
//! container and committing it. Tags encode the inputs, so a changed package list makes a new
//! stack; a host-wide file lock makes concurrent callers (several processes) build each once.

mod base;
mod layer;
mod lock;
mod script;
mod tags;

use super::DockerRuntime;
use crate::stacks::{StackConfig, StackImages};
use crate::Result;
use std::time::Instant;
use tokio::sync::mpsc;

pub(crate) async fn ensure_stacks(
    rt: &DockerRuntime,
    config: &StackConfig,
    progress: &mpsc::Sender<String>,
) -> Result<StackImages> {
    script::validate(config)?;
    let images = tags::stack_images(config);
    if all_exist(rt, &images).await? {
        alias_run(rt, &images).await?;
        return Ok(images);
    }
    let progress = Progress(progress);
    let _lock = lock::StackLock::acquire(&config.lock_path, &progress).await?;
    // Someone else may have built them while we waited.
    if !rt.image_exists_quiet(&images.base).await? {
        base::build_base(rt, config, &images.base, &progress).await?;
    }
    if !rt.image_exists_quiet(&images.run).await? {
        layer::build_layer(
            rt,
            config,
            layer::Layer::Run,
            &images.base,
            &images.run,
            &progress,
        )
        .await?;
    }
    if !rt.image_exists_quiet(&images.build).await? {
        layer::build_layer(
            rt,
            config,
            layer::Layer::Build,
            &images.run,
            &images.build,
            &progress,
        )
        .await?;
    }
    alias_run(rt, &images).await?;
    Ok(images)
}

/// The run stack is also tagged [`crate::RUN_ALIAS`], so a Dockerfile can say `FROM paas/run`
/// without knowing the run stack's tag (which changes with its package list). With several
/// stack configurations on one host, the last one ensured holds the alias.
async fn alias_run(rt: &DockerRuntime, images: &StackImages) -> Result<()> {
    rt.tag_image(&images.run, crate::RUN_ALIAS).await
}

async fn all_exist(rt: &DockerRuntime, images: &StackImages) -> Result<bool> {
    for image in [&images.base, &images.run, &images.build] {
        if !rt.image_exists_quiet(image).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

impl DockerRuntime {
    async fn image_exists_quiet(&self, image: &str) -> Result<bool> {
        Ok(self.image_size_impl(image).await?.is_some())
    }
}

/// Progress lines in the buildpack style: `-----> step` and indented details. A closed
/// receiver is not an error: the work goes on.
pub(crate) struct Progress<'a>(&'a mpsc::Sender<String>);

impl Progress<'_> {
    pub(crate) async fn step(&self, message: impl AsRef<str>) {
        tracing::debug!("stacks: {}", message.as_ref());
        let _ = self.0.send(format!("-----> {}", message.as_ref())).await;
    }

    pub(crate) async fn detail(&self, message: impl AsRef<str>) {
        let _ = self.0.send(format!("       {}", message.as_ref())).await;
    }

    /// Reports the time a step took since `start`.
    pub(crate) async fn done(&self, what: &str, start: Instant) {
        let secs = start.elapsed().as_secs_f64();
        tracing::debug!("stacks: {what} took {secs:.1}s");
        self.detail(format!("{what} done in {secs:.1}s")).await;
    }
}

/// The last lines of some output, for error messages.
pub(crate) struct Tail {
    lines: std::collections::VecDeque<String>,
    max: usize,
}

impl Tail {
    pub(crate) fn new(max: usize) -> Self {
        Tail {
            lines: std::collections::VecDeque::with_capacity(max),
            max,
        }
    }

    pub(crate) fn push(&mut self, line: &str) {
        if self.lines.len() == self.max {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
    }

    pub(crate) fn text(&self) -> String {
        self.lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl DockerRuntime {
    /// Builds a base image tagged `tag` exactly as `ensure_stacks` does when the base is
    /// missing: a registry pull of `config.pull_base`, else debootstrap and import. Public so
    /// that the bootstrap can be exercised on a machine whose stacks already exist.
    pub async fn build_base_image(
        &self,
        config: &StackConfig,
        tag: &str,
        progress: mpsc::Sender<String>,
    ) -> Result<()> {
        script::validate(config)?;
        base::build_base(self, config, tag, &Progress(&progress)).await
    }
}
