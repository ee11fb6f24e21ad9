//! Following a container's output: the engine's multiplexed log stream is cut into lines, one
//! buffer per stream (stdout, stderr) so a partial line on one is never glued to the other.

use super::{errors, DockerRuntime};
use crate::Result;
use bollard::container::{LogOutput, LogsOptions};
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Accumulates bytes and yields complete lines without their `\n` (and a trailing `\r`).
/// Bytes are decoded per line, so a UTF-8 sequence split across chunks survives.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Adds a chunk; returns the lines it completed.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..pos]);
            lines.push(decode(&self.partial));
            self.partial.clear();
            rest = &rest[pos + 1..];
        }
        self.partial.extend_from_slice(rest);
        lines
    }

    /// The last line when the output did not end with a newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        if self.partial.is_empty() {
            return None;
        }
        let line = decode(&self.partial);
        self.partial.clear();
        Some(line)
    }
}

fn decode(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

impl DockerRuntime {
    pub(crate) async fn follow_output_impl(
        &self,
        id: &str,
        sink: mpsc::Sender<String>,
    ) -> Result<()> {
        let options = LogsOptions::<String> {
            follow: true,
            stdout: true,
            stderr: true,
            tail: "all".to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut out = LineSplitter::default();
        let mut err = LineSplitter::default();
        while let Some(item) = stream.next().await {
            let lines = match item.map_err(errors::map)? {
                LogOutput::StdErr { message } => err.push(&message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    out.push(&message)
                }
                LogOutput::StdIn { .. } => continue,
            };
            for line in lines {
                if sink.send(line).await.is_err() {
                    return Ok(());
                }
            }
        }
        // The engine (json-file, 20.10) ends a follow without the final partial line (output
        // not ended by a newline) of each stream; it is in the log, so read it from there.
        if out.partial.is_empty() || err.partial.is_empty() {
            let (last_out, last_err) = self.final_partials(id).await;
            if let (Some(bytes), true) = (last_out, out.partial.is_empty()) {
                out.push(&bytes);
            }
            if let (Some(bytes), true) = (last_err, err.partial.is_empty()) {
                err.push(&bytes);
            }
        }
        for line in [out.finish(), err.finish()].into_iter().flatten() {
            if sink.send(line).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    pub(crate) async fn last_output_impl(&self, id: &str, lines: usize) -> Result<Vec<String>> {
        let options = LogsOptions::<String> {
            follow: false,
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut splitter = LineSplitter::default();
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            match item.map_err(errors::map)? {
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message } => {
                    // Entries are whole lines (or a final partial one), in order.
                    out.extend(splitter.push(&message));
                    out.extend(splitter.finish());
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        let skip = out.len().saturating_sub(lines);
        Ok(out.split_off(skip))
    }

    /// The last log entry of stdout and of stderr when it does not end with a newline (a
    /// partial line, written when the stream closed). Errors (container gone) give nothing.
    async fn final_partials(&self, id: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let options = LogsOptions::<String> {
            follow: false,
            stdout: true,
            stderr: true,
            // Partial lines are flushed when the process exits, after everything else.
            tail: "4".to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let (mut last_out, mut last_err) = (None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    last_out = Some(message)
                }
                Ok(LogOutput::StdErr { message }) => last_err = Some(message),
                Ok(LogOutput::StdIn { .. }) => {}
                Err(_) => return (None, None),
            }
        }
        let partial =
            |m: Option<bytes::Bytes>| m.filter(|m| !m.ends_with(b"\n")).map(|m| m.to_vec());
        (partial(last_out), partial(last_err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"hel"), Vec::<String>::new());
        assert_eq!(s.push(b"lo\r\nwor"), vec!["hello"]);
        assert_eq!(s.push(b"ld\n\nx"), vec!["world", ""]);
        assert_eq!(s.finish(), Some("x".to_string()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn keeps_utf8_split_across_chunks() {
        let bytes = "é\n".as_bytes();
        let mut s = LineSplitter::default();
        assert!(s.push(&bytes[..1]).is_empty());
        assert_eq!(s.push(&bytes[1..]), vec!["é"]);
    }
}
