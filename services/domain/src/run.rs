//! One-off processes (`paas run`): the request and answer of `POST /api/apps/{app}/dynos`,
//! the checks on what a user may ask for, and the framing of an attached session.
//!
//! An attached session is an HTTP/1.1 connection upgraded to `paas-run`. Both directions then
//! carry frames `[kind u8][len u32 big-endian][payload]`: the client sends stdin data, stdin EOF
//! and terminal sizes; the server sends stdout and stderr data, then the exit code (or an
//! error message) as the last frame.

use crate::config_vars::{validate_key, ConfigVarError};
use crate::process_size::{parse_resize, ProcessSize, ProcessSizeError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `Upgrade` protocol name of an attached session.
pub const UPGRADE_PROTOCOL: &str = "paas-run";

/// The longest command accepted, in bytes.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// `POST /api/apps/{app}/dynos`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Run by the release's launcher with `bash -c`, like a Procfile command.
    pub command: String,
    /// Stream stdin and output over the upgraded connection and wait for the exit code;
    /// otherwise start the process and answer at once.
    #[serde(default)]
    pub attach: bool,
    /// Allocate a terminal (attached sessions only).
    #[serde(default)]
    pub tty: bool,
    /// Environment variables on top of the release's config vars.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `MEMORY[:CPUS]` as `ps:resize` takes it (e.g. `1024` or `512:0.5`); the platform's
    /// default size when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// A one-off process as the API returns it (Heroku's dyno shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDyno {
    /// `run.1`.
    pub name: String,
    #[serde(rename = "type")]
    pub process_type: String,
    pub command: String,
    /// `starting`.
    pub state: String,
    /// `v3`.
    pub release: String,
    /// `512m1000c`.
    pub size: String,
    pub attached: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunRequestError {
    #[error("No command given: say what to run, e.g. paas run bash")]
    EmptyCommand,
    #[error("The command is longer than {MAX_COMMAND_BYTES} bytes")]
    CommandTooLong,
    #[error("The command holds a NUL character, which a command line cannot")]
    NulInCommand,
    #[error("A terminal needs an attached session (without --detach)")]
    TtyWithoutAttach,
    #[error("Invalid environment variable: {0}")]
    Env(#[from] ConfigVarError),
    #[error("Invalid size {size:?}: {reason}")]
    Size { size: String, reason: String },
}

impl RunRequest {
    /// Checks the command, the extra environment and the size; returns the size when one was
    /// given. CPUs default to `default_cpu_millis` when the size names memory only.
    pub fn validate(
        &self,
        default_cpu_millis: u32,
    ) -> Result<Option<ProcessSize>, RunRequestError> {
        if self.command.trim().is_empty() {
            return Err(RunRequestError::EmptyCommand);
        }
        if self.command.len() > MAX_COMMAND_BYTES {
            return Err(RunRequestError::CommandTooLong);
        }
        if self.command.contains('\0') {
            return Err(RunRequestError::NulInCommand);
        }
        if self.tty && !self.attach {
            return Err(RunRequestError::TtyWithoutAttach);
        }
        for (key, value) in &self.env {
            validate_key(key)?;
            if value.contains('\0') {
                return Err(ConfigVarError::NulInValue(key.clone()).into());
            }
        }
        self.size
            .as_deref()
            .map(|size| parse_size(size, default_cpu_millis))
            .transpose()
    }
}

/// Parses `MEMORY[:CPUS]` (`1024`, `512M`, `512:0.5`).
pub fn parse_size(size: &str, default_cpu_millis: u32) -> Result<ProcessSize, RunRequestError> {
    parse_resize(&format!("run={size}"), default_cpu_millis)
        .map(|(_, size)| size)
        .map_err(|e| RunRequestError::Size {
            size: size.to_string(),
            reason: match e {
                ProcessSizeError::Syntax(_) | ProcessSizeError::ProcessType(_) => {
                    "expected MEMORY or MEMORY:CPUS (e.g. 1024 or 512:0.5)".to_string()
                }
                other => other.to_string(),
            },
        })
}

/// The longest frame payload either side accepts.
pub const MAX_FRAME_PAYLOAD: usize = 1024 * 1024;

/// Bytes before a frame's payload: kind and length.
pub const FRAME_HEADER_LEN: usize = 5;

/// One message of an attached session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Client to server: bytes for the process's stdin.
    Stdin(Vec<u8>),
    /// Client to server: stdin has ended (closes the process's stdin).
    StdinEof,
    /// Client to server: the terminal's size.
    Resize { rows: u16, cols: u16 },
    /// Server to client: bytes the process wrote to stdout (or to its terminal).
    Stdout(Vec<u8>),
    /// Server to client: bytes the process wrote to stderr.
    Stderr(Vec<u8>),
    /// Server to client, last: the process's exit code.
    Exit(i32),
    /// Server to client, last: the session failed.
    Error(String),
}

const KIND_STDIN: u8 = 0;
const KIND_STDOUT: u8 = 1;
const KIND_STDERR: u8 = 2;
const KIND_STDIN_EOF: u8 = 3;
const KIND_RESIZE: u8 = 4;
const KIND_EXIT: u8 = 5;
const KIND_ERROR: u8 = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("frame of {0} bytes is over the limit of {MAX_FRAME_PAYLOAD}")]
    TooLong(u32),
    #[error("frame of kind {kind} cannot be {len} bytes long")]
    BadLength { kind: u8, len: u32 },
    #[error("the stream ended inside a frame")]
    Truncated,
}

