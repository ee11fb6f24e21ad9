//! The build pipeline: checkout, plan, compile in a build-stack container, and commit the slug
//! onto the run stack as the release image. Output lines go to the pushing client as they come.

use crate::buildpacks::builtin_buildpacks_tar;
use crate::checkout::checkout;
use crate::error::BuildError;
use crate::plan::{plan, Buildpack};
use crate::release_yaml::parse_default_process_types;
use crate::slug::{first_file, human_size, tar_content_size, TarWriter};
use paas_domain::{AppName, HealthCheck, HEALTHCHECK_LABEL};
use paas_runtime::{ContainerRuntime, ContainerSpec, ImageConfig, Mount, MountKind, StackImages};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Where the host CA bundle is mounted in build containers.
const CA_BUNDLE_TARGET: &str = "/etc/ssl/certs/ca-certificates.crt";
const LAUNCHER: &str = include_str!("launch.sh");

#[derive(Debug, Clone)]
pub struct BuilderConfig {
    pub stacks: StackImages,
    /// Host CA bundle mounted into build containers (TLS-intercepting networks), if any.
    pub ca_bundle: Option<String>,
    /// Labels every build container and image carries (e.g. the paasd instance).
    pub labels: BTreeMap<String, String>,
    /// Memory limit of a build container.
    pub build_memory_bytes: i64,
    /// CPU limit of a build container, in billionths of a CPU.
    pub build_nano_cpus: i64,
    /// Longest a build's compile may run before it is stopped.
    pub build_timeout: Duration,
}

pub struct BuildRequest<'a> {
    pub app: &'a AppName,
    /// The app's bare repository.
    pub repo: &'a Path,
    /// Extra object directories (git's quarantine during a pre-receive hook).
    pub object_dirs: &'a [PathBuf],
    pub commit: &'a str,
    /// Scratch directory for this build; removed by the caller.
    pub work_dir: &'a Path,
    /// Tag of the image to produce.
    pub image_tag: &'a str,
    /// Docker volume that keeps CACHE_DIR between builds of the app.
    pub cache_volume: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutput {
    pub image: String,
    pub buildpack: Buildpack,
    /// Process type -> command (Procfile over the buildpack's defaults).
    pub process_types: BTreeMap<String, String>,
    pub slug_bytes: u64,
}

pub struct Builder {
    runtime: Arc<dyn ContainerRuntime>,
    config: BuilderConfig,
}

impl Builder {
    pub fn new(runtime: Arc<dyn ContainerRuntime>, config: BuilderConfig) -> Self {
        Self { runtime, config }
    }

    /// Builds `req.commit` into image `req.image_tag`, sending progress lines to `out`.
    pub async fn build(
        &self,
        req: &BuildRequest<'_>,
        out: &mpsc::Sender<String>,
    ) -> Result<BuildOutput, BuildError> {
        let say = |line: String| async move {
            let _ = out.send(line).await;
        };
        let source_dir = req.work_dir.join("src");
        let source_tar = req.work_dir.join("source.tar");
        {
            let (repo, dirs, commit, dest, tar) = (
                req.repo.to_path_buf(),
                req.object_dirs.to_vec(),
                req.commit.to_string(),
                source_dir.clone(),
                source_tar.clone(),
            );
            tokio::task::spawn_blocking(move || checkout(&repo, &dirs, &commit, &dest, &tar))
                .await
                .map_err(|e| BuildError::Checkout(e.to_string()))??
        };
        let plan = plan(&source_dir)?;
        say(format!("-----> {} app detected", plan.buildpack.name())).await;
        say(format!("       ({})", plan.reason)).await;

        let compiled = self.compile(req, plan.buildpack, &source_tar, out).await?;

        say("-----> Discovering process types".to_string()).await;
        let defaults = parse_default_process_types(&compiled.release_yaml)?;
        let mut process_types: BTreeMap<String, String> = defaults.clone();
        if let Some(procfile) = &plan.procfile {
            for (name, command) in &procfile.processes {
                process_types.insert(name.clone(), command.clone());
            }
            let declared: Vec<&str> = procfile.processes.keys().map(String::as_str).collect();
            say(format!(
                "       Procfile declares types -> {}",
                declared.join(", ")
            ))
            .await;
        } else {
            say("       Procfile declares types -> (none)".to_string()).await;
        }
        let from_defaults: Vec<&str> = defaults
            .keys()
            .filter(|t| {
                plan.procfile
                    .as_ref()
                    .is_none_or(|p| !p.processes.contains_key(*t))
            })
            .map(String::as_str)
            .collect();
        if !from_defaults.is_empty() {
            say(format!(
                "       Default types for buildpack -> {}",
                from_defaults.join(", ")
            ))
            .await;
        }
        if process_types.keys().all(|t| t == "release") {
            return Err(BuildError::NoProcessTypes);
        }

        let slug_bytes = {
            let slug = compiled.slug.clone();
            tokio::task::spawn_blocking(move || {
                tar_content_size(std::io::BufReader::new(std::fs::File::open(slug)?))
            })
            .await
            .map_err(|e| BuildError::Io(std::io::Error::other(e)))??
        };
        self.commit_release_image(req, &compiled.slug, plan.healthcheck.as_ref())
            .await?;
        say(format!("-----> Slug compiled, {}", human_size(slug_bytes))).await;
        Ok(BuildOutput {
            image: req.image_tag.to_string(),
            buildpack: plan.buildpack,
            process_types,
            slug_bytes,
        })
    }

