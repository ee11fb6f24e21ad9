//! The host-wide stack lock: an exclusive `flock` on `StackConfig::lock_path`, held while the
//! stacks are checked and built and released when the guard drops (the file is closed).

use super::Progress;
use crate::{Result, RuntimeError};
use fs4::fs_std::FileExt;
use std::fs::{File, OpenOptions};
use std::path::Path;

pub(crate) struct StackLock {
    _file: File,
}

impl StackLock {
    pub(crate) async fn acquire(path: &Path, progress: &Progress<'_>) -> Result<Self> {
        let shown = path.display().to_string();
        let err = |e: std::io::Error| RuntimeError::Stack(format!("stack lock {shown}: {e}"));
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(err)?;
        if FileExt::try_lock_exclusive(&file).map_err(err)? {
            return Ok(StackLock { _file: file });
        }
        progress
            .step(format!(
                "Waiting for another process to finish building the stacks (lock {shown})"
            ))
            .await;
        let file =
            tokio::task::spawn_blocking(move || FileExt::lock_exclusive(&file).map(|()| file))
                .await
                .map_err(|e| RuntimeError::Stack(format!("stack lock {shown}: {e}")))?
                .map_err(err)?;
        Ok(StackLock { _file: file })
    }
}
