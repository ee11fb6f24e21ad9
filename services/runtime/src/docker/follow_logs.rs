//! Following a process's output with the engine's timestamps, for the app's log: every line
//! from `since` on (from the container's start when there is none), while the container runs.
//! Each frame of the engine's stream is one log entry prefixed by its timestamp; an entry
//! not ended by a newline (a line longer than the engine's 16 KiB entries, or the last one
//! before exit) is joined with the entries that follow it on the same stream, up to
//! `MAX_LINE_BYTES`.

use super::{errors, DockerRuntime};
use crate::log_line::{LineAssembler, LogLine, LogStream, Unended};
use crate::Result;
use bollard::container::{LogOutput, LogsOptions};
use futures_util::StreamExt;
use tokio::sync::mpsc;

impl DockerRuntime {
    pub(crate) async fn follow_logs_impl(
        &self,
        id: &str,
        since_nanos: Option<i64>,
        sink: mpsc::Sender<LogLine>,
    ) -> Result<()> {
        let options = LogsOptions::<String> {
            follow: true,
            stdout: true,
            stderr: true,
            timestamps: true,
            // Whole seconds: the entries of that second printed before `since` are skipped here.
            since: since_nanos
                .map(|n| n.div_euclid(1_000_000_000))
                .unwrap_or(0),
            tail: "all".to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut out = LineAssembler::new(Unended::Continues);
        let mut err = LineAssembler::new(Unended::Continues);
        let after = |line: &LogLine| since_nanos.is_none_or(|s| line.at_nanos > s);
        while let Some(item) = stream.next().await {
            let line = match item.map_err(errors::map)? {
                LogOutput::StdErr { message } => err.push(&message, LogStream::Stderr),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    out.push(&message, LogStream::Stdout)
                }
                LogOutput::StdIn { .. } => None,
            };
            if let Some(line) = line.filter(after) {
                if sink.send(line).await.is_err() {
                    return Ok(());
                }
            }
        }
        let rest = [out.finish(LogStream::Stdout), err.finish(LogStream::Stderr)];
        for line in rest.into_iter().flatten().filter(after) {
            if sink.send(line).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}
