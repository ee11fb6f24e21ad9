//! The build pipeline: checkout, plan, detect and compile in a build-stack container (the
//! buildpacks' own `bin/detect`, `bin/compile` and `bin/release`, run by `driver.sh` as the app
//! user), and commit the slug onto the run stack as the release image. Output lines go to the
//! pushing client as they come.

use crate::buildpacks::{builtin_available, builtin_buildpacks_tar, BUILDPACKS_ROOT};
use crate::checkout::checkout;
use crate::dockerfile::{DOCKERFILE, NO_DOCKERFILE};
use crate::error::BuildError;
use crate::plan::{buildpacks_file, plan};
use crate::release_yaml::parse_default_process_types;
use crate::slug::{first_file, human_size, tar_content_size, TarWriter};
use crate::sources::{fetch, BuildpackSource};
use paas_domain::{AppName, BuildMethod, HealthCheck, HEALTHCHECK_LABEL};
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
    /// Where third-party buildpacks cloned from git URLs are kept, one folder per URL and ref.
    pub buildpack_cache: PathBuf,
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
    /// The app's config vars: one file each in ENV_DIR; `BUILDPACK_URL` chooses a buildpack.
    pub config: &'a BTreeMap<String, String>,
    /// The app's own buildpack list (`paas buildpacks:set`), which overrides everything else.
    pub buildpacks: &'a [String],
    /// `paas builder:set`: always the Dockerfile, never it, or (None) detection decides.
    pub method: Option<BuildMethod>,
}

/// What `paas buildpacks:detect` looks at: an app's commit and everything that chooses its
/// build, as a push would use them.
pub struct DetectRequest<'a> {
    pub app: &'a AppName,
    /// The app's bare repository.
    pub repo: &'a Path,
    pub commit: &'a str,
    /// Scratch directory; removed by the caller.
    pub work_dir: &'a Path,
    /// The app's config vars (`BUILDPACK_URL`).
    pub config: &'a BTreeMap<String, String>,
    /// The app's own buildpack list (`paas buildpacks:set`).
    pub buildpacks: &'a [String],
    /// `paas builder:set`.
    pub method: Option<BuildMethod>,
}

/// The buildpacks an app chooses, and what chose them: its own list, else `BUILDPACK_URL`,
/// else its `.buildpacks` file; none (detection decides) otherwise.
fn chosen_buildpacks(
    own: &[String],
    config: &BTreeMap<String, String>,
    buildpacks_file: Option<&Vec<String>>,
) -> (Vec<String>, &'static str) {
    if !own.is_empty() {
        return (own.to_vec(), "paas buildpacks:set");
    }
    if let Some(url) = config
        .get("BUILDPACK_URL")
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
    {
        return (vec![url.to_string()], "BUILDPACK_URL");
    }
    match buildpacks_file {
        Some(list) => (list.clone(), ".buildpacks"),
        None => (Vec::new(), "detection"),
    }
}

/// What detection found: the name the winning `bin/detect` printed, and why (its second line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutput {
    pub image: String,
    /// The name the (last) buildpack's `bin/detect` printed.
    pub buildpack: String,
    /// Process type -> command (Procfile over the buildpack's defaults).
    pub process_types: BTreeMap<String, String>,
    pub slug_bytes: u64,
}

pub struct Builder {
    pub(crate) runtime: Arc<dyn ContainerRuntime>,
    pub(crate) config: BuilderConfig,
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
        let (chosen, _) =
            chosen_buildpacks(req.buildpacks, req.config, plan.buildpacks_file.as_ref());
        if req.method == Some(BuildMethod::Dockerfile) {
            say(format!(
                "-----> {DOCKERFILE} app detected (builder set to dockerfile)"
            ))
            .await;
            return self
                .build_dockerfile(req, &plan, &source_dir, &source_tar, out)
                .await;
        }
        let sources = self.fetch_all(&chosen).await?;

