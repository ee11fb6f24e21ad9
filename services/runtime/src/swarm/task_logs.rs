//! Following one Swarm task's output, wherever the task runs: the manager serves
//! `GET /tasks/{id}/logs` for a task on any node (the node's agent streams it through the
//! manager's log broker), as the same multiplexed frames as a container's logs, each frame one
//! of the engine's log entries prefixed by its timestamp. A follow subscription of the broker
//! never ends, not even when the task's container is gone: whoever follows a task ends it
//! (drops the future) once the task ended. Also here: one task as a process, by id, to learn
//! how a task that left the listing ended.

use super::{api, process_of, SwarmError, SwarmProcess, SwarmRuntime};
use crate::log_line::{LineAssembler, LogLine, LogStream, Unended};
use bollard::models::Task;
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Longest response head read.
const MAX_HEAD: usize = 64 * 1024;
/// Largest frame accepted (the engine's are at most one entry plus its timestamp).
const MAX_FRAME: usize = 1 << 20;

/// `since` as the engine reads it: `<seconds>.<nanoseconds>`.
fn since_param(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}

/// What one multiplexed frame carries.
#[derive(Debug, PartialEq, Eq)]
enum Frame<'a> {
    Out(&'a [u8]),
    Err(&'a [u8]),
    /// The engine's own error about the stream (`Error grabbing logs: ...`).
    System(&'a [u8]),
}

/// The first whole frame in `buf` and its length, `None` when more bytes are needed.
fn next_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, SwarmError> {
    let Some(header) = buf.get(..8) else {
        return Ok(None);
    };
    if header[1..4] != [0, 0, 0] {
        return Err(SwarmError::Engine(format!(
            "not a multiplexed log stream (frame header {header:?})"
        )));
    }
    let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if size > MAX_FRAME {
        return Err(SwarmError::Engine(format!(
            "a log frame of {size} bytes is too large"
        )));
    }
    let Some(payload) = buf.get(8..8 + size) else {
        return Ok(None);
    };
    let frame = match header[0] {
        0 | 1 => Frame::Out(payload),
        2 => Frame::Err(payload),
        3 => Frame::System(payload),
        other => {
            return Err(SwarmError::Engine(format!(
                "unknown log stream {other} in a frame"
            )))
        }
    };
    Ok(Some((frame, 8 + size)))
}

/// The status of a response head (`HTTP/1.0 200 OK\r\n...`).
fn head_status(head: &[u8]) -> Result<u16, SwarmError> {
    let head = String::from_utf8_lossy(head);
    head.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| SwarmError::Engine(format!("bad status line in {head:?}")))
}

impl SwarmRuntime {
    /// Sends the task's output from engine time `since_nanos` on (from the task's start when
    /// `None`; lines at or before it are skipped) to `sink` as lines with the engine's
    /// timestamps, for as long as the caller keeps this future: the stream does not end when
    /// the task does. Returns `Ok` when the sink is closed or the engine closes the stream;
    /// `NotFound` for an unknown task.
    pub async fn follow_task_logs(
        &self,
        task_id: &str,
        since_nanos: Option<i64>,
        sink: mpsc::Sender<LogLine>,
    ) -> Result<(), SwarmError> {
        let mut path = format!(
            "/tasks/{}/logs?follow=1&stdout=1&stderr=1&timestamps=1",
            api::encode(task_id)
        );
        if let Some(since) = since_nanos {
            path.push_str(&format!("&since={}", since_param(since)));
        }
        let mut stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|e| SwarmError::Unavailable(format!("{}: {e}", self.socket)))?;
        let request = format!(
            "GET {} HTTP/1.0\r\nHost: docker\r\n\r\n",
            self.versioned(&path)
        );
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;

        // The head, then whatever of the body came with it.
        let mut buf = Vec::with_capacity(16 * 1024);
        let body_at = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if buf.len() > MAX_HEAD || stream.read_buf(&mut buf).await? == 0 {
                return Err(SwarmError::Engine(
                    "the engine's answer to a task's logs has no end of head".into(),
                ));
            }
        };
        let status = head_status(&buf[..body_at])?;
        buf.drain(..body_at);
        if status != 200 {
            (&mut stream)
                .take(MAX_HEAD as u64)
                .read_to_end(&mut buf)
                .await?;
            let message = api::error_message(&buf);
            return Err(match status {
                404 => SwarmError::NotFound(message),
                503 => SwarmError::NotAManager(message),
                _ => SwarmError::Engine(message),
            });
        }

        let after = |line: &LogLine| since_nanos.is_none_or(|s| line.at_nanos > s);
        // This stream never ends: an unended entry shorter than the engine's is a line now.
        let mut out = LineAssembler::new(Unended::ContinuesIfFull);
        let mut err = LineAssembler::new(Unended::ContinuesIfFull);
        loop {
            let mut used = 0;
            while let Some((frame, len)) = next_frame(&buf[used..])? {
                used += len;
                let line = match frame {
                    Frame::Out(entry) => out.push(entry, LogStream::Stdout),
                    Frame::Err(entry) => err.push(entry, LogStream::Stderr),
                    Frame::System(text) => {
                        tracing::warn!(
                            task = %task_id,
                            "the Swarm about a task's logs: {}",
                            String::from_utf8_lossy(text).trim()
                        );
                        None
                    }
                };
                if let Some(line) = line.filter(after) {
                    if sink.send(line).await.is_err() {
                        return Ok(());
                    }
                }
            }
            buf.drain(..used);
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
    }

    /// One task as a process (its state, exit code and whether Swarm still wants it running),
    /// `None` once the Swarm forgot it. Its node is not looked up.
    pub async fn inspect_task(&self, task_id: &str) -> Result<Option<SwarmProcess>, SwarmError> {
        match self
            .get_json::<Task>(&format!("/tasks/{}", api::encode(task_id)))
            .await
        {
            Ok(task) => Ok(process_of(&task, &HashMap::new())),
            Err(SwarmError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![stream, 0, 0, 0];
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn frames_are_read_whole_and_by_stream() {
        let mut buf = frame(1, b"2026-01-01T00:00:00Z out\n");
        buf.extend(frame(2, b"err\n"));
        buf.extend(frame(3, b"Error grabbing logs: gone\n"));
        let (f, len) = next_frame(&buf).unwrap().unwrap();
        assert_eq!(f, Frame::Out(b"2026-01-01T00:00:00Z out\n"));
        let (f, len2) = next_frame(&buf[len..]).unwrap().unwrap();
        assert_eq!(f, Frame::Err(b"err\n"));
        let (f, len3) = next_frame(&buf[len + len2..]).unwrap().unwrap();
        assert_eq!(f, Frame::System(b"Error grabbing logs: gone\n"));
        assert_eq!(len + len2 + len3, buf.len());
        // Incomplete header or payload: wait for more.
        assert!(next_frame(&buf[..5]).unwrap().is_none());
        assert!(next_frame(&buf[..len - 1]).unwrap().is_none());
        // A raw (TTY) stream is refused, not misread.
        assert!(next_frame(b"hello world\n").is_err());
    }

    #[test]
    fn since_and_status_as_the_engine_has_them() {
        assert_eq!(
            since_param(1_700_000_000_000_000_005),
            "1700000000.000000005"
        );
        assert_eq!(since_param(0), "0.000000000");
        assert_eq!(head_status(b"HTTP/1.0 404 Not Found\r\n").unwrap(), 404);
        assert!(head_status(b"garbage").is_err());
    }
}
