//! One line of a process's output as the engine kept it: when it was printed (the engine's
//! timestamp, nanoseconds since the epoch), on which stream, and its text.

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

#[cfg(test)]
mod tests {
    use super::*;

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