        let compiled = self.compile(req, &sources, &source_tar, out).await?;
        if sources.is_empty() && compiled.detected.name == DOCKERFILE {
            // Detection chose the Dockerfile (after every language buildpack).
            return self
                .build_dockerfile(req, &plan, &source_dir, &source_tar, out)
                .await;
        }

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
            buildpack: compiled.detected.name,
            process_types,
            slug_bytes,
        })
    }

    /// Fetches the chosen buildpacks, credentials in their URLs hidden from messages.
    async fn fetch_all(&self, chosen: &[String]) -> Result<Vec<BuildpackSource>, BuildError> {
        let mut sources = Vec::new();
        for spec in chosen {
            let mut source =
                fetch(spec, &self.config.buildpack_cache)
                    .await
                    .map_err(|e| match e {
                        BuildError::Rejected(m) => BuildError::Rejected(redact_url(&m)),
                        other => other,
                    })?;
            source.label = redact_url(&source.label);
            sources.push(source);
        }
        Ok(sources)
    }

    async fn compile(
        &self,
        req: &BuildRequest<'_>,
        sources: &[BuildpackSource],
        source_tar: &Path,
        out: &mpsc::Sender<String>,
    ) -> Result<Compiled, BuildError> {
        let mut cmd = vec![format!("{BUILDPACKS_ROOT}/.driver")];
        if sources.is_empty() {
            cmd.push("build".to_string());
            cmd.extend(builtin_dirs_for(req.method));
        } else {
            cmd.push("build-explicit".to_string());
            cmd.extend(explicit_args(sources));
        }
        let spec = self.build_container_spec(Some(req.app), Some(req.cache_volume), cmd);
        let id = self.runtime.create_container(&spec).await?;
        let container = ContainerGuard::new(self.runtime.clone(), id.clone());
        let limit = self.config.build_timeout;
        let result =
            match tokio::time::timeout(limit, self.run_compile(&id, req, sources, source_tar, out))
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
        req: &BuildRequest<'_>,
        sources: &[BuildpackSource],
        source_tar: &Path,
        out: &mpsc::Sender<String>,
    ) -> Result<Compiled, BuildError> {
        let work_dir = req.work_dir;
        self.runtime.upload_tar_file(id, "/", source_tar).await?;
        self.runtime
            .upload_tar(id, "/", builtin_buildpacks_tar()?)
            .await?;
        self.upload_explicit(id, work_dir, sources).await?;
        self.runtime
            .upload_tar(id, "/", env_dir_tar(req.config)?)
            .await?;
        self.runtime.start_container(id).await?;
        self.runtime.follow_output(id, out.clone()).await?;
        let code = self.runtime.wait_container(id).await?;
        if code != 0 {
            return Err(self.driver_failure(id, code).await);
        }
        let detected = self.read_detected(id).await?;
        if sources.is_empty() && detected.name == DOCKERFILE {
            // Built from the Dockerfile instead: no slug to take.
            return Ok(Compiled {
                release_yaml: String::new(),
                slug: work_dir.join("slug.tar"),
                detected,
            });
        }
        let release_tar = self
            .runtime
            .download_tar(id, "/tmp/paas/release.yml")
            .await?;
        let release_yaml = String::from_utf8_lossy(&first_file(&release_tar)?).to_string();
        let slug = work_dir.join("slug.tar");
        self.runtime.download_tar_file(id, "/app", &slug).await?;
        Ok(Compiled {
            release_yaml,
            slug,
            detected,
        })
    }

    /// Copies the chosen buildpacks into the container as `/buildpacks/.ext/<i>`.
    async fn upload_explicit(
        &self,
        id: &str,
        work_dir: &Path,
        sources: &[BuildpackSource],
    ) -> Result<(), BuildError> {
        if sources.is_empty() {
            return Ok(());
        }
        let archive = work_dir.join("buildpacks.tar");
        let (dirs, path) = (
            sources.iter().map(|s| s.dir.clone()).collect::<Vec<_>>(),
            archive.clone(),
        );
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let file = std::io::BufWriter::new(std::fs::File::create(path)?);
            let mut tar = TarWriter::to_writer(file);
            tar.dir("buildpacks/.ext/")?;
            for (i, dir) in dirs.iter().enumerate() {
                tar.host_dir(&format!("buildpacks/.ext/{i}"), dir)?;
            }
            tar.finish()?;
            Ok(())
        })
        .await
        .map_err(|e| BuildError::Io(std::io::Error::other(e)))??;
        self.runtime.upload_tar_file(id, "/", &archive).await?;
        Ok(())
    }

    /// Why the driver exited non-zero: out of memory, the one line it left for the user, or
    /// its exit code.
    async fn driver_failure(&self, id: &str, code: i64) -> BuildError {
        if self.runtime.was_oom_killed(id).await.unwrap_or(false) {
            return BuildError::OutOfMemory {
                limit_mib: self.config.build_memory_bytes / (1024 * 1024),
            };
        }
        match self.runtime.download_tar(id, "/tmp/paas/error").await {
            Ok(tar) => match first_file(&tar) {
                Ok(text) => {
                    let text = String::from_utf8_lossy(&text);
                    BuildError::Rejected(text.lines().next().unwrap_or_default().to_string())
                }
                Err(_) => BuildError::Compile { code },
            },
            Err(_) => BuildError::Compile { code },
        }
    }

    async fn read_detected(&self, id: &str) -> Result<Detected, BuildError> {
        let tar = self.runtime.download_tar(id, "/tmp/paas/detected").await?;
        let text = String::from_utf8_lossy(&first_file(&tar)?).to_string();
        let mut lines = text.lines().skip(1);
        Ok(Detected {
            name: lines.next().unwrap_or_default().to_string(),
            reason: lines.next().unwrap_or_default().to_string(),
        })
    }

    /// Runs the built-in buildpacks' `bin/detect` (in order, in a build container, as the app
    /// user) over a source archive rooted at `app/`, without building.
    pub async fn detect_source(
        &self,
        app: Option<&AppName>,
        source_tar: &Path,
    ) -> Result<Detected, BuildError> {
        let work_dir = source_tar.parent().unwrap_or(Path::new("."));
        self.detect_in_container(app, source_tar, work_dir, None, &[])
            .await
    }

    /// The driver's `detect` mode over the built-in buildpacks (the Dockerfile left out when
    /// the builder is set to buildpacks), or its `detect-explicit` mode over `sources`.
    async fn detect_in_container(
        &self,
        app: Option<&AppName>,
        source_tar: &Path,
        work_dir: &Path,
        method: Option<BuildMethod>,
        sources: &[BuildpackSource],
    ) -> Result<Detected, BuildError> {
        let mut cmd = vec![format!("{BUILDPACKS_ROOT}/.driver")];
        if sources.is_empty() {
            cmd.push("detect".to_string());
            cmd.extend(builtin_dirs_for(method));
        } else {
            cmd.push("detect-explicit".to_string());
            cmd.extend(explicit_args(sources));
        }
        let spec = self.build_container_spec(app, None, cmd);
        let id = self.runtime.create_container(&spec).await?;
        let container = ContainerGuard::new(self.runtime.clone(), id.clone());
        let run = async {
            self.runtime.upload_tar_file(&id, "/", source_tar).await?;
            self.runtime
                .upload_tar(&id, "/", builtin_buildpacks_tar()?)
                .await?;
            self.upload_explicit(&id, work_dir, sources).await?;
            self.runtime.start_container(&id).await?;
            let code = self.runtime.wait_container(&id).await?;
            if code != 0 {
                return Err(self.driver_failure(&id, code).await);
            }
            self.read_detected(&id).await
        };
        let limit = self.config.build_timeout;
        let result = match tokio::time::timeout(limit, run).await {
            Ok(result) => result,
            Err(_) => Err(BuildError::TimedOut {
                minutes: limit.as_secs().div_ceil(60),
            }),
        };
        container.remove().await;
        result
    }

    /// What a push of a directory on this host (its `.git` left out) would build with: the
    /// buildpacks its `.buildpacks` file chooses (each fetched and its own `bin/detect` run),
    /// else [`Self::detect_source`] over the built-in buildpacks.
    pub async fn detect_dir(&self, dir: &Path, work_dir: &Path) -> Result<Detected, BuildError> {
        let chosen = buildpacks_file(dir)
            .map_err(|e| BuildError::Rejected(e.to_string()))?
            .unwrap_or_default();
        let sources = self.fetch_all(&chosen).await?;
        let archive = work_dir.join("source.tar");
        let (dir, path) = (dir.to_path_buf(), archive.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let file = std::io::BufWriter::new(std::fs::File::create(path)?);
            let mut tar = TarWriter::to_writer(file);
            tar.host_dir("app", &dir)?;
            tar.finish()?;
            Ok(())
        })
        .await
        .map_err(|e| BuildError::Io(std::io::Error::other(e)))??;
        let detected = self
            .detect_in_container(None, &archive, work_dir, None, &sources)
            .await?;
        if sources.is_empty() {
            return Ok(detected);
        }
        Ok(Detected {
            reason: format!("{} (.buildpacks)", detected.reason),
            name: detected.name,
        })
    }

    /// What a push of an app's commit would build with, without building: the Dockerfile
    /// when the builder is set to it; else the buildpacks the app chooses (its list,
    /// `BUILDPACK_URL`, `.buildpacks`: each fetched and its own `bin/detect` run, the last
    /// one's name reported); else detection over the built-in buildpacks (without the
    /// Dockerfile when the builder is set to buildpacks). The reason says which applied.
    pub async fn detect_commit(&self, req: &DetectRequest<'_>) -> Result<Detected, BuildError> {
        let source_dir = req.work_dir.join("src");
        let source_tar = req.work_dir.join("source.tar");
        {
            let (repo, commit, dest, tar) = (
                req.repo.to_path_buf(),
                req.commit.to_string(),
                source_dir.clone(),
                source_tar.clone(),
            );
            tokio::task::spawn_blocking(move || checkout(&repo, &[], &commit, &dest, &tar))
                .await
                .map_err(|e| BuildError::Checkout(e.to_string()))??
        };
        if req.method == Some(BuildMethod::Dockerfile) {
            if !source_dir.join("Dockerfile").is_file() {
                return Err(BuildError::Rejected(NO_DOCKERFILE.to_string()));
            }
            return Ok(Detected {
                name: DOCKERFILE.to_string(),
                reason: "builder set to dockerfile (paas builder:set)".to_string(),
            });
        }
        // Only .buildpacks matters here: a broken Procfile does not hide what would build.
        let file = buildpacks_file(&source_dir).map_err(|e| BuildError::Rejected(e.to_string()))?;
        let (chosen, chooser) = chosen_buildpacks(req.buildpacks, req.config, file.as_ref());
        let sources = self.fetch_all(&chosen).await?;
        let detected = self
            .detect_in_container(
                Some(req.app),
                &source_tar,
                req.work_dir,
                req.method,
                &sources,
            )
            .await?;
        let reason = if !sources.is_empty() {
            format!("{} ({chooser})", detected.reason)
        } else if req.method == Some(BuildMethod::Buildpacks) {
            format!(
                "{} (builder set to buildpacks: no Dockerfile)",
                detected.reason
            )
        } else {
            detected.reason
        };
        Ok(Detected {
            name: detected.name,
            reason,
        })
    }

    fn build_container_spec(
        &self,
        app: Option<&AppName>,
        cache_volume: Option<&str>,
        cmd: Vec<String>,
    ) -> ContainerSpec {
        let mut env = BTreeMap::new();
        env.insert("STACK".to_string(), "paas-bookworm".to_string());
        env.insert("HOME".to_string(), "/app".to_string());
        let mut mounts: Vec<Mount> = cache_volume
            .map(|volume| Mount {
                kind: MountKind::Volume,
                source: volume.to_string(),
                target: "/cache".to_string(),
                read_only: false,
            })
            .into_iter()
            .collect();
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
        if let Some(app) = app {
            labels.insert("paas.app".to_string(), app.to_string());
        }
        labels.insert("paas.role".to_string(), "build".to_string());
        ContainerSpec {
            name: None,
            image: self.config.stacks.build.clone(),
            entrypoint: Some(vec!["/bin/bash".to_string()]),
            cmd: Some(cmd),
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
        // Fast path: the slug and launcher as one layer loaded onto the run stack, with no
        // container and no commit (whose tree diff dominates warm builds on fuse-overlayfs).
        let mut env = BTreeMap::new();
        env.insert("HOME".to_string(), "/app".to_string());
        let image_config = ImageConfig {
            env,
            entrypoint: Some(vec!["/.paas/launch".to_string()]),
            cmd: None,
            working_dir: Some("/app".to_string()),
            user: Some("app".to_string()),
            labels: labels.clone(),
        };
        match self.load_release_image(req, slug, &image_config).await {
            Ok(()) => return Ok(()),
            Err(e) => tracing::info!("loading the release image failed ({e}); committing it"),
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
            self.runtime
                .commit(&id, req.image_tag, &image_config)
                .await?;
            Ok::<(), BuildError>(())
        }
        .await;
        container.remove().await;
        result
    }
}

