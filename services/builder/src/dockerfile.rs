//! Dockerfile builds: an app whose `Dockerfile` no language buildpack claims (or whose builder
//! is set to `dockerfile`) is built with the container engine's builder. The build context is
//! the checkout's tar file, re-rooted (streamed, file to file), the app's config vars are the
//! build args, and the build's output goes to the push. The built image then gets a thin
//! layer: `/.paas/docker-launch` (PORT from its first `EXPOSE`, then the process type's
//! command through `/bin/sh -c`) and the release labels (`paas.port` when it exposes a port).
//! Process types: the Procfile's, else `web` as the image's own ENTRYPOINT + CMD.

use crate::error::BuildError;
use crate::pipeline::{BuildOutput, BuildRequest, Builder, ContainerGuard};
use crate::plan::BuildPlan;
use crate::slug::{first_file, human_size, TarWriter};
use paas_domain::{HEALTHCHECK_LABEL, PORT_LABEL};
use paas_runtime::{ContainerSpec, DockerBuild, ImageConfig, RuntimeError};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use tokio::sync::mpsc;

/// The name detection prints for a Dockerfile app (its `bin/detect`'s first line).
pub const DOCKERFILE: &str = "Dockerfile";

/// Why a build (or detection) forced to the Dockerfile cannot use one.
pub(crate) const NO_DOCKERFILE: &str = "the builder is set to dockerfile but the app has no Dockerfile at its root; add one, or run paas builder:set buildpacks";

const DOCKER_LAUNCHER: &str = "#!/bin/sh
# paas process launcher of Dockerfile images: PORT is the port the image EXPOSEs (when it
# exposes one), then the process type's command runs through the image's shell.
if [ -n \"$PAAS_EXPOSED_PORT\" ]; then PORT=\"$PAAS_EXPOSED_PORT\"; export PORT; fi
exec /bin/sh -c \"$1\"
";

impl Builder {
    pub(crate) async fn build_dockerfile(
        &self,
        req: &BuildRequest<'_>,
        plan: &BuildPlan,
        source_dir: &Path,
        source_tar: &Path,
        out: &mpsc::Sender<String>,
    ) -> Result<BuildOutput, BuildError> {
        let say = |line: String| async move {
            let _ = out.send(line).await;
        };
        if !source_dir.join("Dockerfile").is_file() {
            return Err(BuildError::Rejected(NO_DOCKERFILE.to_string()));
        }
        say("-----> Building the image from the Dockerfile".to_string()).await;
        let context = req.work_dir.join("context.tar");
        {
            let (from, to) = (source_tar.to_path_buf(), context.clone());
            tokio::task::spawn_blocking(move || reroot(&from, &to))
                .await
                .map_err(|e| BuildError::Io(std::io::Error::other(e)))??;
        }
        let base_tag = format!("{}-dockerfile", req.image_tag);
        let mut labels = self.config.labels.clone();
        labels.insert("paas.app".to_string(), req.app.to_string());
        let build = DockerBuild {
            tag: base_tag.clone(),
            // Config vars are build args: docker uses those the Dockerfile declares with ARG.
            args: req.config.clone(),
            labels: labels.clone(),
            memory_bytes: Some(self.config.build_memory_bytes),
            nano_cpus: Some(self.config.build_nano_cpus),
        };
        let (tx, mut rx) = mpsc::channel::<String>(64);
        let forward = async {
            while let Some(line) = rx.recv().await {
                say(format!("       {line}")).await;
            }
        };
        let limit = self.config.build_timeout;
        let run = async {
            let result =
                tokio::time::timeout(limit, self.runtime.build_image(&context, &build, tx)).await;
            match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(RuntimeError::Build(message))) => {
                    let first = message.lines().next().unwrap_or_default();
                    // 137: SIGKILL, which in a build step is almost always the memory limit.
                    let oom = if first.ends_with("non-zero code: 137") {
                        format!(
                            " (killed: the build's memory limit is {} MiB)",
                            self.config.build_memory_bytes / (1024 * 1024)
                        )
                    } else {
                        String::new()
                    };
                    Err(BuildError::Rejected(format!(
                        "the Dockerfile failed to build: {first}{oom}"
                    )))
                }
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err(BuildError::TimedOut {
                    minutes: limit.as_secs().div_ceil(60),
                }),
            }
        };
        let (built, ()) = tokio::join!(run, forward);
        built?;
        let result = self
            .finish_dockerfile_image(req, plan, &base_tag, &labels, out)
            .await;
        // The release image keeps the layers; only the intermediate tag goes.
        if let Err(e) = self.runtime.remove_image(&base_tag).await {
            tracing::warn!("could not untag {base_tag}: {e}");
        }
        result
    }

    async fn finish_dockerfile_image(
        &self,
        req: &BuildRequest<'_>,
        plan: &BuildPlan,
        base_tag: &str,
        labels: &BTreeMap<String, String>,
        out: &mpsc::Sender<String>,
    ) -> Result<BuildOutput, BuildError> {
        let say = |line: String| async move {
            let _ = out.send(line).await;
        };
        let details = self
            .runtime
            .image_details(base_tag)
            .await?
            .ok_or_else(|| BuildError::Rejected("the built image is missing".to_string()))?;
        say("-----> Discovering process types".to_string()).await;
        let mut process_types = BTreeMap::new();
        if let Some(procfile) = &plan.procfile {
            process_types = procfile.processes.clone();
            let declared: Vec<&str> = procfile.processes.keys().map(String::as_str).collect();
            say(format!(
                "       Procfile declares types -> {}",
                declared.join(", ")
            ))
            .await;
        } else {
            say("       Procfile declares types -> (none)".to_string()).await;
        }
        if !process_types.contains_key("web") {
            let own: Vec<String> = details
                .entrypoint
                .iter()
                .chain(details.cmd.iter())
                .cloned()
                .collect();
            if !own.is_empty() {
                process_types.insert("web".to_string(), shell_join(&own));
                say("       Default types for buildpack -> web".to_string()).await;
                say(format!(
                    "       (web runs the image's own command: {})",
                    shell_join(&own)
                ))
                .await;
            }
        }
        if process_types.keys().all(|t| t == "release") {
            return Err(BuildError::NoProcessTypes);
        }
        let port = details.exposed_ports.first().copied();
        match port {
            Some(port) => say(format!("       EXPOSE {port}: the app gets PORT={port}")).await,
            None => say("       No EXPOSE: the app gets PORT as usual".to_string()).await,
        }

        let mut labels = labels.clone();
        if let Some(check) = &plan.healthcheck {
            labels.insert(HEALTHCHECK_LABEL.to_string(), check.to_label());
        }
        let mut env = BTreeMap::new();
        if let Some(port) = port {
            labels.insert(PORT_LABEL.to_string(), port.to_string());
            env.insert("PAAS_EXPOSED_PORT".to_string(), port.to_string());
        }
        let mut container_labels = labels.clone();
        container_labels.insert("paas.role".to_string(), "build".to_string());
        let spec = ContainerSpec {
            image: base_tag.to_string(),
            entrypoint: Some(vec!["/.paas/docker-launch".to_string()]),
            cmd: Some(vec!["true".to_string()]),
            labels: container_labels,
            ..Default::default()
        };
        let id = self.runtime.create_container(&spec).await?;
        let container = ContainerGuard::new(self.runtime.clone(), id.clone());
        let committed = async {
            // Every paas process runs as the app user: say so now rather than at start.
            let passwd = match self.runtime.download_tar(&id, "/etc/passwd").await {
                Ok(tar) => String::from_utf8_lossy(&first_file(&tar)?).to_string(),
                Err(_) => String::new(),
            };
            if !passwd.lines().any(|l| l.starts_with("app:")) {
                return Err(BuildError::Rejected(
                    "the image has no `app` user, which paas runs processes as: build FROM paas/run, or add one (e.g. RUN useradd -m app)".to_string(),
                ));
            }
            let mut launcher = TarWriter::new();
            launcher.dir(".paas/")?;
            launcher.file(".paas/docker-launch", 0o755, DOCKER_LAUNCHER.as_bytes())?;
            self.runtime
                .upload_tar(&id, "/", launcher.finish()?)
                .await?;
            let config = ImageConfig {
                env,
                entrypoint: Some(vec!["/.paas/docker-launch".to_string()]),
                cmd: None,
                working_dir: None,
                user: None,
                labels,
            };
            self.runtime.commit(&id, req.image_tag, &config).await?;
            Ok::<(), BuildError>(())
        }
        .await;
        container.remove().await;
        committed?;
        let size = self
            .runtime
            .image_size(req.image_tag)
            .await?
            .unwrap_or_default()
            .max(0) as u64;
        say(format!("-----> Image built, {}", human_size(size))).await;
        Ok(BuildOutput {
            image: req.image_tag.to_string(),
            buildpack: DOCKERFILE.to_string(),
            process_types,
            slug_bytes: size,
        })
    }
}

