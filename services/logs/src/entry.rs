//! One line of an app's log, in Heroku's format:
//! `2026-11-24T15:13:46.677020+00:00 app[web.1]: message`. The source says who wrote it:
//! `app[web.1]` a process's output, `router` the router's per-request line, `paas[api]`,
//! `paas[build]` or `paas[web.1]` the platform (releases, scaling, config changes, build
//! output, process exits).

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

/// Who wrote a line (`paas logs -s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    App,
    Router,
    Paas,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::App => "app",
            Source::Router => "router",
            Source::Paas => "paas",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log source {0:?}: use app, router or paas")]
pub struct UnknownSource(pub String);

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "app" => Ok(Source::App),
            "router" | "heroku" => Ok(Source::Router),
            "paas" => Ok(Source::Paas),
            other => Err(UnknownSource(other.to_string())),
        }
    }
}

/// One line of an app's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Microseconds since the Unix epoch.
    pub at_micros: i64,
    pub source: Source,
    /// `web.1`, `api`, `build`; none for router lines.
    pub process: Option<String>,
    /// One line: newlines and carriage returns become spaces.
    pub message: String,
}

impl LogEntry {
    /// A line of `source` written now.
    pub fn now(source: Source, process: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            at_micros: now_micros(),
            source,
            process: process.map(str::to_string),
            message: one_line(message.into()),
        }
    }

    /// Reads a line written by `Display` back; `None` for anything else.
    pub fn parse(line: &str) -> Option<Self> {
        let (time, rest) = line.split_once(' ')?;
        let at: jiff::Timestamp = time.parse().ok()?;
        let (prefix, message) = rest.split_once(": ").or_else(|| {
            let prefix = rest.strip_suffix(':')?;
            Some((prefix, ""))
        })?;
        let (source, process) = match prefix.split_once('[') {
            Some((source, process)) => (source, Some(process.strip_suffix(']')?.to_string())),
            None => (prefix, None),
        };
        Some(Self {
            at_micros: at.as_microsecond(),
            source: source.parse().ok()?,
            process,
            message: message.to_string(),
        })
    }

    /// Whether the line passes `filter`.
    pub fn matches(&self, filter: &Filter) -> bool {
        if filter.source.is_some_and(|s| s != self.source) {
            return false;
        }
        match (&filter.process, &self.process) {
            (None, _) => true,
            (Some(wanted), Some(process)) => {
                process == wanted
                    || (!wanted.contains('.')
                        && process.split_once('.').is_some_and(|(t, _)| t == wanted))
            }
            (Some(wanted), None) => self.source == Source::Router && wanted == "router",
        }
    }
}

impl LogEntry {
    /// This line, borrowed.
    pub(crate) fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            at_micros: self.at_micros,
            source: self.source,
            process: self.process.as_deref(),
            message: &self.message,
        }
    }
}

/// A log line's parts, borrowed from wherever they are (a `LogEntry`, a router batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryRef<'a> {
    pub(crate) at_micros: i64,
    pub(crate) source: Source,
    pub(crate) process: Option<&'a str>,
    pub(crate) message: &'a str,
}

impl EntryRef<'_> {
    /// The line as `Display` writes a `LogEntry`, piece by piece (this runs for every line).
    pub(crate) fn write_to<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        write_time(out, self.at_micros)?;
        out.write_char(' ')?;
        out.write_str(self.source.as_str())?;
        if let Some(p) = self.process {
            out.write_char('[')?;
            out.write_str(p)?;
            out.write_char(']')?;
        }
        out.write_str(": ")?;
        out.write_str(self.message)
    }

    fn to_entry(self) -> LogEntry {
        LogEntry {
            at_micros: self.at_micros,
            source: self.source,
            process: self.process.map(str::to_string),
            message: self.message.to_string(),
        }
    }
}

/// Something that is a log line: its parts to write, and itself as the live feed's
/// `LogEntry` (moved when it is one).
pub(crate) trait LineParts {
    fn parts(&self) -> EntryRef<'_>;
    fn into_entry(self) -> LogEntry;
}

impl LineParts for LogEntry {
    fn parts(&self) -> EntryRef<'_> {
        self.as_ref()
    }
    fn into_entry(self) -> LogEntry {
        self
    }
}

impl LineParts for paas_router::RouterLine<'_> {
    fn parts(&self) -> EntryRef<'_> {
        EntryRef {
            at_micros: self.at_micros,
            source: Source::Router,
            process: None,
            message: self.line,
        }
    }
    fn into_entry(self) -> LogEntry {
        self.parts().to_entry()
    }
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().write_to(f)
    }
}