impl Builder {
    /// The release image as the run stack plus one layer (the slug's entries as they are, then
    /// the launcher), loaded by the runtime without a container.
    async fn load_release_image(
        &self,
        req: &BuildRequest<'_>,
        slug: &Path,
        config: &ImageConfig,
    ) -> Result<(), BuildError> {
        let layer = slug.with_extension("layer.tar");
        let (from, to) = (slug.to_path_buf(), layer.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut input = tar::Archive::new(std::io::BufReader::new(std::fs::File::open(from)?));
            let mut out = tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(to)?));
            // Raw entries: long-name and pax records are copied as they are.
            for entry in input.entries()?.raw(true) {
                let mut entry = entry?;
                let header = entry.header().clone();
                out.append(&header, &mut entry)?;
            }
            let mut dir = tar::Header::new_gnu();
            dir.set_entry_type(tar::EntryType::Directory);
            dir.set_mode(0o755);
            dir.set_size(0);
            dir.set_cksum();
            out.append_data(&mut dir, ".paas/", std::io::empty())?;
            let mut file = tar::Header::new_gnu();
            file.set_mode(0o755);
            file.set_size(LAUNCHER.len() as u64);
            file.set_cksum();
            out.append_data(&mut file, ".paas/launch", LAUNCHER.as_bytes())?;
            out.into_inner()?.flush()?;
            Ok(())
        })
        .await
        .map_err(|e| BuildError::Io(std::io::Error::other(e)))??;
        let result = self
            .runtime
            .layer_image(&self.config.stacks.run, &layer, req.image_tag, config)
            .await;
        let _ = tokio::fs::remove_file(&layer).await;
        result?;
        Ok(())
    }
}