/// The checkout's archive (rooted at `app/`) as a build context rooted at `.`, file to file.
fn reroot(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(std::io::BufReader::new(std::fs::File::open(from)?));
    let mut builder = tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(to)?));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Ok(relative) = path.strip_prefix("app") else {
            continue;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let relative = relative.to_path_buf();
        let mut header = entry.header().clone();
        builder.append_data(&mut header, &relative, &mut entry)?;
    }
    builder.into_inner()?.flush()
}

/// Words as one `/bin/sh` command line, each single-quoted unless plainly safe.
fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entrypoint_and_cmd_become_one_shell_command() {
        let words = ["python3", "-c", "print('hi there')"].map(String::from);
        assert_eq!(shell_join(&words), "python3 -c 'print('\\''hi there'\\'')'");
    }

    #[test]
    fn the_context_is_the_app_folder_at_its_root() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("src.tar"), dir.path().join("ctx.tar"));
        let mut tar = TarWriter::to_writer(std::fs::File::create(&from).unwrap());
        tar.dir("app/").unwrap();
        tar.file("app/Dockerfile", 0o644, b"FROM paas/run\n")
            .unwrap();
        tar.dir("app/sub/").unwrap();
        tar.file("app/sub/x.txt", 0o600, b"x").unwrap();
        tar.finish().unwrap();
        reroot(&from, &to).unwrap();
        let names = crate::slug::tar_entries(std::fs::File::open(&to).unwrap());
        assert_eq!(
            names,
            [
                ("Dockerfile".to_string(), 0o644),
                ("sub".to_string(), names[1].1),
                ("sub/x.txt".to_string(), 0o600)
            ]
        );
    }
}
