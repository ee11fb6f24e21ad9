//! An attached container: its stdin as a writer and its output as a stream of chunks, for
//! one-off processes (`paas run`).

use crate::Result;
use futures_util::Stream;
use std::pin::Pin;
use tokio::io::AsyncWrite;

/// Bytes a container wrote, as they came (not cut into lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputChunk {
    /// Its stdout, or its terminal when it has one.
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// The streams of a container attached before its start.
pub struct Attached {
    /// Writes go to the container's stdin (when created with `open_stdin`). Shutting it down
    /// closes the container's stdin; for a container with a terminal, do not shut it down
    /// (the engine would then close its output too).
    pub stdin: Pin<Box<dyn AsyncWrite + Send>>,
    /// The container's output; ends when the container's streams close (it exited).
    pub output: Pin<Box<dyn Stream<Item = Result<OutputChunk>> + Send>>,
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached").finish_non_exhaustive()
    }
}