struct Compiled {
    release_yaml: String,
    /// The compiled app as a tar archive file in the build's work directory.
    slug: PathBuf,
    detected: Detected,
}

/// The built-in buildpack folders in the build container, in detection order; `paas
/// builder:set buildpacks` leaves the Dockerfile out.
fn builtin_dirs_for(method: Option<BuildMethod>) -> Vec<String> {
    let forced = method == Some(BuildMethod::Buildpacks);
    builtin_available()
        .into_iter()
        .filter(|name| !(forced && *name == crate::buildpacks::DOCKERFILE_BUILDPACK))
        .map(|name| format!("{BUILDPACKS_ROOT}/{name}"))
        .collect()
}

/// `DIR LABEL` pairs of the chosen buildpacks, as the driver's explicit modes take them.
fn explicit_args(sources: &[BuildpackSource]) -> Vec<String> {
    sources
        .iter()
        .enumerate()
        .flat_map(|(i, source)| [format!("{BUILDPACKS_ROOT}/.ext/{i}"), source.label.clone()])
        .collect()
}

/// ENV_DIR as a tar archive to extract at `/`: one file per config var, named after it,
/// holding its value, readable only by the app user.
fn env_dir_tar(config: &BTreeMap<String, String>) -> std::io::Result<Vec<u8>> {
    let mut tar = TarWriter::new();
    tar.dir("env/")?;
    for (key, value) in config {
        // Keys are validated config var names; anything that is not a plain file name is
        // left out rather than written elsewhere.
        if key.is_empty() || key.contains('/') || key == "." || key == ".." {
            continue;
        }
        tar.file(&format!("env/{key}"), 0o600, value.as_bytes())?;
    }
    tar.finish()
}

