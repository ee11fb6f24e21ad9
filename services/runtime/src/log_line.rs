//! One line of a process's output as the engine kept it: when it was printed (the engine's
//! timestamp, nanoseconds since the epoch), on which stream, and its text; and `LineAssembler`,
//! which turns the engine's timestamped log entries of one stream into such lines (used by both
//! a container's and a Swarm task's log followers).

/// Which of the process's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line of output, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The engine's timestamp of the line, nanoseconds since the Unix epoch.
    pub at_nanos: i64,
    pub stream: LogStream,
    pub text: String,
}

/// Reads the engine's RFC 3339 timestamp (`2026-11-24T15:13:46.677020123Z`) as nanoseconds
/// since the epoch; `None` when it is not one.
pub fn parse_engine_timestamp(text: &str) -> Option<i64> {
    let ts: jiff::Timestamp = text.parse().ok()?;
    i64::try_from(ts.as_nanosecond()).ok()
}

/// Longest line kept whole; a longer one is cut into lines of about this size.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;
/// The engine cuts a longer line into entries of this size, each without a newline but the
/// last: an entry this long and not ended continues in the next one of its stream.
pub(crate) const ENGINE_ENTRY_BYTES: usize = 16 * 1024;

/// What an entry not ended by a newline means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unended {
    /// The line continues in the next entry of its stream (a container's logs: the stream ends
    /// with the process, and `LineAssembler::finish` gives what was left).
    Continues,
    /// Only a full engine entry (a longer line's piece) continues; a shorter one is a line of
    /// its own (a Swarm task's logs: the stream never ends, so nothing may be held back).
    ContinuesIfFull,
}

/// One stream's line being assembled from the engine's entries: its first entry's time and its
/// bytes. A line that never ends is cut at `MAX_LINE_BYTES`, so it cannot take unbounded memory.
#[derive(Debug)]
pub(crate) struct LineAssembler {
    unended: Unended,
    at_nanos: Option<i64>,
    bytes: Vec<u8>,
}

impl LineAssembler {
    pub(crate) fn new(unended: Unended) -> Self {
        Self {
            unended,
            at_nanos: None,
            bytes: Vec::new(),
        }
    }

    /// Adds one timestamped entry (`2026-...Z text`); returns the line it completed, if any.
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
                let ends = match self.unended {
                    Unended::Continues => false,
                    Unended::ContinuesIfFull => body.len() < ENGINE_ENTRY_BYTES,
                };
                (ends || self.bytes.len() >= MAX_LINE_BYTES).then(|| self.take(stream))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_become_lines_with_their_first_entrys_time() {
        let mut p = LineAssembler::new(Unended::Continues);
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
        let mut p = LineAssembler::new(Unended::Continues);
        let chunk = format!("1970-01-01T00:00:01Z {}", "x".repeat(16 * 1024));
        let cut: Vec<LogLine> = (0..8)
            .filter_map(|_| p.push(chunk.as_bytes(), LogStream::Stdout))
            .collect();
        assert_eq!(cut.len(), 2);
        assert!(cut.iter().all(|l| l.text.len() == MAX_LINE_BYTES));
    }

    #[test]
    fn an_unended_short_entry_is_a_line_when_only_full_entries_continue() {
        let mut p = LineAssembler::new(Unended::ContinuesIfFull);
        let line = p
            .push(
                b"1970-01-01T00:00:01.000000005Z hello\r\n",
                LogStream::Stdout,
            )
            .unwrap();
        assert_eq!(
            (line.at_nanos, line.text.as_str()),
            (1_000_000_005, "hello")
        );
        // The last words before an exit, without a newline: not held back.
        let line = p
            .push(b"1970-01-01T00:00:02Z bye", LogStream::Stdout)
            .unwrap();
        assert_eq!((line.at_nanos, line.text.as_str()), (2_000_000_000, "bye"));
        // A long line comes as full entries and a last one.
        let piece = format!("1970-01-01T00:00:03Z {}", "x".repeat(ENGINE_ENTRY_BYTES));
        assert!(p.push(piece.as_bytes(), LogStream::Stderr).is_none());
        let line = p
            .push(b"1970-01-01T00:00:04Z end\n", LogStream::Stderr)
            .unwrap();
        assert_eq!(line.at_nanos, 3_000_000_000);
        assert_eq!(line.text.len(), ENGINE_ENTRY_BYTES + 3);
        assert!(line.text.ends_with("xend"));
        // A line that never ends is cut.
        let cut: Vec<LogLine> = (0..8)
            .filter_map(|_| p.push(piece.as_bytes(), LogStream::Stdout))
            .collect();
        assert_eq!(cut.len(), 2);
        assert!(cut.iter().all(|l| l.text.len() == MAX_LINE_BYTES));
    }

    #[test]
    fn reads_the_engines_timestamps() {
        assert_eq!(
            parse_engine_timestamp("1970-01-01T00:00:01.000000002Z"),
            Some(1_000_000_002)
        );
        assert_eq!(
            parse_engine_timestamp("2026-11-24T15:13:46.677020123Z").map(|n| n % 1_000_000_000),
            Some(677_020_123)
        );
        assert_eq!(parse_engine_timestamp("not a time"), None);
    }
}
