//! The Debian base image: a registry pull of `StackConfig::pull_base` (bounded in time, since
//! with no registry the engine may hang), else `debootstrap --variant=minbase` into a temporary
//! directory, `tar` of that root and the engine's import API.

use super::{Progress, Tail};
use crate::docker::DockerRuntime;
use crate::stacks::StackConfig;
use crate::{Result, RuntimeError};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

const PULL_TIMEOUT: Duration = Duration::from_secs(20);
/// Config of the imported base image (the import API takes Dockerfile instructions).
const IMPORT_CHANGES: &[&str] = &[
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "CMD [\"bash\"]",
];
/// Not worth shipping in the image: device nodes and pseudo filesystems (the engine provides
/// them), downloaded packages and package lists.
const TAR_EXCLUDES: &[&str] = &[
    "--exclude=./dev/*",
    "--exclude=./proc/*",
    "--exclude=./sys/*",
    "--exclude=./var/cache/apt/archives/*.deb",
    "--exclude=./var/lib/apt/lists/*",
];

pub(crate) async fn build_base(
    rt: &DockerRuntime,
    config: &StackConfig,
    tag: &str,
    progress: &Progress<'_>,
) -> Result<()> {
    let pull_base = config.pull_base.trim();
    if !pull_base.is_empty() {
        let start = Instant::now();
        progress.step(format!("Pulling {pull_base}")).await;
        match tokio::time::timeout(PULL_TIMEOUT, rt.pull_image(pull_base)).await {
            Ok(Ok(())) => {
                rt.tag_image(pull_base, tag).await?;
                progress.done(&format!("pull (tagged {tag})"), start).await;
                return Ok(());
            }
            Ok(Err(e)) => progress.detail(format!("pull failed: {e}")).await,
            Err(_) => {
                progress
                    .detail(format!(
                        "no answer from the registry in {}s",
                        PULL_TIMEOUT.as_secs()
                    ))
                    .await
            }
        }
    }
    let suite = config.suite.trim();
    progress
        .step(format!(
            "No registry reachable; bootstrapping Debian {suite} with debootstrap"
        ))
        .await;
    let root = TempRoot::create()?;
    let result = bootstrap_and_import(rt, config, root.path(), tag, progress).await;
    root.remove().await;
    result
}

async fn bootstrap_and_import(
    rt: &DockerRuntime,
    config: &StackConfig,
    root: &Path,
    tag: &str,
    progress: &Progress<'_>,
) -> Result<()> {
    let start = Instant::now();
    debootstrap(config, root, progress).await?;
    progress.done("debootstrap", start).await;

    let start = Instant::now();
    progress
        .step(format!("Importing the root filesystem as {tag}"))
        .await;
    let tar = tar_rootfs(root).await?;
    progress
        .detail(format!("{} MB archive", tar.len() / 1_000_000))
        .await;
    rt.import_rootfs(tar, tag, IMPORT_CHANGES).await?;
    progress.done("import", start).await;
    Ok(())
}

fn find_debootstrap() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("debootstrap"))
        .find(|candidate| candidate.is_file())
}

async fn debootstrap(config: &StackConfig, root: &Path, progress: &Progress<'_>) -> Result<()> {
    let program = find_debootstrap().ok_or_else(|| {
        RuntimeError::Stack(
            "debootstrap is not installed (no registry to pull a base image from); \
             install debootstrap: apt-get install debootstrap"
                .to_string(),
        )
    })?;
    let mut child = Command::new(&program)
        .arg("--variant=minbase")
        .arg(config.suite.trim())
        .arg(root)
        .arg(config.mirror.trim())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RuntimeError::Stack(format!("running {}: {e}", program.display())))?;

    let (tx, mut rx) = mpsc::channel::<String>(64);
    let readers = [
        child
            .stdout
            .take()
            .map(|out| forward_lines(out, tx.clone())),
        child
            .stderr
            .take()
            .map(|err| forward_lines(err, tx.clone())),
    ];
    drop(tx);
    let mut tail = Tail::new(30);
    let mut per_package = 0usize;
    while let Some(line) = rx.recv().await {
        tail.push(&line);
        // One line per package and phase: show a sample only.
        let package_line = [
            "I: Retrieving ",
            "I: Validating ",
            "I: Extracting ",
            "I: Unpacking ",
            "I: Configuring ",
        ]
        .iter()
        .any(|prefix| line.starts_with(prefix));
        if package_line {
            per_package += 1;
            if per_package % 40 != 1 {
                continue;
            }
        }
        progress.detail(&line).await;
    }
    for reader in readers.into_iter().flatten() {
        let _ = reader.await;
    }
    let status = child.wait().await?;
    if !status.success() {
        return Err(RuntimeError::Stack(format!(
            "debootstrap {} failed ({status}); last output:\n{}",
            config.suite.trim(),
            tail.text()
        )));
    }
    Ok(())
}

fn forward_lines(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    tx: mpsc::Sender<String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).await.is_err() {
                break;
            }
        }
    })
}

/// `tar --numeric-owner -C root -c .` (buffered: the import call of bollard 0.18 takes one
/// body; a minbase root is about 130 MB).
async fn tar_rootfs(root: &Path) -> Result<Vec<u8>> {
    let output = Command::new("tar")
        .arg("--numeric-owner")
        .arg("-C")
        .arg(root)
        .args(TAR_EXCLUDES)
        .args(["-c", "."])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| RuntimeError::Stack(format!("running tar: {e}")))?;
    if !output.status.success() {
        return Err(RuntimeError::Stack(format!(
            "tar of the bootstrapped root failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}

/// A temporary directory for the bootstrapped root. Removal first unmounts anything left
/// mounted below it (a failed debootstrap can leave `proc`/`sys` mounted) and leaves the
/// directory in place if that fails, rather than deleting through a mount.
struct TempRoot {
    path: PathBuf,
    removed: bool,
}

impl TempRoot {
    fn create() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("paas-debootstrap-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)
            .map_err(|e| RuntimeError::Stack(format!("creating {}: {e}", path.display())))?;
        Ok(TempRoot {
            path,
            removed: false,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    async fn remove(mut self) {
        self.removed = true;
        let path = self.path.clone();
        let _ = tokio::task::spawn_blocking(move || remove_root(&path)).await;
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        if !self.removed {
            remove_root(&self.path);
        }
    }
}

fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return Vec::new();
    };
    mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|field| PathBuf::from(field.replace("\\040", " ")))
        .filter(|mount| mount.starts_with(dir))
        .collect()
}

fn remove_root(dir: &Path) {
    let mut mounts = mounts_below(dir);
    // Deepest first.
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for mount in &mounts {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(mount)
            .status();
    }
    if !mounts_below(dir).is_empty() {
        tracing::warn!(dir = %dir.display(), "mounts left below the bootstrap root; not removing it");
        return;
    }
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "removing the bootstrap root failed");
    }
}