/// A URL with its credentials (`https://user:token@host/...`) hidden, for messages.
fn redact_url(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..scheme_end + 3], &rest[at..]),
        None => text.to_string(),
    }
}

/// Capabilities the build driver keeps (it needs them only to chown and drop to the app user).
const BUILD_CAPABILITIES: &[&str] = &["CHOWN", "SETUID", "SETGID"];

/// Removes a build container when the build ends, and also when the build is cancelled
/// (the future dropped): then the removal runs as a task of its own.
pub(crate) struct ContainerGuard {
    runtime: Arc<dyn ContainerRuntime>,
    id: Option<String>,
}

impl ContainerGuard {
    pub(crate) fn new(runtime: Arc<dyn ContainerRuntime>, id: String) -> Self {
        Self {
            runtime,
            id: Some(id),
        }
    }

    pub(crate) async fn remove(mut self) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_hidden() {
        assert_eq!(
            redact_url("cannot fetch https://me:tok@example.com/bp.git#v1: x"),
            "cannot fetch https://***@example.com/bp.git#v1: x"
        );
        assert_eq!(redact_url("/srv/bp"), "/srv/bp");
        assert_eq!(
            redact_url("https://example.com/a@b"),
            "https://example.com/a@b"
        );
    }

    #[test]
    fn env_dir_has_one_private_file_per_var() {
        let config = BTreeMap::from([("SECRET".to_string(), "v".to_string())]);
        let data = env_dir_tar(&config).unwrap();
        let entries = crate::slug::tar_entries(data.as_slice());
        assert!(entries.contains(&("env/SECRET".to_string(), 0o600)));
    }
}