impl Frame {
    /// Appends the encoded frame to `out`. Data frames longer than `MAX_FRAME_PAYLOAD` must be
    /// split by the caller (`data_frames`).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (kind, payload): (u8, std::borrow::Cow<[u8]>) = match self {
            Frame::Stdin(data) => (KIND_STDIN, data.as_slice().into()),
            Frame::Stdout(data) => (KIND_STDOUT, data.as_slice().into()),
            Frame::Stderr(data) => (KIND_STDERR, data.as_slice().into()),
            Frame::StdinEof => (KIND_STDIN_EOF, (&[][..]).into()),
            Frame::Resize { rows, cols } => {
                let mut p = rows.to_be_bytes().to_vec();
                p.extend_from_slice(&cols.to_be_bytes());
                (KIND_RESIZE, p.into())
            }
            Frame::Exit(code) => (KIND_EXIT, code.to_be_bytes().to_vec().into()),
            Frame::Error(message) => {
                let bytes = message.as_bytes();
                let end = floor_char_boundary(message, bytes.len().min(MAX_FRAME_PAYLOAD));
                (KIND_ERROR, bytes[..end].into())
            }
        };
        out.push(kind);
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes one frame from the start of `buf`: the frame and the bytes it took, or `None`
    /// when `buf` does not hold a whole frame yet. A header announcing more than
    /// `MAX_FRAME_PAYLOAD` is refused at once, before its payload arrives.
    pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        let Some(header) = buf.get(..FRAME_HEADER_LEN) else {
            return Ok(None);
        };
        let kind = header[0];
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        if len as usize > MAX_FRAME_PAYLOAD {
            return Err(FrameError::TooLong(len));
        }
        let fixed = match kind {
            KIND_STDIN | KIND_STDOUT | KIND_STDERR | KIND_ERROR => None,
            KIND_STDIN_EOF => Some(0),
            KIND_RESIZE | KIND_EXIT => Some(4),
            other => return Err(FrameError::UnknownKind(other)),
        };
        if fixed.is_some_and(|want| want != len) {
            return Err(FrameError::BadLength { kind, len });
        }
        let end = FRAME_HEADER_LEN + len as usize;
        let Some(payload) = buf.get(FRAME_HEADER_LEN..end) else {
            return Ok(None);
        };
        let four = || [payload[0], payload[1], payload[2], payload[3]];
        let frame = match kind {
            KIND_STDIN => Frame::Stdin(payload.to_vec()),
            KIND_STDOUT => Frame::Stdout(payload.to_vec()),
            KIND_STDERR => Frame::Stderr(payload.to_vec()),
            KIND_STDIN_EOF => Frame::StdinEof,
            KIND_RESIZE => Frame::Resize {
                rows: u16::from_be_bytes([payload[0], payload[1]]),
                cols: u16::from_be_bytes([payload[2], payload[3]]),
            },
            KIND_EXIT => Frame::Exit(i32::from_be_bytes(four())),
            _ => Frame::Error(String::from_utf8_lossy(payload).into_owned()),
        };
        Ok(Some((frame, end)))
    }
}