/// `2026-11-24T15:13:46.677020+00:00`, its digits put in place (this runs for every line).
/// The date and time up to the second are kept per thread: lines written together mostly
/// share their second, so only their microseconds are new.
fn write_time<W: fmt::Write>(f: &mut W, micros: i64) -> fmt::Result {
    thread_local! {
        static SECOND: Cell<(i64, [u8; 19])> = const { Cell::new((i64::MIN, [0; 19])) };
    }
    let mut text = *b"0000-00-00T00:00:00.000000+00:00";
    let second = micros.div_euclid(1_000_000);
    match SECOND.with(Cell::get) {
        (cached, digits) if cached == second => text[..19].copy_from_slice(&digits),
        _ => {
            let ts =
                jiff::Timestamp::from_microsecond(micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            // UTC as a fixed offset: no time zone to look anything up in.
            let dt = jiff::tz::Offset::UTC.to_datetime(ts);
            let Ok(year) = u32::try_from(dt.year()) else {
                return write!(f, "{dt}+00:00");
            };
            put_digits(&mut text[0..4], year);
            put_digits(&mut text[5..7], dt.month().unsigned_abs().into());
            put_digits(&mut text[8..10], dt.day().unsigned_abs().into());
            put_digits(&mut text[11..13], dt.hour().unsigned_abs().into());
            put_digits(&mut text[14..16], dt.minute().unsigned_abs().into());
            put_digits(&mut text[17..19], dt.second().unsigned_abs().into());
            let mut digits = [0; 19];
            digits.copy_from_slice(&text[..19]);
            SECOND.with(|c| c.set((second, digits)));
        }
    }
    put_digits(
        &mut text[20..26],
        u32::try_from(micros.rem_euclid(1_000_000)).unwrap_or(0),
    );
    f.write_str(std::str::from_utf8(&text).unwrap_or_default())
}

/// Writes `n`'s last `slot.len()` decimal digits into `slot`, zero-padded.
fn put_digits(slot: &mut [u8], mut n: u32) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Which lines `paas logs` wants: `-s app|router|paas`, `-p web` (every web process) or
/// `-p web.1` (one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub source: Option<Source>,
    pub process: Option<String>,
}

pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn one_line(mut message: String) -> String {
    if message.contains(['\n', '\r']) {
        message = message.replace(['\n', '\r'], " ");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_every_digit_in_place() {
        let at = |micros: i64| {
            LogEntry {
                at_micros: micros,
                source: Source::Router,
                process: None,
                message: String::new(),
            }
            .to_string()
        };
        assert!(at(0).starts_with("1970-01-01T00:00:00.000000+00:00 "));
        assert!(at(-1).starts_with("1969-12-31T23:59:59.999999+00:00 "));
        assert!(at(1_795_533_226_677_020).starts_with("2026-11-24T15:13:46.677020+00:00 "));
        assert!(at(253_370_764_800_000_001).starts_with("9999-01-01T00:00:00.000001+00:00 "));
        // The same second again (its digits kept), then the next and the one before.
        assert!(at(1_795_533_226_000_001).starts_with("2026-11-24T15:13:46.000001+00:00 "));
        assert!(at(1_795_533_226_999_999).starts_with("2026-11-24T15:13:46.999999+00:00 "));
        assert!(at(1_795_533_227_000_000).starts_with("2026-11-24T15:13:47.000000+00:00 "));
        assert!(at(1_795_533_225_999_999).starts_with("2026-11-24T15:13:45.999999+00:00 "));
    }

    fn entry(source: Source, process: Option<&str>) -> LogEntry {
        LogEntry {
            at_micros: 1_795_533_226_677_020,
            source,
            process: process.map(str::to_string),
            message: "hello: world".into(),
        }
    }

    #[test]
    fn renders_and_reads_herokus_format() {
        let e = entry(Source::App, Some("web.1"));
        let line = e.to_string();
        assert_eq!(
            line,
            "2026-11-24T15:13:46.677020+00:00 app[web.1]: hello: world"
        );
        assert_eq!(LogEntry::parse(&line), Some(e));
        let r = entry(Source::Router, None);
        assert_eq!(
            r.to_string(),
            "2026-11-24T15:13:46.677020+00:00 router: hello: world"
        );
        assert_eq!(LogEntry::parse(&r.to_string()), Some(r));
        assert_eq!(LogEntry::parse("garbage"), None);
    }

    #[test]
    fn filters_by_source_and_process() {
        let web1 = entry(Source::App, Some("web.1"));
        let worker = entry(Source::App, Some("worker.1"));
        let router = entry(Source::Router, None);
        let api = entry(Source::Paas, Some("api"));
        let by_process = |p: &str| Filter {
            process: Some(p.into()),
            source: None,
        };
        assert!(web1.matches(&by_process("web")));
        assert!(web1.matches(&by_process("web.1")));
        assert!(!web1.matches(&by_process("web.2")));
        assert!(!worker.matches(&by_process("web")));
        assert!(!router.matches(&by_process("web")));
        let by_source = |s| Filter {
            source: Some(s),
            process: None,
        };
        assert!(router.matches(&by_source(Source::Router)));
        assert!(!web1.matches(&by_source(Source::Router)));
        assert!(api.matches(&by_source(Source::Paas)));
        assert!(LogEntry::now(Source::Paas, None, "a\nb").message == "a b");
    }
}
