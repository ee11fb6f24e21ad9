//! Each build's output, kept in a file of its own (`<dir>/builds/<app>/<build id>.log`, up to
//! `MAX_BUILD_OUTPUT_BYTES`, the newest `MAX_BUILD_OUTPUTS` per app) for `paas builds:output`, and copied line by line
//! into the app's log as `paas[build]`. `tee` puts it between a build and the pushing client.

use crate::entry::{LogEntry, Source};
use crate::{valid_app, LogError, LogKeeper};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Build outputs kept per app; older ones are deleted when a build starts.
pub const MAX_BUILD_OUTPUTS: usize = 50;
/// Bytes of one build's output kept in its file; the rest still reaches the client and the
/// app's log.
pub const MAX_BUILD_OUTPUT_BYTES: u64 = 8 * 1024 * 1024;

/// Where one build's output goes.
pub struct BuildOutput {
    keeper: LogKeeper,
    app: String,
    build: Uuid,
    /// The file and how many bytes it holds.
    file: Mutex<(File, u64)>,
}

impl LogKeeper {
    fn build_path(&self, app: &str, build: Uuid) -> Result<PathBuf, LogError> {
        valid_app(app)?;
        Ok(self
            .dir()
            .join("builds")
            .join(app)
            .join(format!("{}.log", build.simple())))
    }

    /// Starts keeping build `build`'s output (and drops the app's oldest build outputs
    /// beyond `MAX_BUILD_OUTPUTS`).
    pub fn build_output(&self, app: &str, build: Uuid) -> Result<Arc<BuildOutput>, LogError> {
        let path = self.build_path(app, build)?;
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&dir).map_err(|e| LogError::io(&dir, e))?;
        prune(&dir);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| LogError::io(&path, e))?;
        self.set_build_open(build, true);
        Ok(Arc::new(BuildOutput {
            keeper: self.clone(),
            app: app.to_string(),
            build,
            file: Mutex::new((file, 0)),
        }))
    }

    /// Build `build`'s output from byte `offset` on: the bytes and the next offset; `None`
    /// when no output was kept for it.
    pub fn read_build_output(
        &self,
        app: &str,
        build: Uuid,
        offset: u64,
    ) -> Result<Option<(Vec<u8>, u64)>, LogError> {
        let path = self.build_path(app, build)?;
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io(&path, e)),
        };
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| LogError::io(&path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| LogError::io(&path, e))?;
        // Only whole lines: a line being written is read at the next call.
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        bytes.truncate(whole);
        let next = offset + whole as u64;
        Ok(Some((bytes, next)))
    }
}

/// Keeps the newest `MAX_BUILD_OUTPUTS - 1` outputs (a new one is about to be written).
fn prune(dir: &std::path::Path) {
    let Ok(items) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = items
        .flatten()
        .filter_map(|item| {
            let modified = item.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, item.path()))
        })
        .collect();
    if files.len() < MAX_BUILD_OUTPUTS {
        return;
    }
    files.sort();
    let excess = files.len() + 1 - MAX_BUILD_OUTPUTS;
    for (_, path) in files.into_iter().take(excess) {
        let _ = std::fs::remove_file(path);
    }
}

impl Drop for BuildOutput {
    /// The push has ended: followers of the output stop once they have read it all.
    fn drop(&mut self) {
        self.keeper.set_build_open(self.build, false);
    }
}

impl BuildOutput {
    /// One line of the build's output (without its newline).
    pub fn line(&self, text: &str) {
        let text = text.trim_end_matches(['\n', '\r']);
        {
            let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
            let (file, written) = &mut *guard;
            if *written < MAX_BUILD_OUTPUT_BYTES {
                let fits = *written + (text.len() as u64) < MAX_BUILD_OUTPUT_BYTES;
                let line = if fits {
                    format!("{text}\n")
                } else {
                    "-----> (the rest of this build's output is in the app's log only)\n"
                        .to_string()
                };
                if let Err(e) = file.write_all(line.as_bytes()) {
                    tracing::warn!(app = self.app, "could not keep the build's output: {e}");
                }
                *written = if fits {
                    *written + line.len() as u64
                } else {
                    MAX_BUILD_OUTPUT_BYTES
                };
            }
        }
        self.keeper
            .record(&self.app, LogEntry::now(Source::Paas, Some("build"), text));
    }

    /// A sender that keeps every line sent to it and passes it on to `out`, and the task
    /// doing so (it ends once every sender is dropped, or `out` closes: then the returned
    /// sender closes too, so the build sees its client gone).
    pub fn tee(
        self: &Arc<Self>,
        out: mpsc::Sender<String>,
    ) -> (mpsc::Sender<String>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<String>(64);
        let output = self.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    line = rx.recv() => match line {
                        Some(line) => {
                            output.line(&line);
                            if out.send(line).await.is_err() {
                                break;
                            }
                        }
                        None => break,
                    },
                    _ = out.closed() => break,
                }
            }
        });
        (tx, task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    #[tokio::test]
    async fn a_builds_output_reaches_the_client_its_file_and_the_app_log() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogKeeper::open(dir.path(), 1 << 20).unwrap();
        let build = Uuid::new_v4();
        let output = logs.build_output("shop", build).unwrap();
        let (client_tx, mut client) = mpsc::channel(8);
        let (tee, task) = output.tee(client_tx);
        tee.send("-----> Python app detected".into()).await.unwrap();
        tee.send("       done".into()).await.unwrap();
        drop(tee);
        task.await.unwrap();
        assert!(logs.build_output_open(build));
        drop(output);
        assert!(!logs.build_output_open(build));
        assert_eq!(client.recv().await.unwrap(), "-----> Python app detected");
        assert_eq!(client.recv().await.unwrap(), "       done");
        let (bytes, next) = logs.read_build_output("shop", build, 0).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "-----> Python app detected\n       done\n"
        );
        let (rest, _) = logs
            .read_build_output("shop", build, next)
            .unwrap()
            .unwrap();
        assert!(rest.is_empty());
        let last = logs.last("shop", 10, &Filter::default()).unwrap();
        assert_eq!(
            last[0].to_string().split_once(' ').unwrap().1,
            "paas[build]: -----> Python app detected"
        );
        assert!(logs
            .read_build_output("shop", Uuid::new_v4(), 0)
            .unwrap()
            .is_none());
    }
}