    async fn compile(
        &self,
        req: &BuildRequest<'_>,
        buildpack: Buildpack,
        source_tar: &Path,
        out: &mpsc::Sender<String>,
    ) -> Result<Compiled, BuildError> {
        let spec = self.build_container_spec(req, buildpack);
        let id = self.runtime.create_container(&spec).await?;
        let container = ContainerGuard::new(self.runtime.clone(), id.clone());
        let limit = self.config.build_timeout;
        let result = match tokio::time::timeout(
            limit,
            self.run_compile(&id, buildpack, source_tar, req.work_dir, out),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(BuildError::TimedOut {
                minutes: limit.as_secs().div_ceil(60),
            }),
        };
        container.remove().await;
        result
    }

    async fn run_compile(
        &self,
        id: &str,
        buildpack: Buildpack,
        source_tar: &Path,
        work_dir: &Path,
        out: &mpsc::Sender<String>,
    ) -> Result<Compiled, BuildError> {
        self.runtime.upload_tar_file(id, "/", source_tar).await?;
        self.runtime
            .upload_tar(id, "/", builtin_buildpacks_tar()?)
            .await?;
        self.runtime.start_container(id).await?;
        self.runtime.follow_output(id, out.clone()).await?;
        let code = self.runtime.wait_container(id).await?;
        if code != 0 {
            if self.runtime.was_oom_killed(id).await.unwrap_or(false) {
                return Err(BuildError::OutOfMemory {
                    limit_mib: self.config.build_memory_bytes / (1024 * 1024),
                });
            }
            return Err(BuildError::Compile {
                buildpack: buildpack.name(),
                code,
            });
        }
        let release_tar = self
            .runtime
            .download_tar(id, "/tmp/paas/release.yml")
            .await?;
        let release_yaml = String::from_utf8_lossy(&first_file(&release_tar)?).to_string();
        let slug = work_dir.join("slug.tar");
        self.runtime.download_tar_file(id, "/app", &slug).await?;
        Ok(Compiled { release_yaml, slug })
    }