/// `data` as frames made by `make` of at most `MAX_FRAME_PAYLOAD` bytes each, encoded.
pub fn data_frames(data: &[u8], make: fn(Vec<u8>) -> Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + FRAME_HEADER_LEN);
    for chunk in data.chunks(MAX_FRAME_PAYLOAD) {
        make(chunk.to_vec()).encode_into(&mut out);
    }
    out
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Collects bytes as they arrive and hands out whole frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        match Frame::decode(&self.buf)? {
            Some((frame, used)) => {
                self.buf.drain(..used);
                Ok(Some(frame))
            }
            None => Ok(None),
        }
    }

    /// Call when the stream has ended: an error if it ended inside a frame.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<Frame> {
        vec![
            Frame::Stdin(b"hello\n".to_vec()),
            Frame::Stdin(vec![]),
            Frame::StdinEof,
            Frame::Resize { rows: 24, cols: 80 },
            Frame::Resize {
                rows: u16::MAX,
                cols: 0,
            },
            Frame::Stdout(vec![0, 1, 2, 255]),
            Frame::Stderr(b"oops".to_vec()),
            Frame::Exit(3),
            Frame::Exit(-1),
            Frame::Error("no such release: é".to_string()),
        ]
    }

    #[test]
    fn frames_round_trip_one_by_one_and_in_a_stream() {
        let mut stream = Vec::new();
        for frame in all_kinds() {
            let bytes = frame.encode();
            assert_eq!(
                Frame::decode(&bytes),
                Ok(Some((frame.clone(), bytes.len())))
            );
            stream.extend_from_slice(&bytes);
        }
        // Fed one byte at a time, the reader yields the same frames in order.
        let mut reader = FrameReader::default();
        let mut got = Vec::new();
        for byte in stream {
            reader.push(&[byte]);
            while let Some(frame) = reader.next_frame().unwrap() {
                got.push(frame);
            }
        }
        assert_eq!(got, all_kinds());
        assert_eq!(reader.finish(), Ok(()));
    }

    #[test]
    fn the_wire_format_is_kind_length_payload() {
        assert_eq!(Frame::Exit(3).encode(), vec![5, 0, 0, 0, 4, 0, 0, 0, 3]);
        assert_eq!(
            Frame::Resize { rows: 24, cols: 80 }.encode(),
            vec![4, 0, 0, 0, 4, 0, 24, 0, 80]
        );
        assert_eq!(Frame::Stdout(b"hi".to_vec()).encode(), b"\x01\0\0\0\x02hi");
    }

    #[test]
    fn truncated_input_waits_then_fails_at_the_end() {
        let bytes = Frame::Stdout(b"hello".to_vec()).encode();
        for cut in 0..bytes.len() {
            assert_eq!(Frame::decode(&bytes[..cut]), Ok(None), "cut at {cut}");
            let mut reader = FrameReader::default();
            reader.push(&bytes[..cut]);
            assert_eq!(reader.next_frame(), Ok(None));
            let end = reader.finish();
            assert_eq!(end.is_err(), cut > 0, "cut at {cut}");
        }
    }

    #[test]
    fn oversized_lengths_are_refused_before_the_payload() {
        let mut header = vec![KIND_STDIN];
        header.extend_from_slice(&(MAX_FRAME_PAYLOAD as u32 + 1).to_be_bytes());
        assert_eq!(
            Frame::decode(&header),
            Err(FrameError::TooLong(MAX_FRAME_PAYLOAD as u32 + 1))
        );
        let mut max = vec![KIND_STDIN];
        max.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Frame::decode(&max),
            Err(FrameError::TooLong(u32::MAX))
        ));
        // Exactly the limit is fine (and waits for its payload).
        let mut limit = vec![KIND_STDOUT];
        limit.extend_from_slice(&(MAX_FRAME_PAYLOAD as u32).to_be_bytes());
        assert_eq!(Frame::decode(&limit), Ok(None));
    }

    #[test]
    fn unknown_kinds_and_bad_fixed_lengths_are_refused() {
        assert_eq!(
            Frame::decode(&[9, 0, 0, 0, 0]),
            Err(FrameError::UnknownKind(9))
        );
        assert_eq!(
            Frame::decode(&[KIND_EXIT, 0, 0, 0, 2, 0, 0]),
            Err(FrameError::BadLength {
                kind: KIND_EXIT,
                len: 2
            })
        );
        assert!(Frame::decode(&[KIND_STDIN_EOF, 0, 0, 0, 1, 0]).is_err());
        assert!(Frame::decode(&[KIND_RESIZE, 0, 0, 0, 8]).is_err());
    }

    #[test]
    fn long_data_is_split_into_frames_under_the_limit() {
        let data = vec![7u8; MAX_FRAME_PAYLOAD * 2 + 10];
        let bytes = data_frames(&data, Frame::Stdout);
        let mut reader = FrameReader::default();
        reader.push(&bytes);
        let mut joined = Vec::new();
        let mut count = 0;
        while let Some(Frame::Stdout(chunk)) = reader.next_frame().unwrap() {
            assert!(chunk.len() <= MAX_FRAME_PAYLOAD);
            joined.extend(chunk);
            count += 1;
        }
        assert_eq!((count, joined), (3, data));
    }

    #[test]
    fn requests_are_checked() {
        let ok = RunRequest {
            command: "echo hi".into(),
            attach: true,
            tty: true,
            ..Default::default()
        };
        assert_eq!(ok.validate(1000), Ok(None));
        let with = |f: &dyn Fn(&mut RunRequest)| {
            let mut r = ok.clone();
            f(&mut r);
            r.validate(1000)
        };
        assert_eq!(
            with(&|r| r.command = "  ".into()),
            Err(RunRequestError::EmptyCommand)
        );
        assert_eq!(
            with(&|r| r.command = "a\0b".into()),
            Err(RunRequestError::NulInCommand)
        );
        assert_eq!(
            with(&|r| r.command = "x".repeat(MAX_COMMAND_BYTES + 1)),
            Err(RunRequestError::CommandTooLong)
        );
        assert_eq!(
            with(&|r| r.attach = false),
            Err(RunRequestError::TtyWithoutAttach)
        );
        assert!(with(&|r| {
            r.env.insert("1BAD".into(), "x".into());
        })
        .is_err());
        assert!(with(&|r| {
            r.env.insert("PORT".into(), "1".into());
        })
        .is_err());
        assert!(with(&|r| {
            r.env.insert("OK".into(), "a\0".into());
        })
        .is_err());
        let sized = with(&|r| r.size = Some("256:0.5".into())).unwrap().unwrap();
        assert_eq!((sized.memory_mb, sized.cpu_millis), (256, 500));
        let memory_only = with(&|r| r.size = Some("1024".into())).unwrap().unwrap();
        assert_eq!(memory_only.cpu_millis, 1000);
        for bad in ["big", "10", "512:", "web=512"] {
            assert!(
                matches!(
                    with(&|r| r.size = Some(bad.into())),
                    Err(RunRequestError::Size { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn requests_default_to_detached_without_a_terminal() {
        let r: RunRequest = serde_json::from_str(r#"{"command":"ls"}"#).unwrap();
        assert_eq!(
            (r.attach, r.tty, r.env.len(), r.size),
            (false, false, 0, None)
        );
    }
}
