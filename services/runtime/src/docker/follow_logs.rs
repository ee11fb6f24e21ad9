//! Following a process's output with the engine's timestamps, for the app's log: every line
//! from `since` on (from the container's start when there is none), while the container runs.
//! Each frame of the engine's stream is one log entry prefixed by its timestamp; an entry
//! not ended by a newline (a line longer than the engine's 16 KiB entries, or the last one
//! before exit) is joined with the entries that follow it on the same stream, up to
//! `MAX_LINE_BYTES`.

use super::{errors, DockerRuntime};
use crate::log_line::{parse_engine_timestamp, LogLine, LogStream};
use crate::Result;
use bollard::container::{LogOutput, LogsOptions};
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Longest line kept whole; a longer one is cut into lines of about this size.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// A line being assembled from entries of one stream: its first entry's time and its bytes.
#[derive(Debug, Default)]
pub(crate) struct Partial {
    at_nanos: Option<i64>,
    bytes: Vec<u8>,
}

impl Partial {
    /// Adds one timestamped entry; returns the line it completed, if any.
    pub(crate) fn push(&mut self, entry: &[u8], stream: LogStream) -> Option<LogLine> {
        let (at, body) = split_timestamp(entry);
        if self.at_nanos.is_none() {
            self.at_nanos = at;
        }
        match body.strip_suffix(b"\n") {
            Some(line) => {
                self.bytes.extend_from_slice(line);
                Some(self.take(stream))
            }
            None => {
                self.bytes.extend_from_slice(body);
                // A line that never ends is cut, so it cannot take unbounded memory.
                (self.bytes.len() >= MAX_LINE_BYTES).then(|| self.take(stream))
            }
        }
    }

    /// The line still being assembled when the stream ended.
    pub(crate) fn finish(&mut self, stream: LogStream) -> Option<LogLine> {
        (!self.bytes.is_empty() || self.at_nanos.is_some()).then(|| self.take(stream))
    }

    fn take(&mut self, stream: LogStream) -> LogLine {
        let bytes = std::mem::take(&mut self.bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        LogLine {
            at_nanos: self.at_nanos.take().unwrap_or_default(),
            stream,
            text: String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// `2026-...Z text` -> (the time, `text`); an entry without a readable time is all text.
fn split_timestamp(entry: &[u8]) -> (Option<i64>, &[u8]) {
    if let Some(space) = entry.iter().take(40).position(|&b| b == b' ') {
        if let Some(at) = std::str::from_utf8(&entry[..space])
            .ok()
            .and_then(parse_engine_timestamp)
        {
            return (Some(at), &entry[space + 1..]);
        }
    }
    (None, entry)
}

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
        let mut out = Partial::default();
        let mut err = Partial::default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_become_lines_with_their_first_entrys_time() {
        let mut p = Partial::default();
        let line = p
            .push(
                b"1970-01-01T00:00:01.000000005Z hello\r\n",
                LogStream::Stdout,
            )
            .unwrap();
        assert_eq!(line.at_nanos, 1_000_000_005);
        assert_eq!(line.text, "hello");
        assert!(p
            .push(b"1970-01-01T00:00:02Z long ", LogStream::Stderr)
            .is_none());
        let line = p
            .push(b"1970-01-01T00:00:03Z line\n", LogStream::Stderr)
            .unwrap();
        assert_eq!(
            (line.at_nanos, line.text.as_str()),
            (2_000_000_000, "long line")
        );
        assert!(p
            .push(b"1970-01-01T00:00:04Z end", LogStream::Stdout)
            .is_none());
        assert_eq!(p.finish(LogStream::Stdout).unwrap().text, "end");
        assert_eq!(p.finish(LogStream::Stdout), None);
    }

    #[test]
    fn a_line_without_end_is_cut() {
        let mut p = Partial::default();
        let chunk = format!("1970-01-01T00:00:01Z {}", "x".repeat(16 * 1024));
        let cut: Vec<LogLine> = (0..8)
            .filter_map(|_| p.push(chunk.as_bytes(), LogStream::Stdout))
            .collect();
        assert_eq!(cut.len(), 2);
        assert!(cut.iter().all(|l| l.text.len() == MAX_LINE_BYTES));
    }
}