    fn build_container_spec(&self, req: &BuildRequest<'_>, buildpack: Buildpack) -> ContainerSpec {
        let mut env = BTreeMap::new();
        env.insert("STACK".to_string(), "paas-bookworm".to_string());
        env.insert("HOME".to_string(), "/app".to_string());
        let mut mounts = vec![Mount {
            kind: MountKind::Volume,
            source: req.cache_volume.to_string(),
            target: "/cache".to_string(),
            read_only: false,
        }];
        if let Some(bundle) = &self.config.ca_bundle {
            mounts.push(Mount {
                kind: MountKind::Bind,
                source: bundle.clone(),
                target: CA_BUNDLE_TARGET.to_string(),
                read_only: true,
            });
            for var in [
                "SSL_CERT_FILE",
                "PIP_CERT",
                "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE",
                "CARGO_HTTP_CAINFO",
                "NODE_EXTRA_CA_CERTS",
                "GIT_SSL_CAINFO",
            ] {
                env.insert(var.to_string(), CA_BUNDLE_TARGET.to_string());
            }
        }
        let mut labels = self.config.labels.clone();
        labels.insert("paas.app".to_string(), req.app.to_string());
        labels.insert("paas.role".to_string(), "build".to_string());
        ContainerSpec {
            name: None,
            image: self.config.stacks.build.clone(),
            entrypoint: Some(vec!["/bin/bash".to_string()]),
            cmd: Some(vec![
                "/buildpacks/.driver".to_string(),
                buildpack.dir().to_string(),
            ]),
            env,
            labels,
            mounts,
            // The driver starts as root only to hand /app and /cache to the app user, then runs
            // every buildpack step as that user; it keeps just the capabilities for that.
            user: Some("root".to_string()),
            working_dir: Some("/app".to_string()),
            memory_bytes: Some(self.config.build_memory_bytes),
            nano_cpus: Some(self.config.build_nano_cpus),
            pids_limit: Some(4096),
            drop_capabilities: true,
            capabilities: BUILD_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
            init: true,
            ..Default::default()
        }
    }

    /// Lays the slug and the launcher on the run stack and commits the result as the image.
    async fn commit_release_image(
        &self,
        req: &BuildRequest<'_>,
        slug: &Path,
        healthcheck: Option<&HealthCheck>,
    ) -> Result<(), BuildError> {
        let mut labels = self.config.labels.clone();
        labels.insert("paas.app".to_string(), req.app.to_string());
        if let Some(check) = healthcheck {
            // Containers made from the image inherit it: the scheduler reads it there.
            labels.insert(HEALTHCHECK_LABEL.to_string(), check.to_label());
        }
        let mut container_labels = labels.clone();
        container_labels.insert("paas.role".to_string(), "build".to_string());
        let spec = ContainerSpec {
            image: self.config.stacks.run.clone(),
            cmd: Some(vec!["true".to_string()]),
            labels: container_labels,
            ..Default::default()
        };
        let id = self.runtime.create_container(&spec).await?;
        let container = ContainerGuard::new(self.runtime.clone(), id.clone());
        let result = async {
            self.runtime.upload_tar_file(&id, "/", slug).await?;
            let mut launcher = TarWriter::new();
            launcher.dir(".paas/")?;
            launcher.file(".paas/launch", 0o755, LAUNCHER.as_bytes())?;
            self.runtime
                .upload_tar(&id, "/", launcher.finish()?)
                .await?;
            let mut env = BTreeMap::new();
            env.insert("HOME".to_string(), "/app".to_string());
            let config = ImageConfig {
                env,
                entrypoint: Some(vec!["/.paas/launch".to_string()]),
                cmd: None,
                working_dir: Some("/app".to_string()),
                user: Some("app".to_string()),
                labels,
            };
            self.runtime.commit(&id, req.image_tag, &config).await?;
            Ok::<(), BuildError>(())
        }
        .await;
        container.remove().await;
        result
    }
}

struct Compiled {
    release_yaml: String,
    /// The compiled app as a tar archive file in the build's work directory.
    slug: PathBuf,
}

/// Capabilities the build driver keeps (it needs them only to chown and drop to the app user).
const BUILD_CAPABILITIES: &[&str] = &["CHOWN", "SETUID", "SETGID"];

/// Removes a build container when the build ends, and also when the build is cancelled
/// (the future dropped): then the removal runs as a task of its own.
struct ContainerGuard {
    runtime: Arc<dyn ContainerRuntime>,
    id: Option<String>,
}

impl ContainerGuard {
    fn new(runtime: Arc<dyn ContainerRuntime>, id: String) -> Self {
        Self {
            runtime,
            id: Some(id),
        }
    }

    async fn remove(mut self) {
        if let Some(id) = self.id.take() {
            if let Err(e) = self.runtime.remove_container(&id, Duration::ZERO).await {
                tracing::warn!("could not remove build container {id}: {e}");
            }
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let runtime = self.runtime.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    if let Err(e) = runtime.remove_container(&id, Duration::ZERO).await {
                        tracing::warn!("could not remove build container {id}: {e}");
                    }
                });
            }
        }
    }
}
